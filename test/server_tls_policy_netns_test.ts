/**
 * The TLS policy of both roles with the real `sstp serve` and the real
 * `sstp connect` in two namespaces (see `server_fixture.ts`): the server's
 * `tls-version`, `ciphers`, `force-aes` and `pfs` decide the session, a
 * client whose own policy the server's choice does not meet refuses it with
 * a message naming both, and `sstp status` shows the negotiated suite.
 *
 * @module
 */
import assert from "node:assert/strict";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import {
  connectProcess,
  createTopology,
  pingTunnelFromClient,
  POOL_YAML,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  statusSessions,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";

Deno.test({
  name: "sstp serve and sstp connect apply tls-version, ciphers, force-aes and pfs",
  ignore: SERVE_NETNS_IGNORE,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    `  tls-version: only-1.3
  pfs: required
  ciphers: [aes256-gcm-sha384, aes128-gcm-sha256, chacha20-poly1305]
  force-aes: yes
` + POOL_YAML + "secrets:\n  - { name: real, password: pw }\n",
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const pin = ["--server-fingerprint", formatFingerprint(t.fingerprint, "sha256")];

  // A TLS 1.2-only client never completes the handshake.
  const old = connectProcess(t, "sstp-pol1", [...pin, "--tls-version", "only-1.2"]);
  const oldStatus = await old.wait(30_000);
  assert.notEqual(oldStatus.code, 0, old.output);
  assert.doesNotMatch(old.output, /TLS TLSv1\.2 .* to /);

  // The server picks an AES suite (force-aes); a ChaCha20-only client refuses it.
  const chacha = connectProcess(t, "sstp-pol2", [...pin, "--ciphers", "chacha20-poly1305"]);
  const chachaStatus = await chacha.wait(30_000);
  assert.notEqual(chachaStatus.code, 0, chacha.output);
  assert.match(
    chacha.output,
    /Cannot use the TLS session with [\d.]+:\d+: TLS suite TLS_AES_(256_GCM_SHA384|128_GCM_SHA256) is not allowed \(ciphers: chacha20-poly1305\)/,
  );

  // A client with a compatible policy connects; status shows version, suite and pfs.
  const ok = connectProcess(t, "sstp-pol3", [...pin, "--pfs", "required", "--force-aes"]);
  try {
    await waitTunnelUp(t, "sstp-pol3");
    await pingTunnelFromClient(t);
    const [session] = await statusSessions<{ encoding: string }>(t.dir);
    assert.match(
      session?.encoding ?? "",
      /^TLSv1\.3 TLS_AES_(256_GCM_SHA384|128_GCM_SHA256) pfs$/,
    );
  } finally {
    ok.kill("SIGTERM");
    assert.equal((await ok.wait(15_000)).code, 0, ok.output);
  }
  assert.equal(await serve.stop(), 0);
});
