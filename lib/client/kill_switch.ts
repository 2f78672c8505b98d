/**
 * The client's kill switch (`kill-switch: yes`, beyond RouterOS): while the
 * tunnel is down or reconnecting, the traffic its default routes would carry
 * is dropped instead of leaking through the old default route.
 *
 * The switch is made of routes rather than firewall rules: they need nothing
 * beyond iproute2 (nftables may be missing), and the client already
 * journals and undoes routes after a crash. It is `unreachable` routes for
 * the split default prefixes (`0.0.0.0/1`, `128.0.0.0/1`, `::/1`, `8000::/1`),
 * one metric above the tunnel's own split routes. While the tunnel is up its
 * routes (metric `default-route-distance`) win; when its TUN device goes,
 * they go with it and the unreachable routes take over at once, with no
 * window in which the old default route (`0.0.0.0/0`, shorter) is used.
 * Local programs get "No route to host" and forwarded packets an ICMP host
 * unreachable, rather than a silent timeout.
 *
 * The server (or the HTTP proxy) keeps a host route through the path it has
 * when the client starts, pinned before the unreachable routes are added, so
 * the reconnect can still reach it. IPv6 is blocked as well, tunnel or not:
 * a tunnel without IPv6 would otherwise leak every IPv6 connection.
 *
 * The routes are journaled in the client's state file like every other
 * change, so a killed client's switch is lifted by the next start, and a
 * clean stop (or any end of the client) removes them.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { NetConfig, RouteSpec } from "../net/net_config.ts";
import { SPLIT_DEFAULT_IPV4, SPLIT_DEFAULT_IPV6 } from "./tunnel_routes.ts";

/** What the kill switch is made from. */
export interface KillSwitchInput {
  /** `default-route-distance`: the metric of the tunnel's split routes. */
  distance: number;
}

/** The unreachable routes of the kill switch, IPv4 first (pure). */
export function planKillSwitchRoutes(input: KillSwitchInput): RouteSpec[] {
  const { distance } = input;
  if (!Number.isInteger(distance) || distance < 0 || distance > 0xfffffffe) {
    throw new RangeError(`Cannot plan the kill switch: distance ${distance} is out of range`);
  }
  // One above the tunnel's routes: the tunnel wins while it is up.
  const metric = distance + 1;
  return [...SPLIT_DEFAULT_IPV4, ...SPLIT_DEFAULT_IPV6].map((dst) => ({
    dst,
    type: "unreachable" as const,
    metric,
  }));
}

/**
 * Engages the kill switch through `net`: pins the host route to `hop` (the
 * server or the proxy, an IP address), then adds the unreachable routes.
 * `net.cleanup()` lifts it. An IPv6 route that cannot be added (IPv6
 * disabled) is skipped with a warning; an IPv4 one is an error.
 *
 * @returns The routes in force, for logs.
 */
export async function engageKillSwitch(
  net: NetConfig,
  hop: string,
  input: KillSwitchInput,
  log: Logger,
): Promise<string[]> {
  await net.pinHostRoute(hop);
  const added: string[] = [];
  for (const route of planKillSwitchRoutes(input)) {
    try {
      await net.addRoute(route);
      added.push(route.dst);
    } catch (e) {
      if (route.dst.includes(":")) {
        log.warn(`kill switch: cannot block IPv6 ${route.dst}: ${(e as Error).message}`);
        continue;
      }
      throw new Error(
        `Cannot engage the kill switch: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  log.info(
    `kill switch engaged: ${added.join(" ")} unreachable (metric ${
      input.distance + 1
    }) while the tunnel is down; ${hop} pinned to its current path`,
  );
  return added;
}
