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
  createTopology,
  POOL_YAML,
  PORT,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  SERVER_IP,
  TUNNEL_LOCAL,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test({
  name: "sstp connect in one namespace reaches sstp serve in another and pings through",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, POOL_YAML + "secrets:\n  - { name: real, password: pw }\n");
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const client = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      t.client.name,
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "connect",
      SERVER_IP,
      "--port",
      String(PORT),
      "--user",
      "real",
      "--password",
      "pw",
      "--server-fingerprint",
      formatFingerprint(t.fingerprint, "sha256"),
      "--name",
      "sstp-out1",
      "--reconnect",
      "no",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = client.output();
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      const r = await t.client.exec(["ip", "-br", "addr", "show", "dev", "sstp-out1"]);
      up = r.code === 0 && /198\.19\.0\.\d+ peer/.test(r.stdout);
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(up, "client interface came up");
    const ping = await t.client.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", TUNNEL_LOCAL]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.match(await t.server.run(["ip", "-br", "link"]), /sstp-real/);
  } finally {
    client.kill("SIGTERM");
    const out = await output;
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  }
  await serve.waitFor(/closed sstp-real/);
  assert.doesNotMatch(await t.server.run(["ip", "-br", "link"]), /sstp-/);
  assert.equal(await serve.stop(), 0);
});
