import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { formatIpv6Prefix } from "../ipv6/address.ts";
import { ATTR, AttributeList } from "./radius_attributes.ts";
import { readAuthorization } from "./radius_auth.ts";
import { decodeFramedIpv6Prefix, encodeIpv6PrefixValue } from "./radius_ipv6.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("decodeFramedIpv6Prefix() reads RFC 3162 2.3 values: reserved, length, the prefix in 0-16 octets", () => {
  const cases: Array<[string, string]> = [
    // The shortest form: the octets the length needs.
    ["00 40 20 01 00 02 00 05 00 00", "2001:2:5::/64"],
    // The full 16 octets, zeros beyond the length.
    ["00 30 20 01 00 02 00 05 00 00 00 00 00 00 00 00 00 00", "2001:2:5::/48"],
    ["00 80 20 01 00 02 00 05 00 00 00 00 00 00 00 00 00 09", "2001:2:5::9/128"],
    ["00 00", "::/0"],
    // A length that ends inside an octet.
    ["00 3c 20 01 00 02 00 05 00 f0", "2001:2:5:f0::/60"],
    // The reserved octet is ignored on receipt.
    ["ff 40 20 01 00 02 00 05 00 00", "2001:2:5::/64"],
  ];
  for (const [hex, prefix] of cases) {
    assert.equal(formatIpv6Prefix(decodeFramedIpv6Prefix(fromHex(hex))), prefix, hex);
  }
});

Deno.test("decodeFramedIpv6Prefix() refuses malformed values with a reason", () => {
  const cases: Array<[string, RegExp]> = [
    ["00", /1 octets: expected 2 to 18/],
    ["00 40 " + "00 ".repeat(17), /19 octets: expected 2 to 18/],
    ["00 81 20 01", /length 129 is over 128/],
    ["00 40 20 01 00 02", /\/64 in 4 octets: needs 8/],
    ["00 30 20 01 00 02 00 05 00 01", /bits set beyond \/48 \(the prefix is 2001:2:5::\/48\)/],
  ];
  for (const [hex, message] of cases) {
    assert.throws(
      () => decodeFramedIpv6Prefix(fromHex(hex)),
      (e) => e instanceof RangeError && message.test(e.message),
      hex,
    );
  }
});

Deno.test("readAuthorization() keeps Framed-IPv6-Prefix, Framed-IPv6-Route and Framed-IPv6-Pool as sent", () => {
  const prefix = fromHex("00 40 20 01 00 02 00 05 00 00");
  const broken = fromHex("00 40 20 01");
  const a = readAuthorization(
    new AttributeList([
      { type: ATTR.FRAMED_IPV6_PREFIX, value: prefix },
      { type: ATTR.FRAMED_IPV6_PREFIX, value: broken },
      { type: ATTR.FRAMED_IPV6_ROUTE, value: text("2001:2:6::/48 :: 1") },
      { type: ATTR.FRAMED_IPV6_ROUTE, value: text("2001:2:7::/48") },
      { type: ATTR.FRAMED_IPV6_POOL, value: text("v6-radius") },
    ]),
    [],
  );
  // A malformed value does not refuse the login: the session logs and skips it.
  assert.deepEqual(a.framedIpv6Prefixes, [prefix, broken]);
  assert.deepEqual(a.framedIpv6Routes, ["2001:2:6::/48 :: 1", "2001:2:7::/48"]);
  assert.equal(a.framedIpv6Pool, "v6-radius");
  const none = readAuthorization(new AttributeList([]), []);
  assert.equal(none.framedIpv6Prefixes, undefined);
  assert.equal(none.framedIpv6Routes, undefined);
  assert.equal(none.framedIpv6Pool, undefined);
});

Deno.test("encodeIpv6PrefixValue() writes the shortest RFC 3162 2.3 value, which decodes back", () => {
  const cases: Array<[string, string]> = [
    ["2001:2:5::/64", "00 40 20 01 00 02 00 05 00 00"],
    ["2001:2:0:1b00::/56", "00 38 20 01 00 02 00 00 1b"],
    ["2001:2:5:f0::/60", "00 3c 20 01 00 02 00 05 00 f0"],
    ["2001:2:5::9/128", "00 80 20 01 00 02 00 05 00 00 00 00 00 00 00 00 00 09"],
    ["::/0", "00 00"],
  ];
  for (const [prefix, hex] of cases) {
    const value = encodeIpv6PrefixValue(prefix);
    assert.deepEqual(value, fromHex(hex), prefix);
    assert.equal(formatIpv6Prefix(decodeFramedIpv6Prefix(value)), prefix);
  }
  assert.throws(() => encodeIpv6PrefixValue("2001:2:5::1/64"), RangeError);
  assert.throws(() => encodeIpv6PrefixValue("198.18.0.0/15"), RangeError);
});
