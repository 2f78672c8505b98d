import assert from "node:assert/strict";
import { formatIpv6, parseIpv6 } from "./address.ts";
import { RA_DELAYS, RaSchedule, type RaTiming } from "./ra_schedule.ts";
import { RA_TIMING } from "./router_link.ts";

const CLIENT = parseIpv6("fe80::a:b:c:d")!;
const UNSPECIFIED = new Uint8Array(16);

/** Destinations due at `now`, as text. */
function take(s: RaSchedule, now: number): string[] {
  return s.take(now).map(formatIpv6);
}

Deno.test("RaSchedule: three initial RAs 4 s apart, then one every 200-600 s (RFC 4861 6.2.4)", () => {
  const randoms = [0, 0.999, 0.5];
  let i = 0;
  const s = new RaSchedule(RA_TIMING, () => randoms[i++ % randoms.length]!, 1_000);
  assert.equal(s.nextDueMs, 1_000);
  assert.deepEqual(take(s, 1_000), ["ff02::1"]);
  assert.equal(s.nextDueMs, 5_000);
  assert.deepEqual(take(s, 4_999), []);
  assert.deepEqual(take(s, 5_000), ["ff02::1"]);
  assert.deepEqual(take(s, 9_000), ["ff02::1"]);
  // Initial ones done: MinRtrAdvInterval + random × spread.
  assert.equal(s.nextDueMs, 9_000 + 200_000);
  assert.deepEqual(take(s, 209_000), ["ff02::1"]);
  assert.equal(s.nextDueMs, 209_000 + 200_000 + Math.floor(0.999 * 400_000));
});

Deno.test("RaSchedule: an RS from a link-local gets a unicast RA within MAX_RA_DELAY_TIME; more RS meanwhile add nothing", () => {
  const s = new RaSchedule(RA_TIMING, () => 0.5, 0);
  take(s, 0);
  s.solicited(CLIENT, 100);
  assert.equal(s.nextDueMs, 100 + RA_DELAYS.maxRaDelayMs / 2);
  for (let n = 0; n < 100; n++) s.solicited(CLIENT, 120);
  assert.equal(s.nextDueMs, 350);
  assert.deepEqual(take(s, 349), []);
  assert.deepEqual(take(s, 350), ["fe80::a:b:c:d"]);
  // The unicast answer did not move the multicast schedule.
  assert.equal(s.nextDueMs, 4_000);
});

Deno.test("RaSchedule: an RS from :: gets a multicast RA no sooner than MIN_DELAY_BETWEEN_RAS after the last", () => {
  const timing: RaTiming = { ...RA_TIMING, initialCount: 1 };
  const s = new RaSchedule(timing, () => 0, 0);
  assert.deepEqual(take(s, 0), ["ff02::1"]);
  assert.equal(s.nextDueMs, 200_000);
  s.solicited(UNSPECIFIED, 1_000);
  assert.equal(s.nextDueMs, RA_DELAYS.minDelayBetweenRasMs);
  assert.deepEqual(take(s, 3_000), ["ff02::1"]);
  // The multicast answer restarted the interval.
  assert.equal(s.nextDueMs, 203_000);
  // Long after the last multicast RA: only the random delay (0 here).
  s.solicited(UNSPECIFIED, 100_000);
  assert.equal(s.nextDueMs, 100_000);
});
