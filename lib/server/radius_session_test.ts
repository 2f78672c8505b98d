import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import type { PppProfile } from "../config/server_config.ts";
import type { RadiusAuthorization } from "../radius/radius_auth.ts";
import { TERMINATE_CAUSE } from "../radius/radius_attributes.ts";
import { AddressPools } from "./address_pool.ts";
import {
  framedMtuCap,
  framedRoutes,
  IPV6_MIN_MTU,
  radiusAddresses,
  radiusProfile,
  terminateCause,
} from "./radius_session.ts";

const PROFILE: PppProfile = {
  name: "default",
  localAddress: { kind: "address", address: "198.19.0.1" },
  remoteAddress: { kind: "pool", pool: "p" },
  dnsServer: [],
  onlyOne: false,
  sessionTimeoutMs: null,
  idleTimeoutMs: 600_000,
  changeTcpMss: true,
  useEncryption: undefined,
  rateLimitText: undefined,
  rateLimit: undefined,
  addressList: undefined,
  onUp: undefined,
  onDown: undefined,
};
const AUTH: RadiusAuthorization = { framedRoutes: [], classes: [], dns: [], replyMessages: [] };

function pools() {
  return new AddressPools([
    { name: "p", ranges: [{ first: 0xc6130a0a, last: 0xc6130a0b }], nextPool: undefined },
    { name: "gold", ranges: [{ first: 0xc6131414, last: 0xc6131414 }], nextPool: undefined },
  ]);
}

Deno.test("RADIUS addresses: Framed-IP-Address is claimed once, Framed-Pool by name, else the profile", () => {
  const p = pools();
  const fixed = radiusAddresses({ ...AUTH, framedIpAddress: "198.19.0.77" }, PROFILE, p);
  assert.ok(!(fixed instanceof ProtocolError));
  assert.equal(fixed.peerAddress, "198.19.0.77");
  assert.equal(fixed.localAddress, "198.19.0.1");
  const again = radiusAddresses({ ...AUTH, framedIpAddress: "198.19.0.77" }, PROFILE, p);
  assert.ok(again instanceof ProtocolError);
  assert.match(again.message, /already in use/);
  for (const a of fixed.release) p.release(a);
  const gold = radiusAddresses({ ...AUTH, framedPool: "gold" }, PROFILE, p);
  assert.ok(!(gold instanceof ProtocolError));
  assert.equal(gold.peerAddress, "198.19.20.20");
  const missing = radiusAddresses({ ...AUTH, framedPool: "nope" }, PROFILE, p);
  assert.ok(missing instanceof ProtocolError);
  const fallback = radiusAddresses(AUTH, PROFILE, p);
  assert.ok(!(fallback instanceof ProtocolError));
  assert.equal(fallback.peerAddress, "198.19.10.10");
});

Deno.test("RADIUS timeouts and DNS override the profile; terminate causes follow the end reason", () => {
  const p = radiusProfile(PROFILE, {
    ...AUTH,
    sessionTimeoutMs: 3_600_000,
    idleTimeoutMs: 0,
    dns: ["198.18.1.1", "198.18.1.2", "198.18.1.3"],
  });
  assert.equal(p.sessionTimeoutMs, 3_600_000);
  assert.equal(p.idleTimeoutMs, null);
  assert.deepEqual(p.dnsServer, ["198.18.1.1", "198.18.1.2"]);
  assert.equal(radiusProfile(PROFILE, AUTH).idleTimeoutMs, 600_000);
  assert.equal(
    terminateCause("session-timeout 1h reached", false),
    TERMINATE_CAUSE.SESSION_TIMEOUT,
  );
  assert.equal(terminateCause("idle-timeout 10m reached", false), TERMINATE_CAUSE.IDLE_TIMEOUT);
  assert.equal(terminateCause("RADIUS Disconnect-Request", false), TERMINATE_CAUSE.ADMIN_RESET);
  assert.equal(terminateCause("server shutting down", true), TERMINATE_CAUSE.NAS_REBOOT);
  assert.equal(terminateCause(undefined, false), TERMINATE_CAUSE.USER_REQUEST);
});

Deno.test("RADIUS Mikrotik-Rate-Limit replaces the profile's rate-limit; a malformed one keeps it", () => {
  const limited = radiusProfile(PROFILE, { ...AUTH, rateLimit: "2M/10M" });
  assert.equal(limited.rateLimit?.rx.rate, 2_000_000);
  assert.equal(limited.rateLimit?.tx.rate, 10_000_000);
  assert.equal(limited.rateLimitText, "2M/10M");
  assert.equal(radiusProfile(PROFILE, { ...AUTH, rateLimit: "fast" }).rateLimit, undefined);
});

Deno.test("framedRoutes() reads RFC 2865 5.22 texts: 0.0.0.0 and the session address mean the device", () => {
  const r = framedRoutes(
    [
      "198.18.5.0/24 0.0.0.0 1",
      "198.18.6.0/24 198.19.0.10 3 9",
      "198.18.9.9 198.18.1.2",
      "198.18.7.0/16 0.0.0.0 1",
      "fe80::/64 :: 1",
      "198.18.8.0/24 gw 1",
      "198.18.8.0/24 0.0.0.0 -1",
    ],
    "198.19.0.10",
  );
  assert.deepEqual(r.routes, [
    { dst: "198.18.5.0/24", gateway: undefined, distance: 1 },
    { dst: "198.18.6.0/24", gateway: undefined, distance: 3 },
    { dst: "198.18.9.9/32", gateway: "198.18.1.2", distance: 1 },
  ]);
  assert.equal(r.problems.length, 4);
  assert.match(r.problems[0]!, /host bits set \(the prefix is 198\.18\.0\.0\/16\)/);
  assert.match(r.problems[1]!, /"fe80::\/64" is not an IPv4 prefix/);
  assert.match(r.problems[2]!, /"gw" is not a gateway address/);
  assert.match(r.problems[3]!, /"-1" is not a metric/);
});

Deno.test("framedMtuCap(): a cap on the interface MTU, ignored below 68, at least 1280 with IPv6", () => {
  assert.deepEqual(framedMtuCap(1300, false), { cap: 1300 });
  assert.deepEqual(framedMtuCap(1300, true), { cap: 1300 });
  assert.deepEqual(framedMtuCap(576, false), { cap: 576 });
  const v6 = framedMtuCap(576, true);
  assert.equal(v6.cap, IPV6_MIN_MTU);
  assert.match(v6.problem ?? "", /below IPv6's minimum link MTU 1280/);
  const tiny = framedMtuCap(40, true);
  assert.equal(tiny.cap, undefined);
  assert.match(tiny.problem ?? "", /below 68; ignored/);
});
