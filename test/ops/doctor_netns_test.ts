/**
 * `sstp doctor` against a working set-up and deliberately broken ones, in
 * network namespaces: a running server (port served by SSTP), a client that
 * pins it (every check ok), then a wrong port, an untrusted certificate, a
 * port taken by a non-SSTP TLS server, an expired certificate with a
 * mismatched host name and a missing file.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "../helpers/netns.ts";
import { createSelfSignedServerCertificate } from "../../lib/cert/self_signed.ts";
import { toHex } from "../../lib/bytes/hex.ts";
import {
  createTopology,
  POOL_YAML,
  PORT,
  ServeProcess,
  SERVER_IP,
  writeConfig,
} from "../server_fixture.ts";

const ignore = netnsTestIgnore("sstp doctor netns test");
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test({
  name: "sstp doctor: ok for a working server and client, a fix for each broken part",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    `  host-name: ${SERVER_IP}\n${POOL_YAML}secrets:\n  - { name: alice, password: alice-pw }\n`,
  );
  const doctor = async (ns: typeof t.server, args: string[]) => {
    const r = await ns.exec([Deno.execPath(), "run", "-A", MAIN, "doctor", ...args], {
      timeoutMs: 60_000,
    });
    return { code: r.code, out: r.stdout + r.stderr };
  };
  const pin = `sha256:${toHex(t.fingerprint)}`;
  await using _serve = await ServeProcess.start(t.server, ["--config", config]);

  // Working server: configuration, certificate and port (served by SSTP) are fine.
  const server = await doctor(t.server, ["server", "--config", config]);
  assert.equal(server.code, 0, server.out);
  assert.match(server.out, /^ok {3}certificate: .*loads with its key/m);
  assert.match(
    server.out,
    new RegExp(
      `^ok {3}port ${SERVER_IP}:${PORT}: in use by an SSTP server \\(answered HTTP 200\\)`,
      "m",
    ),
  );
  assert.match(server.out, /^WARN certificate: certificate is self-signed/m);

  // Working client: every check passes.
  const client = await doctor(t.client, [
    "client",
    SERVER_IP,
    "--port",
    String(PORT),
    "--user",
    "alice",
    "--server-fingerprint",
    pin,
  ]);
  assert.equal(client.code, 0, client.out);
  assert.match(client.out, /^ok {3}TCP: /m);
  assert.match(client.out, /^ok {3}TLS: TLSv1\.[23] .*pinned by fingerprint/m);
  assert.match(client.out, /^ok {3}SSTP: the server answers the SSTP request \(HTTP 200\)/m);

  // Broken: nothing on the port.
  const refused = await doctor(t.client, ["client", SERVER_IP, "--port", "4499", "--user", "a"]);
  assert.equal(refused.code, 1);
  assert.match(refused.out, /^FAIL TCP: 198\.18\.1\.1:4499: .*refused.*\(fix: /m);

  // Broken: the certificate is not trusted (system roots, no pin).
  const untrusted = await doctor(t.client, [
    "client",
    SERVER_IP,
    "--port",
    String(PORT),
    "--user",
    "a",
  ]);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.out, /^FAIL TLS: .*\(fix: trust the server's CA/m);
  assert.match(untrusted.out, /^ok {3}SSTP: /m);

  // Broken: the port belongs to a TLS server that does not speak SSTP.
  // Our own child (killed by its pid): "ip netns exec" execs openssl in place.
  const other = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      t.server.name,
      "timeout",
      "60",
      "openssl",
      "s_server",
      "-accept",
      `${SERVER_IP}:4434`,
      "-cert",
      t.pemPath,
      "-www",
      "-quiet",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const web = await doctor(t.client, [
      "client",
      SERVER_IP,
      "--port",
      "4434",
      "--user",
      "a",
      "--verify-server-certificate",
      "no",
    ]);
    assert.equal(web.code, 1, web.out);
    assert.match(web.out, /^FAIL SSTP: the far end does not speak SSTP/m);
    const expired = await createSelfSignedServerCertificate({
      commonName: "old",
      dnsNames: ["old.example"],
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    await Deno.writeTextFile(`${t.dir}/old.pem`, expired.certPem + expired.keyPem);
    const broken = `${t.dir}/broken.yaml`;
    await Deno.writeTextFile(
      broken,
      `sstp-server:\n  certificate: ${t.dir}/old.pem\n  port: 4434\n  listen: ${SERVER_IP}\n  host-name: vpn.example\n`,
      { mode: 0o600 },
    );
    const bad = await doctor(t.server, ["server", "--config", broken]);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /^FAIL certificate: certificate has expired/m);
    assert.match(bad.out, /^FAIL certificate: certificate is not valid for "vpn\.example"/m);
    assert.match(
      bad.out,
      /^FAIL port 198\.18\.1\.1:4434: in use by something that is not an SSTP server/m,
    );
  } finally {
    other.kill("SIGTERM");
    await other.status;
  }

  // Broken: the certificate file is missing.
  const missing = `${t.dir}/missing.yaml`;
  await Deno.writeTextFile(
    missing,
    `sstp-server:\n  certificate: ${t.dir}/nope.pem\n  port: 4435\n  listen: ${SERVER_IP}\n`,
    { mode: 0o600 },
  );
  const gone = await doctor(t.server, ["server", "--config", missing]);
  assert.equal(gone.code, 1);
  assert.match(gone.out, /^FAIL certificate: .*nope\.pem/m);
  assert.match(gone.out, /^ok {3}port 198\.18\.1\.1:4435: free/m);
});
