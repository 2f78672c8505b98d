import assert from "node:assert/strict";
import { SessionSources } from "./session_sources.ts";

function ipv6From(first: number[]): Uint8Array {
  const p = new Uint8Array(40);
  p[0] = 0x60;
  p.set(first, 8);
  return p;
}
const IN_SLASH64 = ipv6From([0x20, 0x01, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
const IN_DELEGATED = ipv6From([0x20, 0x01, 0, 2, 0, 0, 0x4c, 0x10, 0, 0, 0, 0, 0, 0, 0, 1]);

Deno.test("SessionSources: prefixes routed before the link's filter is made are in it; releases take them out", () => {
  const sources = new SessionSources();
  const slash64 = sources.follower();
  const delegated = sources.follower();
  slash64("2001:2:0:100::/64");
  const f = sources.filterFor("198.18.5.2", ["198.19.8.0/24"]);
  assert.equal(f.allows(IN_SLASH64), true);
  assert.equal(f.allows(IN_DELEGATED), false);
  delegated("2001:2:0:4c00::/56");
  assert.equal(f.allows(IN_DELEGATED), true, "delegated later in the session");
  delegated(undefined);
  assert.equal(f.allows(IN_DELEGATED), false, "released");
  delegated(undefined);
  assert.deepEqual(f.ipv6Prefixes, ["2001:2:0:100::/64"], "a second release changes nothing");
  // IPCP opens anew: the new filter starts with what is routed now.
  const again = sources.filterFor("198.18.5.2", []);
  assert.deepEqual(again.ipv6Prefixes, ["2001:2:0:100::/64"]);
  slash64(undefined);
  assert.equal(again.allows(IN_SLASH64), false);
});

Deno.test("SessionSources: a late release of an old IPv6 link's prefix leaves the new link's copy", () => {
  const sources = new SessionSources();
  const f = sources.filterFor("198.18.5.2", []);
  const oldLink = sources.follower();
  oldLink("2001:2:0:100::/64");
  const newLink = sources.follower();
  newLink("2001:2:0:100::/64"); // the same /64 again from the pool
  oldLink(undefined);
  assert.equal(f.allows(IN_SLASH64), true, "the new link still holds it");
  newLink(undefined);
  assert.equal(f.allows(IN_SLASH64), false);
});
