import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { framedIpv6Prefixes, framedIpv6Routes } from "./radius_ipv6_session.ts";
import { radiusProfile } from "./radius_session.ts";
import type { PppProfile } from "../config/server_config.ts";

Deno.test("framedIpv6Routes() reads RFC 3162 2.5 texts: prefix, gateway, metrics; every gateway means the device", () => {
  const r = framedIpv6Routes([
    // RFC 3162 2.5's own example form.
    "2001:2:0:106::/64 2001:2::106:a00:20ff:fe99:a998 1",
    "2001:2:6::/48 :: 5 9",
    "2001:2:7::/48",
    "2001:2:8::1",
  ]);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.routes, [
    { dst: "2001:2:0:106::/64", gateway: undefined, distance: 1 },
    { dst: "2001:2:6::/48", gateway: undefined, distance: 5 },
    { dst: "2001:2:7::/48", gateway: undefined, distance: 1 },
    { dst: "2001:2:8::1/128", gateway: undefined, distance: 1 },
  ]);
});

Deno.test("framedIpv6Routes() returns malformed texts as problems, keeps the good ones", () => {
  const r = framedIpv6Routes([
    "198.18.5.0/24 0.0.0.0 1",
    "2001:2:6::1/48 :: 1",
    "2001:2:6::/48 gw 1",
    "2001:2:6::/48 :: -1",
    "",
    "2001:2:7::/48 :: 2",
  ]);
  assert.deepEqual(r.routes, [{ dst: "2001:2:7::/48", gateway: undefined, distance: 2 }]);
  assert.deepEqual(r.problems, [
    'Framed-IPv6-Route "198.18.5.0/24 0.0.0.0 1": "198.18.5.0" is not an IPv6 address',
    'Framed-IPv6-Route "2001:2:6::1/48 :: 1": "2001:2:6::1/48" has host bits set (did you mean 2001:2:6::/48?)',
    'Framed-IPv6-Route "2001:2:6::/48 gw 1": "gw" is not an IPv6 gateway address',
    'Framed-IPv6-Route "2001:2:6::/48 :: -1": "-1" is not a metric',
    'Framed-IPv6-Route "": "" is not an IPv6 address',
  ]);
});

Deno.test("framedIpv6Prefixes(): the first /64 is advertised, other prefixes are routes, malformed ones problems", () => {
  const p = framedIpv6Prefixes([
    fromHex("00 30 20 01 00 02 00 09"),
    fromHex("00 40 20 01"),
    fromHex("00 40 20 01 00 02 00 05 00 00"),
    fromHex("00 40 20 01 00 02 00 05 00 01"),
    fromHex("00 40 20 01 00 02 00 05 00 00"),
  ]);
  assert.equal(p.advertised, "2001:2:5::/64");
  assert.deepEqual(p.routes, [
    { dst: "2001:2:9::/48", gateway: undefined, distance: 1 },
    { dst: "2001:2:5:1::/64", gateway: undefined, distance: 1 },
  ]);
  assert.equal(p.problems.length, 1);
  assert.match(p.problems[0]!, /\/64 in 2 octets: needs 8/);
  assert.deepEqual(framedIpv6Prefixes([]), { advertised: undefined, routes: [], problems: [] });
});

Deno.test("radiusProfile(): Framed-IPv6-Pool names the pool of the client's /64", () => {
  const base = { name: "default", remoteIpv6PrefixPool: "v6" } as PppProfile;
  const auth = { framedRoutes: [], classes: [], dns: [], replyMessages: [] };
  assert.equal(radiusProfile(base, auth).remoteIpv6PrefixPool, "v6");
  assert.equal(
    radiusProfile(base, { ...auth, framedIpv6Pool: "v6-radius" }).remoteIpv6PrefixPool,
    "v6-radius",
  );
});
