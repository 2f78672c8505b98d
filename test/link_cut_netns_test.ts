/**
 * Link cut: the veth under a live session goes down for longer than the
 * keepalive timeout, then comes back. The client notices through its SSTP
 * Hello keepalive, tears its session down and reconnects with backoff; once
 * the link is back the tunnel, its routes and the peer DNS are there again;
 * the server has released the old session (one session, one TUN device, its
 * address handed out again).
 *
 * ```
 *  netns S (server)                              netns C (client)
 *  198.18.1.1/24 "v-srv" ────── veth ────────── 198.18.1.2/24 "v-cli", default via 198.18.1.1
 *  keepalive-timeout 2 s, pool 198.18.61.10-11    sstp-lc: split default routes metric 7, host route, peer DNS
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { waitUntil } from "./helpers/sstp_process.ts";
import { controlRequest } from "../lib/control/control_client.ts";
import {
  CLIENT_NETNS_IGNORE,
  createClientTopology,
  serverYaml,
  stopClient,
  TUNNEL_PEER,
} from "./client_fixture.ts";
import { SERVER_IP } from "./server_fixture.ts";

interface Session {
  name: string;
  address: string;
  correlationId: string;
}

async function sessions(socket: string): Promise<Session[]> {
  return (await controlRequest(socket, { op: "status" })).sessions as Session[];
}

function count(lines: readonly string[], re: RegExp): number {
  return lines.filter((l) => re.test(l)).length;
}

Deno.test({
  name:
    "sstp connect survives a cut veth: reconnects with backoff, routes and DNS come back, the server released the old session",
  ignore: CLIENT_NETNS_IGNORE,
  async fn() {
    await using t = await createClientTopology({
      defaultViaServer: true,
      resolvConf: "nameserver 198.18.99.99\n",
    });
    const { client: c, server: s, socket } = t;
    await t.startServer(serverYaml({ pool: "198.18.61.10-198.18.61.11" }), {
      "keepalive-timeout": 2,
    });
    const client = t.connect([
      ...["--name", "sstp-lc", "--keepalive-timeout", "2", "--add-default-route", "yes"],
      ...["--default-route-distance", "7", "--use-peer-dns", "yes"],
    ]);
    await client.waitFor(/ up: sstp-lc /, 30_000);
    const before = await sessions(socket);
    assert.equal(before.length, 1);
    const routesUp = await c.run(["ip", "route", "show"]);
    assert.match(
      routesUp,
      /^0\.0\.0\.0\/1 dev sstp-lc .*metric 7 *$[\s\S]*^128\.0\.0\.0\/1 dev sstp-lc .*metric 7 *$/m,
    );
    assert.match(await Deno.readTextFile(t.resolvPath), /nameserver 198\.18\.61\.53/);

    // Cut the link from the server side: the client's veth loses carrier
    // and its routes stay (marked linkdown), as with a pulled cable.
    await s.run(["ip", "link", "set", t.serverDev, "down"]);
    const cutAt = performance.now();
    await waitUntil(
      () => Promise.resolve(count(client.lines, /reconnecting in/) >= 1),
      20_000,
      "client notices the dead link",
    );
    const noticedMs = performance.now() - cutAt;
    await waitUntil(
      async () => (await sessions(socket)).length === 0,
      20_000,
      "server releases the session",
    );
    assert.doesNotMatch(await s.run(["ip", "-br", "link"]), /sstp-/, "server TUN removed");
    // Down for a while longer, so attempts fail and the backoff grows.
    await new Promise((r) => setTimeout(r, 4000));
    await s.run(["ip", "link", "set", t.serverDev, "up"]);

    await waitUntil(
      () => Promise.resolve(count(client.lines, / up: sstp-lc /) >= 2),
      45_000,
      "client reconnects after the link is back",
    );
    const delays = client.lines.flatMap((l) => {
      const m = / reconnecting in ([\d.]+) s/.exec(l);
      return m ? [Number(m[1])] : [];
    });
    assert.ok(delays.length >= 2, `retried while down: ${client.output}`);
    for (let i = 1; i < delays.length; i++) {
      assert.ok(delays[i]! > delays[i - 1]!, `backoff grows: ${delays.join(", ")} s`);
    }
    const routesAgain = await c.run(["ip", "route", "show"]);
    assert.match(
      routesAgain,
      /^0\.0\.0\.0\/1 dev sstp-lc .*metric 7 *$[\s\S]*^128\.0\.0\.0\/1 dev sstp-lc .*metric 7 *$/m,
    );
    const server = SERVER_IP.replaceAll(".", "\\.");
    assert.match(routesAgain, new RegExp(`^${server} (via ${server} )?dev ${t.clientDev}`, "m"));
    assert.match(await Deno.readTextFile(t.resolvPath), /nameserver 198\.18\.61\.53/);
    const ping = await c.exec(["ping", "-c", "2", "-W", "2", TUNNEL_PEER]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const after = await sessions(socket);
    assert.equal(after.length, 1, "only the new session");
    assert.notEqual(after[0]!.correlationId, before[0]!.correlationId);
    assert.equal(count((await s.run(["ip", "-br", "link"])).split("\n"), /^sstp-/), 1);
    assert.ok(noticedMs < 15_000, `noticed after ${noticedMs} ms`);

    await stopClient(client);
    const cleaned = await c.run(["ip", "route", "show"]);
    assert.doesNotMatch(cleaned, /sstp-lc/);
    assert.match(cleaned, new RegExp(`default via ${server}`));
    await waitUntil(
      async () => (await Deno.readTextFile(t.resolvPath)).includes("198.18.99.99"),
      5000,
      "resolv.conf restored",
    );
  },
});
