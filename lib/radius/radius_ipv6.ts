/**
 * The IPv6 attributes of an Access-Accept (RFC 3162): Framed-IPv6-Prefix
 * (2.3) is binary, `Reserved | Prefix-Length | Prefix` with the prefix in 0
 * to 16 octets (decoded here); Framed-IPv6-Route (2.5) is text like
 * Framed-Route (read by the server session). Delegated-IPv6-Prefix
 * (RFC 4818 3) has Framed-IPv6-Prefix's format; accounting sends both.
 *
 * @module
 */
import { formatIpv6Prefix, type Ipv6Prefix, maskIpv6, parseIpv6Prefix } from "../ipv6/address.ts";

/**
 * Decodes a Framed-IPv6-Prefix value (RFC 3162 2.3): one reserved octet,
 * the prefix length (0-128), then the prefix in as many octets as the
 * length needs (up to 16; bits beyond the length must be zero).
 *
 * @example
 * ```ts
 * import { decodeFramedIpv6Prefix } from "./radius_ipv6.ts";
 * const p = decodeFramedIpv6Prefix(new Uint8Array([0, 64, 0x20, 0x01, 0, 2, 0, 5, 0, 0]));
 * if (p.length !== 64 || p.address[3] !== 2) throw new Error();
 * ```
 * @throws {RangeError} When the value is not a prefix.
 */
export function decodeFramedIpv6Prefix(value: Uint8Array): Ipv6Prefix {
  if (value.length < 2 || value.length > 18) {
    throw new RangeError(
      `Framed-IPv6-Prefix of ${value.length} octets: expected 2 to 18 (RFC 3162 2.3)`,
    );
  }
  const length = value[1]!;
  if (length > 128) {
    throw new RangeError(`Framed-IPv6-Prefix length ${length} is over 128`);
  }
  const octets = value.length - 2;
  if (octets * 8 < length) {
    throw new RangeError(
      `Framed-IPv6-Prefix /${length} in ${octets} octets: needs ${Math.ceil(length / 8)}`,
    );
  }
  const address = new Uint8Array(16);
  address.set(value.subarray(2));
  const masked = maskIpv6(address, length);
  if (masked.some((b, i) => b !== address[i])) {
    throw new RangeError(
      `Framed-IPv6-Prefix has bits set beyond /${length} (the prefix is ${
        formatIpv6Prefix({ address: masked, length })
      })`,
    );
  }
  return { address, length };
}

/**
 * Encodes a prefix as a Framed-IPv6-Prefix (RFC 3162 2.3) or
 * Delegated-IPv6-Prefix (RFC 4818 3) value: a zero reserved octet, the
 * length, then only the octets the length needs (what
 * {@linkcode decodeFramedIpv6Prefix} reads back).
 *
 * @example
 * ```ts
 * import { encodeIpv6PrefixValue } from "./radius_ipv6.ts";
 * const v = encodeIpv6PrefixValue("2001:2:5::/64");
 * if (v.length !== 10 || v[1] !== 64) throw new Error();
 * ```
 * @throws {RangeError} When the text is not a prefix.
 */
export function encodeIpv6PrefixValue(prefix: string): Uint8Array {
  const p = parseIpv6Prefix(prefix);
  if (typeof p === "string") throw new RangeError(`IPv6 prefix "${prefix}": ${p}`);
  const octets = Math.ceil(p.length / 8);
  const out = new Uint8Array(2 + octets);
  out[1] = p.length;
  out.set(p.address.subarray(0, octets), 2);
  return out;
}
