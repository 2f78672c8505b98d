/**
 * MD4 message digest (RFC 1320), used by MS-CHAP for the NT password hash
 * (RFC 2759 8.3) and its hash (RFC 2759 8.4).
 *
 * A thin wrapper over `node:crypto`, which Deno provides with MD4 built in
 * (measured on Deno 2.9.6); the RFC 1320 A.5 test suite in `md4_test.ts` pins
 * it.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Computes the 16-byte MD4 digest of `data` (RFC 1320).
 *
 * @param data Bytes to hash.
 * @returns The 16-byte digest.
 *
 * @example
 * ```ts
 * import { md4 } from "./md4.ts";
 * import { toHex } from "../../bytes/hex.ts";
 * if (toHex(md4(new TextEncoder().encode("abc"))) !== "a448017aaf21d8525fc10ae87aa6729d") {
 *   throw new Error();
 * }
 * ```
 */
export function md4(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("md4").update(data).digest());
}
