/**
 * What a RADIUS-authenticated session gets (pure): its addresses from the
 * Access-Accept (Framed-IP-Address claimed, or Framed-Pool allocated, else
 * the default profile's remote-address), its profile (the default profile
 * with Session-Timeout and Idle-Timeout from RADIUS), and the
 * Acct-Terminate-Cause for how it ended; the Framed-Route routes and the
 * Framed-MTU cap.
 *
 * @module
 */
import { parseRateLimit } from "../config/rate_limit.ts";
import type { PppRoute } from "../config/ppp_routes.ts";
import {
  cidrToRange,
  formatIpv4,
  formatIpv4Cidr,
  hasHostBits,
  parseIpv4,
  parseIpv4Cidr,
} from "../ip.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { AddressSource, PppProfile } from "../config/server_config.ts";
import type { RadiusAuthorization } from "../radius/radius_auth.ts";
import { TERMINATE_CAUSE } from "../radius/radius_attributes.ts";
import type { AddressPools } from "./address_pool.ts";
import type { SessionAddresses } from "./secrets.ts";

/** The default profile with RADIUS's timeouts (RFC 2865 5.27, 5.28), DNS, IPv6 pool and rate limit applied. */
export function radiusProfile(base: PppProfile, a: RadiusAuthorization): PppProfile {
  return {
    ...base,
    ...(a.sessionTimeoutMs === undefined
      ? {}
      : { sessionTimeoutMs: a.sessionTimeoutMs === 0 ? null : a.sessionTimeoutMs }),
    ...(a.idleTimeoutMs === undefined
      ? {}
      : { idleTimeoutMs: a.idleTimeoutMs === 0 ? null : a.idleTimeoutMs }),
    ...(a.dns.length > 0 ? { dnsServer: a.dns.slice(0, 2) } : {}),
    // Framed-IPv6-Pool (RFC 3162 2.6) names the pool of the client's /64, as Framed-Pool does for IPv4.
    ...(a.framedIpv6Pool === undefined ? {} : { remoteIpv6PrefixPool: a.framedIpv6Pool }),
    ...radiusRateLimit(a.rateLimit),
  };
}

/**
 * `Mikrotik-Rate-Limit` replaces the profile's `rate-limit` (as on RouterOS);
 * a value that does not parse leaves the profile's in force.
 */
function radiusRateLimit(text: string | undefined): Partial<PppProfile> {
  if (text === undefined) return {};
  try {
    return { rateLimit: parseRateLimit(text), rateLimitText: text.trim() };
  } catch {
    return {};
  }
}

function noAddress(why: string): ProtocolError {
  return new ProtocolError("ipcp", ERROR_CODE.NO_ADDRESS, `Cannot assign an address: ${why}`);
}

/**
 * Takes the addresses of a RADIUS user from `pools`.
 *
 * @returns The addresses, or a `NO_ADDRESS` error (nothing stays taken).
 */
export function radiusAddresses(
  a: RadiusAuthorization,
  profile: PppProfile,
  pools: AddressPools,
): SessionAddresses | ProtocolError {
  const release: string[] = [];
  let peer: string;
  if (a.framedIpAddress !== undefined) {
    if (!pools.claim(a.framedIpAddress)) {
      return noAddress(`Framed-IP-Address ${a.framedIpAddress} from RADIUS is already in use`);
    }
    peer = a.framedIpAddress;
    release.push(peer);
  } else {
    const source: AddressSource | undefined = a.framedPool !== undefined
      ? { kind: "pool", pool: a.framedPool }
      : profile.remoteAddress;
    if (source === undefined) {
      return noAddress(
        `RADIUS sent no Framed-IP-Address or Framed-Pool and profile "${profile.name}" sets no remote-address`,
      );
    }
    if (source.kind === "pool") {
      const got = pools.allocate(source.pool);
      if (got instanceof ProtocolError) return got;
      peer = got;
      release.push(got);
    } else {
      if (!pools.claim(source.address)) return noAddress(`${source.address} is already in use`);
      peer = source.address;
      release.push(peer);
    }
  }
  const local = profile.localAddress;
  let localAddress: string;
  if (local === undefined) {
    for (const x of release) pools.release(x);
    return noAddress(`profile "${profile.name}" sets no local-address`);
  }
  if (local.kind === "pool") {
    const got = pools.allocate(local.pool);
    if (got instanceof ProtocolError) {
      for (const x of release) pools.release(x);
      return got;
    }
    localAddress = got;
    release.push(got);
  } else localAddress = local.address;
  return { localAddress, peerAddress: peer, dns: [...profile.dnsServer], release };
}

