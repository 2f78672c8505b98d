import assert from "node:assert/strict";
import { PrefixTable } from "./prefix_table.ts";
import { parseIpv4 } from "../ip.ts";
import { parseIpv6 } from "../ipv6/address.ts";

const v4 = (text: string) => parseIpv4(text)!;
const v6 = (text: string) => parseIpv6(text)!;

Deno.test("PrefixTable finds a session's /32 exactly and nothing beside it", () => {
  const t = new PrefixTable<string>();
  assert.equal(t.add("198.19.0.2", "a"), true);
  assert.equal(t.add("198.19.0.3/32", "b"), true);
  assert.equal(t.lookupIpv4(v4("198.19.0.2")), "a");
  assert.equal(t.lookupIpv4(v4("198.19.0.3")), "b");
  assert.equal(t.lookupIpv4(v4("198.19.0.4")), undefined);
  assert.equal(t.lookupIpv4(v4("198.19.0.1")), undefined);
  assert.equal(t.size, 2);
});

Deno.test("PrefixTable: the longest prefix wins, whatever the order of adding", () => {
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
    const entries: [string, string][] = [
      ["198.18.0.0/15", "wide"],
      ["198.19.8.0/24", "router"],
      ["198.19.8.77", "host"],
    ];
    const t = new PrefixTable<string>();
    for (const i of order) assert.equal(t.add(...entries[i]!), true);
    assert.equal(t.lookupIpv4(v4("198.19.8.77")), "host", `order ${order}`);
    assert.equal(t.lookupIpv4(v4("198.19.8.78")), "router");
    assert.equal(t.lookupIpv4(v4("198.19.9.1")), "wide");
    assert.equal(t.lookupIpv4(v4("198.18.0.0")), "wide");
    assert.equal(t.lookupIpv4(v4("198.20.0.0")), undefined);
  }
});

Deno.test("PrefixTable: host bits of a prefix are ignored; /0 matches everything", () => {
  const t = new PrefixTable<string>();
  t.add("198.19.8.9/24", "net");
  assert.equal(t.lookupIpv4(v4("198.19.8.200")), "net");
  t.add("0.0.0.0/0", "default");
  assert.equal(t.lookupIpv4(v4("203.0.113.1")), "default");
  assert.equal(t.lookupIpv4(v4("198.19.8.1")), "net");
});

Deno.test("PrefixTable refuses a prefix that is taken and deletes only its owner's entry", () => {
  const t = new PrefixTable<string>();
  assert.equal(t.add("198.19.0.2", "a"), true);
  assert.equal(t.add("198.19.0.2/32", "b"), false, "the exact prefix is taken");
  assert.equal(t.lookupIpv4(v4("198.19.0.2")), "a");
  assert.equal(t.delete("198.19.0.2", "b"), false, "b does not own it");
  assert.equal(t.lookupIpv4(v4("198.19.0.2")), "a");
  assert.equal(t.delete("198.19.0.2", "a"), true);
  assert.equal(t.lookupIpv4(v4("198.19.0.2")), undefined);
  assert.equal(t.delete("198.19.0.2", "a"), false, "already gone");
  assert.equal(t.size, 0);
  // A wider prefix left behind keeps matching after a longer one is removed.
  t.add("198.19.0.0/16", "wide");
  t.add("198.19.0.2", "a");
  t.delete("198.19.0.2", "a");
  assert.equal(t.lookupIpv4(v4("198.19.0.2")), "wide");
});

Deno.test("PrefixTable: 10,000 sessions add and remove, each found by its address", () => {
  const t = new PrefixTable<number>();
  const base = v4("198.19.0.2");
  for (let i = 0; i < 10_000; i++) {
    const a = base + i;
    const text = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join(".");
    assert.equal(t.add(text, i), true);
  }
  for (let i = 0; i < 10_000; i += 97) assert.equal(t.lookupIpv4(base + i), i);
  for (let i = 0; i < 10_000; i += 2) {
    const a = base + i;
    t.delete([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join("."), i);
  }
  assert.equal(t.size, 5_000);
  assert.equal(t.lookupIpv4(base + 10), undefined);
  assert.equal(t.lookupIpv4(base + 11), 11);
});

Deno.test("PrefixTable: IPv6 prefixes by longest match, also at odd lengths", () => {
  const t = new PrefixTable<string>();
  t.add("2001:2::/48", "pool");
  t.add("2001:2:0:5::/64", "alice");
  t.add("2001:2:0:5:8000::/65", "half");
  t.add("2001:2:0:8::/61", "odd");
  assert.equal(t.lookupIpv6(v6("2001:2:0:5::1")), "alice");
  assert.equal(t.lookupIpv6(v6("2001:2:0:5:8000::1")), "half");
  assert.equal(t.lookupIpv6(v6("2001:2:0:6::1")), "pool");
  assert.equal(t.lookupIpv6(v6("2001:2:0:f::1")), "odd");
  assert.equal(t.lookupIpv6(v6("2001:2:0:10::1")), "pool");
  assert.equal(t.lookupIpv6(v6("2001:2:0:0::9")), "pool");
  assert.equal(t.lookupIpv6(v6("2001:3::1")), undefined);
  assert.equal(t.delete("2001:2:0:5::/64", "alice"), true);
  assert.equal(t.lookupIpv6(v6("2001:2:0:5::1")), "pool");
});

Deno.test("PrefixTable.lookupPacket reads the destination of IPv4 and IPv6 packets", () => {
  const t = new PrefixTable<string>();
  t.add("198.19.0.2", "a");
  t.add("2001:2:0:5::/64", "b");
  const ip4 = new Uint8Array(20);
  ip4[0] = 0x45;
  ip4.set([198, 19, 0, 1], 12);
  ip4.set([198, 19, 0, 2], 16);
  assert.equal(t.lookupPacket(ip4), "a");
  assert.equal(t.lookupPacket(ip4.subarray(0, 19)), undefined, "truncated");
  const ip6 = new Uint8Array(40);
  ip6[0] = 0x60;
  ip6.set(v6("2001:2:0:1::1"), 8);
  ip6.set(v6("2001:2:0:5::42"), 24);
  assert.equal(t.lookupPacket(ip6), "b");
  assert.equal(t.lookupPacket(ip6.subarray(0, 39)), undefined, "truncated");
  assert.equal(t.lookupPacket(new Uint8Array([0x10, 0, 0])), undefined, "not IP");
  assert.equal(t.lookupPacket(new Uint8Array(0)), undefined);
});

Deno.test("PrefixTable refuses text that is not a prefix", () => {
  const t = new PrefixTable<string>();
  assert.throws(() => t.add("198.19.0.256", "x"), TypeError);
  assert.throws(() => t.add("198.19.0.0/33", "x"), TypeError);
  assert.throws(() => t.add("2001:2::/129", "x"), TypeError);
  assert.throws(() => t.add("nonsense", "x"), TypeError);
  assert.equal(t.size, 0);
});
