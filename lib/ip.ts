/**
 * Pure IPv4 helpers for configuration: parse and format dotted quads, CIDR
 * prefixes and RouterOS address ranges (`/ip pool ranges`), plus an IPv6
 * literal check for `connect-to` and `listen`.
 *
 * IPv4 addresses are handled as unsigned 32-bit numbers (`0` to
 * `0xffffffff`); functions that return addresses to configuration consumers
 * format them back to dotted quads.
 *
 * @module
 */

/** An inclusive range of IPv4 addresses as unsigned 32-bit numbers. */
export interface Ipv4Range {
  /** First address of the range. */
  first: number;
  /** Last address of the range (inclusive, `>= first`). */
  last: number;
}

/** An IPv4 prefix such as `10.1.202.0/24`. */
export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit number. */
  address: number;
  /** Prefix length, 0 to 32. */
  prefixLength: number;
}

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parses a dotted-quad IPv4 address. Leading zeros are refused ("010" is octal
 * to some tools and decimal to others).
 *
 * @example
 * ```ts
 * import { parseIpv4 } from "./ip.ts";
 * if (parseIpv4("198.18.0.1") !== 0xc6120001) throw new Error();
 * if (parseIpv4("10.0.0.300") !== undefined) throw new Error();
 * ```
 * @returns The address as an unsigned 32-bit number, or `undefined` when `text` is not an address.
 */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** True when `text` is a dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== undefined;
}

/**
 * Formats an unsigned 32-bit number as a dotted quad.
 *
 * @throws {RangeError} When `value` is not an integer from 0 to 0xffffffff.
 */
export function formatIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Cannot format IPv4 address: ${value} is not a 32-bit unsigned integer`);
  }
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join(".");
}

/** The netmask of a prefix length as an unsigned 32-bit number. */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/**
 * Parses `A.B.C.D/N` (or a bare address, taken as `/32`). The result keeps the
 * address as written; use {@linkcode hasHostBits} to insist on a network
 * address.
 *
 * @returns The prefix, or `undefined` when `text` is not one.
 */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIpv4(addressText);
  if (address === undefined) return undefined;
  if (slash < 0) return { address, prefixLength: 32 };
  const lengthText = text.slice(slash + 1);
  if (!/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(lengthText)) return undefined;
  return { address, prefixLength: Number(lengthText) };
}

/** True when the address of `cidr` has bits set beyond its prefix (`10.0.0.1/24`). */
export function hasHostBits(cidr: Ipv4Cidr): boolean {
  return (cidr.address & ~prefixMask(cidr.prefixLength)) >>> 0 !== 0;
}

/** Formats a prefix as `A.B.C.D/N`. */
export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.address)}/${cidr.prefixLength}`;
}

/** The addresses a prefix covers, network and broadcast addresses included. */
export function cidrToRange(cidr: Ipv4Cidr): Ipv4Range {
  const first = (cidr.address & prefixMask(cidr.prefixLength)) >>> 0;
  const last = (first | ~prefixMask(cidr.prefixLength)) >>> 0;
  return { first, last };
}

/**
 * Parses one RouterOS pool range: `A-B` (both ends included), `A.B.C.D/N`
 * (every address of the prefix) or a single address.
 *
 * @example
 * ```ts
 * import { formatIpv4, parseIpv4Range } from "./ip.ts";
 * const r = parseIpv4Range("198.18.10.2-198.18.10.254");
 * if (typeof r === "string" || formatIpv4(r.last) !== "198.18.10.254") throw new Error();
 * ```
 * @returns The range, or a reason (sentence fragment) why `text` is not one.
 */
export function parseIpv4Range(text: string): Ipv4Range | string {
  const trimmed = text.trim();
  const dash = trimmed.indexOf("-");
  if (dash >= 0) {
    const firstText = trimmed.slice(0, dash).trim();
    const lastText = trimmed.slice(dash + 1).trim();
    const first = parseIpv4(firstText);
    if (first === undefined) return `"${firstText}" is not an IPv4 address`;
    const last = parseIpv4(lastText);
    if (last === undefined) return `"${lastText}" is not an IPv4 address`;
    if (last < first) return `range "${trimmed}" ends before it starts`;
    return { first, last };
  }
  const cidr = parseIpv4Cidr(trimmed);
  if (cidr === undefined) {
    return `"${trimmed}" is not an IPv4 address, prefix or range`;
  }
  if (hasHostBits(cidr)) {
    return `"${trimmed}" has host bits set (the prefix is ${
      formatIpv4Cidr({ ...cidr, address: cidrToRange(cidr).first })
    })`;
  }
  return cidrToRange(cidr);
}

/** Formats a range as RouterOS prints it: `A-B`, or `A` for a single address. */
export function formatIpv4Range(range: Ipv4Range): string {
  return range.first === range.last
    ? formatIpv4(range.first)
    : `${formatIpv4(range.first)}-${formatIpv4(range.last)}`;
}

/** True when the two ranges share at least one address. */
export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** True when `address` lies within `range`. */
export function rangeContains(range: Ipv4Range, address: number): boolean {
  return range.first <= address && address <= range.last;
}

/** Number of addresses in a range. */
export function rangeSize(range: Ipv4Range): number {
  return range.last - range.first + 1;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/**
 * True when `text` is an IPv6 literal (RFC 4291 2.2 text forms, including an
 * embedded dotted quad and `::`). A zone index (`%eth0`) is allowed.
 */
export function isIpv6(text: string): boolean {
  const percent = text.indexOf("%");
  let body = text;
  if (percent >= 0) {
    const zone = text.slice(percent + 1);
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(zone)) return false;
    body = text.slice(0, percent);
  }
  const lastColon = body.lastIndexOf(":");
  if (lastColon >= 0 && body.slice(lastColon + 1).includes(".")) {
    if (!isIpv4(body.slice(lastColon + 1))) return false;
    body = body.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return false;
  const split = (s: string) => s === "" ? [] : s.split(":");
  const head = split(halves[0] ?? "");
  const tail = halves.length === 2 ? split(halves[1] ?? "") : [];
  if (![...head, ...tail].every((h) => HEXTET.test(h))) return false;
  const count = head.length + tail.length;
  return halves.length === 2 ? count < 8 : count === 8;
}
