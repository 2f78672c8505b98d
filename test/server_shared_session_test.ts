/**
 * Server sessions on one shared device (`interface-mode: shared`), with an
 * in-memory platform: the device is opened and routed once, a login opens
 * no device and (after the first, which adds the server's address) makes no
 * rtnetlink request, packets from the device reach the session owning their
 * destination, and a session's end takes its entry out of the table.
 */
import assert from "node:assert/strict";
import { type ServerSession, startSession } from "../lib/server/_session.ts";
import { SharedLink } from "../lib/server/_shared_link.ts";
import { AddressPools } from "../lib/server/address_pool.ts";
import { SecretBook } from "../lib/server/secrets.ts";
import { SessionRegistry } from "../lib/server/session_registry.ts";
import { type Ipv6PoolConfig, parseServerConfig } from "../lib/config/server_config.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import { memoryDuplexPair } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { memoryClient } from "./helpers/memory_client.ts";
import { until } from "./helpers/pipeline_pair.ts";
import { recordingPlatform, sharedSessionContext } from "./helpers/shared_link_setup.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";

const CERT = new TextEncoder().encode("shared session test certificate");
const CONFIG = parseServerConfig(
  `sstp-server:
  certificate: /nonexistent/server.pem
  interface-mode: shared
pools:
  - { name: vpn, ranges: 198.18.60.10-198.18.60.13 }
profiles:
  - { name: default, local-address: 198.18.60.1, remote-address: vpn }
  - { name: slow, local-address: 198.18.60.1, remote-address: vpn, rate-limit: 8k/8k }
secrets:
  - { name: alice, password: pw-a }
  - { name: bob, password: pw-b }
  - { name: carol, password: pw-c, profile: slow, routes: "198.19.9.0/24" }
`,
  "shared-test.yaml",
);

/** An in-memory platform that counts devices and records rtnetlink requests. */
function fakePlatform() {
  const { platform, reactor, netlink, opened, requests } = recordingPlatform();
  /** The server's shared device on this platform, with CONFIG's pools. */
  const open = (ipv6Pools: Ipv6PoolConfig[] = []) =>
    SharedLink.open({
      platform,
      reactor,
      netlink,
      name: "sstp0",
      mtu: 1500,
      pools: CONFIG.pools,
      ipv6Pools,
      logger: NOOP_LOGGER,
    });
  return { platform, reactor, open, opened, requests };
}

