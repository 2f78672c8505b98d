/**
 * Which routes a client tunnel installs (pure: no I/O), from the connect
 * options and what IPCP gave.
 *
 * `add-default-route` installs split default routes, as OpenVPN's
 * `redirect-gateway def1`: `0.0.0.0/1` and `128.0.0.0/1` through the tunnel
 * (`::/1` and `8000::/1` when the tunnel carries IPv6). Each is longer than
 * `0.0.0.0/0`, so it wins over every existing default route whatever that
 * route's metric, while the host route pinned to the SSTP server (`/32`) and
 * the routes of directly connected networks (longer prefixes) still win over
 * it. The existing default routes are not touched, so nothing has to be
 * restored beyond deleting what was added.
 *
 * `default-route-distance` becomes the metric of the split routes: between
 * several tunnels that each add them, the one with the lowest distance
 * carries the traffic, as RouterOS picks the default route with the lowest
 * distance.
 *
 * `use-peer-dns` adds a host route through the tunnel to each peer DNS server
 * (with or without `add-default-route`), so DNS queries to the servers the
 * peer gave cannot leave through another interface (a directly connected
 * network or a more specific route that overlaps them would otherwise win).
 * A DNS server that cannot be reached through the tunnel (the SSTP server's
 * own address, which must stay on the old path; an IPv6 server when the
 * tunnel carries no IPv6) is left out of resolv.conf, with a warning.
 *
 * @module
 */
import { isIpv4, isIpv6 } from "../ip.ts";
import type { RouteSpec } from "../net/net_config.ts";

/** The IPv4 split default routes (OpenVPN `def1`). */
export const SPLIT_DEFAULT_IPV4 = ["0.0.0.0/1", "128.0.0.0/1"] as const;
/** The IPv6 split default routes. */
export const SPLIT_DEFAULT_IPV6 = ["::/1", "8000::/1"] as const;

/** What the plan is made from. */
export interface TunnelRouteInput {
  /** TUN interface name. */
  dev: string;
  /** `add-default-route`. */
  addDefaultRoute: boolean;
  /** `default-route-distance` (1-255): the metric of every route added. */
  distance: number;
  /** `use-peer-dns`. */
  usePeerDns: boolean;
  /** DNS servers the peer offered. */
  dns: readonly string[];
  /** The peer's address on the link (reached through the point-to-point address already). */
  peerAddress: string;
  /** The SSTP server's address (its host route stays on the old path). */
  server: string;
  /** True when the tunnel carries IPv6 (IPV6CP opened). */
  ipv6: boolean;
}

/** Routes to add and DNS servers to write. */
export interface TunnelRoutePlan {
  /** Pin a host route to the server through its current path first. */
  pinServer: boolean;
  /** Routes to add, in order, after the pin. */
  routes: RouteSpec[];
  /** Servers for resolv.conf (empty: leave resolv.conf alone). */
  dnsServers: string[];
  /** Problems the user should know about (one sentence each). */
  warnings: string[];
  /** How the default route is installed, for `sstp status` ("none" without one). */
  defaultRoute: string;
}

/** Plans the routes of one tunnel. */
export function planTunnelRoutes(input: TunnelRouteInput): TunnelRoutePlan {
  const { dev, distance } = input;
  if (!Number.isInteger(distance) || distance < 0 || distance > 0xffffffff) {
    throw new RangeError(`Cannot plan routes: distance ${distance} is out of range`);
  }
  const routes: RouteSpec[] = [];
  const warnings: string[] = [];
  const dnsServers: string[] = [];
  if (input.usePeerDns) {
    for (const server of new Set(input.dns)) {
      const v4 = isIpv4(server);
      if (!v4 && !isIpv6(server)) {
        warnings.push(`peer DNS server "${server}" is not an IP address; not used`);
        continue;
      }
      if (server === input.server) {
        warnings.push(
          `peer DNS server ${server} is the SSTP server's own address, reached outside the tunnel; not used`,
        );
        continue;
      }
      if (!v4 && !input.ipv6) {
        warnings.push(`peer DNS server ${server} is IPv6 and the tunnel carries no IPv6; not used`);
        continue;
      }
      dnsServers.push(server);
      if (server === input.peerAddress) continue; // on the link already
      routes.push({ dst: `${server}/${v4 ? 32 : 128}`, dev, metric: distance });
    }
    if (input.dns.length > 0 && dnsServers.length === 0) {
      warnings.push("no peer DNS server is usable through the tunnel; resolv.conf is left alone");
    }
  }
  let defaultRoute = "none";
  if (input.addDefaultRoute) {
    const families: (readonly string[])[] = [SPLIT_DEFAULT_IPV4];
    if (input.ipv6) families.push(SPLIT_DEFAULT_IPV6);
    for (const family of families) {
      for (const dst of family) routes.push({ dst, dev, metric: distance });
    }
    defaultRoute = `split ${
      families.map((f) => f.join("+")).join(" ")
    } metric ${distance} via ${dev}`;
  }
  return { pinServer: input.addDefaultRoute, routes, dnsServers, warnings, defaultRoute };
}
