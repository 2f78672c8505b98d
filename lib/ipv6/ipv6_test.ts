import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { ProtocolError } from "../errors.ts";
import {
  formatIpv6,
  formatIpv6Prefix,
  ipv6PrefixContains,
  linkLocalFromInterfaceId,
  parseIpv6,
  parseIpv6Prefix,
  subPrefix,
} from "./address.ts";
import { decodeIpv6Packet, encodeIpv6Packet, NEXT_HEADER } from "./ipv6_packet.ts";
import {
  ALL_NODES,
  buildRouterAdvertisementPacket,
  buildRouterSolicitationPacket,
  decodeRouterAdvertisement,
  type RouterAdvertisement,
  validateRouterSolicitation,
} from "./ndp.ts";
import { slaacFromRouterAdvertisement } from "./slaac.ts";
import { Ipv6PrefixPool } from "./prefix_pool.ts";

const FIXTURES = new URL("../../test/fixtures/", import.meta.url);
const fixture = (name: string) => fromHex(Deno.readTextFileSync(new URL(name, FIXTURES)));
const ip6 = (text: string) => parseIpv6(text)!;
const prefix = (text: string) => {
  const p = parseIpv6Prefix(text);
  if (typeof p === "string") throw new Error(p);
  return p;
};

Deno.test("formatIpv6() writes RFC 5952 canonical text", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run wins
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of equal runs
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::", "fe80::"],
    ["::ffff:198.18.0.1", "::ffff:c612:1"],
  ];
  for (const [input, expected] of cases) assert.equal(formatIpv6(ip6(input)), expected, input);
});

Deno.test("parseIpv6() rejects what is not an address", () => {
  for (
    const bad of [
      "",
      ":",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "::1.2.3.256",
      "g::",
    ]
  ) {
    assert.equal(parseIpv6(bad), undefined, bad);
  }
});

Deno.test("parseIpv6Prefix() refuses host bits and bad lengths", () => {
  assert.equal(formatIpv6Prefix(prefix("2001:2::/48")), "2001:2::/48");
  assert.match(String(parseIpv6Prefix("2001:2::1/64")), /host bits set.*2001:2::\/64/);
  assert.match(String(parseIpv6Prefix("2001:2::/129")), /prefix length/);
  assert.match(String(parseIpv6Prefix("2001:2::")), /expected address\/length/);
});

Deno.test("subPrefix() counts sub-prefixes inside the parent", () => {
  const parent = prefix("2001:2:0:100::/56");
  assert.equal(formatIpv6Prefix(subPrefix(parent, 64, 0)), "2001:2:0:100::/64");
  assert.equal(formatIpv6Prefix(subPrefix(parent, 64, 3)), "2001:2:0:103::/64");
  assert.equal(formatIpv6Prefix(subPrefix(parent, 64, 255)), "2001:2:0:1ff::/64");
  assert.throws(() => subPrefix(parent, 64, 256), RangeError);
  assert.throws(() => subPrefix(parent, 48, 0), RangeError);
  assert.equal(
    formatIpv6Prefix(subPrefix(prefix("2001:2:0:8000::/52"), 60, 5)),
    "2001:2:0:8050::/60",
  );
  assert.ok(ipv6PrefixContains(parent, ip6("2001:2:0:1ab::9")));
  assert.ok(!ipv6PrefixContains(parent, ip6("2001:2:0:200::")));
});

Deno.test("Ipv6PrefixPool hands out each prefix once and takes it back", () => {
  const pool = new Ipv6PrefixPool("v6", "2001:2:0:100::/62", 64);
  assert.equal(pool.size, 4);
  const got = [pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()].map((p) =>
    formatIpv6Prefix(p!)
  );
  assert.deepEqual(got, [
    "2001:2:0:100::/64",
    "2001:2:0:101::/64",
    "2001:2:0:102::/64",
    "2001:2:0:103::/64",
  ]);
  assert.equal(pool.allocate(), undefined);
  assert.ok(pool.release(prefix("2001:2:0:102::/64")));
  assert.ok(!pool.release(prefix("2001:2:0:102::/64")), "released twice");
  assert.ok(!pool.release(prefix("2001:2:0:200::/64")), "not from this pool");
  assert.ok(!pool.release(prefix("2001:2:0:100::/63")), "wrong length");
  assert.equal(pool.used, 3);
  assert.equal(formatIpv6Prefix(pool.allocate()!), "2001:2:0:102::/64");
  assert.throws(() => new Ipv6PrefixPool("x", "2001:2::/64", 48), /prefix-length 48/);
  assert.throws(() => new Ipv6PrefixPool("x", "2001:2::1/64", 64), /host bits/);
});

