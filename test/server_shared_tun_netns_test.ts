/**
 * `interface-mode: shared`: one TUN device for every session. Several
 * clients on one `sstp serve`: each is pinged through the tunnel, traffic
 * from the server side reaches exactly the client that owns the destination
 * (its address, its framed route by longest prefix), the source check still
 * drops spoofed packets, a session's end takes its kernel route and its
 * demultiplexer entry away (the same user can come back), and no file
 * descriptor is left behind.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  connectClient,
  connectProcess,
  createTopology,
  pingThroughTunnel,
  pingTunnelFromClient,
  POOL_YAML,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  type Topology,
  TUNNEL_LOCAL,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import { waitUntil } from "./helpers/sstp_process.ts";
import type { TestClient } from "./helpers/test_client.ts";
import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";

const USERS = Array.from({ length: 8 }, (_, i) => `user${i}`);
const STATIC_PEER = "198.19.1.2";

const CONFIG = "  interface-mode: shared\n" +
  "  max-handshakes-per-source: 32\n  max-unauthenticated-per-source: 32\n" + POOL_YAML +
  "secrets:\n" + USERS.map((u) => `  - { name: ${u}, password: pw-${u} }\n`).join("") +
  // Outside the pool (a /32 route of its own) with a framed route behind it.
  `  - { name: static, password: st4tic, local-address: 198.19.1.1, remote-address: ${STATIC_PEER}, routes: "198.19.200.0/24" }\n`;

function fdCount(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

function fdList(pid: number): string[] {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].map((e) => {
    try {
      return `${e.name}:${Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`)}`;
    } catch {
      return e.name;
    }
  }).sort();
}

/** ICMP echo requests (type 8) to `dst` the client's TUN received since `from`. */
function echoRequestsTo(c: TestClient, dst: string, from: number): number {
  const tun = c.tun as MemoryTun;
  return tun.written.slice(from).filter((p) => {
    const icmp = parseIcmp(p);
    return icmp?.type === 8 && icmp.dst === dst;
  }).length;
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "sstp serve interface-mode shared: one TUN device, clients pinged, routed by " +
    "destination, routes and fds released at the end",
  ignore: SERVE_NETNS_IGNORE,
}, async () => {
  await using t = await createTopology({ prefix: "sharedtun" });
  const config = await writeConfig(t, CONFIG);
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  await serve.waitFor(/interface-mode shared: sstp0/);
  // A first session opens what the server opens once (lazily); the count after it
  // is the baseline.
  const warm = await connectClient(t, USERS[0]!, `pw-${USERS[0]}`);
  await pingThroughTunnel(warm, 1);
  await warm.close();
  await serve.waitFor(/ closed: /, 10_000);
  await new Promise((r) => setTimeout(r, 500));
  const fdsIdle = fdCount(serve.pid);
  const idleList = fdList(serve.pid);
  const clients = await Promise.all(USERS.map((u) => connectClient(t, u, `pw-${u}`)));
  let stat: TestClient | undefined = await connectClient(t, "static", "st4tic");
  try {
    const ips = await Promise.all(clients.map((c) => c.linkUp));
    assert.equal(new Set(ips.map((ip) => ip.localAddress)).size, USERS.length, "distinct");
    assert.equal((await stat.linkUp).localAddress, STATIC_PEER);
    // Every client is pinged through the one device.
    await Promise.all(clients.map((c, i) => pingThroughTunnel(c, i + 1)));
    await pingThroughTunnel(stat, 99);
    const tuns = await t.server.run(["ip", "-o", "link", "show", "type", "tun"]);
    assert.deepEqual(
      tuns.trim().split("\n").map((l) => l.split(":")[1]?.trim()),
      ["sstp0"],
      "one TUN device for every session",
    );
    // No TUN fd per session: the one device's, whatever the number of sessions.
    const loaded = fdList(serve.pid);
    assert.equal(loaded.filter((f) => f.endsWith(":/dev/net/tun")).length, 1, loaded.join(" "));
    assert.ok(loaded.length - fdsIdle >= USERS.length + 1, "a socket per session");

    // Server side → client: each packet reaches the one client owning its destination.
    const before = [...clients, stat].map((c) => (c.tun as MemoryTun).written.length);
    const target = ips[3]!.localAddress;
    await t.server.exec(["ping", "-c", "1", "-W", "1", target]);
    await until(() => echoRequestsTo(clients[3]!, target, before[3]!) === 1, 5000, "ping to user3");
    await t.server.exec(["ping", "-c", "1", "-W", "1", "198.19.200.7"]);
    await until(
      () => echoRequestsTo(stat!, "198.19.200.7", before[USERS.length]!) === 1,
      5000,
      "ping into the framed route",
    );
    [...clients, stat].forEach((c, i) => {
      const tun = c.tun as MemoryTun;
      const requests = tun.written.slice(before[i]!).filter((p) => parseIcmp(p)?.type === 8);
      assert.equal(requests.length, i === 3 || i === USERS.length ? 1 : 0, `client ${i}`);
    });

    // Source check (the data plane's, before the shared device): user0 may not send
    // from the static user's framed route; the static user may, and the answer finds it
    // by longest prefix.
    const u0 = clients[0]!.tun as MemoryTun;
    const u0Before = u0.written.length;
    u0.inject(buildIcmpEcho("198.19.200.9", TUNNEL_LOCAL, { id: 7, seq: 1 }));
    const st = stat.tun as MemoryTun;
    const stBefore = st.written.length;
    st.inject(buildIcmpEcho("198.19.200.9", TUNNEL_LOCAL, { id: 7, seq: 2 }));
    const reply = parseIcmp(await st.nextWritten(stBefore, 5000));
    assert.equal(reply?.type, 0);
    assert.equal(reply?.dst, "198.19.200.9");
    assert.equal(reply?.seq, 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      u0.written.slice(u0Before).filter((p) => parseIcmp(p)?.seq === 1).length,
      0,
      "the spoofed ping got no answer",
    );

    const routes = await t.server.run(["ip", "route", "show", "dev", "sstp0"]);
    assert.match(routes, /198\.19\.200\.0\/24/);
    assert.match(routes, new RegExp(`${STATIC_PEER.replaceAll(".", "\\.")} `));
    assert.match(routes, /198\.19\.0\.\d+\/\d+/, "the pool is routed into the device");

    // The static session ends: its routes leave the kernel (and the demultiplexer,
    // or the same user could not attach again).
    await stat.close();
    stat = undefined;
    await until(
      async () => {
        const r = await t.server.run(["ip", "route", "show", "dev", "sstp0"]);
        return !r.includes("198.19.200.0/24") && !r.includes(`${STATIC_PEER} `);
      },
      10_000,
      "the static session's routes to go",
    );
    stat = await connectClient(t, "static", "st4tic");
    await pingThroughTunnel(stat, 100);
  } finally {
    await Promise.all([...clients, ...(stat ? [stat] : [])].map((c) => c.close()));
  }
  await until(
    () => serve.lines.filter((l) => / closed: /.test(l)).length >= USERS.length + 3,
    15_000,
    "every session closed",
  );
  await until(() => fdCount(serve.pid) <= fdsIdle, 10_000, `fds back to ${fdsIdle}`).catch((e) => {
    const now = fdList(serve.pid);
    throw new Error(`${e.message}: new ${now.filter((f) => !idleList.includes(f)).join(", ")}`);
  });
  assert.equal(fdCount(serve.pid), fdsIdle, "no file descriptor left behind");
  assert.equal(await serve.stop(), 0);
  const left = await t.server.run(["ip", "-o", "link", "show", "type", "tun"]);
  assert.equal(left.trim(), "", "the shared device is gone with the server");
});

