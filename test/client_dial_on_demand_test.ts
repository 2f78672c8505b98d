/**
 * Dial-on-demand against our server, in two namespaces (client_fixture.ts):
 * the interface waits with its placeholder address and the split default
 * routes and no TCP connection exists until the first packet; that traffic
 * brings the tunnel up and is answered; `idle-timeout` hangs up and the
 * interface waits again; the next traffic dials again; a clean stop removes
 * everything.
 *
 * ```
 *  netns S (server)                        netns C (client)
 *  198.18.1.1/24 ───────── veth ───────── 198.18.1.2/24 (IPv6 off on the link)
 *  198.19.5.5/32 on lo (the "outside")     sstp-dd 10.112.112.2 peer 10.112.112.1 (waiting)
 *                                          0.0.0.0/1 + 128.0.0.0/1 dev sstp-dd metric 1
 * ```
 */
import assert from "node:assert/strict";
import type { Netns } from "./helpers/netns.ts";
import { waitUntil } from "./helpers/sstp_process.ts";
import {
  CLIENT_NETNS_IGNORE,
  createClientTopology,
  linkPackets,
  OUTSIDE,
  routingState,
  serverYaml,
  stopClient,
} from "./client_fixture.ts";
import { PORT } from "./server_fixture.ts";

/** TCP connections to the SSTP port in `ns`, in any state but LISTEN. */
async function sstpConnections(ns: Netns): Promise<string[]> {
  const out = await ns.run(["ss", "-Htn", "state", "all", "sport", `= :${PORT}`]);
  return out.split("\n").filter((l) => l.trim() !== "" && !/^LISTEN/.test(l.trim()));
}

Deno.test({
  name:
    "sstp connect dial-on-demand: no connection until traffic, the traffic is answered, idle-timeout hangs up and the next traffic dials again",
  ignore: CLIENT_NETNS_IGNORE,
  async fn() {
    // Any unicast packet dials, DNS queries included: the client namespace's
    // resolver is loopback, so a lookup by the runtime (Deno's update check)
    // does not dial before the test's own traffic does.
    await using t = await createClientTopology({ resolvConf: "nameserver 127.0.0.1\n" });
    const { client: c, server: s } = t;
    const before = await routingState(c);
    await t.startServer(serverYaml({ dns: false }));

    const client = t.connect([
      ...["--name", "sstp-dd", "--add-default-route", "--dial-on-demand", "--idle-timeout", "3s"],
    ], { env: { DENO_NO_UPDATE_CHECK: "1" } });
    await client.waitFor(/dial-on-demand: sstp-dd 10\.112\.112\.2 peer 10\.112\.112\.1/, 30_000);
    assert.match(
      await c.run(["ip", "addr", "show", "dev", "sstp-dd"]),
      /inet 10\.112\.112\.2 peer 10\.112\.112\.1\/32/,
    );
    assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-dd/);

    // 1. Waiting: nothing reaches the server.
    const rx = await linkPackets(s, t.serverDev, "rx");
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(
      await linkPackets(s, t.serverDev, "rx"),
      rx,
      `no packet to the server while waiting:\n${client.output}\n${await s.run(["ss", "-tan"])}`,
    );
    assert.deepEqual(await sstpConnections(s), []);
    assert.match(await t.status("sstp-dd"), /status: waiting for traffic/);

    // 2. Traffic dials; the ping gets answers once the tunnel is up.
    const ping = await c.exec(["ping", "-c", "20", "-i", "0.5", "-w", "25", OUTSIDE], {
      timeoutMs: 30_000,
    });
    assert.equal(ping.code, 0, ping.stdout + ping.stderr + client.output);
    assert.match(
      client.output,
      /traffic for sstp-dd \(IPv4 proto 1 10\.112\.112\.2 > 198\.19\.5\.5\): connecting/,
    );
    assert.match(client.output, / up: sstp-dd /);
    assert.ok((await sstpConnections(s)).length > 0, "connected");
    assert.match(await c.run(["ip", "addr", "show", "dev", "sstp-dd"]), /inet 198\.18\.61\./);

    // 3. Idle: the client hangs up and waits again with the placeholder.
    await client.waitFor(/disconnecting \(idle-timeout\)/, 30_000);
    await client.waitFor(/sstp-dd waits for traffic again/, 30_000);
    await waitUntil(
      async () => (await sstpConnections(s)).every((l) => !/^ESTAB/.test(l.trim())),
      15_000,
      "the TCP connection closes",
    );
    assert.match(
      await c.run(["ip", "addr", "show", "dev", "sstp-dd"]),
      /inet 10\.112\.112\.2 peer 10\.112\.112\.1\/32/,
    );
    assert.doesNotMatch(await c.run(["ip", "addr", "show", "dev", "sstp-dd"]), /198\.18\.61\./);
    assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-dd/);

    // 4. The next traffic dials again.
    const again = await c.exec(["ping", "-c", "20", "-i", "0.5", "-w", "25", OUTSIDE], {
      timeoutMs: 30_000,
    });
    assert.equal(again.code, 0, again.stdout + again.stderr + client.output);
    assert.equal(client.lines.filter((l) => / up: sstp-dd /.test(l)).length, 2, client.output);

    // 5. A clean stop removes the interface, its routes and the pinned route.
    await stopClient(client);
    assert.equal(await routingState(c), before);
    await assert.rejects(Deno.stat(`${t.runDir}/client-sstp-dd.state`), Deno.errors.NotFound);
  },
});
