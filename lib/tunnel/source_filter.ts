/**
 * Which source addresses a client may send from (anti-spoofing, as
 * OpenVPN's iroute check or accel-ppp's and RouterOS's PPP servers do).
 * Anything else is dropped before the server's TUN device, so a client
 * cannot send as another client or as a host of the server's networks.
 *
 * IPv4: the address IPCP assigned, and the prefixes of the secret's
 * `routes` / RADIUS Framed-Route (a router behind the client).
 *
 * IPv6 (judged once IPV6CP is open; before that the data plane drops IPv6):
 * - link-local `fe80::/64` with any interface identifier: RFC 5072 5 says
 *   the link-local is formed from the IPV6CP identifier, but stacks with
 *   stable-privacy (RFC 8064) or random link-locals form their own; a
 *   link-local source never leaves the link (RFC 4291 2.5.6, and Linux does
 *   not forward it), so the only host it can reach is this server, and its
 *   answers come back through this same session;
 * - the unspecified address `::` only towards link-scope multicast
 *   (`ff02::/16`): duplicate address detection, a Router Solicitation before
 *   an address exists, MLD reports (RFC 4862 5.4, RFC 4861 6.3.7,
 *   RFC 3810 5.2.13); such packets are never forwarded either;
 * - the prefixes added with {@linkcode SourceFilter.addIpv6Prefix}: the /64
 *   the session's Router Advertisements give (SLAAC: any interface
 *   identifier, privacy addresses included) and a prefix delegated by
 *   DHCPv6-PD, added while routed and removed when released;
 * - IPv6 prefixes passed among the constructor's `routes`.
 *
 * Per packet the check only compares bytes: no allocation. Pure.
 *
 * @module
 */
import { parseIpv4, parseIpv4Cidr, prefixMask } from "../ip.ts";
import { formatIpv6Prefix, parseIpv6Prefix } from "../ipv6/address.ts";

interface Prefix {
  network: number;
  mask: number;
}

/** An IPv6 prefix as the per-packet check compares it. */
interface Prefix6 {
  /** Canonical text (`2001:2:0:100::/64`), to remove it again. */
  text: string;
  /** The network's 16 bytes. */
  network: Uint8Array;
  /** Bytes compared whole (length / 8). */
  whole: number;
  /** Mask of the byte after them (0 when the length is a multiple of 8). */
  lastMask: number;
}

/** Offset of the IPv6 source address; the destination follows it. */
const SOURCE6 = 8;
const DESTINATION6 = 24;
const IPV6_HEADER_BYTES = 40;

/** Source address check for the packets of one session. */
export class SourceFilter {
  readonly #address: number;
  readonly #prefixes: readonly Prefix[];
  /** Replaced, not changed in place, when a prefix comes or goes. */
  #prefixes6: readonly Prefix6[];

  /**
   * A filter that allows IPv4 sources equal to `assigned` or inside `routes`,
   * and IPv6 sources that are link-local or inside the IPv6 `routes`.
   *
   * @param assigned The client's IPv4 address on the link (IPCP).
   * @param routes Prefixes (`a.b.c.d/n`, `x::/n`, or an address) routed to the client.
   * @throws {TypeError} for an address or prefix that is neither.
   */
  constructor(assigned: string, routes: readonly string[] = []) {
    const address = parseIpv4(assigned);
    if (address === undefined) {
      throw new TypeError(`Cannot check sources: "${assigned}" is not an IPv4 address`);
    }
    this.#address = address;
    const v4: Prefix[] = [];
    const v6: Prefix6[] = [];
    for (const r of routes) {
      if (r.includes(":")) {
        v6.push(prefix6(r.includes("/") ? r : `${r}/128`));
        continue;
      }
      const cidr = parseIpv4Cidr(r.includes("/") ? r : `${r}/32`);
      if (cidr === undefined) throw new TypeError(`Cannot check sources: "${r}" is not a prefix`);
      const mask = prefixMask(cidr.prefixLength);
      v4.push({ network: (cidr.address & mask) >>> 0, mask });
    }
    this.#prefixes = v4;
    this.#prefixes6 = v6;
  }

