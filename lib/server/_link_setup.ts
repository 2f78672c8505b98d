/**
 * Configures a session's TUN interface: point-to-point address, up, the
 * secret's routes. Through rtnetlink (one socket for the whole server, no
 * process per session) or, when rtnetlink is unavailable, through `ip`.
 *
 * Nothing here needs undoing: every address and route names the session's
 * interface, and the kernel removes them with it when the TUN is closed.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { PlatformNetlink } from "../platform.ts";
import type { PppRoute } from "../config/server_config.ts";
import { NetConfig } from "../net/net_config.ts";

/** What one session's interface gets. */
export interface LinkSettings {
  /** Interface name. */
  name: string;
  /** The server's address on the point-to-point link. */
  localAddress: string;
  /** The client's address (the /32 peer). */
  peerAddress: string;
  /** The user's secret routes (RouterOS `routes`), added through the interface. */
  routes: readonly PppRoute[];
}

/** Configures interfaces. */
export interface LinkSetup {
  /** Which mechanism (for the start-up log line). */
  readonly kind: "rtnetlink" | "ip";
  /**
   * Adds the point-to-point address, sets the link up and adds the routes.
   *
   * @throws {Error} When the kernel or `ip` refuses a step.
   */
  configure(settings: LinkSettings, log: Logger): Promise<void>;
  /**
   * The shared rtnetlink socket for other per-session changes (IPv6), when
   * this setup has one; its `close()` does nothing (the setup's does).
   */
  readonly netlink?: PlatformNetlink;
  /** Releases the mechanism (the netlink socket); configured interfaces stay. */
  close(): void;
}

/**
 * A route's gateway only makes sense on the link itself: on a point-to-point
 * TUN every route leads to the peer. Another gateway is logged and the route
 * points into the tunnel, as RouterOS routes without a gateway do.
 */
function gatewayFor(route: PppRoute, settings: LinkSettings, log: Logger): string | undefined {
  if (route.gateway === undefined || route.gateway === settings.peerAddress) return route.gateway;
  log.debug(
    `route ${route.dst}: gateway ${route.gateway} is not the peer ${settings.peerAddress}; ` +
      `routing into ${settings.name}`,
  );
  return undefined;
}

/** `nl` for other users: every request goes through, `close()` does nothing. */
function sharedView(nl: PlatformNetlink): PlatformNetlink {
  const { deleteRoute, addAddress6, deleteAddress6, addRoute6, deleteRoute6 } = nl;
  return {
    interfaceIndex: (name) => nl.interfaceIndex(name),
    addAddress: (r) => nl.addAddress(r),
    setLink: (r) => nl.setLink(r),
    addRoute: (r) => nl.addRoute(r),
    ...(deleteRoute ? { deleteRoute: (r) => deleteRoute.call(nl, r) } : {}),
    ...(addAddress6 ? { addAddress6: (r) => addAddress6.call(nl, r) } : {}),
    ...(deleteAddress6 ? { deleteAddress6: (r) => deleteAddress6.call(nl, r) } : {}),
    ...(addRoute6 ? { addRoute6: (r) => addRoute6.call(nl, r) } : {}),
    ...(deleteRoute6 ? { deleteRoute6: (r) => deleteRoute6.call(nl, r) } : {}),
    close: () => {},
  };
}

/** rtnetlink-based setup. */
export function netlinkLinkSetup(nl: PlatformNetlink): LinkSetup {
  return {
    kind: "rtnetlink",
    netlink: sharedView(nl),
    configure(s, log) {
      const index = nl.interfaceIndex(s.name);
      nl.addAddress({ index, local: s.localAddress, peer: s.peerAddress, prefixLen: 32 });
      nl.setLink({ index, up: true });
      for (const r of s.routes) {
        const [dst = "", len = "32"] = r.dst.split("/");
        const gateway = gatewayFor(r, s, log);
        nl.addRoute({
          dst,
          prefixLen: Number(len),
          index,
          metric: r.distance,
          ...(gateway === undefined ? {} : { gateway }),
        });
        log.info(`route ${r.dst} dev ${s.name} metric ${r.distance} added`);
      }
      return Promise.resolve();
    },
    close: () => nl.close(),
  };
}

/** `ip`-based setup (fallback). */
export function ipLinkSetup(): LinkSetup {
  return {
    kind: "ip",
    async configure(s, log) {
      const net = new NetConfig({ logger: log });
      await net.addPointToPointAddress(s.name, s.localAddress, s.peerAddress);
      await net.setLinkUp(s.name);
      for (const r of s.routes) {
        const gateway = gatewayFor(r, s, log);
        await net.addRoute({ dst: r.dst, dev: s.name, gateway, metric: r.distance });
        log.info(`route ${r.dst} dev ${s.name} metric ${r.distance} added`);
      }
    },
    close: () => {},
  };
}
