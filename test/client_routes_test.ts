/**
 * Client network configuration against our server, in three namespaces
 * (client_fixture.ts): `add-default-route` must carry the traffic through
 * the tunnel even when the client already has a default route of a better
 * metric (through a "leak" link that must see none of it), `use-peer-dns`
 * applies the peer's DNS server with a route through the tunnel, and both a
 * clean stop and a SIGKILL followed by a restart leave the routing table
 * exactly as before.
 *
 * ```
 *  netns S (server)                        netns C (client)                       netns L (leak)
 *  198.18.1.1/24 ───────── veth ───────── 198.18.1.2/24
 *  198.19.5.5/32 on lo (the "outside")     198.18.70.2/30 ──────── veth ──────── 198.18.70.1/30
 *  pool 198.18.61.10-20, dns 198.18.61.53  default via 198.18.70.1 metric 0|100
 *                                          TUN sstp-rt: 0.0.0.0/1 + 128.0.0.0/1 metric 7
 * ```
 */
import assert from "node:assert/strict";
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
import { SERVER_IP } from "./server_fixture.ts";

const SERVER_RE = SERVER_IP.replaceAll(".", "\\.");

async function leakScenario(leakMetric: number): Promise<void> {
  const oldResolv = "nameserver 198.18.99.99\n";
  await using t = await createClientTopology({ leakMetric, resolvConf: oldResolv });
  const c = t.client;
  const startClient = () =>
    t.connect([
      ...["--name", "sstp-rt", "--add-default-route", "yes", "--default-route-distance", "7"],
      ...["--use-peer-dns", "yes", "--reconnect", "no"],
    ]);

  // Without the tunnel, traffic to the outside leaves through the leak link
  // (and the counter shows it: the check below can fail).
  const unprotected = await linkPackets(c, t.leakDev, "tx");
  await c.exec(["ping", "-c", "1", "-W", "1", OUTSIDE]);
  assert.ok(await linkPackets(c, t.leakDev, "tx") > unprotected, "the leak counter counts");
  const before = await routingState(c);
  await t.startServer(serverYaml());

  // 1. Connect: the split routes beat the leak's default whatever its metric.
  let client = startClient();
  await client.waitFor(/ up: sstp-rt /, 30_000);
  const routes = await c.run(["ip", "route", "show"]);
  assert.match(routes, /^0\.0\.0\.0\/1 dev sstp-rt .*metric 7/m);
  assert.match(routes, /^128\.0\.0\.0\/1 dev sstp-rt .*metric 7/m);
  assert.match(routes, /^198\.18\.61\.53 dev sstp-rt .*metric 7/m);
  assert.match(routes, new RegExp(`^${SERVER_RE} dev ${t.clientDev}`, "m"));
  assert.match(routes, new RegExp(`^default via 198\\.18\\.70\\.1 dev ${t.leakDev}`, "m"));
  assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-rt/);
  assert.match(await c.run(["ip", "route", "get", "198.18.61.53"]), /dev sstp-rt/);
  assert.match(await c.run(["ip", "route", "get", SERVER_IP]), new RegExp(`dev ${t.clientDev}`));
  assert.match(await Deno.readTextFile(t.resolvPath), /^nameserver 198\.18\.61\.53$/m);
  assert.doesNotMatch(await Deno.readTextFile(t.resolvPath), /198\.18\.99\.99/);
  const tx = await linkPackets(c, t.leakDev, "tx");
  const ping = await c.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", OUTSIDE]);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  // A DNS query through resolv.conf goes to the peer's server, into the tunnel.
  const tunnelTx = await linkPackets(c, "sstp-rt", "tx");
  await c.exec(["dig", "+tries=1", "+time=1", "sstp-route-test.invalid"], { timeoutMs: 5000 });
  assert.ok(await linkPackets(c, "sstp-rt", "tx") > tunnelTx, "the DNS query went into the tunnel");
  assert.equal(await linkPackets(c, t.leakDev, "tx"), tx, "nothing left through the leak link");
  const status = await t.status("sstp-rt");
  assert.match(status, /default-route: split 0\.0\.0\.0\/1\+128\.0\.0\.0\/1 metric 7 via sstp-rt/);
  assert.match(status, /dns-routes: \["198\.18\.61\.53\/32 via sstp-rt"\]/);

  // 2. A clean stop puts everything back.
  await stopClient(client);
  assert.equal(await routingState(c), before);
  assert.equal(await Deno.readTextFile(t.resolvPath), oldResolv);
  await assert.rejects(Deno.stat(`${t.runDir}/client-sstp-rt.state`), Deno.errors.NotFound);

  // 3. SIGKILL leaves the pinned route and resolv.conf; the next start undoes them.
  client = startClient();
  await client.waitFor(/ up: sstp-rt /, 30_000);
  client.kill("SIGKILL");
  await client.wait(5000);
  const stateFiles = [...Deno.readDirSync(t.runDir)].map((e) => e.name).filter((n) =>
    n.endsWith(".state")
  );
  assert.equal(stateFiles.length, 1, `one state file: ${stateFiles}`);
  await waitUntil(
    async () => !(await c.run(["ip", "link", "show"])).includes("sstp-rt"),
    5000,
    "TUN gone with the killed client",
  );
  assert.notEqual(await routingState(c), before, "a killed client leaves its pinned route");
  assert.match(await Deno.readTextFile(t.resolvPath), /198\.18\.61\.53/);
  client = startClient();
  await client.waitFor(/undoing [0-9]+ network change\(s\) left by process/, 30_000);
  await client.waitFor(/ up: sstp-rt /, 30_000);
  assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-rt/);
  await stopClient(client);
  assert.equal(await routingState(c), before);
  assert.equal(await Deno.readTextFile(t.resolvPath), oldResolv);
}

