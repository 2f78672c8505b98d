/**
 * Dial-on-demand against our server, in two namespaces: the interface waits
 * with its placeholder address and the split default routes and no TCP
 * connection exists until the first packet; that traffic brings the tunnel
 * up and is answered; `idle-timeout` hangs up and the interface waits again;
 * the next traffic dials again; a clean stop removes everything.
 *
 * ```
 *  netns S (server)                        netns C (client)
 *  198.18.60.1/30 ──────── veth ───────── 198.18.60.2/30
 *  198.19.5.5/32 on lo (the "outside")     sstp-dd 10.112.112.2 peer 10.112.112.1 (waiting)
 *                                          0.0.0.0/1 + 128.0.0.0/1 dev sstp-dd metric 1
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
secrets:
  - name: carol
    password: "c0rrect horse"
`;

const OUTSIDE = "198.19.5.5";

async function routingState(ns: Netns): Promise<string> {
  const parts = await Promise.all([
    ns.run(["ip", "route", "show", "table", "all"]),
    ns.run(["ip", "-6", "route", "show", "table", "all"]),
    ns.run(["ip", "-br", "link", "show"]),
  ]);
  return parts.join("---\n");
}

async function rxPackets(ns: Netns, dev: string): Promise<number> {
  const [link] = JSON.parse(await ns.run(["ip", "-s", "-j", "link", "show", "dev", dev]));
  return link.stats64.rx.packets;
}

/** TCP connections to the SSTP port in `ns`, in any state but LISTEN. */
async function sstpConnections(ns: Netns): Promise<string[]> {
  const out = await ns.run(["ss", "-Htn", "state", "all", "sport", "= :443"]);
  return out.split("\n").filter((l) => l.trim() !== "" && !/^LISTEN/.test(l.trim()));
}

Deno.test({
  name:
    "sstp connect dial-on-demand: no connection until traffic, the traffic is answered, idle-timeout hangs up and the next traffic dials again",
  ignore: netnsTestIgnore("client dial-on-demand"),
  sanitizeResources: false,
  async fn() {
    await using s = await createNetns();
    await using c = await createNetns();
    const veth = `vdd${s.name.slice(-6)}`;
    const dir = await Deno.makeTempDir({ prefix: "sstp-dd-" });
    // Any unicast packet dials, DNS queries included: the client namespace's
    // resolver is loopback, so a lookup by the runtime (Deno's update check)
    // does not dial before the test's own traffic does.
    const etcNetns = `/etc/netns/${c.name}`;
    await Deno.mkdir(etcNetns, { recursive: true });
    await Deno.writeTextFile(`${etcNetns}/resolv.conf`, "nameserver 127.0.0.1\n");
    let server: SstpProcess | undefined;
    let client: SstpProcess | undefined;
    try {
      await s.run(["ip", "link", "add", "vs", "type", "veth", "peer", veth]);
      await s.run(["ip", "link", "set", veth, "netns", c.name]);
      // No IPv6 on the link: its neighbour discovery would move the counter.
      await s.run(["sysctl", "-q", "-w", "net.ipv6.conf.vs.disable_ipv6=1"]);
      await c.run(["sysctl", "-q", "-w", `net.ipv6.conf.${veth}.disable_ipv6=1`]);
      await s.run(["ip", "addr", "add", "198.18.60.1/30", "dev", "vs"]);
      await s.run(["ip", "link", "set", "vs", "up"]);
      await s.run(["ip", "addr", "add", `${OUTSIDE}/32`, "dev", "lo"]);
      await c.run(["ip", "addr", "add", "198.18.60.2/30", "dev", veth]);
      await c.run(["ip", "link", "set", veth, "up"]);
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

      client = new SstpProcess([
        "connect",
        "198.18.60.1",
        "--user",
        "carol",
        "--verify-server-certificate",
        "no",
        "--name",
        "sstp-dd",
        "--add-default-route",
        "--dial-on-demand",
        "--idle-timeout",
        "3s",
      ], {
        netns: c.name,
        env: { SSTP_PASSWORD: "c0rrect horse", SSTP_RUN_DIR: dir, DENO_NO_UPDATE_CHECK: "1" },
      });
      await client.waitFor(/dial-on-demand: sstp-dd 10\.112\.112\.2 peer 10\.112\.112\.1/, 30_000);
      assert.match(
        await c.run(["ip", "addr", "show", "dev", "sstp-dd"]),
        /inet 10\.112\.112\.2 peer 10\.112\.112\.1\/32/,
      );
      assert.match(await c.run(["ip", "route", "get", OUTSIDE]), /dev sstp-dd/);

      // 1. Waiting: nothing reaches the server.
      const rx = await rxPackets(s, "vs");
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(
        await rxPackets(s, "vs"),
        rx,
        `no packet to the server while waiting:\n${client.output}\n${await s.run([
          "ss",
          "-tan",
        ])}`,
      );
      assert.deepEqual(await sstpConnections(s), []);
      const idle = new SstpProcess(["status", "--dir", dir, "sstp-dd"]);
      assert.equal((await idle.wait(30_000)).code, 0, idle.output);
      assert.match(idle.output, /status: waiting for traffic/);

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
      client.kill("SIGTERM");
      assert.equal((await client.wait(15_000)).code, 0, client.output);
      assert.equal(await routingState(c), before);
      await assert.rejects(Deno.stat(`${dir}/client-sstp-dd.state`), Deno.errors.NotFound);
    } finally {
      client?.kill("SIGKILL");
      await client?.wait(5000);
      server?.kill("SIGTERM");
      await server?.wait(10_000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(etcNetns, { recursive: true }).catch(() => {});
    }
  },
});
