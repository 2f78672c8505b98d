/**
 * Client network configuration against our server, in three namespaces:
 * `add-default-route` must carry the traffic through the tunnel even when the
 * client already has a default route of a better metric (through a "leak"
 * link that must see none of it), `use-peer-dns` applies the peer's DNS
 * server with a route through the tunnel, and both a clean stop and a
 * SIGKILL followed by a restart leave the routing table exactly as before.
 *
 * ```
 *  netns S (server)                        netns C (client)                       netns L (leak)
 *  198.18.60.1/30 ──────── veth ───────── 198.18.60.2/30
 *  198.19.5.5/32 on lo (the "outside")     198.18.70.2/30 ──────── veth ──────── 198.18.70.1/30
 *  pool 198.18.61.10-20, dns 198.18.61.53  default via 198.18.70.1 metric 0|100
 *                                          TUN sstp-rt: 0.0.0.0/1 + 128.0.0.0/1 metric 7
 * ```
 */
import assert from "node:assert/strict";
import { createNetns, type Netns, netnsTestIgnore } from "./helpers/netns.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import "reflect-metadata";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";

const CONFIG = `
sstp-server:
  port: 443
  certificate: server.pem
  listen: [198.18.60.1]
  authentication: mschap2
pools:
  - name: p
    ranges: 198.18.61.10-198.18.61.20
profiles:
  - name: default
    local-address: 198.18.61.1
    remote-address: p
    dns-server: [198.18.61.53]
secrets:
  - name: carol
    password: "c0rrect horse"
`;

/** An address outside every network of the client: only default routes reach it. */
const OUTSIDE = "198.19.5.5";

/** The whole routing state of a namespace, as `ip` prints it. */
async function routingState(ns: Netns): Promise<string> {
  const parts = await Promise.all([
    ns.run(["ip", "route", "show", "table", "all"]),
    ns.run(["ip", "-6", "route", "show", "table", "all"]),
    ns.run(["ip", "rule", "show"]),
    ns.run(["ip", "-6", "rule", "show"]),
  ]);
  return parts.join("---\n");
}

/** Packets sent so far through `dev`. */
async function txPackets(ns: Netns, dev: string): Promise<number> {
  const [link] = JSON.parse(await ns.run(["ip", "-s", "-j", "link", "show", "dev", dev]));
  return link.stats64.tx.packets;
}

