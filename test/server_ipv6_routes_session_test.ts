/**
 * A session's IPv6 routes (`interface-mode: shared`, in-memory platform):
 * a secret's IPv6 routes, and RADIUS's Framed-IPv6-Route and
 * Framed-IPv6-Prefix. Once IPV6CP is up they are routed into the device and
 * the demultiplexer, sources inside them pass the session's source check
 * (others inside no route are still dropped), packets to them reach the
 * client, and the session's end takes the routes out again. A RADIUS /64
 * is what the Router Advertisements give the client.
 */
import assert from "node:assert/strict";
import { type ServerSession, type SessionContext, startSession } from "../lib/server/_session.ts";
import { SharedLink } from "../lib/server/_shared_link.ts";
import { AddressPools } from "../lib/server/address_pool.ts";
import { SecretBook } from "../lib/server/secrets.ts";
import { SessionRegistry } from "../lib/server/session_registry.ts";
import type { RadiusAaa } from "../lib/server/radius_aaa.ts";
import { parseServerConfig, type ServerConfig } from "../lib/config/server_config.ts";
import { createLogger, NOOP_LOGGER } from "../lib/log.ts";
import { Ipv6PrefixPool } from "../lib/ipv6/prefix_pool.ts";
import { formatIpv6Prefix, parseIpv6 } from "../lib/ipv6/address.ts";
import { decodeIpv6Packet, encodeIpv6Packet } from "../lib/ipv6/ipv6_packet.ts";
import { decodeRouterAdvertisement, ndMessageType } from "../lib/ipv6/ndp.ts";
import { fromHex } from "../lib/bytes/hex.ts";
import type { AuthMethod } from "../lib/ppp/auth/auth_types.ts";
import { memoryDuplexPair } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { memoryClient } from "./helpers/memory_client.ts";
import { until } from "./helpers/pipeline_pair.ts";
import { recordingPlatform, sharedSessionContext } from "./helpers/shared_link_setup.ts";

const CERT = new TextEncoder().encode("ipv6 routes session test certificate");
const CONFIG = parseServerConfig(
  `sstp-server:
  certificate: /nonexistent/server.pem
  interface-mode: shared
  authentication: pap, mschap2
pools:
  - { name: vpn, ranges: 198.18.62.10-198.18.62.13 }
ipv6-pools:
  - { name: v6, prefix: "2001:2:0:100::/56", prefix-length: 64 }
profiles:
  - { name: default, local-address: 198.18.62.1, remote-address: vpn }
  - { name: v6, local-address: 198.18.62.1, remote-address: vpn, remote-ipv6-prefix-pool: v6 }
secrets:
  - { name: carol, password: pw-c, profile: v6, routes: "198.19.9.0/24, 2001:2:6::/48 3" }
`,
  "ipv6-routes-test.yaml",
);

/** An IPv6 packet (next header 59, "no next header") from `src` to `dst`. */
function packet6(src: string, dst: string): Uint8Array {
  return encodeIpv6Packet({
    source: parseIpv6(src)!,
    destination: parseIpv6(dst)!,
    nextHeader: 59,
    hopLimit: 64,
    payload: new Uint8Array(8),
  });
}

const isIpv6 = (p: Uint8Array) => p[0]! >> 4 === 6;
const addressOf = (a: Uint8Array) => formatIpv6Prefix({ address: a, length: 128 });

/** A shared device on an in-memory platform that records its rtnetlink requests, and logins to it. */
async function harness(config: ServerConfig, aaa?: RadiusAaa) {
  const lines: string[] = [];
  const { platform, reactor, netlink, opened, requests } = recordingPlatform();
  const shared = await SharedLink.open({
    platform,
    reactor,
    netlink,
    name: "sstp0",
    mtu: 1500,
    pools: config.pools,
    ipv6Pools: config.ipv6Pools,
    logger: NOOP_LOGGER,
  });
  const v6 = new Ipv6PrefixPool("v6", "2001:2:0:100::/56", 64);
  const ctx: SessionContext = {
    config: () => config,
    secrets: () => new SecretBook(config),
    pools: new AddressPools(config.pools),
    ipv6Pools: () => new Map([["v6", v6]]),
    registry: new SessionRegistry<ServerSession>(),
    ...sharedSessionContext({ platform, reactor, shared, cert: CERT }),
    logger: createLogger("info", (_level, line) => void lines.push(line)),
    ...(aaa === undefined ? {} : { aaa }),
  };
  const login = (user: string, password: string, method: AuthMethod) => {
    const [c, s] = memoryDuplexPair();
    const session = startSession(
      ctx,
      {
        ...s,
        closed: Promise.resolve(),
        localAddr: { hostname: "198.18.0.1", port: 443 },
        remoteAddr: { hostname: "198.18.0.2", port: 40001 },
        info: {},
      },
      new Uint8Array(),
      "{00000000-0000-0000-0000-000000000001}",
      "198.18.0.2:40001",
    );
    const tun = new MemoryTun(`c-${user}`);
    const client = memoryClient(c, tun, {
      cert: CERT,
      user,
      password,
      method,
      seed: 1,
      ipv6: true,
    });
    const done = client.run().finally(() => tun.close());
    const end = async () => {
      client.close("test");
      await session.done;
      await done;
    };
    return { session, tun, end };
  };
  return { requests, lines, device: opened[0]!, shared, v6, login };
}

/**
 * Sends packets from each of `sources` through the client, and returns
 * the sources of those that reached the server's device.
 */
