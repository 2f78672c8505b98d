import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { median, ratio, summarize } from "./stats.ts";

Deno.test("median() takes the middle value, or the mean of the middle two", () => {
  strictEqual(median([3, 1, 2]), 2);
  strictEqual(median([4, 1, 3, 2]), 2.5);
  strictEqual(Number.isNaN(median([])), true);
});

Deno.test("summarize() keeps the runs in order with min and max", () => {
  deepStrictEqual(summarize([5, 1, 9]), { median: 5, min: 1, max: 9, runs: [5, 1, 9] });
});

Deno.test("ratio() divides medians and gives NaN without a positive divisor", () => {
  strictEqual(ratio(summarize([300]), summarize([200])), 1.5);
  strictEqual(Number.isNaN(ratio(summarize([1]), summarize([0]))), true);
  strictEqual(Number.isNaN(ratio(undefined, summarize([1]))), true);
});
