import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("parseDuration() reads RouterOS durations as milliseconds", () => {
  const cases: Array<[string, number]> = [
    ["30", 30_000],
    ["0", 0],
    ["30s", 30_000],
    ["1h30m", 5_400_000],
    ["1d", 86_400_000],
    ["1w", 604_800_000],
    ["1w2d3h4m5s6ms", 604_800_000 + 2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5_000 + 6],
    ["500ms", 500],
    ["90m", 5_400_000],
    ["00:30:00", 1_800_000],
    ["1d02:00:00", 93_600_000],
    ["1w2d00:00:05", 604_800_000 + 2 * 86_400_000 + 5_000],
    [" 45s ", 45_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration() refuses malformed durations", () => {
  for (
    const bad of [
      "",
      "abc",
      "1x",
      "1m1h",
      "1s1s",
      "1h00:30:00",
      "1.5s",
      "-5",
      "1:2:3",
      "00:60:00",
      "s",
      "1d 2h",
    ]
  ) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

Deno.test("formatDuration() prints the largest units first and round-trips", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(5_400_000), "1h30m");
  assert.equal(formatDuration(93_600_500), "1d2h500ms");
  for (const ms of [1, 999, 60_000, 3_600_001, 123_456_789]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  assert.throws(() => formatDuration(-1), RangeError);
});
