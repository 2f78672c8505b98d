import assert from "node:assert/strict";
import { type SessionEntry, SessionRegistry } from "./session_registry.ts";

function entry(r: SessionRegistry, callerId: string): SessionEntry {
  const closed: string[] = [];
  const s: SessionEntry = {
    id: r.nextId(),
    correlationId: `c-${callerId}`,
    callerId,
    startedMs: 0,
    state: "negotiating",
    close: (reason) => closed.push(reason),
  };
  r.add(s);
  return s;
}

Deno.test("SessionRegistry tracks users, names and negotiating sessions", () => {
  const r = new SessionRegistry();
  const a = entry(r, "198.18.0.2:1000");
  const b = entry(r, "198.18.0.2:1001");
  assert.equal(r.size, 2);
  assert.equal(r.negotiating, 2);
  r.setUser(a, "alice");
  r.setUser(b, "alice");
  assert.equal(r.ofUser("alice").length, 2);
  assert.equal(r.reserveName(a, "sstp-alice"), true);
  assert.equal(r.reserveName(b, "sstp-alice"), false, "name held by a");
  assert.equal(r.reserveName(b, "sstp-alice1"), true);
  a.state = "connected";
  assert.equal(r.negotiating, 1);
  assert.deepEqual(r.find("sstp-alice1"), [b], "by interface name");
  assert.deepEqual(r.find("alice"), [a, b], "by user");
  assert.deepEqual(r.find("bob"), []);
  r.remove(a);
  r.remove(a);
  assert.equal(r.size, 1);
  assert.equal(r.interfaceNames.has("sstp-alice"), false, "name freed");
  assert.deepEqual(r.ofUser("alice"), [b]);
  assert.throws(() => r.add(b), RangeError);
});

Deno.test("SessionRegistry calls onAuthenticated once, when a session first gets its user", () => {
  const seen: number[] = [];
  const r = new SessionRegistry({ onAuthenticated: (s) => seen.push(s.id) });
  const a = entry(r, "198.18.0.2:1000");
  const b = entry(r, "198.18.0.3:1000");
  r.setUser(a, "alice");
  r.setUser(a, "alice2");
  r.setUser(b, "bob");
  assert.deepEqual(seen, [a.id, b.id]);
});

Deno.test("SessionRegistry.dynamicName gives the lowest free name, also after thousands of sessions", () => {
  const r = new SessionRegistry();
  const sessions = Array.from({ length: 3000 }, (_, i) => {
    const s = entry(r, `198.18.0.2:${1000 + i}`);
    r.setUser(s, "load");
    assert.equal(r.reserveName(s, r.dynamicName("load")), true);
    return s;
  });
  assert.equal(sessions[0]!.interfaceName, "sstp-load");
  assert.equal(sessions[1]!.interfaceName, "sstp-load1");
  assert.equal(sessions[2999]!.interfaceName, "sstp-load2999");
  assert.equal(r.interfaceNames.size, 3000);
  // Freed names are reused lowest first.
  r.remove(sessions[500]!);
  r.remove(sessions[20]!);
  r.remove(sessions[0]!);
  const next = () => {
    const s = entry(r, "198.18.0.3:1");
    r.setUser(s, "load");
    const name = r.dynamicName("load");
    assert.equal(r.reserveName(s, name), true);
    return name;
  };
  assert.equal(next(), "sstp-load");
  assert.equal(next(), "sstp-load20");
  assert.equal(next(), "sstp-load500");
  assert.equal(next(), "sstp-load3000");
});

Deno.test("SessionRegistry.otherSessionOf finds another session of the user", () => {
  const r = new SessionRegistry();
  const a = entry(r, "198.18.0.2:1");
  const b = entry(r, "198.18.0.2:2");
  r.setUser(a, "alice");
  assert.equal(r.otherSessionOf("alice", a), undefined);
  r.setUser(b, "alice");
  assert.equal(r.otherSessionOf("alice", a), b);
  assert.equal(r.otherSessionOf("bob", a), undefined);
});
