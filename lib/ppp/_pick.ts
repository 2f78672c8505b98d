/**
 * Copies the defined keys of an options object, so optional properties can be
 * forwarded under `exactOptionalPropertyTypes`.
 *
 * @module
 */

/** Returns the keys of `from` among `keys` whose value is not `undefined`. */
export function pickDefined<T extends object, K extends keyof T>(
  from: T,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}
