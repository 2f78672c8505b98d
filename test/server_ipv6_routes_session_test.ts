/**
 * A secret's IPv6 routes in a server session (`interface-mode: shared`,
 * in-memory platform): once IPV6CP is up they are routed into the device
 * and the demultiplexer, sources inside them pass the session's source
 * check (others inside no route are still dropped), packets to them reach
 * the client, and the session's end takes the routes out again.
 */
import assert from "node:assert/strict";
import { type ServerSession, startSession } from "../lib/server/_session.ts";
import { SharedLink } from "../lib/server/_shared_link.ts";
import { AddressPools } from "../lib/server/address_pool.ts";
import { SecretBook } from "../lib/server/secrets.ts";
import { SessionRegistry } from "../lib/server/session_registry.ts";
import { parseServerConfig } from "../lib/config/server_config.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { systemClock } from "../lib/clock.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import { Ipv6PrefixPool } from "../lib/ipv6/prefix_pool.ts";
import { parseIpv6 } from "../lib/ipv6/address.ts";
import { decodeIpv6Packet, encodeIpv6Packet } from "../lib/ipv6/ipv6_packet.ts";
import type { Platform, PlatformNetlink, PlatformTun } from "../lib/platform.ts";
import { memoryDuplexPair } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { memoryClient } from "./helpers/memory_client.ts";
import { until } from "./helpers/pipeline_pair.ts";

const CERT = new TextEncoder().encode("ipv6 routes session test certificate");
const CONFIG = parseServerConfig(
  `sstp-server:
  certificate: /nonexistent/server.pem
  interface-mode: shared
pools:
  - { name: vpn, ranges: 198.18.62.10-198.18.62.13 }
ipv6-pools:
  - { name: v6, prefix: "2001:2:0:100::/56", prefix-length: 64 }
profiles:
  - name: default
    local-address: 198.18.62.1
    remote-address: vpn
    remote-ipv6-prefix-pool: v6
secrets:
  - { name: carol, password: pw-c, routes: "198.19.9.0/24, 2001:2:6::/48 3" }
`,
  "ipv6-routes-test.yaml",
);

/** An IPv6 UDP-less packet (next header 59, "no next header") from `src` to `dst`. */
function packet6(src: string, dst: string): Uint8Array {
  return encodeIpv6Packet({
    source: parseIpv6(src)!,
    destination: parseIpv6(dst)!,
    nextHeader: 59,
    hopLimit: 64,
    payload: new Uint8Array(8),
  });
}

const sourceOf = (p: Uint8Array) => decodeIpv6Packet(p).source.join(",");
const destinationOf = (p: Uint8Array) => decodeIpv6Packet(p).destination.join(",");

Deno.test("a secret's IPv6 route: routed once IPV6CP is up, its sources allowed, its packets delivered, taken out at the end", async () => {
  const requests: string[] = [];
  const opened: MemoryTun[] = [];
  const netlink: PlatformNetlink = {
    interfaceIndex: () => 7,
    addAddress: (r) => void requests.push(`addr ${r.local}/${r.prefixLen}`),
    setLink: (r) => void requests.push(`link up=${r.up}`),
    addRoute: (r) => void requests.push(`route add ${r.dst}/${r.prefixLen}`),
    deleteRoute: (r) => void requests.push(`route del ${r.dst}/${r.prefixLen}`),
    addRoute6: (r) => void requests.push(`route6 add ${r.dst}/${r.prefixLen} metric ${r.metric}`),
    deleteRoute6: (r) => void requests.push(`route6 del ${r.dst}/${r.prefixLen}`),
    addAddress6: (r) => void requests.push(`addr6 ${r.address}/${r.prefixLen}`),
    close: () => {},
  };
  const platform: Platform = {
    openTun: ({ name }) => {
      const tun = Object.assign(new MemoryTun(name), { closed: Promise.resolve() });
      opened.push(tun);
      return tun as unknown as PlatformTun;
    },
    createReactor: () => ({ close() {}, closed: Promise.resolve() }),
    openNetlink: () => netlink,
  };
  const reactor = platform.createReactor();
  const shared = await SharedLink.open({
    platform,
    reactor,
    netlink,
    name: "sstp0",
    mtu: 1500,
    pools: CONFIG.pools,
    ipv6Pools: CONFIG.ipv6Pools,
    logger: NOOP_LOGGER,
  });
  const device = opened[0]!;
  const pools = new AddressPools(CONFIG.pools);
  const v6 = new Ipv6PrefixPool("v6", "2001:2:0:100::/56", 64);
  const [c, s] = memoryDuplexPair();
  const session = startSession(
    {
      config: () => CONFIG,
      secrets: () => new SecretBook(CONFIG),
      pools,
      ipv6Pools: () => new Map([["v6", v6]]),
      registry: new SessionRegistry<ServerSession>(),
      platform,
      reactor,
      linkSetup: {
        kind: "rtnetlink",
        configure: () => Promise.reject(new Error("no per-session setup in shared mode")),
        close() {},
      },
      sharedLink: shared,
      certHashes: certHashes(CERT),
      clock: systemClock,
      logger: NOOP_LOGGER,
    },
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
  const tun = new MemoryTun("c-carol");
  const client = memoryClient(c, tun, {
    cert: CERT,
    user: "carol",
    password: "pw-c",
    seed: 1,
    ipv6: true,
  });
  const done = client.run().finally(() => tun.close());
  try {
    await until(() => session.ipv6?.prefix !== undefined, 5000, "IPv6 up");
    await until(
      () => requests.includes("route6 add 2001:2:6::/48 metric 3"),
      5000,
      "the IPv6 route in the kernel",
    );
    assert.ok(requests.includes("route add 198.19.9.0/24"), "the IPv4 route as before");
    assert.ok(
      !requests.some((r) => r.startsWith("route add 2001:")),
      "the IPv6 route is not an IPv4 route at link-up",
    );
    // A source inside no route is dropped; one inside the IPv6 route passes.
    const before = device.written.length;
    tun.inject(packet6("2001:2:9::5", "2001:2:0:ff::1"));
    tun.inject(packet6("2001:2:6::5", "2001:2:0:ff::1"));
    await until(() => device.written.length > before, 5000, "the allowed packet on the device");
    await new Promise((r) => setTimeout(r, 50));
    const passed = device.written.slice(before).filter((p) => p[0]! >> 4 === 6);
    assert.deepEqual(passed.map(sourceOf), [parseIpv6("2001:2:6::5")!.join(",")]);
    // The shared device's demultiplexer sends the route's packets to the session.
    device.inject(packet6("2001:2:0:ff::1", "2001:2:6::77"));
    const to = parseIpv6("2001:2:6::77")!.join(",");
    await until(
      () => tun.written.some((p) => p[0]! >> 4 === 6 && destinationOf(p) === to),
      5000,
      "the route's packet at the client",
    );
  } finally {
    client.close("test");
    await session.done;
    await done;
  }
  await until(
    () => requests.includes("route6 del 2001:2:6::/48"),
    5000,
    "the IPv6 route out at the end",
  );
  assert.ok(requests.includes("route del 198.19.9.0/24"));
  assert.equal(shared.demux.ports, 0);
  assert.equal(shared.demux.routes, 0);
  assert.equal(v6.used, 0);
  await shared.close();
});