const IPV6_SERVER_SIDE = "2001:2:0:ff::1";

/** `sstp serve` in shared mode with an IPv6 pool, `IPV6_SERVER_SIDE` on the server's loopback. */
async function startIpv6Shared(t: Topology): Promise<ServeProcess> {
  await t.server.run(["ip", "-6", "addr", "add", `${IPV6_SERVER_SIDE}/128`, "dev", "lo"]);
  const config = await writeConfig(
    t,
    `  interface-mode: shared
profiles:
  - { name: default, local-address: ${TUNNEL_LOCAL}, remote-address: pool1, remote-ipv6-prefix-pool: v6, local-ipv6-interface-id: "::1" }
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
ipv6-pools:
  - { name: v6, prefix: "2001:2:0:100::/56", prefix-length: 64 }
secrets:
  - { name: real, password: pw }
`,
  );
  return await ServeProcess.start(t.server, ["--config", config]);
}

/** A client device name not used before: `prefix` and six hex digits. */
function randomDevice(prefix: string): string {
  const hex = crypto.getRandomValues(new Uint8Array(3)).reduce(
    (s, b) => s + b.toString(16).padStart(2, "0"),
    "",
  );
  return `${prefix}${hex}`;
}

/**
 * `sstp serve` ({@linkcode startIpv6Shared}) and `sstp connect` with IPv6 and
 * a default route on a new device (`extra` flags after) around `body`; the
 * client stops after it and the server with exit code 0.
 */
