/**
 * MD5 (RFC 1321) and SHA-1 (FIPS 180-4) over a list of byte strings, as the
 * CHAP (RFC 1994 4.1) and MS-CHAPv2 (RFC 2759 8, RFC 3079 3.4) formulas
 * write them: `H(a | b | c)`.
 *
 * @module
 */
import { createHash } from "node:crypto";

function digest(algorithm: "md5" | "sha1" | "sha256", parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * MD5 of the concatenation of `parts` (16 bytes).
 *
 * @example
 * ```ts
 * import { md5 } from "./digest.ts";
 * import { toHex } from "../../bytes/hex.ts";
 * const e = new TextEncoder();
 * if (toHex(md5(e.encode("a"), e.encode("bc"))) !== "900150983cd24fb0d6963f7d28e17f72") {
 *   throw new Error();
 * }
 * ```
 */
export function md5(...parts: Uint8Array[]): Uint8Array {
  return digest("md5", parts);
}

/**
 * SHA-1 of the concatenation of `parts` (20 bytes).
 *
 * @example
 * ```ts
 * import { sha1 } from "./digest.ts";
 * import { toHex } from "../../bytes/hex.ts";
 * const e = new TextEncoder();
 * if (toHex(sha1(e.encode("ab"), e.encode("c"))) !== "a9993e364706816aba3e25717850c26c9cd0d89d") {
 *   throw new Error();
 * }
 * ```
 */
export function sha1(...parts: Uint8Array[]): Uint8Array {
  return digest("sha1", parts);
}

/** SHA-256 of the concatenation of `parts` (32 bytes). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  return digest("sha256", parts);
}
