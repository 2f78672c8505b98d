/**
 * The RouterOS `/ppp secret routes` syntax: routes added on the server while
 * the user's tunnel is up. Each route is `dst-address [gateway] [distance]`
 * separated by spaces, and several routes are separated by commas:
 * `"10.1.202.0/24 172.16.1.2 1, 10.1.203.0/24"`. Without a gateway the route
 * points into the tunnel (RouterOS uses the remote address). An IPv6
 * destination (`2001:2:5::/48`, a bare address is a /128, gateway IPv6 too)
 * is routed once the session's IPv6 link (IPV6CP) is up.
 *
 * @module
 */
import {
  cidrToRange,
  formatIpv4,
  formatIpv4Cidr,
  hasHostBits,
  parseIpv4,
  parseIpv4Cidr,
} from "../ip.ts";
import { formatIpv6, formatIpv6Prefix, parseIpv6, parseIpv6Prefix } from "../ipv6/address.ts";
import { InvalidValueError, parseIntegerIn } from "./values.ts";

/** One route from `/ppp secret routes`. */
export interface PppRoute {
  /**
   * Destination prefix, canonical: `10.1.202.0/24` (a bare address is `/32`),
   * or IPv6 `2001:2:5::/48` (a bare address is `/128`).
   */
  dst: string;
  /** Gateway address, or `undefined` for "via the tunnel". */
  gateway: string | undefined;
  /** Route distance (metric), 1-255, default 1. */
  distance: number;
}

/** Default distance when a route does not give one. */
export const DEFAULT_ROUTE_DISTANCE = 1;

/**
 * Parses one route: `dst [gateway] [distance]`.
 *
 * @example
 * ```ts
 * import { parsePppRoute } from "./ppp_routes.ts";
 * const r = parsePppRoute("10.1.202.0/24 172.16.1.2 1");
 * if (r.dst !== "10.1.202.0/24" || r.gateway !== "172.16.1.2" || r.distance !== 1) throw new Error();
 * ```
 * @throws {InvalidValueError} When the text is not a route.
 */
export function parsePppRoute(text: string): PppRoute {
  const tokens = text.trim().split(/\s+/).filter((t) => t !== "");
  const [dstText, ...rest] = tokens;
  if (dstText === undefined) throw new InvalidValueError("a route needs a destination");
  if (rest.length > 2) {
    throw new InvalidValueError(
      `"${text.trim()}" is not a route: expected "dst-address [gateway] [distance]"`,
    );
  }
  const ipv6 = dstText.includes(":");
  const dst = ipv6 ? ipv6RouteDestination(dstText) : ipv4RouteDestination(dstText);
  let gateway: string | undefined;
  let distance = DEFAULT_ROUTE_DISTANCE;
  let position = 0;
  for (const token of rest) {
    const address = ipv6 ? parseIpv6(token) : parseIpv4(token);
    if (position === 0 && address !== undefined) {
      gateway = typeof address === "number" ? formatIpv4(address) : formatIpv6(address);
      position = 1;
    } else if (/^[0-9]+$/.test(token) && position < 2) {
      try {
        distance = parseIntegerIn(token, 1, 255);
      } catch (e) {
        if (e instanceof InvalidValueError) {
          throw new InvalidValueError(`distance ${e.message}`, e.kind);
        }
        throw e;
      }
      position = 2;
    } else {
      throw new InvalidValueError(
        position === 0
          ? `"${token}" is not a gateway address or a distance`
          : `"${token}" is not a distance`,
      );
    }
  }
  return { dst, gateway, distance };
}

function ipv4RouteDestination(text: string): string {
  const cidr = parseIpv4Cidr(text);
  if (cidr === undefined) {
    throw new InvalidValueError(`"${text}" is not an IPv4 or IPv6 address or prefix`);
  }
  if (hasHostBits(cidr)) {
    const network = formatIpv4Cidr({ ...cidr, address: cidrToRange(cidr).first });
    throw new InvalidValueError(`"${text}" has host bits set (the prefix is ${network})`);
  }
  return formatIpv4Cidr(cidr);
}

function ipv6RouteDestination(text: string): string {
  const prefix = parseIpv6Prefix(text.includes("/") ? text : `${text}/128`);
  if (typeof prefix === "string") throw new InvalidValueError(prefix);
  return formatIpv6Prefix(prefix);
}

/** Whether a route's destination is an IPv6 prefix (routed once IPV6CP is up). */
export function isIpv6Route(route: PppRoute): boolean {
  return route.dst.includes(":");
}

/** Formats a route back to RouterOS syntax: `10.1.202.0/24 172.16.1.2 1`. */
export function formatPppRoute(route: PppRoute): string {
  return [route.dst, route.gateway, String(route.distance)].filter((t) => t !== undefined)
    .join(" ");
}

/**
 * Routes as status shows them, IPv4 and IPv6 apart (IPv6 ones are added
 * only once IPV6CP is up).
 *
 * @example
 * ```ts
 * import { formatPppRoutes, parsePppRoute } from "./ppp_routes.ts";
 * const r = formatPppRoutes([parsePppRoute("10.1.202.0/24"), parsePppRoute("2001:2:5::/48 :: 2")]);
 * if (r.ipv4[0] !== "10.1.202.0/24 1" || r.ipv6[0] !== "2001:2:5::/48 :: 2") throw new Error();
 * ```
 */
export function formatPppRoutes(routes: readonly PppRoute[]): { ipv4: string[]; ipv6: string[] } {
  return {
    ipv4: routes.filter((r) => !isIpv6Route(r)).map(formatPppRoute),
    ipv6: routes.filter(isIpv6Route).map(formatPppRoute),
  };
}
