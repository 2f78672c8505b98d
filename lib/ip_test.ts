import assert from "node:assert/strict";
import {
  cidrToRange,
  formatIpv4,
  formatIpv4Range,
  hasHostBits,
  isIpv6,
  parseIpv4,
  parseIpv4Cidr,
  parseIpv4Range,
  rangeContains,
  rangeSize,
  rangesOverlap,
} from "./ip.ts";

Deno.test("parseIpv4() accepts dotted quads and returns unsigned numbers", () => {
  assert.equal(parseIpv4("0.0.0.0"), 0);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  assert.equal(parseIpv4("198.18.0.1"), 0xc6120001);
});

Deno.test("parseIpv4() refuses malformed addresses", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "10.0.0.300",
      "01.2.3.4",
      "1.2.3.-4",
      "a.b.c.d",
      " 1.2.3.4",
      "1..3.4",
    ]
  ) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
});

Deno.test("formatIpv4() round-trips parseIpv4()", () => {
  for (const text of ["0.0.0.0", "10.1.202.7", "198.19.255.254", "255.255.255.255"]) {
    assert.equal(formatIpv4(parseIpv4(text)!), text);
  }
  assert.throws(() => formatIpv4(-1), RangeError);
  assert.throws(() => formatIpv4(2 ** 32), RangeError);
});

Deno.test("parseIpv4Cidr() reads prefixes and bare addresses as /32", () => {
  assert.deepEqual(parseIpv4Cidr("10.1.202.0/24"), { address: 0x0a01ca00, prefixLength: 24 });
  assert.deepEqual(parseIpv4Cidr("10.1.202.9"), { address: 0x0a01ca09, prefixLength: 32 });
  assert.deepEqual(parseIpv4Cidr("0.0.0.0/0"), { address: 0, prefixLength: 0 });
  assert.equal(parseIpv4Cidr("10.0.0.0/33"), undefined);
  assert.equal(parseIpv4Cidr("10.0.0.0/"), undefined);
  assert.equal(parseIpv4Cidr("10.0.0.0/024"), undefined);
});

Deno.test("hasHostBits() flags addresses beyond the prefix", () => {
  assert.equal(hasHostBits(parseIpv4Cidr("10.1.202.0/24")!), false);
  assert.equal(hasHostBits(parseIpv4Cidr("10.1.202.1/24")!), true);
  assert.equal(hasHostBits(parseIpv4Cidr("0.0.0.0/0")!), false);
  assert.equal(hasHostBits(parseIpv4Cidr("255.255.255.255/32")!), false);
});

Deno.test("cidrToRange() covers network to broadcast", () => {
  const r = cidrToRange(parseIpv4Cidr("198.18.11.0/24")!);
  assert.equal(formatIpv4Range(r), "198.18.11.0-198.18.11.255");
  assert.equal(rangeSize(r), 256);
  assert.equal(rangeSize(cidrToRange(parseIpv4Cidr("0.0.0.0/0")!)), 2 ** 32);
});

Deno.test("parseIpv4Range() reads RouterOS pool ranges", () => {
  const cases: Array<[string, string]> = [
    ["198.18.10.2-198.18.10.254", "198.18.10.2-198.18.10.254"],
    [" 198.18.10.2 - 198.18.10.3 ", "198.18.10.2-198.18.10.3"],
    ["198.18.11.0/24", "198.18.11.0-198.18.11.255"],
    ["198.18.12.7", "198.18.12.7"],
  ];
  for (const [input, expected] of cases) {
    const r = parseIpv4Range(input);
    assert.notEqual(typeof r, "string", input);
    assert.equal(formatIpv4Range(r as Exclude<typeof r, string>), expected);
  }
});

Deno.test("parseIpv4Range() explains what is wrong", () => {
  assert.equal(
    parseIpv4Range("198.18.10.9-198.18.10.2"),
    'range "198.18.10.9-198.18.10.2" ends before it starts',
  );
  assert.equal(
    parseIpv4Range("198.18.10.2-198.18.10.300"),
    '"198.18.10.300" is not an IPv4 address',
  );
  assert.equal(
    parseIpv4Range("198.18.11.1/24"),
    '"198.18.11.1/24" has host bits set (the prefix is 198.18.11.0/24)',
  );
  assert.equal(parseIpv4Range("pool"), '"pool" is not an IPv4 address, prefix or range');
});

Deno.test("rangesOverlap() and rangeContains() treat ends as inclusive", () => {
  const a = { first: 10, last: 20 };
  assert.equal(rangesOverlap(a, { first: 20, last: 30 }), true);
  assert.equal(rangesOverlap(a, { first: 21, last: 30 }), false);
  assert.equal(rangesOverlap(a, { first: 0, last: 9 }), false);
  assert.equal(rangesOverlap(a, { first: 12, last: 13 }), true);
  assert.equal(rangeContains(a, 10), true);
  assert.equal(rangeContains(a, 21), false);
});

Deno.test("isIpv6() accepts RFC 4291 text forms and refuses others", () => {
  for (
    const good of [
      "::",
      "::1",
      "2001:db8::1",
      "fe80::1%eth0",
      "1:2:3:4:5:6:7:8",
      "::ffff:198.18.0.1",
      "2001:DB8:0:0:0:0:0:1",
    ]
  ) {
    assert.equal(isIpv6(good), true, good);
  }
  for (
    const bad of [
      "",
      ":",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "2001:db8::1::2",
      "12345::",
      "g::1",
      "1.2.3.4",
      "::1%",
      "1:2:3:4:5:6:7::8:9",
    ]
  ) {
    assert.equal(isIpv6(bad), false, bad);
  }
});
