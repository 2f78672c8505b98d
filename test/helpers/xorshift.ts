/**
 * The deterministic xorshift32 generator the tests use wherever they need
 * reproducible "random" choices (chunk sizes, nonces, magic numbers).
 *
 * @module
 */

/** A xorshift32 sequence from `seed` (0 counts as 1): each call returns the next 32-bit state. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** A deterministic `randomBytes`: the low byte of each xorshift32 state. */
export function seededRandomBytes(seed: number): (n: number) => Uint8Array {
  const next = xorshift32(seed);
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = next() & 0xff;
    return out;
  };
}