/** RFC 2866 5.10 Acct-Terminate-Cause for a session's end reason. */
export function terminateCause(endReason: string | undefined, isShutdown: boolean): number {
  const r = endReason ?? "";
  if (r.includes("session-timeout")) return TERMINATE_CAUSE.SESSION_TIMEOUT;
  if (r.includes("idle-timeout")) return TERMINATE_CAUSE.IDLE_TIMEOUT;
  if (r.includes("Disconnect-Request")) return TERMINATE_CAUSE.ADMIN_RESET;
  if (isShutdown) return TERMINATE_CAUSE.NAS_REBOOT;
  if (r !== "") return TERMINATE_CAUSE.ADMIN_RESET;
  return TERMINATE_CAUSE.USER_REQUEST;
}

/**
 * Reads the Framed-Route texts of an Access-Accept (RFC 2865 5.22): a
 * destination prefix (`198.18.5.0/24`; a bare address is a /32), a space,
 * a gateway and optionally metrics (the first is the distance). Gateway
 * `0.0.0.0`, or the session's own address, means "the user's address":
 * the route goes into the session's device. Another gateway cannot be
 * reached over a point-to-point link either, so it is routed the same way
 * (as RouterOS routes without gateway). Routes that do not parse are
 * returned as `problems` (the login goes on without them).
 */
export function framedRoutes(
  texts: readonly string[],
  peerAddress: string,
): { routes: PppRoute[]; problems: string[] } {
  const routes: PppRoute[] = [];
  const problems: string[] = [];
  for (const text of texts) {
    const [dstText = "", gatewayText, metricText] = text.trim().split(/\s+/);
    const cidr = parseIpv4Cidr(dstText);
    if (cidr === undefined) {
      problems.push(`Framed-Route "${text}": "${dstText}" is not an IPv4 prefix`);
      continue;
    }
    if (hasHostBits(cidr)) {
      const network = formatIpv4Cidr({ ...cidr, address: cidrToRange(cidr).first });
      problems.push(
        `Framed-Route "${text}": "${dstText}" has host bits set (the prefix is ${network})`,
      );
      continue;
    }
    const gateway = gatewayText === undefined ? undefined : parseIpv4(gatewayText);
    if (gatewayText !== undefined && gateway === undefined) {
      problems.push(`Framed-Route "${text}": "${gatewayText}" is not a gateway address`);
      continue;
    }
    const metric = metricText === undefined ? 1 : Number(metricText);
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) {
      problems.push(`Framed-Route "${text}": "${metricText}" is not a metric`);
      continue;
    }
    const gw = gateway === undefined ? undefined : formatIpv4(gateway);
    routes.push({
      dst: formatIpv4Cidr(cidr),
      gateway: gw === undefined || gw === "0.0.0.0" || gw === peerAddress ? undefined : gw,
      // A metric of 0 is valid in RADIUS; the kernel's route priority starts at 0 too.
      distance: metric,
    });
  }
  return { routes, problems };
}

/** Smallest Framed-MTU applied: the IPv4 minimum (RFC 791). */
export const MIN_FRAMED_MTU = 68;

/** Smallest MTU of a link that carries IPv6 (RFC 8200 5). */
export const IPV6_MIN_MTU = 1280;

/**
 * What a RADIUS Framed-MTU does to a session whose LCP is already Opened
 * (RADIUS answers during authentication): a cap on the interface MTU
 * (`cap`; never a raise), which the device, the TCP MSS clamp and the IPv6
 * Router Advertisement's MTU follow, or nothing, with a `problem` to log.
 *
 * LCP is not renegotiated: RFC 2865 5.12 meant Framed-MTU for links whose
 * MTU is "not negotiated by some other means (such as PPP)", and a new LCP
 * Configure-Request after authentication takes the link back to link
 * establishment (RFC 1661 4.1: in the Opened state it takes the layer
 * down), which means a new authentication and a new crypto binding; this
 * server ends a link whose peer does that. pppd's
 * radius plugin caps the interface MTU the same way; accel-ppp ignores
 * the attribute.
 *
 * With IPv6 on (`ipv6`: the profile gives an IPv6 prefix pool), a cap below
 * {@linkcode IPV6_MIN_MTU} becomes that minimum: Linux removes IPv6 from a
 * device whose MTU is lower, so the negotiated IPv6 would carry nothing.
 */
export function framedMtuCap(
  framedMtu: number,
  ipv6: boolean,
): { cap?: number; problem?: string } {
  if (framedMtu < MIN_FRAMED_MTU) {
    return { problem: `Framed-MTU ${framedMtu} is below ${MIN_FRAMED_MTU}; ignored` };
  }
  if (ipv6 && framedMtu < IPV6_MIN_MTU) {
    return {
      cap: IPV6_MIN_MTU,
      problem: `Framed-MTU ${framedMtu} is below IPv6's minimum link MTU ${IPV6_MIN_MTU} and ` +
        `the profile gives IPv6; capping at ${IPV6_MIN_MTU} instead`,
    };
  }
  return { cap: framedMtu };
}