  /**
   * Allows IPv6 sources inside `prefix` from now on (the session's
   * advertised /64, a delegated prefix). Added twice, it must be removed
   * twice.
   *
   * @throws {TypeError} when `prefix` is not an IPv6 prefix without host bits.
   */
  addIpv6Prefix(prefix: string): void {
    this.#prefixes6 = [...this.#prefixes6, prefix6(prefix)];
  }

  /**
   * Stops allowing the IPv6 prefix `prefix` (released); a prefix that was
   * not added is ignored.
   *
   * @throws {TypeError} when `prefix` is not an IPv6 prefix without host bits.
   */
  removeIpv6Prefix(prefix: string): void {
    const text = prefix6(prefix).text;
    const i = this.#prefixes6.findIndex((p) => p.text === text);
    if (i >= 0) this.#prefixes6 = this.#prefixes6.toSpliced(i, 1);
  }

  /** The IPv6 prefixes allowed now besides link-local, canonical (status, tests). */
  get ipv6Prefixes(): string[] {
    return this.#prefixes6.map((p) => p.text);
  }

  /**
   * True when the packet may go on: an IPv4 source that is the assigned
   * address or inside a route, an IPv6 source the module comment lists, or
   * another IP version (the kernel drops those). A truncated header is refused.
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
   * f.addIpv6Prefix("2001:2:0:100::/64");
   * const ip6 = new Uint8Array(40);
   * ip6[0] = 0x60;
   * ip6.set([0x20, 0x01, 0, 2, 0, 0, 1, 0, 0xab], 8);
   * if (!f.allows(ip6)) throw new Error();
   * ip6[15] = 1; // 2001:2:0:101::…
   * if (f.allows(ip6)) throw new Error();
   * ```
   */
  allows(packet: Uint8Array): boolean {
    const version = packet.length === 0 ? 0 : packet[0]! >> 4;
    if (version === 6) return this.#allows6(packet);
    if (version !== 4) return true;
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

  #allows6(packet: Uint8Array): boolean {
    if (packet.length < IPV6_HEADER_BYTES) return false;
    // Link-local: fe80::/64, any interface identifier.
    if (
      packet[8] === 0xfe && packet[9] === 0x80 && packet[10] === 0 && packet[11] === 0 &&
      packet[12] === 0 && packet[13] === 0 && packet[14] === 0 && packet[15] === 0
    ) return true;
    for (const p of this.#prefixes6) {
      if (inside(packet, p)) return true;
    }
    // The unspecified address, towards link-scope multicast only (ff02::/16, any flags).
    if (packet[DESTINATION6] !== 0xff || (packet[DESTINATION6 + 1]! & 0x0f) !== 2) return false;
    for (let i = SOURCE6; i < DESTINATION6; i++) {
      if (packet[i] !== 0) return false;
    }
    return true;
  }
}

/** True when the IPv6 source of `packet` lies inside `p`. */
function inside(packet: Uint8Array, p: Prefix6): boolean {
  const n = p.network;
  for (let i = 0; i < p.whole; i++) {
    if (packet[SOURCE6 + i] !== n[i]) return false;
  }
  return p.lastMask === 0 || (packet[SOURCE6 + p.whole]! & p.lastMask) === n[p.whole];
}

function prefix6(text: string): Prefix6 {
  const parsed = parseIpv6Prefix(text);
  if (typeof parsed === "string") {
    throw new TypeError(`Cannot check sources: ${parsed}`);
  }
  const bits = parsed.length % 8;
  return {
    text: formatIpv6Prefix(parsed),
    network: parsed.address,
    whole: parsed.length >> 3,
    lastMask: bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff,
  };
}
