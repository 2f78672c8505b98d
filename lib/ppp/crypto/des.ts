/**
 * Single DES in ECB mode on one 8-byte block (FIPS 46-3), as MS-CHAP uses it:
 * `DesEncrypt(Clear, Key)` in RFC 2759 8.6 and RFC 2433 A.8, with the 7-byte
 * key spread over 8 bytes and odd parity added.
 *
 * `node:crypto` in Deno has no DES. The block cipher is written here from the
 * tables and the algorithm of FIPS 46-3, one bit per array element as the
 * standard reads (MS-CHAP encrypts three blocks per authentication, so speed
 * does not matter; the npm `des.js` it replaces cost 6-17 ms of start-up to
 * import). Pinned by FIPS 81 / known-answer vectors in `des_test.ts`.
 *
 * @module
 */
/** Block size of DES in bytes. */
export const DES_BLOCK_SIZE = 8;

// The tables of FIPS 46-3, 1-based bit numbers counted from the most
// significant bit, exactly as printed in the standard.

/** Initial permutation IP (FIPS 46-3, page 10). */
// deno-fmt-ignore
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
  62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
  61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/** Inverse initial permutation IP⁻¹ (page 10). */
// deno-fmt-ignore
const IP_INV = [
  40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
  38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
  36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
  34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];

/** E bit-selection table: 32 bits to 48 (page 13). */
// deno-fmt-ignore
const E = [
  32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13,
  12, 13, 14, 15, 16, 17, 16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25,
  24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];

/** Permutation P applied to the S-box output (page 15). */
// deno-fmt-ignore
const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
  2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];

/** Permuted choice 1: 64 key bits to C0 (first 28) and D0 (last 28) (page 20). */
// deno-fmt-ignore
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

/** Permuted choice 2: 56 bits of CnDn to the 48-bit round key Kn (page 21). */
// deno-fmt-ignore
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
  23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
  44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/** Left shifts of C and D before each of the 16 rounds (page 21). */
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/** S1..S8, each 4 rows of 16 (pages 17-18). */
// deno-fmt-ignore
const S = [
  [
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
    0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
    15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
  ],
  [
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
    3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
    13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
  ],
  [
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
    13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
    1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
  ],
  [
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
    13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
    3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
  ],
  [
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
    14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
    11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
  ],
  [
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
    10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
    4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
  ],
  [
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
    13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
    6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
  ],
  [
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
    1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
    2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
  ],
];

/** The bits of `bytes`, most significant first, one per element. */
function bitsOf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < out.length; i++) out[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return out;
}

/** `table` applied to `input` (one bit per element): out[i] = input[table[i] - 1]. */
function permute(input: Uint8Array, table: readonly number[]): Uint8Array {
  const out = new Uint8Array(table.length);
  for (let i = 0; i < table.length; i++) out[i] = input[table[i]! - 1]!;
  return out;
}

/** The 16 48-bit round keys K1..K16 of the key schedule (FIPS 46-3 appendix). */
function keySchedule(key: Uint8Array): Uint8Array[] {
  const cd = permute(bitsOf(key), PC1);
  const keys: Uint8Array[] = [];
  for (const shift of SHIFTS) {
    for (let s = 0; s < shift; s++) {
      // Rotate C (bits 0..27) and D (bits 28..55) left by one, independently.
      const c0 = cd[0]!;
      const d0 = cd[28]!;
      cd.copyWithin(0, 1, 28);
      cd[27] = c0;
      cd.copyWithin(28, 29, 56);
      cd[55] = d0;
    }
    keys.push(permute(cd, PC2));
  }
  return keys;
}

/** The cipher function f(R, K): expand, mix with the key, S-boxes, P. */
function f(r: Uint8Array, k: Uint8Array): Uint8Array {
  const e = permute(r, E);
  const out = new Uint8Array(32);
  for (let box = 0; box < 8; box++) {
    const b = box * 6;
    const x = (i: number) => e[b + i]! ^ k[b + i]!;
    const row = (x(0) << 1) | x(5);
    const column = (x(1) << 3) | (x(2) << 2) | (x(3) << 1) | x(4);
    const v = S[box]![row * 16 + column]!;
    for (let i = 0; i < 4; i++) out[box * 4 + i] = (v >> (3 - i)) & 1;
  }
  return permute(out, P);
}

