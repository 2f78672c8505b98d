/**
 * `sstp doctor client --login` against a running `sstp serve` in network
 * namespaces: with the right password it reports the authenticated user
 * and method, the accepted crypto binding and the assigned address, and
 * leaves the client namespace's links, addresses and routes as they were;
 * with a wrong password it exits 1 with one FAIL line and its fix.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "../helpers/netns.ts";
import { toHex } from "../../lib/bytes/hex.ts";
import {
  createTopology,
  POOL_YAML,
  PORT,
  ServeProcess,
  SERVER_IP,
  writeConfig,
} from "../server_fixture.ts";

const ignore = netnsTestIgnore("sstp doctor --login netns test");
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test({
  name:
    "sstp doctor client --login: auth, crypto binding and address; a wrong password fails with a fix",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    `${POOL_YAML}secrets:\n  - { name: alice, password: alice-pw }\n`,
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const pin = `sha256:${toHex(t.fingerprint)}`;
  const doctor = async (password: string) => {
    const file = `${t.dir}/pw-${crypto.randomUUID()}`;
    await Deno.writeTextFile(file, password + "\n", { mode: 0o600 });
    const r = await t.client.exec([
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "doctor",
      "client",
      SERVER_IP,
      "--port",
      String(PORT),
      "--user",
      "alice",
      "--password-file",
      file,
      "--server-fingerprint",
      pin,
      "--login",
    ], { timeoutMs: 90_000 });
    return { code: r.code, out: r.stdout + r.stderr };
  };
  const netState = async () =>
    [
      await t.client.run(["ip", "-o", "link", "show"]),
      await t.client.run(["ip", "-o", "addr", "show"]),
      await t.client.run(["ip", "route", "show", "table", "all"]),
    ].join("\n").replace(/\s+link\/\S+ \S+( brd \S+)?/g, "");
  const before = await netState();

  const good = await doctor("alice-pw");
  assert.equal(good.code, 0, good.out);
  assert.match(good.out, /^ok {3}login: "alice" authenticated with mschap2$/m);
  assert.match(
    good.out,
    /^ok {3}crypto binding: SHA-256 binding in Call Connected accepted by the server$/m,
  );
  assert.match(good.out, /^ok {3}address: 198\.19\.0\.\d+ peer \S+.*, MTU \d+$/m);
  assert.match(good.out, /^info login: disconnected; no interface, route or DNS server was set$/m);
  // The server saw a whole session that ended at the client's request.
  await serve.waitFor(/closed sstp-alice: SSTP peer disconnected the call/);
  assert.equal(await netState(), before, "the client namespace is unchanged");

  const bad = await doctor("not-alices");
  assert.equal(bad.code, 1, bad.out);
  const failed = bad.out.split("\n").filter((l) => l.startsWith("FAIL"));
  assert.equal(failed.length, 1, bad.out);
  assert.match(
    failed[0]!,
    /^FAIL login: "alice" refused: .*\(fix: check user and password \(--password-file, SSTP_PASSWORD or the config file\)/,
  );
  assert.match(bad.out, /^1 problem found$/m);
  assert.equal(await netState(), before);
});
