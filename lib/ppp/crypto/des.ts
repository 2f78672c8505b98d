/**
 * Single DES in ECB mode on one 8-byte block (FIPS 46-3), as MS-CHAP uses it:
 * `DesEncrypt(Clear, Key)` in RFC 2759 8.6 and RFC 2433 A.8, with the 7-byte
 * key spread over 8 bytes and odd parity added.
 *
 * `node:crypto` in Deno offers no single-DES cipher, but it has
 * `des-ede3-cbc`: triple DES with the three keys equal is single DES
 * (E(K) D(K) E(K) = E(K)), and CBC over one block with a zero IV is ECB.
 * The library does the cipher; nothing of DES is written here. That costs
 * about a fifth of the bit-by-bit JS implementation it replaces (MS-CHAPv2
 * runs three blocks per login on each side, which showed in the server's
 * set-up profile). Pinned by FIPS 81 / known-answer vectors in `des_test.ts`.
 *
 * @module
 */
import { createCipheriv } from "node:crypto";

/** Block size of DES in bytes. */
export const DES_BLOCK_SIZE = 8;

const ZERO_IV = new Uint8Array(DES_BLOCK_SIZE);

/** DES of one block through `des-ede3-cbc` with K1 = K2 = K3 = `key` and a zero IV. */
function encipher(key: Uint8Array, block: Uint8Array): Uint8Array {
  const triple = new Uint8Array(3 * DES_BLOCK_SIZE);
  triple.set(key, 0);
  triple.set(key, DES_BLOCK_SIZE);
  triple.set(key, 2 * DES_BLOCK_SIZE);
  const cipher = createCipheriv("des-ede3-cbc", triple, ZERO_IV);
  cipher.setAutoPadding(false);
  const out = cipher.update(block);
  return new Uint8Array(out.buffer, out.byteOffset, DES_BLOCK_SIZE).slice();
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
