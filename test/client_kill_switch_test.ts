/**
 * The client's kill switch against our server, in three namespaces
 * (client_fixture.ts): while the tunnel is down (server killed) and the
 * client reconnects, nothing leaves through the old default route (a
 * counter on that link stays still), the reconnect itself still reaches the
 * server through its pinned host route, and a clean stop lifts the switch
 * and leaves the routing table as it was.
 *
 * ```
 *  netns S (server)                        netns C (client)                       netns L (leak)
 *  198.18.1.1/24 ───────── veth ───────── 198.18.1.2/24
 *  198.19.5.5/32 on lo (the "outside")     198.18.70.2/30 ──────── veth ──────── 198.18.70.1/30
 *                                          default via 198.18.70.1 metric 0
 *                                          unreachable 0.0.0.0/1 + 128.0.0.0/1 metric 4
 * ```
 */
import assert from "node:assert/strict";
import { waitUntil } from "./helpers/sstp_process.ts";
import {
  CLIENT_NETNS_IGNORE,
  createClientTopology,
  linkPackets,
  OUTSIDE,
  PEER_DNS,
  routingState,
  serverYaml,
} from "./client_fixture.ts";
import { CLIENT_IP, SERVER_IP } from "./server_fixture.ts";

Deno.test({
  name:
    "sstp connect kill-switch: nothing leaks through the old default route while the tunnel reconnects, and a clean stop lifts it",
  ignore: CLIENT_NETNS_IGNORE,
  async fn() {
    // use-peer-dns writes the resolv.conf (bind-mounted over /etc/resolv.conf in C).
    await using t = await createClientTopology({
      leakMetric: 0,
      resolvConf: "nameserver 198.18.99.99\n",
    });
    const c = t.client;
    const txLeak = () => linkPackets(c, t.leakDev, "tx");
    const config = serverYaml();
    // Without the switch, traffic to the outside leaves through the leak link.
    const unprotected = await txLeak();
    await c.exec(["ping", "-c", "1", "-W", "1", OUTSIDE]);
    assert.ok(await txLeak() > unprotected, "the leak counter counts");
    const before = await routingState(c);

    let server = await t.startServer(config);
    const client = t.connect([
      ...["--name", "sstp-ks", "--add-default-route", "--default-route-distance", "3"],
      ...["--kill-switch", "--use-peer-dns", "--comment", "kill switch test"],
    ]);
    await client.waitFor(/kill switch engaged/, 30_000);
    await client.waitFor(/ up: sstp-ks /, 30_000);
    const routes = await c.run(["ip", "route", "show"]);
    assert.match(routes, /^0\.0\.0\.0\/1 dev sstp-ks .*metric 3/m);
    assert.match(routes, /^unreachable 0\.0\.0\.0\/1 metric 4/m);
    assert.match(routes, /^unreachable 128\.0\.0\.0\/1 metric 4/m);
    await client.waitFor(/kill switch: 198\.18\.61\.53\/32 blocked/, 10_000);
    assert.match(await c.run(["ip", "route", "show"]), /^unreachable 198\.18\.61\.53 metric 4/m);
    assert.match(
      routes,
      new RegExp(`^${SERVER_IP.replaceAll(".", "\\.")} dev ${t.clientDev}`, "m"),
    );
    const up = await c.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", OUTSIDE]);
    assert.equal(up.code, 0, up.stdout + up.stderr + client.output);
    const state = await Deno.readTextFile(`${t.runDir}/client-sstp-ks.state`);
    assert.match(state, /"type":"unreachable"/, "the switch is journaled");
    const status = await t.status("sstp-ks");
    assert.match(status, /kill-switch: armed/);
    assert.match(status, /comment: kill switch test/);
    assert.match(status, new RegExp(`caller-id: ${CLIENT_IP.replaceAll(".", "\\.")}:[0-9]+`));

    // The server dies: the tunnel goes, the client reconnects, nothing leaks.
    const tx = await txLeak();
    server.kill("SIGKILL");
    await server.status;
    await client.waitFor(/reconnecting in/, 30_000);
    const down = await c.exec(["ping", "-c", "3", "-i", "0.2", "-W", "1", OUTSIDE]);
    assert.notEqual(down.code, 0, down.stdout);
    const udp = await c.exec(["dig", "+tries=1", "+time=1", `@${OUTSIDE}`, "leak.invalid"], {
      timeoutMs: 5000,
    });
    assert.notEqual(udp.code, 0, udp.stdout);
    // The peer DNS server's host route went with the tunnel: its block holds.
    const dns = await c.exec(["dig", "+tries=1", "+time=1", `@${PEER_DNS}`, "leak.invalid"], {
      timeoutMs: 5000,
    });
    assert.notEqual(dns.code, 0, dns.stdout);
    assert.match(await c.run(["ip", "route", "show"]), /^unreachable 0\.0\.0\.0\/1 metric 4/m);
    assert.match(await t.status("sstp-ks"), /kill-switch: blocking/);
    assert.equal(await txLeak(), tx, "nothing left through the old default route");

    // The server returns: the client reaches it through the pinned route.
    server = await t.startServer(config);
    await waitUntil(
      () => Promise.resolve(client.lines.filter((l) => / up: sstp-ks /.test(l)).length >= 2),
      60_000,
      "the client reconnects",
    );
    const again = await c.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", OUTSIDE]);
    assert.equal(again.code, 0, again.stdout + again.stderr + client.output);
    assert.equal(await txLeak(), tx, "nothing left through the old default route");

    // A clean stop lifts the switch: the routing table is as before.
    client.kill("SIGTERM");
    assert.equal((await client.wait(15_000)).code, 0, client.output);
    assert.match(client.output, /kill switch lifted/);
    assert.equal(await routingState(c), before);
    await assert.rejects(Deno.stat(`${t.runDir}/client-sstp-ks.state`), Deno.errors.NotFound);
  },
});
