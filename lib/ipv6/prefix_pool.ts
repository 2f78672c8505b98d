/**
 * A pool of IPv6 prefixes (RouterOS `/ipv6 pool`: a prefix cut into
 * sub-prefixes of `prefix-length`), handing one to each session and taking
 * it back when the session ends. Pure data structure.
 *
 * @module
 */
import {
  type Ipv6Prefix,
  ipv6PrefixContains,
  parseIpv6Prefix,
  subPrefix,
  subPrefixCount,
} from "./address.ts";

/** Largest number of sub-prefixes a pool tracks (bounded memory). */
export const MAX_POOL_PREFIXES = 65_536;

/** Hands out sub-prefixes lowest first; released ones are reused. */
export class Ipv6PrefixPool {
  /** The pool's name. */
  readonly name: string;
  /** The prefix the sub-prefixes come from. */
  readonly prefix: Ipv6Prefix;
  /** Length of each handed-out prefix. */
  readonly prefixLength: number;
  readonly #size: number;
  readonly #used = new Set<number>();
  #next = 0;

  /**
   * Creates a pool of /`prefixLength` prefixes inside `prefix`.
   *
   * @throws {RangeError} on a bad prefix or a prefix-length shorter than the
   * pool's own prefix.
   */
  constructor(name: string, prefix: string | Ipv6Prefix, prefixLength: number) {
    const parsed = typeof prefix === "string" ? parseIpv6Prefix(prefix) : prefix;
    if (typeof parsed === "string") {
      throw new RangeError(`Cannot create IPv6 pool "${name}": ${parsed}`);
    }
    if (!Number.isInteger(prefixLength) || prefixLength < parsed.length || prefixLength > 128) {
      throw new RangeError(
        `Cannot create IPv6 pool "${name}": prefix-length ${prefixLength} must be between ${parsed.length} and 128`,
      );
    }
    this.name = name;
    this.prefix = parsed;
    this.prefixLength = prefixLength;
    this.#size = Math.min(subPrefixCount(parsed, prefixLength), MAX_POOL_PREFIXES);
  }

  /** Number of prefixes the pool can hand out. */
  get size(): number {
    return this.#size;
  }
  /** Number handed out and not released. */
  get used(): number {
    return this.#used.size;
  }

  /** Takes a free prefix, or undefined when the pool is exhausted. */
  allocate(): Ipv6Prefix | undefined {
    if (this.#used.size >= this.#size) return undefined;
    for (let n = 0; n < this.#size; n++) {
      const index = (this.#next + n) % this.#size;
      if (!this.#used.has(index)) {
        this.#used.add(index);
        this.#next = (index + 1) % this.#size;
        return subPrefix(this.prefix, this.prefixLength, index);
      }
    }
    return undefined;
  }

  /** Returns a prefix; false when it was not handed out by this pool. */
  release(prefix: Ipv6Prefix): boolean {
    const index = this.#indexOf(prefix);
    return index !== undefined && this.#used.delete(index);
  }

  #indexOf(prefix: Ipv6Prefix): number | undefined {
    if (prefix.length !== this.prefixLength) return undefined;
    if (!ipv6PrefixContains(this.prefix, prefix.address)) return undefined;
    const offset = toBigInt(prefix.address) - toBigInt(this.prefix.address);
    const index = Number(offset >> BigInt(128 - this.prefixLength));
    return index < this.#size ? index : undefined;
  }
}

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}