Deno.test("interface-mode shared: sessions attach to one device, routed by destination, no fd or rtnetlink per login", async () => {
  const { platform, reactor, open, opened, requests } = fakePlatform();
  const shared = await open();
  assert.equal(opened.length, 1);
  const device = opened[0]!;
  assert.deepEqual(requests, [
    "link up=true",
    "route add 198.18.60.10/31",
    "route add 198.18.60.12/31",
  ]);
  requests.length = 0;
  const pools = new AddressPools(CONFIG.pools);
  const registry = new SessionRegistry<ServerSession>();
  let seed = 1;
  const login = (user: string, password: string) => {
    const [c, s] = memoryDuplexPair();
    const session = startSession(
      {
        config: () => CONFIG,
        secrets: () => new SecretBook(CONFIG),
        pools,
        registry,
        ...sharedSessionContext({ platform, reactor, shared, cert: CERT }),
        logger: NOOP_LOGGER,
      },
      {
        ...s,
        closed: Promise.resolve(),
        localAddr: { hostname: "198.18.0.1", port: 443 },
        remoteAddr: { hostname: "198.18.0.2", port: 40000 + seed },
        info: {},
      },
      new Uint8Array(),
      `{00000000-0000-0000-0000-00000000000${seed}}`,
      `198.18.0.2:${40000 + seed}`,
    );
    const tun = new MemoryTun(`c-${user}`);
    const client = memoryClient(c, tun, { cert: CERT, user, password, seed: seed++ });
    const done = client.run().finally(() => tun.close());
    return { session, client, tun, done };
  };
  const a = login("alice", "pw-a");
  await until(() => a.session.state === "connected", 5000, "alice up");
  assert.deepEqual(requests, ["addr 198.18.60.1/32"], "the server's address, on first use only");
  const b = login("bob", "pw-b");
  const c = login("carol", "pw-c");
  await until(() => b.session.state === "connected" && c.session.state === "connected", 5000, "up");
  assert.deepEqual(
    requests,
    ["addr 198.18.60.1/32", "route add 198.19.9.0/24"],
    "nothing for bob; carol's framed route only",
  );
  assert.equal(opened.length, 1, "no device per session");
  assert.equal(a.session.tun?.name, "sstp0");
  assert.equal(shared.demux.ports, 3);

  // Client → device, then device → the client owning the destination.
  const aAddr = a.session.addresses!.peerAddress;
  const bAddr = b.session.addresses!.peerAddress;
  a.tun.inject(buildIcmpEcho(aAddr, "198.18.60.1", { id: 1, seq: 1 }));
  await until(() => device.written.length === 1, 5000, "alice's ping on the device");
  assert.equal(parseIcmp(device.written[0]!)?.src, aAddr);
  device.inject(buildIcmpEcho("198.18.60.1", bAddr, { id: 2, seq: 2, reply: true }));
  device.inject(buildIcmpEcho("198.18.60.1", "198.19.9.77", { id: 3, seq: 3, reply: true }));
  await until(() => b.tun.written.length === 1 && c.tun.written.length === 1, 5000, "delivered");
  assert.equal(parseIcmp(b.tun.written[0]!)?.seq, 2);
  assert.equal(parseIcmp(c.tun.written[0]!)?.seq, 3, "by the framed route");
  assert.equal(a.tun.written.length, 0);

  // Carol's download is policed in-process (8 kbit/s): a burst beyond its bucket is dropped.
  const before = shared.demux.stats.droppedPoliced;
  for (let i = 0; i < 20; i++) {
    device.inject(buildIcmpEcho("198.18.60.1", c.session.addresses!.peerAddress, {
      id: 4,
      seq: 10 + i,
      reply: true,
      payload: new Uint8Array(1000),
    }));
  }
  await until(() => shared.demux.stats.droppedPoliced > before, 5000, "policed");

  // The end of a session takes its entry and its kernel route away.
  c.client.close("test");
  await c.session.done;
  await c.done;
  assert.ok(requests.includes("route del 198.19.9.0/24"));
  assert.equal(shared.demux.ports, 2);
  a.client.close("test");
  b.client.close("test");
  await Promise.all([a.session.done, b.session.done, a.done, b.done]);
  assert.equal(shared.demux.ports, 0);
  assert.equal(shared.demux.routes, 0);
  assert.equal(pools.inUse, 0);
  device.inject(buildIcmpEcho("198.18.60.1", bAddr, { id: 5, seq: 5, reply: true }));
  await until(() => shared.demux.stats.unrouted === 1, 5000, "unrouted after the end");
  await shared.close();
});

Deno.test("interface-mode shared: a reload's new pools are routed into the device, the old ones not again", async () => {
  const { open, requests } = fakePlatform();
  const shared = await open([{ name: "v6", prefix: "2001:2:0:100::/56", prefixLength: 64 }]);
  assert.ok(
    requests.some((r) => r.startsWith("route6 add 2001:2:0:100::/56")),
    requests.join(", "),
  );
  requests.length = 0;
  const more = parseServerConfig(
    `sstp-server:\n  certificate: /nonexistent/server.pem\npools:\n` +
      `  - { name: vpn, ranges: 198.18.60.10-198.18.60.13 }\n` +
      `  - { name: more, ranges: 198.18.61.0/24 }\n`,
    "reload.yaml",
  );
  const added = await shared.routePools(more.pools, [
    { name: "v6", prefix: "2001:2:0:100::/56", prefixLength: 64 },
  ]);
  assert.equal(added, 1);
  assert.deepEqual(requests, ["route add 198.18.61.0/24"]);
  await shared.close();
});
