import assert from "node:assert/strict";
import { SourceFilter } from "./source_filter.ts";
import { parseIpv6 } from "../ipv6/address.ts";

function ipv4From(src: string, length = 20): Uint8Array {
  const p = new Uint8Array(20);
  p[0] = 0x45;
  p.set(src.split(".").map(Number), 12);
  p.set([198, 18, 0, 1], 16);
  return p.slice(0, length);
}

Deno.test("SourceFilter allows the assigned address and nothing else without routes", () => {
  const f = new SourceFilter("198.18.5.2");
  assert.equal(f.allows(ipv4From("198.18.5.2")), true);
  assert.equal(f.allows(ipv4From("198.18.5.3")), false, "another client's address");
  assert.equal(f.allows(ipv4From("198.18.0.1")), false, "the server's LAN");
  assert.equal(f.allows(ipv4From("0.0.0.0")), false);
  assert.equal(f.allows(ipv4From("198.18.5.2", 12)), false, "truncated header");
});

Deno.test("SourceFilter allows sources inside the secret's routes", () => {
  const f = new SourceFilter("198.18.5.2", ["198.19.8.0/24", "198.19.9.7", "198.19.16.0/20"]);
  assert.equal(f.allows(ipv4From("198.19.8.0")), true);
  assert.equal(f.allows(ipv4From("198.19.8.255")), true);
  assert.equal(f.allows(ipv4From("198.19.9.7")), true);
  assert.equal(f.allows(ipv4From("198.19.9.8")), false);
  assert.equal(f.allows(ipv4From("198.19.31.255")), true);
  assert.equal(f.allows(ipv4From("198.19.32.0")), false);
  assert.equal(
    new SourceFilter("198.18.5.2", ["0.0.0.0/0"]).allows(ipv4From("198.51.100.1")),
    true,
  );
});

Deno.test("SourceFilter passes other IP versions on and rejects bad settings", () => {
  const f = new SourceFilter("198.18.5.2");
  assert.equal(f.allows(Uint8Array.of(0x50, 0, 0, 0)), true, "the kernel drops version 5");
  assert.throws(() => new SourceFilter("not-an-ip"), TypeError);
  assert.throws(() => new SourceFilter("198.18.5.2", ["198.19.0.0/40"]), TypeError);
  assert.throws(() => new SourceFilter("198.18.5.2", ["2001:2::/129"]), TypeError);
  assert.throws(() => f.addIpv6Prefix("2001:2::1/64"), /host bits/);
  assert.throws(() => f.addIpv6Prefix("198.19.0.0/24"), TypeError);
  assert.throws(() => f.removeIpv6Prefix("2001:2::"), TypeError);
});

/** An IPv6 header from `src` to `dst` (40 bytes, or `length`). */
function ipv6From(src: string, dst = "2001:2:0:ff::1", length = 40): Uint8Array {
  const p = new Uint8Array(40);
  p[0] = 0x60;
  p[6] = 58; // ICMPv6
  p[7] = 255;
  p.set(parseIpv6(src)!, 8);
  p.set(parseIpv6(dst)!, 24);
  return p.slice(0, length);
}

/** The session of the table: 198.18.5.2, RA prefix 2001:2:0:100::/64, a route 2001:2:0:2a0::/59. */
function session(): SourceFilter {
  const f = new SourceFilter("198.18.5.2", ["198.19.8.0/24", "2001:2:0:2a0::/59"]);
  f.addIpv6Prefix("2001:2:0:100::/64");
  return f;
}

const IPV6_ROWS: [source: string, destination: string, allowed: boolean, why: string][] = [
  ["2001:2:0:100::1", "2001:2:0:ff::1", true, "the advertised /64, IPV6CP-style id"],
  ["2001:2:0:100:5e1f:9a2b:77c0:d3", "2001:2:0:ff::1", true, "SLAAC privacy address"],
  ["2001:2:0:100:ffff:ffff:ffff:ffff", "2001:2:0:ff::1", true, "last of the /64"],
  ["2001:2:0:101::1", "2001:2:0:ff::1", false, "the next /64 (another client)"],
  ["2001:2:0:ff::1", "2001:2:0:ff::2", false, "the server's own address"],
  ["2001:2:0:2a0::1", "2001:2:0:ff::1", true, "the /59 route, first /64"],
  ["2001:2:0:2bf:ffff::1", "2001:2:0:ff::1", true, "the /59 route, last /64"],
  ["2001:2:0:29f::1", "2001:2:0:ff::1", false, "just below the /59"],
  ["2001:2:0:2c0::1", "2001:2:0:ff::1", false, "just above the /59"],
  ["fe80::1", "ff02::2", true, "link-local, RS"],
  ["fe80::a8bb:ccff:fedd:eeff", "fe80::1", true, "link-local with another id"],
  ["fe80:0:0:1::1", "fe80::1", false, "fe80::/10 outside fe80::/64"],
  ["febf::1", "fe80::1", false, "fe80::/10, not link-local in use"],
  ["::", "ff02::1:ff00:1", true, "DAD Neighbor Solicitation"],
  ["::", "ff02::2", true, "RS before an address"],
  ["::", "ff02::16", true, "MLDv2 report during DAD"],
  ["::", "2001:2:0:ff::1", false, "unspecified to a unicast address"],
  ["::", "ff05::2", false, "unspecified to site-scope multicast"],
  ["::1", "2001:2:0:ff::1", false, "loopback"],
  ["ff02::1", "2001:2:0:ff::1", false, "a multicast source"],
  ["2001:db8::1", "2001:2:0:ff::1", false, "elsewhere"],
  ["::ffff:198.18.5.2", "2001:2:0:ff::1", false, "the IPv4 address, mapped"],
];

