/**
 * IPv6 addresses and prefixes as bytes (RFC 4291 2.2 text forms in, RFC 5952
 * canonical text out). The tunnel's IPv6 pieces (Router Advertisements,
 * SLAAC, DHCPv6 prefix delegation, prefix pools) work on 16-byte arrays so
 * that building packets needs no text round trip.
 *
 * @module
 */

/** Bytes in an IPv6 address. */
export const IPV6_ADDRESS_LENGTH = 16;

/** An IPv6 prefix: the address with host bits clear, and its length in bits. */
export interface Ipv6Prefix {
  /** 16 bytes; bits beyond `length` are zero. */
  address: Uint8Array;
  /** Prefix length, 0-128. */
  length: number;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;
const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Parses an IPv6 literal (no zone index) into 16 bytes, or `undefined` when
 * it is not one.
 *
 * @example
 * ```ts
 * import { parseIpv6 } from "./address.ts";
 * if (parseIpv6("2001:2::1")?.[15] !== 1) throw new Error();
 * ```
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  let body = text;
  const tailBytes: number[] = [];
  const lastColon = body.lastIndexOf(":");
  if (lastColon >= 0 && body.slice(lastColon + 1).includes(".")) {
    const m = DOTTED.exec(body.slice(lastColon + 1));
    if (!m) return undefined;
    for (const part of m.slice(1)) {
      const v = Number(part);
      if (v > 255) return undefined;
      tailBytes.push(v);
    }
    body = body.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const split = (s: string) => s === "" ? [] : s.split(":");
  const head = split(halves[0] ?? "");
  const tail = halves.length === 2 ? split(halves[1] ?? "") : [];
  if (![...head, ...tail].every((h) => HEXTET.test(h))) return undefined;
  const count = head.length + tail.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined;
  const groups = [...head, ...Array(8 - count).fill("0"), ...tail].map((h) => parseInt(h, 16));
  const out = new Uint8Array(IPV6_ADDRESS_LENGTH);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tailBytes.length === 4) out.set(tailBytes, 12);
  return out;
}

/**
 * Formats 16 bytes in RFC 5952 canonical form: lower case, no leading zeros,
 * the longest run of two or more zero groups (the first on a tie) as `::`.
 *
 * @example
 * ```ts
 * import { formatIpv6, parseIpv6 } from "./address.ts";
 * if (formatIpv6(parseIpv6("2001:0002:0:0:0:0:0:0001")!) !== "2001:2::1") throw new Error();
 * ```
 */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== IPV6_ADDRESS_LENGTH) {
    throw new RangeError(`Cannot format IPv6 address: ${bytes.length} bytes instead of 16`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((v) => v.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** Returns `address` with every bit beyond `length` cleared (a copy). */
export function maskIpv6(address: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(IPV6_ADDRESS_LENGTH);
  for (let i = 0; i < IPV6_ADDRESS_LENGTH; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] = (address[i] ?? 0) & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

/**
 * Parses `2001:2::/48` into a prefix, or returns a message saying what is
 * wrong (host bits set, bad length, not an address).
 */
export function parseIpv6Prefix(text: string): Ipv6Prefix | string {
  const slash = text.indexOf("/");
  if (slash < 0) return `"${text}" is not an IPv6 prefix (expected address/length)`;
  const address = parseIpv6(text.slice(0, slash));
  if (!address) return `"${text.slice(0, slash)}" is not an IPv6 address`;
  const lengthText = text.slice(slash + 1);
  const length = Number(lengthText);
  if (!/^\d{1,3}$/.test(lengthText) || length > 128) {
    return `"${lengthText}" is not an IPv6 prefix length (0-128)`;
  }
  if (!equalBytes(maskIpv6(address, length), address)) {
    return `"${text}" has host bits set (did you mean ${
      formatIpv6Prefix({ address: maskIpv6(address, length), length })
    }?)`;
  }
  return { address, length };
}

/** Formats a prefix as `2001:2::/48`. */
export function formatIpv6Prefix(prefix: Ipv6Prefix): string {
  return `${formatIpv6(prefix.address)}/${prefix.length}`;
}

/** True when `address` lies inside `prefix`. */
export function ipv6PrefixContains(prefix: Ipv6Prefix, address: Uint8Array): boolean {
  return equalBytes(maskIpv6(address, prefix.length), prefix.address);
}

/**
 * The `index`-th sub-prefix of length `length` inside `parent`
 * (`2001:2:0:100::/56`, 64, 3 → `2001:2:0:103::/64`).
 *
 * @throws {RangeError} when `length` is shorter than the parent's, or the
 * index does not fit.
 */
export function subPrefix(parent: Ipv6Prefix, length: number, index: number): Ipv6Prefix {
  const bits = length - parent.length;
  if (bits < 0 || length > 128) {
    throw new RangeError(
      `Cannot take a /${length} from ${formatIpv6Prefix(parent)}: longer prefix needed`,
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= subPrefixCount(parent, length)) {
    throw new RangeError(
      `Cannot take /${length} number ${index} from ${formatIpv6Prefix(parent)}: out of range`,
    );
  }
  const out = parent.address.slice();
  // Add index << (128 - length) into the address, byte by byte from the end.
  let carry = BigInt(index) << BigInt(128 - length);
  for (let i = 15; i >= 0 && carry > 0n; i--) {
    const sum = BigInt(out[i] ?? 0) + (carry & 0xffn);
    out[i] = Number(sum & 0xffn);
    carry = (carry >> 8n) + (sum >> 8n);
  }
  return { address: out, length };
}

/** How many /`length` prefixes fit in `parent` (capped at 2^32). */
export function subPrefixCount(parent: Ipv6Prefix, length: number): number {
  const bits = length - parent.length;
  if (bits < 0) return 0;
  return bits >= 32 ? 2 ** 32 : 2 ** bits;
}

/** `prefix` (a /64) completed with an 8-byte interface identifier. */
export function addressFromInterfaceId(prefix: Uint8Array, interfaceId: Uint8Array): Uint8Array {
  if (interfaceId.length !== 8) {
    throw new RangeError(`Cannot build IPv6 address: interface id is ${interfaceId.length} bytes`);
  }
  const out = prefix.slice(0, 16);
  out.set(interfaceId, 8);
  return out;
}

/** `fe80::/64` completed with an 8-byte interface identifier. */
export function linkLocalFromInterfaceId(interfaceId: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(16);
  prefix[0] = 0xfe;
  prefix[1] = 0x80;
  return addressFromInterfaceId(prefix, interfaceId);
}

/** True for fe80::/10. */
export function isLinkLocal(address: Uint8Array): boolean {
  return address[0] === 0xfe && ((address[1] ?? 0) & 0xc0) === 0x80;
}

/** Byte-wise equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
