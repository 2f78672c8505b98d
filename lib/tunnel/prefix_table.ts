/**
 * Longest-prefix-match tables for the shared TUN interface's demultiplexer:
 * which session a packet read from the one device belongs to, by its
 * destination address. IPv4 and IPv6 each keep one hash map per prefix
 * length in use and try the lengths longest first, so a lookup costs one
 * map probe per distinct length (one when every entry is a session's /32,
 * two or three with framed routes), whatever the number of sessions. Pure.
 *
 * @module
 */
import { parseIpv4Cidr, prefixMask } from "../ip.ts";
import { maskIpv6, parseIpv6 } from "../ipv6/address.ts";

/** One family's entries: a map per prefix length, lengths longest first. */
class LengthMaps<K, T> {
  readonly #maps = new Map<number, Map<K, T>>();
  /** Lengths with at least one entry, longest first. */
  lengths: number[] = [];

  get(length: number): Map<K, T> | undefined {
    return this.#maps.get(length);
  }

  add(length: number, key: K, value: T): boolean {
    let m = this.#maps.get(length);
    if (m === undefined) {
      m = new Map();
      this.#maps.set(length, m);
      this.lengths = [...this.#maps.keys()].sort((a, b) => b - a);
    }
    if (m.has(key)) return false;
    m.set(key, value);
    return true;
  }

  delete(length: number, key: K, value: T): boolean {
    const m = this.#maps.get(length);
    if (m === undefined || m.get(key) !== value) return false;
    m.delete(key);
    if (m.size === 0) {
      this.#maps.delete(length);
      this.lengths = [...this.#maps.keys()].sort((a, b) => b - a);
    }
    return true;
  }

  get size(): number {
    let n = 0;
    for (const m of this.#maps.values()) n += m.size;
    return n;
  }
}

/** A prefix as the table takes it: `a.b.c.d/n`, `x::/n`, or a bare address (a host route). */
export type PrefixText = string;

/** Longest-prefix-match table from destination prefixes to values (sessions). */
export class PrefixTable<T> {
  readonly #v4 = new LengthMaps<number, T>();
  readonly #v6 = new LengthMaps<string, T>();

  /** Entries in the table (both families). */
  get size(): number {
    return this.#v4.size + this.#v6.size;
  }

  /**
   * Adds `prefix` → `value`. Host bits of the prefix are ignored. Returns
   * false, changing nothing, when the exact prefix already has a value.
   *
   * @throws {TypeError} for text that is neither an IPv4 nor an IPv6 prefix.
   * @example
   * ```ts
   * import { PrefixTable } from "./prefix_table.ts";
   * const t = new PrefixTable<string>();
   * t.add("198.18.0.0/15", "lan");
   * t.add("198.18.5.2", "alice");
   * if (t.lookupIpv4(0xc6120502) !== "alice") throw new Error();
   * if (t.lookupIpv4(0xc6120503) !== "lan") throw new Error();
   * ```
   */
  add(prefix: PrefixText, value: T): boolean {
    const k = parseKey(prefix);
    return k.v6
      ? this.#v6.add(k.length, k.key as string, value)
      : this.#v4.add(k.length, k.key as number, value);
  }

  /**
   * Removes `prefix` when it maps to `value` (a session removes only its
   * own entries); returns whether it did.
   *
   * @throws {TypeError} for text that is neither an IPv4 nor an IPv6 prefix.
   */
  delete(prefix: PrefixText, value: T): boolean {
    const k = parseKey(prefix);
    return k.v6
      ? this.#v6.delete(k.length, k.key as string, value)
      : this.#v4.delete(k.length, k.key as number, value);
  }

  /** The value of the longest prefix containing IPv4 `address` (an unsigned 32-bit number). */
  lookupIpv4(address: number): T | undefined {
    const maps = this.#v4;
    for (const length of maps.lengths) {
      const v = maps.get(length)!.get(length === 32 ? address : (address & MASKS[length]!) >>> 0);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** The value of the longest prefix containing the IPv6 address `bytes[offset..offset+16)`. */
  lookupIpv6(bytes: Uint8Array, offset = 0): T | undefined {
    const maps = this.#v6;
    for (const length of maps.lengths) {
      const v = maps.get(length)!.get(ipv6Key(bytes, offset, length));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /**
   * The session for a packet read from the TUN device, by its destination
   * address (IPv4 bytes 16-19, IPv6 bytes 24-39); undefined for a packet
   * too short or of another version.
   */
  lookupPacket(packet: Uint8Array): T | undefined {
    const version = packet.length > 0 ? packet[0]! >> 4 : 0;
    if (version === 4) {
      if (packet.length < 20) return undefined;
      return this.lookupIpv4(
        ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0,
      );
    }
    if (version === 6 && packet.length >= 40) return this.lookupIpv6(packet, 24);
    return undefined;
  }
}

const MASKS: readonly number[] = Array.from({ length: 33 }, (_, n) => prefixMask(n));

/** The first `length` bits of the address at `offset`, as a map key. */
function ipv6Key(bytes: Uint8Array, offset: number, length: number): string {
  let key = "";
  const whole = length >> 3;
  for (let i = 0; i < whole; i++) key += String.fromCharCode(bytes[offset + i]!);
  const rest = length & 7;
  if (rest > 0) key += String.fromCharCode(bytes[offset + whole]! & (0xff << (8 - rest)) & 0xff);
  return key;
}

function parseKey(prefix: PrefixText): { v6: boolean; length: number; key: number | string } {
  const slash = prefix.indexOf("/");
  const address = slash < 0 ? prefix : prefix.slice(0, slash);
  if (address.includes(":")) {
    const bytes = parseIpv6(address);
    const length = slash < 0 ? 128 : Number(prefix.slice(slash + 1));
    if (bytes === undefined || !Number.isInteger(length) || length < 0 || length > 128) {
      throw new TypeError(`Cannot route "${prefix}": not an IPv6 prefix`);
    }
    return { v6: true, length, key: ipv6Key(maskIpv6(bytes, length), 0, length) };
  }
  const cidr = parseIpv4Cidr(slash < 0 ? `${prefix}/32` : prefix);
  if (cidr === undefined) throw new TypeError(`Cannot route "${prefix}": not an IPv4 prefix`);
  const length = cidr.prefixLength;
  return { v6: false, length, key: (cidr.address & MASKS[length]!) >>> 0 };
}
