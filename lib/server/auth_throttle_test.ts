import assert from "node:assert/strict";
import { AuthThrottle } from "./auth_throttle.ts";
import { FakeClock } from "../clock.ts";

const ATTACKER = "203.0.113.9";
const OTHER = "198.51.100.7";

Deno.test("AuthThrottle delays a failing source with exponential backoff, then blocks it with one log line", () => {
  const clock = new FakeClock(1_000_000);
  const t = new AuthThrottle();
  const lines: string[] = [];
  const decisions: string[] = [];
  for (let i = 0; i < 8; i++) {
    const d = t.check(ATTACKER, clock.now());
    decisions.push(d.action === "allow" ? "allow" : `${d.action} ${d.ms}`);
    const line = t.recordFailure(ATTACKER, "alice", clock.now());
    if (line !== undefined) lines.push(line);
    clock.advance(100);
  }
  assert.deepEqual(decisions, [
    "allow",
    "allow",
    "allow",
    "delay 1000",
    "delay 2000",
    "delay 4000",
    "refuse 59900",
    "refuse 59800",
  ]);
  assert.deepEqual(lines, [
    'auth-throttle source=203.0.113.9 user="alice" failures=6 blocked-for=60s',
  ]);
});

Deno.test("AuthThrottle refuses a blocked source until the cool-down ends; one more failure blocks again", () => {
  const clock = new FakeClock();
  const t = new AuthThrottle({ delayAfter: 2, blockAfter: 3, blockMs: 60_000 });
  for (let i = 0; i < 3; i++) t.recordFailure(ATTACKER, "alice", clock.now());
  assert.equal(t.check(ATTACKER, clock.now()).action, "refuse");
  assert.equal(
    t.isRefused(ATTACKER, "bob", clock.now()),
    true,
    "a blocked source is refused for anyone",
  );
  clock.advance(60_000);
  assert.equal(t.check(ATTACKER, clock.now()).action, "delay");
  assert.equal(t.isRefused(ATTACKER, "bob", clock.now()), false);
  const line = t.recordFailure(ATTACKER, "alice", clock.now());
  assert.match(line ?? "", /failures=4 blocked-for=60s/);
  assert.equal(t.check(ATTACKER, clock.now()).action, "refuse");
});

Deno.test("AuthThrottle never slows a correct login from another source, even for the attacked user", () => {
  const clock = new FakeClock();
  const t = new AuthThrottle();
  for (let i = 0; i < 20; i++) t.recordFailure(ATTACKER, "alice", clock.now());
  assert.deepEqual(t.check(OTHER, clock.now()), { action: "allow" });
  assert.equal(t.isRefused(OTHER, "alice", clock.now()), false);
  // A source that has failed before is refused for the attacked user (distributed guessing).
  t.recordFailure(OTHER, "alice", clock.now());
  assert.equal(t.isRefused(OTHER, "alice", clock.now()), true);
  assert.equal(t.isRefused(OTHER, "bob", clock.now()), false);
  t.recordSuccess(OTHER, "bob", clock.now());
  assert.equal(t.isRefused(OTHER, "alice", clock.now()), false, "success clears the source");
});

Deno.test("AuthThrottle memory is bounded: LRU cap and expiry after a quiet period", () => {
  const clock = new FakeClock();
  const t = new AuthThrottle({ maxEntries: 100, forgetMs: 60_000, blockMs: 10_000 });
  for (let i = 0; i < 10_000; i++) {
    t.recordFailure(`198.18.${i >> 8}.${i & 255}`, `user${i}`, clock.now());
  }
  assert.deepEqual(t.size, { sources: 100, users: 100 });
  // The newest are kept.
  t.recordFailure("198.18.39.15", "user9999", clock.now());
  assert.equal(t.size.sources, 100);
  clock.advance(60_000);
  t.recordFailure(ATTACKER, "x", clock.now());
  assert.deepEqual(t.size, { sources: 1, users: 1 });
  assert.deepEqual(t.check("198.18.0.1", clock.now()), { action: "allow" });
});

Deno.test("AuthThrottle rejects inconsistent settings", () => {
  assert.throws(() => new AuthThrottle({ delayAfter: 5, blockAfter: 2 }), RangeError);
  assert.throws(() => new AuthThrottle({ delayAfter: 0 }), RangeError);
});
