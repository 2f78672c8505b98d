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
 *  198.18.70.1/30 "vs" ─────── veth ─────────── 198.18.70.2/30, default via 198.18.70.1
 *  keepalive-timeout 2 s, pool 198.18.71.10-11    sstp-lc: split default routes metric 7, host route, peer DNS
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { createNetns, netnsTestIgnore } from "./helpers/netns.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import { controlRequest } from "../lib/control/control_client.ts";
import "reflect-metadata";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";

const CONFIG = `
sstp-server:
  port: 443
  certificate: server.pem
  listen: [198.18.70.1]
  authentication: mschap2
  keepalive-timeout: 2
pools:
  - name: p
    ranges: 198.18.71.10-198.18.71.11
profiles:
  - name: default
    local-address: 198.18.71.1
    remote-address: p
    dns-server: [198.18.71.53]
secrets:
  - name: dave
    password: "link-cut pw"
`;

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
  ignore: netnsTestIgnore("link cut"),
  sanitizeResources: false,
  async fn() {
    await using s = await createNetns();
    await using c = await createNetns();
    const veth = `vlc${s.name.slice(-6)}`;
    const dir = await Deno.makeTempDir({ prefix: "sstp-lc-" });
    const etcNetns = `/etc/netns/${c.name}`;
    await Deno.mkdir(etcNetns, { recursive: true });
    const resolv = `${etcNetns}/resolv.conf`;
    await Deno.writeTextFile(resolv, "nameserver 198.18.99.99\n");
    const socket = `${dir}/server.sock`;
    let server: SstpProcess | undefined;
    let client: SstpProcess | undefined;
    try {
      await s.run(["ip", "link", "add", "vs", "type", "veth", "peer", veth]);
      await s.run(["ip", "link", "set", veth, "netns", c.name]);
      await s.run(["ip", "addr", "add", "198.18.70.1/30", "dev", "vs"]);
      await s.run(["ip", "link", "set", "vs", "up"]);
      await c.run(["ip", "addr", "add", "198.18.70.2/30", "dev", veth]);
      await c.run(["ip", "link", "set", veth, "up"]);
      await c.run(["ip", "route", "add", "default", "via", "198.18.70.1"]);
      const cert = await createSelfSignedServerCertificate({
        commonName: "198.18.70.1",
        ipAddresses: ["198.18.70.1"],
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
        socket,
      ], { netns: s.name });
      await server.waitFor(/listening on/, 30_000);

      client = new SstpProcess([
        "connect",
        "198.18.70.1",
        "--user",
        "dave",
        "--verify-server-certificate",
        "no",
        "--name",
        "sstp-lc",
        "--keepalive-timeout",
        "2",
        "--add-default-route",
        "yes",
        "--default-route-distance",
        "7",
        "--use-peer-dns",
        "yes",
      ], { netns: c.name, env: { SSTP_PASSWORD: "link-cut pw", SSTP_RUN_DIR: dir } });
      await client.waitFor(/ up: sstp-lc /, 30_000);
      const before = await sessions(socket);
      assert.equal(before.length, 1);
      const routesUp = await c.run(["ip", "route", "show"]);
      assert.match(
        routesUp,
        /^0\.0\.0\.0\/1 dev sstp-lc .*metric 7 *$[\s\S]*^128\.0\.0\.0\/1 dev sstp-lc .*metric 7 *$/m,
      );
      assert.match(await Deno.readTextFile(resolv), /nameserver 198\.18\.71\.53/);

      // Cut the link from the server side: the client's veth loses carrier
      // and its routes stay (marked linkdown), as with a pulled cable.
      await s.run(["ip", "link", "set", "vs", "down"]);
      const cutAt = performance.now();
      await waitUntil(
        () => Promise.resolve(count(client!.lines, /reconnecting in/) >= 1),
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
      await s.run(["ip", "link", "set", "vs", "up"]);

      await waitUntil(
        () => Promise.resolve(count(client!.lines, / up: sstp-lc /) >= 2),
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
      assert.match(routesAgain, /^198\.18\.70\.1 (via 198\.18\.70\.1 )?dev vlc/m);
      assert.match(await Deno.readTextFile(resolv), /nameserver 198\.18\.71\.53/);
      const ping = await c.exec(["ping", "-c", "2", "-W", "2", "198.18.71.1"]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      const after = await sessions(socket);
      assert.equal(after.length, 1, "only the new session");
      assert.notEqual(after[0]!.correlationId, before[0]!.correlationId);
      assert.equal(count((await s.run(["ip", "-br", "link"])).split("\n"), /^sstp-/), 1);
      assert.ok(noticedMs < 15_000, `noticed after ${noticedMs} ms`);

      client.kill("SIGTERM");
      assert.equal((await client.wait(15_000)).code, 0, client.output);
      const cleaned = await c.run(["ip", "route", "show"]);
      assert.doesNotMatch(cleaned, /sstp-lc/);
      assert.match(cleaned, /default via 198\.18\.70\.1/);
      await waitUntil(
        async () => (await Deno.readTextFile(resolv)).includes("198.18.99.99"),
        5000,
        "resolv.conf restored",
      );
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
