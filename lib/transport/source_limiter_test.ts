import assert from "node:assert/strict";
import { sourceKey, SourceLimiter } from "./source_limiter.ts";

Deno.test("SourceLimiter refuses a source at its cap; other sources still get in", () => {
  const l = new SourceLimiter<string>({ max: 100, maxPerSource: 3 });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(l.admit("198.18.2.2", `a${i}`, 0), { admitted: true });
  }
  assert.deepEqual(l.admit("198.18.2.2", "a3", 0), { admitted: false, reason: "per-source" });
  assert.deepEqual(l.admit("198.18.1.2", "b0", 0), { admitted: true });
  assert.equal(l.countOf("198.18.2.2"), 3);
  l.release("a1");
  l.release("a1");
  assert.equal(l.countOf("198.18.2.2"), 2);
  assert.deepEqual(l.admit("198.18.2.2", "a4", 0), { admitted: true });
});

Deno.test("SourceLimiter at its global cap evicts the oldest entry instead of refusing", () => {
  const l = new SourceLimiter<number>({ max: 4, maxPerSource: 4 });
  for (let i = 0; i < 4; i++) l.admit(`198.18.0.${i}`, i, i);
  assert.deepEqual(l.admit("198.18.9.9", 99, 10), { admitted: true, evicted: 0 });
  assert.equal(l.has(0), false);
  assert.equal(l.size, 4);
  assert.equal(l.countOf("198.18.0.0"), 0);
  assert.deepEqual(l.admit("198.18.9.8", 98, 11), { admitted: true, evicted: 1 });
});

Deno.test("SourceLimiter keeps no state for sources without entries (bounded by max)", () => {
  const l = new SourceLimiter<number>({ max: 50, maxPerSource: 2 });
  // 10,000 distinct sources pass through; the tables never exceed the cap.
  for (let i = 0; i < 10_000; i++) {
    const r = l.admit(`198.18.${(i >> 8) & 0xff}.${i & 0xff}`, i, i);
    assert.equal(r.admitted, true);
    assert.ok(l.size <= 50 && l.sources <= l.size);
    if (i % 3 === 0) l.release(i);
  }
  for (let i = 0; i < 10_000; i++) l.release(i);
  assert.equal(l.size, 0);
  assert.equal(l.sources, 0);
});

Deno.test("SourceLimiter.takeExpired returns and forgets entries past their age", () => {
  const l = new SourceLimiter<string>({ max: 10, maxPerSource: 10 });
  l.admit("s", "old", 0);
  l.admit("s", "new", 25_000);
  // Admitted later but accepted earlier (a slow handshake): age counts from sinceMs.
  l.admit("s", "slow", 1_000);
  assert.deepEqual(l.takeExpired(30_999, 30_000), ["old"]);
  assert.deepEqual(l.takeExpired(31_000, 30_000), ["slow"]);
  assert.deepEqual(l.takeExpired(40_000, 30_000), []);
  assert.equal(l.countOf("s"), 1);
});

Deno.test("SourceLimiter rejects limits that are not positive integers", () => {
  assert.throws(() => new SourceLimiter({ max: 0, maxPerSource: 1 }), RangeError);
  assert.throws(() => new SourceLimiter({ max: 1, maxPerSource: 1.5 }), RangeError);
});

Deno.test("sourceKey() groups IPv4-mapped addresses with IPv4 and IPv6 by /64", () => {
  assert.equal(sourceKey("198.18.1.2"), "198.18.1.2");
  assert.equal(sourceKey("::ffff:198.18.1.2"), "198.18.1.2");
  assert.equal(sourceKey("2001:2::1"), "2001:2:0:0::/64");
  assert.equal(sourceKey("2001:2:0:0:ffff::9"), "2001:2:0:0::/64");
  assert.equal(sourceKey("2001:2:0:1::9"), "2001:2:0:1::/64");
  assert.equal(sourceKey("2001:0002::0001"), "2001:2:0:0::/64");
  assert.equal(sourceKey(undefined), "?");
});
