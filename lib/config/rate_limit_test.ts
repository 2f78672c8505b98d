import assert from "node:assert/strict";
import { formatRate, parseRateLimit } from "./rate_limit.ts";
import { policerBucketBytes, tcRateLimitCommands, tcRateLimitUndo } from "../net/tc_rate_limit.ts";

Deno.test("parseRateLimit() reads RouterOS rate-limit strings", () => {
  const simple = parseRateLimit("10M");
  assert.equal(simple.rx.rate, 10_000_000);
  assert.equal(simple.tx.rate, 10_000_000);
  const full = parseRateLimit("2M/10M 4M/20M 1M/5M 8/16 5 512k/1M");
  assert.deepEqual(full.rx, {
    rate: 2e6,
    burstRate: 4e6,
    burstThreshold: 1e6,
    burstTimeS: 8,
    rateMin: 512e3,
  });
  assert.deepEqual(full.tx, {
    rate: 10e6,
    burstRate: 20e6,
    burstThreshold: 5e6,
    burstTimeS: 16,
    rateMin: 1e6,
  });
  assert.equal(full.priority, 5);
  assert.equal(parseRateLimit("0/1.5M").tx.rate, 1_500_000);
  assert.equal(formatRate(10_000_000), "10M");
  assert.equal(formatRate(512_000), "512k");
  assert.equal(formatRate(1500), "1500");
});

Deno.test("parseRateLimit() names the field that is wrong", () => {
  assert.throws(() => parseRateLimit("10X"), /rx-rate "10X" is not a rate/);
  assert.throws(() => parseRateLimit("1M/2M/3M"), /more than one/);
  assert.throws(() => parseRateLimit("10M 5M"), /rx-burst-rate 5000000 is below rx-rate/);
  assert.throws(() => parseRateLimit("10M 20M"), /needs a rx-burst-time/);
  assert.throws(() => parseRateLimit("10M 20M 5M 8 9"), /priority "9"/);
  assert.throws(() => parseRateLimit(""), /1 to 6/);
});

Deno.test("tcRateLimitCommands() shapes download with tbf; upload is policed in the data path", () => {
  const cmds = tcRateLimitCommands("sstp-alice", parseRateLimit("2M/10M"), 1400);
  assert.deepEqual(cmds, [[
    "qdisc",
    "replace",
    "dev",
    "sstp-alice",
    "root",
    "tbf",
    "rate",
    "10000000bit",
    "burst",
    "62500",
    "latency",
    "50ms",
  ]]);
  const burst = tcRateLimitCommands("d", parseRateLimit("0/10M 0/20M 0/5M 0/8"), 1400);
  assert.ok(
    burst[0]!.join(" ").includes("burst 10000000 latency 50ms peakrate 20000000bit mtu 1464"),
  );
  assert.deepEqual(tcRateLimitUndo("d", parseRateLimit("1M")), [[
    "qdisc",
    "del",
    "dev",
    "d",
    "root",
  ]]);
  assert.deepEqual(tcRateLimitCommands("d", parseRateLimit("10M/0"), 1400), []);
});

Deno.test("policerBucketBytes() holds 500 ms at the upload rate (100 ms halved TCP's rate)", () => {
  assert.equal(policerBucketBytes(parseRateLimit("10M/0").rx), 625_000);
  assert.equal(policerBucketBytes(parseRateLimit("64k/0").rx), 16 * 1024, "at least 16 KiB");
});
