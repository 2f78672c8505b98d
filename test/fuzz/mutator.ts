/**
 * Seeded, mutation-based input generation for `deno task fuzz`: every input
 * is a function of one 32-bit case seed, so a finding is replayed from that
 * seed alone (no corpus files to keep).
 *
 * The mutations are the classic ones of byte-level fuzzers (AFL's havoc
 * stage): bit flips, interesting values (0, 0xff, 0x7f, 0x80, lengths
 * around the packet size limits) written as 8/16/32-bit big-endian
 * integers, inserted, deleted, duplicated and spliced ranges, truncation,
 * and length-field nudges (±1) that move a decoder to its bounds.
 *
 * @module
 */
import { xorshift32 } from "../helpers/xorshift.ts";

/** A deterministic random source. */
export class Rng {
  readonly #next: () => number;

  /** A generator from `seed` (xorshift32; 0 counts as 1). */
  constructor(seed: number) {
    this.#next = xorshift32(seed);
  }

  /** A 32-bit unsigned integer. */
  u32(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.#next() % n;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() / 0x1_0000_0000 < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#next() & 0xff;
    return out;
  }
}

/** Values that sit on the bounds of SSTP and PPP length and type fields. */
const INTERESTING_8 = [0, 1, 2, 3, 4, 5, 0x10, 0x11, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_16 = [
  0,
  1,
  3,
  4,
  5,
  8,
  0x7f,
  0x80,
  0xff,
  0x100,
  0x3ff,
  0x400,
  0x5dc,
  0x5f4,
  0xff7,
  0xffe,
  0xfff,
  0x1000,
  0x7fff,
  0x8000,
  0xc021,
  0xc223,
  0x8021,
  0xffff,
];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];

/** Longest input a mutation may grow (a little over one SSTP packet). */
export const MAX_INPUT = 4200;

/**
 * Applies 1 to 8 random mutations to a copy of `input`; `others` supplies
 * material for splicing.
 */
export function mutate(input: Uint8Array, rng: Rng, others: readonly Uint8Array[]): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = 1 + rng.below(rng.chance(0.2) ? 16 : 4);
  for (let r = 0; r < rounds; r++) {
    b = mutateOnce(b, rng, others);
    if (b.length > MAX_INPUT) b = b.subarray(0, MAX_INPUT);
  }
  return b;
}

function mutateOnce(b: Uint8Array, rng: Rng, others: readonly Uint8Array[]): Uint8Array {
  const at = (extra = 0) => rng.below(b.length + extra);
  switch (rng.below(12)) {
    case 0: { // flip one bit
      if (b.length === 0) return rng.bytes(1 + rng.below(8));
      const i = at();
      b[i]! ^= 1 << rng.below(8);
      return b;
    }
    case 1: { // random byte
      if (b.length > 0) b[at()] = rng.u32() & 0xff;
      return b;
    }
    case 2: { // interesting byte
      if (b.length > 0) b[at()] = rng.pick(INTERESTING_8);
      return b;
    }
    case 3: { // interesting 16-bit big-endian value (SSTP and PPP lengths are BE16)
      if (b.length < 2) return b;
      const i = rng.below(b.length - 1);
      const v = rng.pick(INTERESTING_16);
      b[i] = v >> 8;
      b[i + 1] = v & 0xff;
      return b;
    }
    case 4: { // interesting 32-bit value
      if (b.length < 4) return b;
      const i = rng.below(b.length - 3);
      new DataView(b.buffer, b.byteOffset, b.length).setUint32(i, rng.pick(INTERESTING_32));
      return b;
    }
    case 5: { // nudge a 16-bit field by ±1..4 (off-by-one lengths)
      if (b.length < 2) return b;
      const i = rng.below(b.length - 1);
      const v = ((b[i]! << 8) | b[i + 1]!) + (rng.chance(0.5) ? 1 : -1) * (1 + rng.below(4));
      b[i] = (v >> 8) & 0xff;
      b[i + 1] = v & 0xff;
      return b;
    }
    case 6: { // insert random bytes
      const i = at(1);
      const ins = rng.bytes(1 + rng.below(rng.chance(0.1) ? 512 : 16));
      return concat(b.subarray(0, i), ins, b.subarray(i));
    }
    case 7: { // delete a range
      if (b.length === 0) return b;
      const i = at();
      const n = 1 + rng.below(Math.min(64, b.length - i));
      return concat(b.subarray(0, i), b.subarray(i + n));
    }
    case 8: { // duplicate a range
      if (b.length === 0) return b;
      const i = at();
      const n = 1 + rng.below(Math.min(64, b.length - i));
      return concat(b.subarray(0, i + n), b.subarray(i, i + n), b.subarray(i + n));
    }
    case 9: { // splice with another input
      const other = others.length > 0 ? rng.pick(others) : rng.bytes(16);
      const i = at(1);
      const j = rng.below(other.length + 1);
      return concat(b.subarray(0, i), other.subarray(j));
    }
    case 10: // truncate
      return b.subarray(0, at(1)).slice();
    default: { // overwrite a range with one repeated byte
      if (b.length === 0) return b;
      const i = at();
      b.fill(rng.pick(INTERESTING_8), i, i + 1 + rng.below(32));
      return b;
    }
  }
}

/** Concatenates byte arrays into a new one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Cuts `bytes` into chunks of random sizes (a TCP stream's arbitrary
 * segmentation), biased towards the 1-4 byte cuts that split headers.
 */
export function chunks(bytes: Uint8Array, rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < bytes.length) {
    const n = rng.chance(0.3) ? 1 + rng.below(4) : 1 + rng.below(bytes.length);
    out.push(bytes.subarray(o, o + n));
    o += n;
  }
  return out;
}
