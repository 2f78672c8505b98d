/**
 * Which source addresses a client may send from: its assigned address, and
 * the prefixes of its secret's `routes` (a router behind the client). Any
 * other IPv4 source is spoofed and dropped before the server's TUN device,
 * so a client cannot send as another client or as a LAN host. Pure.
 *
 * IPv6 packets are not judged here: they reach the TUN device only when
 * IPV6CP is open, which this server does not negotiate yet.
 *
 * @module
 */
import { parseIpv4, parseIpv4Cidr, prefixMask } from "../ip.ts";

interface Prefix {
  network: number;
  mask: number;
}

/** Source address check for the packets of one session. */
export class SourceFilter {
  readonly #address: number;
  readonly #prefixes: readonly Prefix[];

  /**
   * A filter that allows IPv4 sources equal to `assigned` or inside `routes`.
   *
   * @param assigned The client's address on the link (IPCP).
   * @param routes Prefixes (`a.b.c.d/n` or an address) routed to the client.
   * @throws {TypeError} for an address or prefix that is not IPv4.
   */
  constructor(assigned: string, routes: readonly string[] = []) {
    const address = parseIpv4(assigned);
    if (address === undefined) {
      throw new TypeError(`Cannot check sources: "${assigned}" is not an IPv4 address`);
    }
    this.#address = address;
    this.#prefixes = routes.map((r) => {
      const cidr = parseIpv4Cidr(r.includes("/") ? r : `${r}/32`);
      if (cidr === undefined) throw new TypeError(`Cannot check sources: "${r}" is not a prefix`);
      const mask = prefixMask(cidr.prefixLength);
      return { network: (cidr.address & mask) >>> 0, mask };
    });
  }

  /**
   * True when the packet may go on: not IPv4, or an IPv4 source that is the
   * assigned address or inside a route. A truncated IPv4 header is refused.
   *
   * @example
   * ```ts
   * import { SourceFilter } from "./source_filter.ts";
   * const f = new SourceFilter("198.18.5.2", ["198.19.8.0/24"]);
   * const ip = new Uint8Array(20);
   * ip[0] = 0x45;
   * ip.set([198, 19, 8, 77], 12);
   * if (!f.allows(ip)) throw new Error();
   * ip.set([198, 18, 5, 3], 12);
   * if (f.allows(ip)) throw new Error();
   * ```
   */
  allows(packet: Uint8Array): boolean {
    if (packet.length === 0 || packet[0]! >> 4 !== 4) return true;
    if (packet.length < 20) return false;
    const source =
      ((packet[12]! << 24) | (packet[13]! << 16) | (packet[14]! << 8) | packet[15]!) >>>
      0;
    if (source === this.#address) return true;
    for (const p of this.#prefixes) {
      if (((source & p.mask) >>> 0) === p.network) return true;
    }
    return false;
  }
}
