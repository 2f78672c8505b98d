/**
 * The client's kill switch against our server, in three namespaces: while
 * the tunnel is down (server killed) and the client reconnects, nothing
 * leaves through the old default route (a counter on that link stays
 * still), the reconnect itself still reaches the server through its pinned
 * host route, and a clean stop lifts the switch and leaves the routing
 * table as it was.
 *
 * ```
 *  netns S (server)                        netns C (client)                       netns L (leak)
 *  198.18.60.1/30 ──────── veth ───────── 198.18.60.2/30
 *  198.19.5.5/32 on lo (the "outside")     198.18.70.2/30 ──────── veth ──────── 198.18.70.1/30
 *                                          default via 198.18.70.1 metric 0
 *                                          unreachable 0.0.0.0/1 + 128.0.0.0/1 metric 4
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

async function routingState(ns: Netns): Promise<string> {
  const parts = await Promise.all([
    ns.run(["ip", "route", "show", "table", "all"]),
    ns.run(["ip", "-6", "route", "show", "table", "all"]),
  ]);
  return parts.join("---\n");
}

async function txPackets(ns: Netns, dev: string): Promise<number> {
  const [link] = JSON.parse(await ns.run(["ip", "-s", "-j", "link", "show", "dev", dev]));
  return link.stats64.tx.packets;
}

Deno.test({
  name:
    "sstp connect kill-switch: nothing leaks through the old default route while the tunnel reconnects, and a clean stop lifts it",
  ignore: netnsTestIgnore("client kill switch"),
  sanitizeResources: false,
  async fn() {
    await using s = await createNetns();
    await using c = await createNetns();
    await using l = await createNetns();
    const veth = `vks${s.name.slice(-6)}`;
    const leak = `vkl${l.name.slice(-6)}`;
    const dir = await Deno.makeTempDir({ prefix: "sstp-ks-" });
    // use-peer-dns writes this file (bind-mounted over /etc/resolv.conf in C).
    const etcNetns = `/etc/netns/${c.name}`;
    await Deno.mkdir(etcNetns, { recursive: true });
    await Deno.writeTextFile(`${etcNetns}/resolv.conf`, "nameserver 198.18.99.99\n");
    const servers: SstpProcess[] = [];
    let client: SstpProcess | undefined;
    const startServer = async () => {
      const server = new SstpProcess([
        "serve",
        "--config",
        `${dir}/sstp.yaml`,
        "--state-dir",
        dir,
        "--control-socket",
        `${dir}/server.sock`,
      ], { netns: s.name });
      servers.push(server);
      await server.waitFor(/listening on/, 30_000);
      return server;
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
      // No IPv6 on the leak link: its neighbour discovery would move the counter.
      await c.run(["sysctl", "-q", "-w", `net.ipv6.conf.${leak}.disable_ipv6=1`]);
      await l.run(["ip", "addr", "add", "198.18.70.1/30", "dev", "vl"]);
      await l.run(["ip", "link", "set", "vl", "up"]);
      await c.run(["ip", "addr", "add", "198.18.70.2/30", "dev", leak]);
      await c.run(["ip", "link", "set", leak, "up"]);
      await c.run(["ip", "route", "add", "default", "via", "198.18.70.1", "metric", "0"]);

      // Without the switch, traffic to the outside leaves through the leak link.
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
      let server = await startServer();

      client = new SstpProcess([
        "connect",
        "198.18.60.1",
        "--user",
        "carol",
        "--verify-server-certificate",
        "no",
        "--name",
        "sstp-ks",
        "--add-default-route",
        "--default-route-distance",
        "3",
        "--kill-switch",
        "--use-peer-dns",
        "--comment",
        "kill switch test",
      ], { netns: c.name, env: { SSTP_PASSWORD: "c0rrect horse", SSTP_RUN_DIR: dir } });
      await client.waitFor(/kill switch engaged/, 30_000);
      await client.waitFor(/ up: sstp-ks /, 30_000);
      const routes = await c.run(["ip", "route", "show"]);
      assert.match(routes, /^0\.0\.0\.0\/1 dev sstp-ks .*metric 3/m);
      assert.match(routes, /^unreachable 0\.0\.0\.0\/1 metric 4/m);
      assert.match(routes, /^unreachable 128\.0\.0\.0\/1 metric 4/m);
      await client.waitFor(/kill switch: 198\.18\.61\.53\/32 blocked/, 10_000);
      assert.match(await c.run(["ip", "route", "show"]), /^unreachable 198\.18\.61\.53 metric 4/m);
      assert.match(routes, new RegExp(`^198\\.18\\.60\\.1 dev ${veth}`, "m"));
      const up = await c.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", OUTSIDE]);
      assert.equal(up.code, 0, up.stdout + up.stderr + client.output);
      const state = await Deno.readTextFile(`${dir}/client-sstp-ks.state`);
      assert.match(state, /"type":"unreachable"/, "the switch is journaled");
      const status = new SstpProcess(["status", "--dir", dir, "sstp-ks"]);
      assert.equal((await status.wait(30_000)).code, 0, status.output);
      assert.match(status.output, /kill-switch: armed/);
      assert.match(status.output, /comment: kill switch test/);
      assert.match(status.output, /caller-id: 198\.18\.60\.2:[0-9]+/);

      // The server dies: the tunnel goes, the client reconnects, nothing leaks.
      const tx = await txPackets(c, leak);
      server.kill("SIGKILL");
      await server.wait(10_000);
      await client.waitFor(/reconnecting in/, 30_000);
      const down = await c.exec(["ping", "-c", "3", "-i", "0.2", "-W", "1", OUTSIDE]);
      assert.notEqual(down.code, 0, down.stdout);
      const udp = await c.exec(["dig", "+tries=1", "+time=1", `@${OUTSIDE}`, "leak.invalid"], {
        timeoutMs: 5000,
      });
      assert.notEqual(udp.code, 0, udp.stdout);
      // The peer DNS server's host route went with the tunnel: its block holds.
      const dns = await c.exec(["dig", "+tries=1", "+time=1", "@198.18.61.53", "leak.invalid"], {
        timeoutMs: 5000,
      });
      assert.notEqual(dns.code, 0, dns.stdout);
      assert.match(await c.run(["ip", "route", "show"]), /^unreachable 0\.0\.0\.0\/1 metric 4/m);
      const waiting = new SstpProcess(["status", "--dir", dir, "sstp-ks"]);
      assert.equal((await waiting.wait(30_000)).code, 0, waiting.output);
      assert.match(waiting.output, /kill-switch: blocking/);
      assert.equal(await txPackets(c, leak), tx, "nothing left through the old default route");

      // The server returns: the client reaches it through the pinned route.
      server = await startServer();
      await waitUntil(
        () => Promise.resolve(client!.lines.filter((l) => / up: sstp-ks /.test(l)).length >= 2),
        60_000,
        "the client reconnects",
      );
      const again = await c.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", OUTSIDE]);
      assert.equal(again.code, 0, again.stdout + again.stderr + client.output);
      assert.equal(await txPackets(c, leak), tx, "nothing left through the old default route");

      // A clean stop lifts the switch: the routing table is as before.
      client.kill("SIGTERM");
      assert.equal((await client.wait(15_000)).code, 0, client.output);
      assert.match(client.output, /kill switch lifted/);
      assert.equal(await routingState(c), before);
      await assert.rejects(Deno.stat(`${dir}/client-sstp-ks.state`), Deno.errors.NotFound);
    } finally {
      client?.kill("SIGKILL");
      await client?.wait(5000);
      for (const server of servers) {
        server.kill("SIGTERM");
        await server.wait(10_000);
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(etcNetns, { recursive: true }).catch(() => {});
    }
  },
});
