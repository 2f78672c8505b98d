/**
 * What a RADIUS-authenticated session gets for IPv6 (pure): the routes of
 * its Framed-IPv6-Route texts (RFC 3162 2.5) and the prefixes of its
 * Framed-IPv6-Prefix values (RFC 3162 2.3). A value that does not parse is
 * returned as a `problem` to log; the login goes on without it.
 *
 * @module
 */
import type { PppRoute } from "../config/ppp_routes.ts";
import { formatIpv6Prefix, parseIpv6, parseIpv6Prefix } from "../ipv6/address.ts";
import { decodeFramedIpv6Prefix } from "../radius/radius_ipv6.ts";

/**
 * Reads Framed-IPv6-Route texts: a prefix (`2001:2:5::/48`; a bare address
 * is a /128), then optionally a gateway and metrics (the first is the
 * distance). On the point-to-point link every gateway (`::` is "the user's
 * address") leads to the client, so the routes point into the session's
 * device, as Framed-Route's do.
 *
 * @example
 * ```ts
 * import { framedIpv6Routes } from "./radius_ipv6_session.ts";
 * const r = framedIpv6Routes(["2001:2:5::/48 :: 1", "bad"]);
 * if (r.routes[0]?.dst !== "2001:2:5::/48" || r.problems.length !== 1) throw new Error();
 * ```
 */
export function framedIpv6Routes(
  texts: readonly string[],
): { routes: PppRoute[]; problems: string[] } {
  const routes: PppRoute[] = [];
  const problems: string[] = [];
  for (const text of texts) {
    const [dstText = "", gatewayText, metricText] = text.trim().split(/\s+/);
    const prefix = parseIpv6Prefix(dstText.includes("/") ? dstText : `${dstText}/128`);
    if (typeof prefix === "string") {
      problems.push(`Framed-IPv6-Route "${text}": ${prefix}`);
      continue;
    }
    if (gatewayText !== undefined && parseIpv6(gatewayText) === undefined) {
      problems.push(`Framed-IPv6-Route "${text}": "${gatewayText}" is not an IPv6 gateway address`);
      continue;
    }
    const metric = metricText === undefined ? 1 : Number(metricText);
    if (!/^[0-9]+$/.test(metricText ?? "1") || metric > 0xffffffff) {
      problems.push(`Framed-IPv6-Route "${text}": "${metricText}" is not a metric`);
      continue;
    }
    routes.push({ dst: formatIpv6Prefix(prefix), gateway: undefined, distance: metric });
  }
  return { routes, problems };
}

/**
 * Reads Framed-IPv6-Prefix values: the first /64 is the prefix the
 * session's Router Advertisements give the client (instead of one from a
 * pool: SLAAC needs a /64); every other prefix is routed to the client
 * like a route.
 *
 * @example
 * ```ts
 * import { framedIpv6Prefixes } from "./radius_ipv6_session.ts";
 * const p = framedIpv6Prefixes([new Uint8Array([0, 64, 0x20, 1, 0, 2, 0, 5, 0, 0])]);
 * if (p.advertised !== "2001:2:5::/64" || p.routes.length !== 0) throw new Error();
 * ```
 */
export function framedIpv6Prefixes(values: readonly Uint8Array[]): {
  advertised: string | undefined;
  routes: PppRoute[];
  problems: string[];
} {
  let advertised: string | undefined;
  const routes: PppRoute[] = [];
  const problems: string[] = [];
  for (const value of values) {
    let text: string;
    let length: number;
    try {
      const prefix = decodeFramedIpv6Prefix(value);
      text = formatIpv6Prefix(prefix);
      length = prefix.length;
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (advertised === undefined && length === 64) advertised = text;
    else if (text !== advertised) routes.push({ dst: text, gateway: undefined, distance: 1 });
  }
  return { advertised, routes, problems };
}
