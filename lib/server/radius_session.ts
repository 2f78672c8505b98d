/**
 * What a RADIUS-authenticated session gets (pure): its addresses from the
 * Access-Accept (Framed-IP-Address claimed, or Framed-Pool allocated, else
 * the default profile's remote-address), its profile (the default profile
 * with Session-Timeout and Idle-Timeout from RADIUS), and the
 * Acct-Terminate-Cause for how it ended.
 *
 * @module
 */
import { parseRateLimit } from "../config/rate_limit.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { AddressSource, PppProfile } from "../config/server_config.ts";
import type { RadiusAuthorization } from "../radius/radius_auth.ts";
import { TERMINATE_CAUSE } from "../radius/radius_attributes.ts";
import type { AddressPools } from "./address_pool.ts";
import type { SessionAddresses } from "./secrets.ts";

/** The default profile with RADIUS's timeouts (RFC 2865 5.27, 5.28) applied. */
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