for (const [src, dst, allowed, why] of IPV6_ROWS) {
  Deno.test(`SourceFilter IPv6 ${src} → ${dst}: ${allowed ? "allowed" : "dropped"} (${why})`, () => {
    assert.equal(session().allows(ipv6From(src, dst)), allowed);
  });
}

Deno.test("SourceFilter IPv6: a truncated header is refused, even from an allowed source", () => {
  const f = session();
  assert.equal(f.allows(ipv6From("2001:2:0:100::1")), true);
  assert.equal(f.allows(ipv6From("2001:2:0:100::1", "2001:2:0:ff::1", 39)), false);
  assert.equal(f.allows(ipv6From("fe80::1", "ff02::2", 24)), false);
});

Deno.test("SourceFilter IPv6 prefix lengths that are not multiples of 8 compare the partial byte", () => {
  const cases: [prefix: string, inside: string[], outside: string[]][] = [
    ["2001:2:0:100::/57", ["2001:2:0:100::1", "2001:2:0:17f:ffff::1"], [
      "2001:2:0:180::1",
      "2001:2:0:ff::1",
    ]],
    ["2001:2:0:108::/61", ["2001:2:0:108::", "2001:2:0:10f::9"], [
      "2001:2:0:107::1",
      "2001:2:0:110::",
    ]],
    ["2001:2:0:100:8000::/65", ["2001:2:0:100:8000::1", "2001:2:0:100:ffff::1"], [
      "2001:2:0:100:7fff::1",
      "2001:2:0:101:8000::1",
    ]],
    ["2001:2:0:100::5/128", ["2001:2:0:100::5"], ["2001:2:0:100::4", "2001:2:0:100::6"]],
    ["2001:0::/17", ["2001:0::1", "2001:7fff::1"], ["2001:8000::1", "2000:ffff::1"]],
    ["::/0", ["2001:db8::1", "::1"], []],
  ];
  for (const [prefix, inside, outside] of cases) {
    const f = new SourceFilter("198.18.5.2");
    f.addIpv6Prefix(prefix);
    for (const a of inside) assert.equal(f.allows(ipv6From(a)), true, `${a} in ${prefix}`);
    for (const a of outside) assert.equal(f.allows(ipv6From(a)), false, `${a} not in ${prefix}`);
  }
  // A bare IPv6 address among the routes is a /128.
  const host = new SourceFilter("198.18.5.2", ["2001:2:0:300::7"]);
  assert.equal(host.allows(ipv6From("2001:2:0:300::7")), true);
  assert.equal(host.allows(ipv6From("2001:2:0:300::8")), false);
});

Deno.test("SourceFilter IPv6: a delegated prefix is allowed while added, not after it is removed", () => {
  const f = session();
  const fromDelegated = ipv6From("2001:2:0:4c0:1234::1");
  assert.equal(f.allows(fromDelegated), false, "before DHCPv6-PD");
  f.addIpv6Prefix("2001:2:0:4c0::/58");
  assert.equal(f.allows(fromDelegated), true, "delegated");
  assert.equal(f.allows(ipv6From("2001:2:0:4ff::1")), true, "last /64 of the /58");
  assert.equal(f.allows(ipv6From("2001:2:0:500::1")), false, "past the /58");
  assert.deepEqual(f.ipv6Prefixes, ["2001:2:0:2a0::/59", "2001:2:0:100::/64", "2001:2:0:4c0::/58"]);
  // Removed in another spelling of the same prefix.
  f.removeIpv6Prefix("2001:0002:0000:04c0:0000::/58");
  assert.equal(f.allows(fromDelegated), false, "released");
  assert.equal(f.allows(ipv6From("2001:2:0:100::1")), true, "the RA prefix stays");
  f.removeIpv6Prefix("2001:2:0:4c0::/58"); // not there any more: ignored
  f.removeIpv6Prefix("2001:2:0:100::/64");
  assert.equal(f.allows(ipv6From("2001:2:0:100::1")), false, "the RA prefix released");
  assert.equal(f.allows(ipv6From("fe80::1", "ff02::2")), true, "link-local stays");
  assert.equal(f.allows(ipv4From("198.18.5.2")), true, "IPv4 is unchanged");
  assert.deepEqual(f.ipv6Prefixes, ["2001:2:0:2a0::/59"]);
});

Deno.test("SourceFilter IPv6: a prefix added twice stays until removed twice", () => {
  const f = new SourceFilter("198.18.5.2");
  const p = ipv6From("2001:2:0:100::1");
  f.addIpv6Prefix("2001:2:0:100::/64");
  f.addIpv6Prefix("2001:2:0:100::/64");
  f.removeIpv6Prefix("2001:2:0:100::/64");
  assert.equal(f.allows(p), true);
  f.removeIpv6Prefix("2001:2:0:100::/64");
  assert.equal(f.allows(p), false);
});

Deno.test("SourceFilter without IPv6 prefixes allows IPv6 from link-local only", () => {
  const f = new SourceFilter("198.18.5.2");
  assert.equal(f.allows(ipv6From("fe80::2", "fe80::1")), true);
  assert.equal(f.allows(ipv6From("2001:2:0:100::1")), false);
});