const GOLDEN_RA: RouterAdvertisement = {
  curHopLimit: 64,
  managed: false,
  other: false,
  routerLifetimeS: 1800,
  reachableTimeMs: 0,
  retransTimerMs: 0,
  mtu: 1400,
  prefixes: [{
    prefix: prefix("2001:2:0:101::/64"),
    onLink: true,
    autonomous: true,
    validLifetimeS: 86400,
    preferredLifetimeS: 14400,
  }],
  dns: { servers: [ip6("2001:2::53")], lifetimeS: 1200 },
};

Deno.test("buildRouterAdvertisementPacket() matches the golden RA byte for byte", () => {
  const bytes = buildRouterAdvertisementPacket(ip6("fe80::1"), ALL_NODES, GOLDEN_RA);
  assert.equal(toHex(bytes), toHex(fixture("ipv6_router_advertisement.hex")));
  assert.deepEqual(decodeRouterAdvertisement(decodeIpv6Packet(bytes)), GOLDEN_RA);
});

Deno.test("decodeRouterAdvertisement() discards what RFC 4861 6.1.2 says to discard", () => {
  const good = fixture("ipv6_router_advertisement.hex");
  const mutate = (f: (b: Uint8Array) => void) => {
    const b = good.slice();
    f(b);
    return () => decodeRouterAdvertisement(decodeIpv6Packet(b));
  };
  assert.throws(mutate((b) => b[7] = 254), /hop limit 254/);
  assert.throws(mutate((b) => b[8] = 0x20), /not link-local/);
  assert.throws(mutate((b) => b[41] = 1), /code 1/);
  assert.throws(mutate((b) => b[42] = (b[42] ?? 0) ^ 1), /checksum/);
  assert.throws(mutate((b) => b[57] = 0), ProtocolError); // MTU option length 0
  assert.throws(() => decodeIpv6Packet(good.subarray(0, 39)), /shorter than the 40-byte header/);
  assert.throws(() => decodeIpv6Packet(good.subarray(0, 60)), /exceeds/);
});

Deno.test("validateRouterSolicitation() accepts our RS and refuses a forwarded one", () => {
  const rs = buildRouterSolicitationPacket(ip6("fe80::2"));
  validateRouterSolicitation(decodeIpv6Packet(rs));
  const forwarded = rs.slice();
  forwarded[7] = 64;
  assert.throws(() => validateRouterSolicitation(decodeIpv6Packet(forwarded)), /hop limit 64/);
});

Deno.test("slaacFromRouterAdvertisement() follows RFC 4862 5.5.3", () => {
  const id = fromHex("02 1a 2b ff fe 3c 4d 5e");
  const base = GOLDEN_RA.prefixes[0]!;
  const ra: RouterAdvertisement = {
    ...GOLDEN_RA,
    prefixes: [
      base,
      { ...base, prefix: prefix("2001:2:0:102::/64"), autonomous: false },
      { ...base, prefix: prefix("fe80::/64") },
      { ...base, prefix: prefix("2001:2:0:103::/64"), preferredLifetimeS: 90000 },
      { ...base, prefix: prefix("2001:2:0:104::/64"), validLifetimeS: 0, preferredLifetimeS: 0 },
      { ...base, prefix: prefix("2001:2:0:100::/56") },
    ],
  };
  const result = slaacFromRouterAdvertisement(ra, id);
  assert.deepEqual(result.addresses.map((a) => formatIpv6(a.address)), [
    "2001:2:0:101:21a:2bff:fe3c:4d5e",
  ]);
  assert.equal(result.skipped.length, 4);
  assert.equal(result.mtu, 1400);
  assert.equal(result.routerLifetimeS, 1800);
  assert.deepEqual(result.dns.map(formatIpv6), ["2001:2::53"]);
  assert.equal(formatIpv6(linkLocalFromInterfaceId(id)), "fe80::21a:2bff:fe3c:4d5e");
});

Deno.test("encodeIpv6Packet() fills a UDP checksum that verifies", () => {
  const udp = new Uint8Array([0x02, 0x22, 0x02, 0x23, 0, 12, 0, 0, 1, 2, 3, 4]);
  const bytes = encodeIpv6Packet({
    source: ip6("fe80::2"),
    destination: ip6("ff02::1:2"),
    nextHeader: NEXT_HEADER.UDP,
    hopLimit: 1,
    payload: udp,
  });
  const p = decodeIpv6Packet(bytes);
  assert.notEqual((p.payload[6]! << 8) | p.payload[7]!, 0);
});
