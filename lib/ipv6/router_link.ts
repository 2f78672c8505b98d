/**
 * The router side of one PPP link's IPv6 (what a server does for its
 * client): Router Advertisements for the session's /64 (RFC 4861 6.2, RFC
 * 4862 5.5.3, RFC 8106 RDNSS) and the answers to Router Solicitations
 * (RFC 4861 6.2.6). Pure: bytes in, bytes out; when to send is
 * {@linkcode RaSchedule}'s (with {@linkcode RA_TIMING}), the timer the caller's.
 *
 * @module
 */
import { equalBytes, linkLocalFromInterfaceId } from "./address.ts";
import type { Ipv6Prefix } from "./address.ts";
import { decodeIpv6Packet, NEXT_HEADER } from "./ipv6_packet.ts";
import type { RaTiming } from "./ra_schedule.ts";
import {
  ALL_NODES,
  buildRouterAdvertisementPacket,
  ICMPV6_TYPE,
  type RouterAdvertisement,
  validateRouterSolicitation,
} from "./ndp.ts";

/**
 * RA values. The lifetimes follow RFC 4861 6.2.1 defaults (router lifetime
 * 3 × MaxRtrAdvInterval) and RFC 8106 5.1 (RDNSS lifetime at least
 * MaxRtrAdvInterval: 2 ×, so one lost RA does not drop the servers).
 */
export const RA_VALUES = {
  curHopLimit: 64,
  routerLifetimeS: 1800,
  validLifetimeS: 86_400,
  preferredLifetimeS: 14_400,
  dnsLifetimeS: 1200,
} as const;

/**
 * RA timing (RFC 4861 6.2.1, 6.2.4, 10): up to three initial RAs at most 16 s
 * apart, then one every 200-600 s (uniformly random).
 */
export const RA_TIMING: Readonly<RaTiming> = {
  initialCount: 3,
  initialIntervalMs: 4_000,
  minIntervalMs: 200_000,
  maxIntervalMs: 600_000,
};

/** Options of {@linkcode Ipv6RouterLink}. */
export interface Ipv6RouterLinkOptions {
  /** Our IPV6CP Interface-Identifier: the RA source is fe80:: + it. */
  localInterfaceId: Uint8Array;
  /** The session's prefix (a /64, advertised on-link and autonomous); absent: no prefix. */
  prefix?: Ipv6Prefix;
  /** The link MTU to advertise. */
  mtu: number;
  /** Recursive DNS servers (16-byte addresses). */
  dns: readonly Uint8Array[];
}

/** What {@linkcode Ipv6RouterLink.receive} decided about an inbound packet. */
export type RouterLinkVerdict =
  /** Not ours: deliver it to the TUN device. */
  | { taken: false }
  /**
   * Ours: a valid RS from `solicitor` (its source address, `::` when it has
   * none yet; answer per {@linkcode RaSchedule}), or `problem` says why it
   * was discarded.
   */
  | { taken: true; solicitor?: Uint8Array; problem?: string };

/** The RA of a session (for {@linkcode buildRouterAdvertisementPacket}). */
export function sessionRouterAdvertisement(o: Ipv6RouterLinkOptions): RouterAdvertisement {
  const ra: RouterAdvertisement = {
    curHopLimit: RA_VALUES.curHopLimit,
    // SLAAC only: no DHCPv6 for addresses (M) or for other configuration (O).
    managed: false,
    other: false,
    routerLifetimeS: RA_VALUES.routerLifetimeS,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    prefixes: o.prefix === undefined ? [] : [{
      prefix: o.prefix,
      onLink: true,
      autonomous: true,
      validLifetimeS: RA_VALUES.validLifetimeS,
      preferredLifetimeS: RA_VALUES.preferredLifetimeS,
    }],
    mtu: o.mtu,
  };
  if (o.dns.length > 0) ra.dns = { servers: [...o.dns], lifetimeS: RA_VALUES.dnsLifetimeS };
  return ra;
}

/** The router half of one link's IPv6. */
export class Ipv6RouterLink {
  /** Our link-local address (the RA source). */
  readonly linkLocal: Uint8Array;
  readonly #ra: Uint8Array;
  readonly #options: RouterAdvertisement;

  /** Builds the session's RA once: it never changes during the session. */
  constructor(options: Ipv6RouterLinkOptions) {
    this.linkLocal = linkLocalFromInterfaceId(options.localInterfaceId);
    this.#options = sessionRouterAdvertisement(options);
    this.#ra = buildRouterAdvertisementPacket(this.linkLocal, ALL_NODES, this.#options);
  }

  /** The RA to `destination` (default ff02::1, all nodes), a fresh copy. */
  advertisement(destination: Uint8Array = ALL_NODES): Uint8Array {
    const ra = this.#ra.slice();
    if (equalBytes(destination, ALL_NODES)) return ra;
    // Same message, another destination: only the checksum changes with it.
    return buildRouterAdvertisementPacket(this.linkLocal, destination, this.#options);
  }

  /**
   * Looks at an inbound IPv6 packet: a Router Solicitation is taken (the
   * caller answers it when {@linkcode RaSchedule} says), an invalid one is
   * taken and dropped; everything else is not ours.
   */
  receive(bytes: Uint8Array): RouterLinkVerdict {
    // Cheap test first: fixed header Next Header ICMPv6 and type 133.
    if (bytes.length < 41 || bytes[6] !== NEXT_HEADER.ICMPV6) return { taken: false };
    if (bytes[40] !== ICMPV6_TYPE.ROUTER_SOLICITATION) return { taken: false };
    try {
      const packet = decodeIpv6Packet(bytes);
      validateRouterSolicitation(packet);
      return { taken: true, solicitor: packet.source };
    } catch (e) {
      return { taken: true, problem: (e as Error).message };
    }
  }
}