/** DES enciphering of one block (FIPS 46-3 figure 1), bit by bit as the standard reads. */
function encipher(key: Uint8Array, block: Uint8Array): Uint8Array {
  const keys = keySchedule(key);
  const lr = permute(bitsOf(block), IP);
  let l = lr.subarray(0, 32);
  let r = lr.subarray(32);
  for (const k of keys) {
    const fr = f(r, k);
    const next = new Uint8Array(32);
    for (let i = 0; i < 32; i++) next[i] = l[i]! ^ fr[i]!;
    l = r;
    r = next;
  }
  // The preoutput block is R16 L16.
  const preoutput = new Uint8Array(64);
  preoutput.set(r, 0);
  preoutput.set(l, 32);
  const bits = permute(preoutput, IP_INV);
  const out = new Uint8Array(DES_BLOCK_SIZE);
  for (let i = 0; i < 64; i++) out[i >> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

/**
 * Encrypts one 8-byte block with an 8-byte DES key (parity bits ignored).
 *
 * @param key 8-byte DES key.
 * @param block 8-byte plain text.
 * @returns 8-byte cipher text.
 * @throws {RangeError} If `key` or `block` is not 8 bytes long.
 *
 * @example
 * ```ts
 * import { desEncryptBlock } from "./des.ts";
 * import { fromHex, toHex } from "../../bytes/hex.ts";
 * const c = desEncryptBlock(fromHex("133457799bbcdff1"), fromHex("0123456789abcdef"));
 * if (toHex(c) !== "85e813540f0ab405") throw new Error();
 * ```
 */
export function desEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  if (key.length !== DES_BLOCK_SIZE) {
    throw new RangeError(`Cannot encrypt with DES: key is ${key.length} bytes, expected 8`);
  }
  if (block.length !== DES_BLOCK_SIZE) {
    throw new RangeError(`Cannot encrypt with DES: block is ${block.length} bytes, expected 8`);
  }
  return encipher(key, block);
}

/**
 * Spreads a 56-bit key over 8 bytes, 7 key bits per byte in the high bits,
 * and sets the low bit of each byte for odd parity (RFC 2433 A.8
 * "DesEncrypt": "the 7-octet Key is expanded to the 8 octets DES needs").
 *
 * @param key7 7-byte key.
 * @returns 8-byte DES key with odd parity.
 * @throws {RangeError} If `key7` is not 7 bytes long.
 *
 * @example
 * ```ts
 * import { expandDesKey } from "./des.ts";
 * import { fromHex, toHex } from "../../bytes/hex.ts";
 * if (toHex(expandDesKey(fromHex("fc156af7edcd6c"))) !== "fd0b5b5e7f6e34d9") throw new Error();
 * ```
 */
export function expandDesKey(key7: Uint8Array): Uint8Array {
  if (key7.length !== 7) {
    throw new RangeError(`Cannot expand DES key: key is ${key7.length} bytes, expected 7`);
  }
  // Treat the 7 bytes as one 56-bit big-endian number and take 7 bits at a time.
  let bits = 0n;
  for (const b of key7) bits = (bits << 8n) | BigInt(b);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) {
    const seven = Number((bits >> BigInt(49 - 7 * i)) & 0x7fn);
    const high = seven << 1;
    out[i] = high | (popcount(high) % 2 === 0 ? 1 : 0);
  }
  return out;
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v; x !== 0; x &= x - 1) n++;
  return n;
}

/**
 * `DesEncrypt(Clear, Key)` of RFC 2759 8.6: one block under a 7-byte key.
 *
 * @param clear 8-byte plain text.
 * @param key7 7-byte key.
 * @returns 8-byte cipher text.
 * @throws {RangeError} On wrong lengths.
 */
export function desEncrypt7(clear: Uint8Array, key7: Uint8Array): Uint8Array {
  return desEncryptBlock(expandDesKey(key7), clear);
}
