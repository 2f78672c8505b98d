/**
 * Dotted-quad IPv4 addresses ↔ the 4-byte fields of IPCP options (RFC 1332
 * 3.3, RFC 1877 1).
 *
 * @module
 */

/**
 * Encodes a dotted quad.
 *
 * @throws {TypeError} If `address` is not a dotted quad.
 *
 * @example
 * ```ts
 * import { ipv4ToBytes } from "./ipv4.ts";
 * if (ipv4ToBytes("198.18.1.10").join(".") !== "198.18.1.10") throw new Error();
 * ```
 */
export function ipv4ToBytes(address: string): Uint8Array {
  const parts = address.split(".");
  if (
    parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)
  ) {
    throw new TypeError(`Cannot parse IPv4 address "${address}": expected a dotted quad`);
  }
  return new Uint8Array(parts.map(Number));
}

/**
 * Decodes 4 bytes as a dotted quad.
 *
 * @throws {RangeError} If `bytes` is not 4 bytes long.
 *
 * @example
 * ```ts
 * import { bytesToIpv4 } from "./ipv4.ts";
 * if (bytesToIpv4(new Uint8Array([198, 18, 1, 1])) !== "198.18.1.1") throw new Error();
 * ```
 */
export function bytesToIpv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) {
    throw new RangeError(`Cannot format IPv4 address: ${bytes.length} bytes instead of 4`);
  }
  return Array.from(bytes).join(".");
}

/** True for 0.0.0.0 ("please assign one", RFC 1332 3.3). */
export function isZeroAddress(bytes: Uint8Array): boolean {
  return bytes.length === 4 && bytes.every((b) => b === 0);
}