Deno.test({
  name:
    "sstp connect add-default-route beats an existing metric-0 default route, nothing leaks, and stop and SIGKILL+restart restore the routing table",
  ignore: CLIENT_NETNS_IGNORE,
  fn: () => leakScenario(0),
});

Deno.test({
  name: "sstp connect add-default-route beats an existing metric-100 default route as well",
  ignore: CLIENT_NETNS_IGNORE,
  fn: () => leakScenario(100),
});

Deno.test({
  name:
    "sstp connect default-route-distance orders two tunnels, a same-distance third is refused, and the backup survives the primary's stop",
  ignore: CLIENT_NETNS_IGNORE,
  async fn() {
    // The servers are reached through C's default route, as on a real host.
    await using t = await createClientTopology({
      serverAddresses: ["198.18.65.1", "198.18.65.2"],
      defaultViaServer: true,
    });
    const c = t.client;
    const startClient = (host: string, name: string, distance: number) =>
      t.connect([
        ...["--name", name, "--add-default-route", "yes"],
        ...["--default-route-distance", String(distance), "--reconnect", "no"],
      ], { host });
    const before = await routingState(c);
    const server = await t.startServer(serverYaml(), { listen: "[198.18.65.1, 198.18.65.2]" });

    const primary = startClient("198.18.65.1", "sstp-ra", 1);
    await primary.waitFor(/ up: sstp-ra /, 30_000);
    const backup = startClient("198.18.65.2", "sstp-rb", 2);
    await backup.waitFor(/ up: sstp-rb /, 30_000);
    assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-ra/);
    // The backup's server is pinned under the primary's split routes, not inside them.
    const routes = await c.run(["ip", "route", "show"]);
    assert.match(routes, new RegExp(`^198\\.18\\.65\\.2 via ${SERVER_RE} dev ${t.clientDev}`, "m"));
    assert.match(routes, /^0\.0\.0\.0\/1 dev sstp-rb .*metric 2/m);

    const clash = startClient("198.18.65.1", "sstp-rc", 1);
    const clashStatus = await clash.wait(30_000);
    assert.notEqual(clashStatus.code, 0, clash.output);
    assert.match(clash.output, /another route holds that prefix and metric/);
    assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-ra/);

    await stopClient(primary);
    assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-rb/);
    const ping = await c.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", OUTSIDE]);
    assert.equal(
      ping.code,
      0,
      ping.stdout + ping.stderr + backup.output + "\nC:\n" + await c.run(["ip", "route"]) +
        "\nS:\n" + await t.server.run(["ip", "route"]) + await t.server.run(["ip", "addr"]) +
        server.lines.join("\n"),
    );
    assert.equal(backup.exited, false, backup.output);

    await stopClient(backup);
    assert.equal(await routingState(c), before);
  },
});