async function withIpv6Session(
  extra: string[],
  body: (t: Topology, serve: ServeProcess, dev: string) => Promise<void>,
): Promise<void> {
  await using t = await createTopology({ ipv6: true, prefix: "sharedtun" });
  await using serve = await startIpv6Shared(t);
  const dev = randomDevice("sstp-6");
  const client = connectProcess(t, dev, [
    ...["--server-fingerprint", formatFingerprint(t.fingerprint, "sha256")],
    ...["--use-ipv6", "yes", "--add-default-route", "yes", ...extra],
  ]);
  try {
    await waitTunnelUp(t, dev);
    await body(t, serve, dev);
  } finally {
    client.kill("SIGTERM");
    await client.wait(10_000);
  }
  await serve.waitFor(/ closed: /, 15_000);
  assert.equal(await serve.stop(), 0);
}

/** The client's SLAAC address on `dev`, once it has one. */
async function slaacAddress(t: Topology, dev: string): Promise<string> {
  let address = "";
  const globalAddress = ["ip", "-6", "-br", "addr", "show", "dev", dev, "scope", "global"];
  await waitUntil(
    async () => {
      const { stdout } = await t.client.exec(globalAddress);
      address = /(2001:2:0:1[0-9a-f]{2}:[0-9a-f:]+)\/64/.exec(stdout)?.[1] ?? "";
      return address !== "";
    },
    20_000,
    "the client's SLAAC address",
  );
  return address;
}

Deno.test({
  name: "sstp serve interface-mode shared: IPv6 by RA through the one device, ping6 both ways, " +
    "the prefix routed by the demultiplexer",
  ignore: SERVE_NETNS_IGNORE,
}, () =>
  withIpv6Session([], async (t, serve, dev) => {
    await pingTunnelFromClient(t);
    const address = await slaacAddress(t, dev);
    await serve.waitFor(/IPv6 up: sstp0 fe80::1 → fe80::[0-9a-f:]+, prefix 2001:2:0:100::\/64/);
    const routes = await t.server.run(["ip", "-6", "route", "show", "dev", "sstp0"]);
    assert.match(routes, /^2001:2:0:100::\/56/m, "the pool routed once into the device");
    assert.doesNotMatch(routes, /^2001:2:0:100::\/64/m, "no route per session");
    // Client → server side, server → client's SLAAC address, client → server's link-local.
    for (
      const [ns, target] of [
        [t.client, IPV6_SERVER_SIDE],
        [t.server, address],
        [t.client, `fe80::1%${dev}`],
      ] as const
    ) {
      const r = await ns.exec(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", target]);
      assert.equal(r.code, 0, `ping ${target}: ${r.stdout}${r.stderr}`);
    }
  }));

Deno.test({
  name: "sstp serve interface-mode shared: a session with a smaller MTU answers like a router " +
    "(frag needed, Packet Too Big), fragments IPv4 without DF",
  ignore: SERVE_NETNS_IGNORE,
}, () =>
  withIpv6Session(["--max-mru", "1300"], async (t, serve, dev) => {
    await serve.waitFor(/mtu 1300/);
    const link = await t.server.run(["ip", "-o", "link", "show", "dev", "sstp0"]);
    assert.match(link, /mtu 1500/, "the device keeps the server's max-mtu");
    const { stdout: v4 } = await t.client.exec(["ip", "-4", "-br", "addr", "show", "dev", dev]);
    const peer = /(198\.19\.0\.\d+) peer/.exec(v4)?.[1] ?? "";
    assert.notEqual(peer, "", v4);

    // DF set, over the session's MTU: ICMP "fragmentation needed" with its MTU; the
    // kernel learns it (a route exception) and the next try fails locally.
    const once = ["-c", "1", "-W", "2"];
    const big = [...once, "-s", "1400"];
    const df = await t.server.exec(["ping", "-M", "do", ...big, peer]);
    assert.notEqual(df.code, 0);
    assert.match(df.stdout + df.stderr, /Frag needed and DF set \(mtu = 1300\)/);
    const cached = await t.server.run(["ip", "route", "get", peer]);
    assert.match(cached, /mtu 1300/, cached);
    // Exactly the MTU passes with DF; without DF the packet arrives in fragments.
    const fits = await t.server.exec(["ping", "-M", "do", ...once, "-s", "1272", peer]);
    assert.equal(fits.code, 0, fits.stdout + fits.stderr);
    const frag = await t.server.exec(["ping", "-M", "dont", ...big, peer]);
    assert.equal(frag.code, 0, frag.stdout + frag.stderr);

    // IPv6: Packet Too Big to the server-side sender.
    const address = await slaacAddress(t, dev);
    const ptb = await t.server.exec(["ping", "-6", "-M", "do", ...big, address]);
    assert.notEqual(ptb.code, 0);
    assert.match(ptb.stdout + ptb.stderr, /Packet too big: mtu=1300/);
    const cached6 = await t.server.run(["ip", "-6", "route", "get", address]);
    assert.match(cached6, /mtu 1300/, cached6);
  }));