async function passedSources(
  tun: MemoryTun,
  device: MemoryTun,
  sources: string[],
  expected: number,
): Promise<string[]> {
  const before = device.written.length;
  for (const s of sources) tun.inject(packet6(s, "2001:2:0:ff::1"));
  const passed = () => device.written.slice(before).filter(isIpv6);
  await until(() => passed().length >= expected, 5000, "packets on the device");
  await new Promise((r) => setTimeout(r, 50));
  return passed().map((p) => addressOf(decodeIpv6Packet(p).source));
}

/** Waits until the client got a packet to `dst` that the device was given. */
async function deliveredTo(tun: MemoryTun, device: MemoryTun, dst: string): Promise<void> {
  device.inject(packet6("2001:2:0:ff::1", dst));
  const want = `${dst}/128`;
  await until(
    () => tun.written.some((p) => isIpv6(p) && addressOf(decodeIpv6Packet(p).destination) === want),
    5000,
    `the packet to ${dst} at the client`,
  );
}

Deno.test("a secret's IPv6 route: routed once IPV6CP is up, its sources allowed, its packets delivered, taken out at the end", async () => {
  const { requests, device, shared, v6, login } = await harness(CONFIG);
  const carol = login("carol", "pw-c", "mschap2");
  try {
    await until(() => carol.session.ipv6?.prefix !== undefined, 5000, "IPv6 up");
    await until(
      () => requests.includes("route6 add 2001:2:6::/48 metric 3"),
      5000,
      "the IPv6 route in the kernel",
    );
    assert.ok(requests.includes("route add 198.19.9.0/24"), "the IPv4 route as before");
    assert.ok(!requests.some((r) => r.startsWith("route add 2001:")), "not an IPv4 route");
    // A source inside no route is dropped; one inside the IPv6 route passes.
    assert.deepEqual(
      await passedSources(carol.tun, device, ["2001:2:9::5", "2001:2:6::5"], 1),
      ["2001:2:6::5/128"],
    );
    // The shared device's demultiplexer sends the route's packets to the session.
    await deliveredTo(carol.tun, device, "2001:2:6::77");
  } finally {
    await carol.end();
  }
  await until(() => requests.includes("route6 del 2001:2:6::/48"), 5000, "the route out");
  assert.ok(requests.includes("route del 198.19.9.0/24"));
  assert.equal(shared.demux.ports, 0);
  assert.equal(shared.demux.routes, 0);
  assert.equal(v6.used, 0);
  await shared.close();
});

Deno.test("RADIUS Framed-IPv6-Prefix is advertised and Framed-IPv6-Route routed, without a profile IPv6 pool; malformed values skipped", async () => {
  const aaa = {
    useRadius: true,
    accounting: false,
    nextSessionId: () => "s1",
    authenticate: (creds: { user: string }) =>
      Promise.resolve({
        verdict: { ok: true, user: creds.user, hlak: new Uint8Array(32) },
        authorization: {
          framedRoutes: [],
          classes: [],
          dns: [],
          replyMessages: [],
          framedIpv6Prefixes: [
            fromHex("00 40 20 01 00 02 00 05 00 00"),
            fromHex("00 40 20 01"),
          ],
          framedIpv6Routes: ["2001:2:8::/48 :: 4", "2001:2:8::1/48"],
        },
      }),
  } as unknown as RadiusAaa;
  const { requests, lines, device, shared, v6, login } = await harness(CONFIG, aaa);
  const dave = login("dave", "radius-pw", "pap");
  try {
    await until(() => dave.session.ipv6?.prefix !== undefined, 5000, "IPv6 up");
    assert.equal(dave.session.ipv6?.prefix, "2001:2:5::/64");
    assert.equal(v6.used, 0, "no pool /64");
    // The Router Advertisement gives the client the RADIUS /64.
    await until(() => dave.tun.written.some(isIpv6), 5000, "an RA at the client");
    const ra = dave.tun.written.filter(isIpv6).map((p) => decodeIpv6Packet(p))
      .find((p) => ndMessageType(p) === 134)!;
    assert.deepEqual(
      decodeRouterAdvertisement(ra).prefixes.map((p) => formatIpv6Prefix(p.prefix)),
      ["2001:2:5::/64"],
    );
    await until(() => requests.includes("route6 add 2001:2:8::/48 metric 4"), 5000, "the route");
    const warned = lines.filter((l) => l.includes('RADIUS user "dave"') && l.endsWith("; ignored"));
    assert.equal(warned.length, 2, lines.join("\n"));
    assert.match(warned[0]!, /Framed-IPv6-Route "2001:2:8::1\/48": .*host bits set/);
    assert.match(warned[1]!, /Framed-IPv6-Prefix \/64 in 2 octets: needs 8/);
    assert.ok(requests.includes("route6 add 2001:2:5::/64 metric 1"), requests.join(", "));
    assert.deepEqual(
      await passedSources(dave.tun, device, ["2001:2:9::1", "2001:2:5::9", "2001:2:8::1"], 2),
      ["2001:2:5::9/128", "2001:2:8::1/128"],
    );
    await deliveredTo(dave.tun, device, "2001:2:8::77");
    await deliveredTo(dave.tun, device, "2001:2:5::77");
  } finally {
    await dave.end();
  }
  await until(() => requests.includes("route6 del 2001:2:8::/48"), 5000, "the route out");
  assert.ok(requests.includes("route6 del 2001:2:5::/64"), requests.join(", "));
  assert.equal(shared.demux.routes, 0);
  await shared.close();
});
