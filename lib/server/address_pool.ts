/**
 * RouterOS `/ip pool` for the server: named pools of IPv4 ranges, each with
 * an optional `next-pool` tried when it is exhausted. Pure data structure.
 *
 * - {@linkcode AddressPools.allocate} hands out the next free address after
 *   the last one given (RouterOS does not reuse a just-freed address at
 *   once, which keeps a reconnecting client's old packets away from a new
 *   one), following `next-pool` links; an exhausted chain is a
 *   {@linkcode ProtocolError} `NO_ADDRESS`, which the PPP link turns into a
 *   clean Call Abort.
 * - {@linkcode AddressPools.claim} takes a fixed address (a secret's
 *   `remote-address`) so that no pool hands it out and no second session
 *   gets it.
 * - {@linkcode AddressPools.release} returns either kind.
 * - {@linkcode AddressPools.replace} swaps the pool definitions (SIGHUP)
 *   while keeping every address in use.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { formatIpv4, parseIpv4, rangeSize } from "../ip.ts";
import type { IpPool } from "../config/server_config.ts";

/** Pools and the addresses in use. */
export class AddressPools {
  #pools = new Map<string, IpPool>();
  /** Where the next search of each pool starts (an offset into its ranges). */
  readonly #cursor = new Map<string, number>();
  readonly #used = new Set<number>();

  /** Creates the pools; no address is in use. */
  constructor(pools: readonly IpPool[] = []) {
    this.replace(pools);
  }

  /** Number of addresses in use (pooled and claimed). */
  get inUse(): number {
    return this.#used.size;
  }

  /** True when `address` is in use. */
  isUsed(address: string): boolean {
    const value = parseIpv4(address);
    return value !== undefined && this.#used.has(value);
  }

  /** Replaces the pool definitions; addresses in use stay in use. */
  replace(pools: readonly IpPool[]): void {
    this.#pools = new Map(pools.map((p) => [p.name, p]));
    for (const name of [...this.#cursor.keys()]) {
      if (!this.#pools.has(name)) this.#cursor.delete(name);
    }
  }

  /**
   * Takes the next free address of `pool`, or of its `next-pool` chain.
   *
   * @example
   * ```ts
   * import { AddressPools } from "./address_pool.ts";
   * const pools = new AddressPools([
   *   { name: "a", ranges: [{ first: 0xc6120a02, last: 0xc6120a02 }], nextPool: undefined },
   * ]);
   * if (pools.allocate("a") !== "198.18.10.2") throw new Error();
   * if (typeof pools.allocate("a") === "string") throw new Error("exhausted");
   * ```
   * @returns The address, or a `NO_ADDRESS` error (unknown or exhausted pool).
   */
  allocate(pool: string): string | ProtocolError {
    const tried: string[] = [];
    for (let name: string | undefined = pool; name !== undefined;) {
      if (tried.includes(name)) break; // the config checker refuses loops; stay safe anyway
      tried.push(name);
      const p = this.#pools.get(name);
      if (p === undefined) {
        return new ProtocolError(
          "ipcp",
          ERROR_CODE.NO_ADDRESS,
          `Cannot assign an address: pool "${name}" is not defined`,
        );
      }
      const address = this.#take(p);
      if (address !== undefined) return formatIpv4(address);
      name = p.nextPool;
    }
    return new ProtocolError(
      "ipcp",
      ERROR_CODE.NO_ADDRESS,
      `Cannot assign an address: pool ${tried.map((n) => `"${n}"`).join(" → ")} is exhausted`,
    );
  }

  /**
   * Takes a fixed address. Returns false when it is already in use.
   *
   * @throws {TypeError} when `address` is not an IPv4 address.
   */
  claim(address: string): boolean {
    const value = parseIpv4(address);
    if (value === undefined) throw new TypeError(`Cannot claim "${address}": not an IPv4 address`);
    if (this.#used.has(value)) return false;
    this.#used.add(value);
    return true;
  }

  /** Returns an address taken by {@linkcode allocate} or {@linkcode claim} (idempotent). */
  release(address: string): void {
    const value = parseIpv4(address);
    if (value !== undefined) this.#used.delete(value);
  }

  #take(pool: IpPool): number | undefined {
    const total = pool.ranges.reduce((n, r) => n + rangeSize(r), 0);
    if (total === 0) return undefined;
    const start = (this.#cursor.get(pool.name) ?? 0) % total;
    for (let i = 0; i < total; i++) {
      const offset = (start + i) % total;
      const value = addressAt(pool, offset);
      if (!this.#used.has(value)) {
        this.#used.add(value);
        this.#cursor.set(pool.name, offset + 1);
        return value;
      }
    }
    return undefined;
  }
}

function addressAt(pool: IpPool, offset: number): number {
  let rest = offset;
  for (const r of pool.ranges) {
    const size = rangeSize(r);
    if (rest < size) return r.first + rest;
    rest -= size;
  }
  throw new RangeError(`Cannot index pool "${pool.name}": offset ${offset} is past its end`);
}