async function leakScenario(leakMetric: number): Promise<void> {
  await using s = await createNetns();
  await using c = await createNetns();
  await using l = await createNetns();
  const veth = `vrt${s.name.slice(-6)}`;
  const leak = `vlk${l.name.slice(-6)}`;
  const dir = await Deno.makeTempDir({ prefix: "sstp-rt-" });
  const etcNetns = `/etc/netns/${c.name}`;
  await Deno.mkdir(etcNetns, { recursive: true });
  const resolv = `${etcNetns}/resolv.conf`;
  const oldResolv = "nameserver 198.18.99.99\n";
  await Deno.writeTextFile(resolv, oldResolv);
  let server: SstpProcess | undefined;
  const clients: SstpProcess[] = [];
  const startClient = () => {
    const client = new SstpProcess([
      "connect",
      "198.18.60.1",
      "--user",
      "carol",
      "--verify-server-certificate",
      "no",
      "--name",
      "sstp-rt",
      "--add-default-route",
      "yes",
      "--default-route-distance",
      "7",
      "--use-peer-dns",
      "yes",
      "--reconnect",
      "no",
    ], { netns: c.name, env: { SSTP_PASSWORD: "c0rrect horse", SSTP_RUN_DIR: dir } });
    clients.push(client);
    return client;
  };
  try {
    await s.run(["ip", "link", "add", "vs", "type", "veth", "peer", veth]);
    await s.run(["ip", "link", "set", veth, "netns", c.name]);
    await s.run(["ip", "addr", "add", "198.18.60.1/30", "dev", "vs"]);
    await s.run(["ip", "link", "set", "vs", "up"]);
    await s.run(["ip", "addr", "add", `${OUTSIDE}/32`, "dev", "lo"]);
    await c.run(["ip", "addr", "add", "198.18.60.2/30", "dev", veth]);
    await c.run(["ip", "link", "set", veth, "up"]);
    await l.run(["ip", "link", "add", "vl", "type", "veth", "peer", leak]);
    await l.run(["ip", "link", "set", leak, "netns", c.name]);
    await l.run(["ip", "addr", "add", "198.18.70.1/30", "dev", "vl"]);
    await l.run(["ip", "link", "set", "vl", "up"]);
    await c.run(["ip", "addr", "add", "198.18.70.2/30", "dev", leak]);
    await c.run(["ip", "link", "set", leak, "up"]);
    await c.run(["ip", "route", "add", "default", "via", "198.18.70.1", "metric", `${leakMetric}`]);

    // Without the tunnel, traffic to the outside leaves through the leak link
    // (and the counter shows it: the check below can fail).
    const unprotected = await txPackets(c, leak);
    await c.exec(["ping", "-c", "1", "-W", "1", OUTSIDE]);
    assert.ok(await txPackets(c, leak) > unprotected, "the leak counter counts");
    const before = await routingState(c);

    const cert = await createSelfSignedServerCertificate({
      commonName: "198.18.60.1",
      ipAddresses: ["198.18.60.1"],
    });
    await Deno.writeTextFile(`${dir}/server.pem`, cert.certPem + cert.keyPem, { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/sstp.yaml`, CONFIG, { mode: 0o600 });
    server = new SstpProcess([
      "serve",
      "--config",
      `${dir}/sstp.yaml`,
      "--state-dir",
      dir,
      "--control-socket",
      `${dir}/server.sock`,
    ], { netns: s.name });
    await server.waitFor(/listening on/, 30_000);

    // 1. Connect: the split routes beat the leak's default whatever its metric.
    let client = startClient();
    await client.waitFor(/ up: sstp-rt /, 30_000);
    const routes = await c.run(["ip", "route", "show"]);
    assert.match(routes, /^0\.0\.0\.0\/1 dev sstp-rt .*metric 7/m);
    assert.match(routes, /^128\.0\.0\.0\/1 dev sstp-rt .*metric 7/m);
    assert.match(routes, /^198\.18\.61\.53 dev sstp-rt .*metric 7/m);
    assert.match(routes, new RegExp(`^198\\.18\\.60\\.1 dev ${veth}`, "m"));
    assert.match(routes, new RegExp(`^default via 198\\.18\\.70\\.1 dev ${leak}`, "m"));
    assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-rt/);
    assert.match(await c.run(["ip", "route", "get", "198.18.61.53"]), /dev sstp-rt/);
    assert.match(await c.run(["ip", "route", "get", "198.18.60.1"]), new RegExp(`dev ${veth}`));
    assert.match(await Deno.readTextFile(resolv), /^nameserver 198\.18\.61\.53$/m);
    assert.doesNotMatch(await Deno.readTextFile(resolv), /198\.18\.99\.99/);
    const tx = await txPackets(c, leak);
    const ping = await c.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", OUTSIDE]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    // A DNS query through resolv.conf goes to the peer's server, into the tunnel.
    const tunnelTx = await txPackets(c, "sstp-rt");
    await c.exec(["dig", "+tries=1", "+time=1", "sstp-route-test.invalid"], { timeoutMs: 5000 });
    assert.ok(await txPackets(c, "sstp-rt") > tunnelTx, "the DNS query went into the tunnel");
    assert.equal(await txPackets(c, leak), tx, "nothing left through the leak link");
    const status = new SstpProcess(["status", "--dir", dir, "sstp-rt"]);
    assert.equal((await status.wait(30_000)).code, 0, status.output);
    assert.match(
      status.output,
      /default-route: split 0\.0\.0\.0\/1\+128\.0\.0\.0\/1 metric 7 via sstp-rt/,
    );
    assert.match(status.output, /dns-routes: \["198\.18\.61\.53\/32 via sstp-rt"\]/);

    // 2. A clean stop puts everything back.
    client.kill("SIGTERM");
    assert.equal((await client.wait(15_000)).code, 0, client.output);
    assert.equal(await routingState(c), before);
    assert.equal(await Deno.readTextFile(resolv), oldResolv);
    await assert.rejects(Deno.stat(`${dir}/client-sstp-rt.state`), Deno.errors.NotFound);

    // 3. SIGKILL leaves the pinned route and resolv.conf; the next start undoes them.
    client = startClient();
    await client.waitFor(/ up: sstp-rt /, 30_000);
    client.kill("SIGKILL");
    await client.wait(5000);
    const stateFiles = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n.endsWith(".state")
    );
    assert.equal(stateFiles.length, 1, `one state file: ${stateFiles}`);
    await waitUntil(
      async () => !(await c.run(["ip", "link", "show"])).includes("sstp-rt"),
      5000,
      "TUN gone with the killed client",
    );
    assert.notEqual(await routingState(c), before, "a killed client leaves its pinned route");
    assert.match(await Deno.readTextFile(resolv), /198\.18\.61\.53/);
    client = startClient();
    await client.waitFor(/undoing [0-9]+ network change\(s\) left by process/, 30_000);
    await client.waitFor(/ up: sstp-rt /, 30_000);
    assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-rt/);
    client.kill("SIGTERM");
    assert.equal((await client.wait(15_000)).code, 0, client.output);
    assert.equal(await routingState(c), before);
    assert.equal(await Deno.readTextFile(resolv), oldResolv);
  } finally {
    for (const client of clients) {
      client.kill("SIGKILL");
      await client.wait(5000);
    }
    server?.kill("SIGTERM");
    await server?.wait(10_000);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(etcNetns, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "sstp connect add-default-route beats an existing metric-0 default route, nothing leaks, and stop and SIGKILL+restart restore the routing table",
  ignore: netnsTestIgnore("client routes"),
  sanitizeResources: false,
  fn: () => leakScenario(0),
});

Deno.test({
  name: "sstp connect add-default-route beats an existing metric-100 default route as well",
  ignore: netnsTestIgnore("client routes"),
  sanitizeResources: false,
  fn: () => leakScenario(100),
});

Deno.test({
  name:
    "sstp connect default-route-distance orders two tunnels, a same-distance third is refused, and the backup survives the primary's stop",
  ignore: netnsTestIgnore("client routes"),
  async fn() {
    await using s = await createNetns();
    await using c = await createNetns();
    const veth = `vrt${s.name.slice(-6)}`;
    const dir = await Deno.makeTempDir({ prefix: "sstp-rt-" });
    let server: SstpProcess | undefined;
    const clients: SstpProcess[] = [];
    const startClient = (server: string, name: string, distance: number) => {
      const client = new SstpProcess([
        "connect",
        server,
        "--user",
        "carol",
        "--verify-server-certificate",
        "no",
        "--name",
        name,
        "--add-default-route",
        "yes",
        "--default-route-distance",
        String(distance),
        "--reconnect",
        "no",
      ], { netns: c.name, env: { SSTP_PASSWORD: "c0rrect horse", SSTP_RUN_DIR: dir } });
      clients.push(client);
      return client;
    };
    try {
      // The servers are reached through C's default route, as on a real host.
      await s.run(["ip", "link", "add", "vs", "type", "veth", "peer", veth]);
      await s.run(["ip", "link", "set", veth, "netns", c.name]);
      await s.run(["ip", "addr", "add", "198.18.60.1/30", "dev", "vs"]);
      await s.run(["ip", "link", "set", "vs", "up"]);
      for (const a of ["198.18.65.1", "198.18.65.2", OUTSIDE]) {
        await s.run(["ip", "addr", "add", `${a}/32`, "dev", "lo"]);
      }
      await c.run(["ip", "addr", "add", "198.18.60.2/30", "dev", veth]);
      await c.run(["ip", "link", "set", veth, "up"]);
      await c.run(["ip", "route", "add", "default", "via", "198.18.60.1", "metric", "0"]);
      const before = await routingState(c);
      const cert = await createSelfSignedServerCertificate({
        commonName: "198.18.65.1",
        ipAddresses: ["198.18.65.1", "198.18.65.2"],
      });
      await Deno.writeTextFile(`${dir}/server.pem`, cert.certPem + cert.keyPem, { mode: 0o600 });
      await Deno.writeTextFile(
        `${dir}/sstp.yaml`,
        CONFIG.replace("listen: [198.18.60.1]", "listen: [198.18.65.1, 198.18.65.2]"),
        { mode: 0o600 },
      );
      server = new SstpProcess([
        "serve",
        "--config",
        `${dir}/sstp.yaml`,
        "--state-dir",
        dir,
        "--control-socket",
        `${dir}/server.sock`,
      ], { netns: s.name });
      await server.waitFor(/listening on/, 30_000);

      const primary = startClient("198.18.65.1", "sstp-ra", 1);
      await primary.waitFor(/ up: sstp-ra /, 30_000);
      const backup = startClient("198.18.65.2", "sstp-rb", 2);
      await backup.waitFor(/ up: sstp-rb /, 30_000);
      assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-ra/);
      // The backup's server is pinned under the primary's split routes, not inside them.
      const routes = await c.run(["ip", "route", "show"]);
      assert.match(routes, new RegExp(`^198\\.18\\.65\\.2 via 198\\.18\\.60\\.1 dev ${veth}`, "m"));
      assert.match(routes, /^0\.0\.0\.0\/1 dev sstp-rb .*metric 2/m);

      const clash = startClient("198.18.65.1", "sstp-rc", 1);
      const clashStatus = await clash.wait(30_000);
      assert.notEqual(clashStatus.code, 0, clash.output);
      assert.match(clash.output, /another route holds that prefix and metric/);
      assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-ra/);

      primary.kill("SIGTERM");
      assert.equal((await primary.wait(15_000)).code, 0, primary.output);
      assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-rb/);
      const ping = await c.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", OUTSIDE]);
      assert.equal(
        ping.code,
        0,
        ping.stdout + ping.stderr + backup.output + "\nC:\n" + await c.run(["ip", "route"]) +
          "\nS:\n" + await s.run(["ip", "route"]) + await s.run(["ip", "addr"]) + server.output,
      );
      assert.equal(backup.exited, false, backup.output);

      backup.kill("SIGTERM");
      assert.equal((await backup.wait(15_000)).code, 0, backup.output);
      assert.equal(await routingState(c), before);
    } finally {
      for (const client of clients) {
        client.kill("SIGKILL");
        await client.wait(5000);
      }
      server?.kill("SIGTERM");
      await server?.wait(10_000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
