/**
 * `sstp serve` and the real `sstp connect`, each in its own namespace: the
 * kernel's own ping crosses the tunnel, the server lists the session, and
 * both sides clean up.
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
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

Deno.test({
  name: "sstp connect in one namespace reaches sstp serve in another and pings through",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, POOL_YAML + "secrets:\n  - { name: real, password: pw }\n");
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const client = connectProcess(t, "sstp-out1", [
    "--server-fingerprint",
    formatFingerprint(t.fingerprint, "sha256"),
  ]);
  try {
    await waitTunnelUp(t, "sstp-out1");
    await pingTunnelFromClient(t);
    assert.match(await t.server.run(["ip", "-br", "link"]), /sstp-real/);
  } finally {
    client.kill("SIGTERM");
    const status = await client.wait(10_000);
    assert.equal(status.code, 0, client.output);
  }
  await serve.waitFor(/closed sstp-real/);
  assert.doesNotMatch(await t.server.run(["ip", "-br", "link"]), /sstp-/);
  assert.equal(await serve.stop(), 0);
});
