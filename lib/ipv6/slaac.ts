/**
 * Stateless address autoconfiguration on a PPP link (RFC 4862 5.5.3), done
 * by `sstp connect` itself: a TUN device gets no kernel autoconfiguration,
 * so the client reads the server's Router Advertisement and adds the
 * addresses and the default router it describes.
 *
 * The interface identifier is the one IPV6CP negotiated (RFC 5072 4.1), so
 * the global address ends in the same 64 bits as the link-local one.
 *
 * @module
 */
import { addressFromInterfaceId, equalBytes, type Ipv6Prefix, isLinkLocal } from "./address.ts";
import type { RouterAdvertisement } from "./ndp.ts";

/** One address SLAAC forms from a prefix. */
export interface SlaacAddress {
  /** The address formed: prefix plus interface identifier. */
  address: Uint8Array;
  /** The /64 it was formed from. */
  prefix: Ipv6Prefix;
  /** Seconds the address stays valid. */
  validLifetimeS: number;
  /** Seconds the address is preferred. */
  preferredLifetimeS: number;
}

/** What a host configures from one RA. */
export interface SlaacResult {
  /** Addresses to add to the interface. */
  addresses: SlaacAddress[];
  /** Seconds the sender stays a default router (0: it is none). */
  routerLifetimeS: number;
  /** Advertised link MTU, when present and plausible (1280 ≤ mtu). */
  mtu?: number;
  /** DNS servers from RDNSS with a non-zero lifetime. */
  dns: Uint8Array[];
  /** Prefixes marked on-link. */
  onLink: Ipv6Prefix[];
  /** Why some prefixes were skipped (for debug logs). */
  skipped: string[];
}

/** The interface identifier length SLAAC needs on PPP links (RFC 5072 4.1). */
const INTERFACE_ID_BITS = 64;

/**
 * Applies RFC 4862 5.5.3 to an RA: prefixes without the A flag, link-local
 * prefixes, prefixes whose preferred lifetime exceeds the valid one, zero
 * valid lifetimes and prefix lengths other than 64 yield no address.
 */
export function slaacFromRouterAdvertisement(
  ra: RouterAdvertisement,
  interfaceId: Uint8Array,
): SlaacResult {
  const result: SlaacResult = {
    addresses: [],
    routerLifetimeS: ra.routerLifetimeS,
    dns: ra.dns && ra.dns.lifetimeS > 0 ? ra.dns.servers : [],
    onLink: [],
    skipped: [],
  };
  if (ra.mtu !== undefined && ra.mtu >= 1280) result.mtu = ra.mtu;
  for (const p of ra.prefixes) {
    if (p.onLink && !isLinkLocal(p.prefix.address)) result.onLink.push(p.prefix);
    if (!p.autonomous) continue;
    const text = `prefix /${p.prefix.length}`;
    if (isLinkLocal(p.prefix.address)) {
      result.skipped.push(`${text}: link-local`);
    } else if (p.preferredLifetimeS > p.validLifetimeS) {
      result.skipped.push(`${text}: preferred lifetime exceeds valid lifetime`);
    } else if (p.validLifetimeS === 0) {
      result.skipped.push(`${text}: valid lifetime 0`);
    } else if (p.prefix.length !== INTERFACE_ID_BITS) {
      result.skipped.push(`${text}: length is not 64`);
    } else if (result.addresses.some((a) => equalBytes(a.prefix.address, p.prefix.address))) {
      result.skipped.push(`${text}: advertised twice`);
    } else {
      result.addresses.push({
        address: addressFromInterfaceId(p.prefix.address, interfaceId),
        prefix: p.prefix,
        validLifetimeS: p.validLifetimeS,
        preferredLifetimeS: p.preferredLifetimeS,
      });
    }
  }
  return result;
}
