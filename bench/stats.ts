/**
 * Summary statistics of repeated measurements: median with min and max.
 *
 * @module
 */

/** Median, minimum and maximum of a set of runs. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every run, in order. */
  runs: number[];
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Summarises `values`; an empty list gives NaN figures. */
export function summarize(values: readonly number[]): Summary {
  return {
    median: median(values),
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
    runs: [...values],
  };
}

/** `a / b` of two medians, or NaN when either is missing. */
export function ratio(a: Summary | undefined, b: Summary | undefined): number {
  if (!a || !b || !(b.median > 0)) return NaN;
  return a.median / b.median;
}
