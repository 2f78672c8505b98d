import assert from "node:assert/strict";
import { TokenBucket } from "./token_bucket.ts";

Deno.test("TokenBucket passes the burst at once, then the sustained rate", () => {
  const b = new TokenBucket({ rateBps: 8_000_000, burstBytes: 15_000 }); // 1,000 bytes per ms
  let passed = 0;
  for (let i = 0; i < 100; i++) if (b.take(1500, 0)) passed++;
  assert.equal(passed, 10, "the bucket holds 10 packets");
  // Over one simulated second of 1,500-byte packets every 0.1 ms, 1 MB/s passes.
  let bytes = 0;
  for (let t = 0; t <= 1000; t += 0.1) if (b.take(1500, t)) bytes += 1500;
  assert.ok(bytes >= 990_000 && bytes <= 1_020_000, `${bytes} bytes in 1 s`);
});

Deno.test("TokenBucket with a peak rate limits how fast a burst drains", () => {
  const b = new TokenBucket({
    rateBps: 8_000_000,
    burstBytes: 1_000_000,
    peakBps: 16_000_000,
    peakBurstBytes: 3000,
  });
  let bytes = 0;
  for (let t = 0; t <= 100; t += 0.1) if (b.take(1500, t)) bytes += 1500;
  // 100 ms at the 2 MB/s peak is about 200 KB (plus the small peak bucket), not the 1 MB bucket.
  assert.ok(bytes >= 195_000 && bytes <= 210_000, `${bytes} bytes in 100 ms`);
  assert.throws(() => new TokenBucket({ rateBps: 0, burstBytes: 1 }), RangeError);
});
