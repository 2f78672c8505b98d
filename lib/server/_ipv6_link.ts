/**
 * A server session's IPv6, once IPV6CP is Opened: a /64 from the profile's
 * `remote-ipv6-prefix-pool`, our link-local and a route to the /64 on the
 * session's TUN device, and Router Advertisements into the tunnel (three
 * initial ones, then every 200-600 s, and an answer to Router Solicitations
 * within 500 ms; {@linkcode RaSchedule}). The RS never reaches the kernel: the
 * session is the router of its point-to-point link, whatever the host's
 * forwarding settings. The timers run on the injected clock and timers.
 *
 * The address and the route name the TUN device, so the kernel removes them
 * with it; the prefix goes back to its pool when the service closes (IPV6CP
 * down or the session's end, whichever comes first).
 *
 * The advertised /64 comes from RADIUS (Framed-IPv6-Prefix) when the
 * Access-Accept gives one, else from the pool. The session's IPv6 routes
 * (a secret's `routes`, Framed-IPv6-Route, a Framed-IPv6-Prefix that is not
 * the advertised /64) are routed into the device too while the service runs
 * and taken out when it closes.
 *
 * @module
 */
import { type Clock, systemClock, systemTimers, type Timers } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Ipv6LinkConfig } from "../tunnel/events.ts";
import type { Ipv6LinkService } from "../pipeline/runner.ts";
import type { PppProfile, PppRoute } from "../config/server_config.ts";
import {
  formatIpv6,
  formatIpv6Prefix,
  type Ipv6Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from "../ipv6/address.ts";
import type { Ipv6PrefixPool } from "../ipv6/prefix_pool.ts";
import { Ipv6RouterLink, RA_TIMING } from "../ipv6/router_link.ts";
import { RaSchedule } from "../ipv6/ra_schedule.ts";
import { NetConfig } from "../net/net_config.ts";
import { Dhcpv6PdResponder } from "../ipv6/dhcpv6_pd_server.ts";
import {
  decodeDhcpv6Message,
  DHCPV6_PORT,
  dhcpv6MessageName,
  encodeDhcpv6Message,
} from "../ipv6/dhcpv6.ts";
import {
  decodeIpv6Packet,
  decodeUdp,
  encodeIpv6Packet,
  encodeUdp,
  NEXT_HEADER,
} from "../ipv6/ipv6_packet.ts";

/** What a session's IPv6 needs. */
export interface ServerIpv6Options {
  /** The link as IPV6CP negotiated it (interface identifiers). */
  ip6: Ipv6LinkConfig;
  /** The TUN device's name and MTU. */
  tunName: string;
  /** The TUN device's MTU (advertised in router advertisements). */
  mtu: number;
  /** The session's profile (its IPv6 prefix pools and DNS). */
  profile: PppProfile;
  /** The IPv6 prefix pools by name. */
  pools: ReadonlyMap<string, Ipv6PrefixPool>;
  /** Sends IPv6 packets (router advertisements, DHCPv6 replies) to the client. */
  send: (packets: Uint8Array[]) => void;
  /** Where progress and problems are logged. */
  log: Logger;
  /**
   * Adds the link-local and the routes: through the server's rtnetlink
   * socket when the caller's {@linkcode NetConfig} has one, else with `ip`
   * (the default: a plain NetConfig). Tests inject one with a fake `ip`.
   */
  net?: NetConfig;
  /** Called with the prefix once it is routed, and with undefined when it is released. */
  onPrefix?: (prefix: string | undefined) => void;
  /**
   * The /64 to advertise instead of one from the profile's pool (RADIUS
   * Framed-IPv6-Prefix); it belongs to no pool.
   */
  prefix?: string;
  /** Further IPv6 routes to the client (a router behind it): routed while the service runs. */
  routes?: readonly PppRoute[];
  /** Called with each of `routes` once routed (`true`) and once taken out (`false`). */
  onRoute?: (dst: string, routed: boolean) => void;
  /**
   * `interface-mode: shared`: the session has no device of its own, so its
   * link-local address and prefixes are not put on one; these put them on
   * the shared device (once) and route them to the session in-process.
   */
  shared?: SharedIpv6Link;
  /** The server's DHCPv6 DUID (RFC 8415 11), for prefix delegation (`dhcpv6-pd-pool`). */
  serverDuid?: Uint8Array;
  /** Called with the delegated prefix once it is routed, and with undefined when released. */
  onDelegated?: (prefix: string | undefined) => void;
  /** Time, timers and randomness of the RA schedule (default: the system's, `Math.random`). */
  clock?: Clock;
  /** Timers of the RA schedule. */
  timers?: Timers;
  /** Uniform random number in [0, 1) for the RA intervals and delays. */
  random?: () => number;
}

/** How a session on the shared device gets its IPv6 link-local address and prefixes. */
export interface SharedIpv6Link {
  /** Puts the server's link-local `cidr` on the shared device (once for all sessions using it). */
  addLinkLocal(cidr: string): Promise<void>;
  /**
   * Routes `prefix` to the session (`on`) or stops (the kernel already routes the pools into the device).
   *
   * @throws {Error} When another session has the prefix.
   */
  route(prefix: string, on: boolean): void;
  /**
   * Adds (`on`) or deletes the kernel route of `prefix` into the shared
   * device: for prefixes outside the pools (routes, RADIUS prefixes).
   */
  kernelRoute?(prefix: string, on: boolean, metric: number): Promise<void>;
}

/** Hop limit of the DHCPv6 replies (RFC 8200 default; they stay on the link). */
const DHCPV6_HOP_LIMIT = 64;

/** Sets up a session's IPv6 and returns the service that answers its RS and sends its RAs. */
export async function startServerIpv6(o: ServerIpv6Options): Promise<Ipv6LinkService> {
  const net = o.net ?? new NetConfig({ logger: o.log });
  const poolName = o.profile.remoteIpv6PrefixPool;
  const pool = poolName === undefined ? undefined : o.pools.get(poolName);
  let prefix: Ipv6Prefix | undefined;
  const fixed = o.prefix === undefined ? undefined : parseIpv6Prefix(o.prefix);
  if (typeof fixed === "string") throw new Error(`IPv6: ${fixed}`);
  if (fixed !== undefined) {
    prefix = fixed;
  } else if (poolName !== undefined && pool === undefined) {
    o.log.warn(`IPv6: pool "${poolName}" does not exist; link-local only`);
  } else if (pool !== undefined) {
    prefix = pool.allocate();
    if (prefix === undefined) {
      o.log.warn(`IPv6: pool "${pool.name}" is exhausted; link-local only`);
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (prefix !== undefined) {
      if (fixed === undefined) {
        o.shared?.route(formatIpv6Prefix(prefix), false);
        pool?.release(prefix);
      }
      o.onPrefix?.(undefined);
    }
  };
  // The routes beyond the pools: the /64 from RADIUS, then the session's IPv6 routes
  // (the first of each destination: a second would be refused as existing).
  const fixedRoute = fixed === undefined
    ? []
    : [{ dst: formatIpv6Prefix(fixed), gateway: undefined, distance: 1 }];
  const kernelRoutes: PppRoute[] = [];
  for (const r of [...fixedRoute, ...(o.routes ?? [])]) {
    if (kernelRoutes.some((k) => k.dst === r.dst)) {
      o.log.warn(`IPv6: route ${r.dst} is given twice; the first one is used`);
    } else kernelRoutes.push(r);
  }
  const routed = new Set<PppRoute>();
  const unroute = async () => {
    for (const r of routed) {
      routed.delete(r);
      try {
        await routeOne(o, net, r, false);
      } catch (e) {
        // A device of its own may be gone already (the session's end), and its routes with it.
        const line = `IPv6: route ${r.dst}: ${(e as Error).message}`;
        if (o.shared !== undefined) o.log.warn(line);
        else o.log.debug(line);
      }
      if (r !== kernelRoutes[0] || fixed === undefined) o.onRoute?.(r.dst, false);
    }
  };
  try {
    // `nodad`: the link has two ends and IPV6CP already made the identifiers differ.
    const linkLocal = `${o.ip6.localLinkLocal}/64`;
    if (o.shared !== undefined) await o.shared.addLinkLocal(linkLocal);
    else await net.setIpv6Address(o.tunName, linkLocal, { nodad: true });
    if (prefix !== undefined && fixed === undefined) {
      const dst = formatIpv6Prefix(prefix);
      if (o.shared !== undefined) o.shared.route(dst, true);
      else await net.addRoute({ dst, dev: o.tunName });
    }
    for (const r of kernelRoutes) {
      await routeOne(o, net, r, true);
      routed.add(r);
      if (r !== kernelRoutes[0] || fixed === undefined) {
        o.onRoute?.(r.dst, true);
        o.log.info(`IPv6: route ${r.dst} dev ${o.tunName} metric ${r.distance} added`);
      }
    }
  } catch (e) {
    await unroute();
    release();
    throw e;
  }
  const dns = (o.profile.dnsServer6 ?? []).map((d) => parseIpv6(d)).filter((d) => d !== undefined);
  const router = new Ipv6RouterLink({
    localInterfaceId: o.ip6.localInterfaceId,
    ...(prefix === undefined ? {} : { prefix }),
    mtu: o.mtu,
    dns,
  });
  const pd = startPrefixDelegation(o, net, dns, () => closed);
  const prefixText = prefix === undefined ? undefined : formatIpv6Prefix(prefix);
  if (prefixText !== undefined) o.onPrefix?.(prefixText);
  o.log.info(
    `IPv6 up: ${o.tunName} ${o.ip6.localLinkLocal} → ${o.ip6.peerLinkLocal}` +
      (prefixText === undefined ? "" : `, prefix ${prefixText}`) +
      (dns.length > 0 ? `, dns ${dns.map(formatIpv6).join(" ")}` : ""),
  );
  let closed = false;
  const clock = o.clock ?? systemClock;
  const timers = o.timers ?? systemTimers;
  const schedule = new RaSchedule(RA_TIMING, o.random ?? Math.random, clock.now());
  let timer: unknown;
  /** Sends what is due and sets the one timer for what comes next. */
  const advertise = () => {
    if (timer !== undefined) timers.clear(timer);
    timer = undefined;
    if (closed) return;
    const now = clock.now();
    const due = schedule.take(now);
    if (due.length > 0) o.send(due.map((d) => router.advertisement(d)));
    timer = timers.set(() => {
      timer = undefined;
      advertise();
    }, schedule.nextDueMs - now);
  };
  advertise();
  return {
    intercept(packet) {
      if (pd?.intercept(packet)) return true;
      const v = router.receive(packet);
      if (!v.taken) return false;
      if (v.problem !== undefined) o.log.debug(`IPv6: discarded ${v.problem}`);
      if (v.solicitor !== undefined && !closed) {
        schedule.solicited(v.solicitor, clock.now());
        advertise();
      }
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) timers.clear(timer);
      timer = undefined;
      pd?.close();
      release();
      void unroute();
    },
  };
}

/**
 * Routes `r` into the session (`on`) or takes it out: on a device of its
 * own a kernel route (gone with the device anyway), on the shared device
 * the demultiplexer's entry and the kernel route.
 */
async function routeOne(o: ServerIpv6Options, net: NetConfig, r: PppRoute, on: boolean) {
  if (o.shared !== undefined) {
    if (on) {
      o.shared.route(r.dst, true);
      try {
        await o.shared.kernelRoute?.(r.dst, true, r.distance);
      } catch (e) {
        o.shared.route(r.dst, false);
        throw e;
      }
    } else {
      o.shared.route(r.dst, false);
      await o.shared.kernelRoute?.(r.dst, false, r.distance);
    }
  } else if (on) await net.addRoute({ dst: r.dst, dev: o.tunName, metric: r.distance });
  else await net.deleteRoute({ dst: r.dst, dev: o.tunName, metric: r.distance });
}

/**
 * DHCPv6 prefix delegation (RFC 8415 18.3) from the profile's
 * `dhcpv6-pd-pool`: answers the client's messages to port 547 and routes the
 * delegated prefix via the session's interface. Undefined when the profile
 * has no such pool.
 */
function startPrefixDelegation(
  o: ServerIpv6Options,
  net: NetConfig,
  dns: Uint8Array[],
  isClosed: () => boolean,
): { intercept(packet: Uint8Array): boolean; close(): void } | undefined {
  const name = o.profile.dhcpv6PdPool;
  if (name === undefined || o.serverDuid === undefined) return undefined;
  const pool = o.pools.get(name);
  if (pool === undefined) {
    o.log.warn(`DHCPv6-PD: pool "${name}" does not exist; no prefix delegation`);
    return undefined;
  }
  const source = parseIpv6(o.ip6.localLinkLocal)!;
  const responder = new Dhcpv6PdResponder({
    serverDuid: o.serverDuid,
    allocate: () => pool.allocate(),
    release: (p) => pool.release(p),
    dns,
  });
  let routed: string | undefined;
  let work: Promise<unknown> = Promise.resolve();
  const route = (add: string | undefined) =>
    work = work.then(async () => {
      if (routed !== undefined) {
        if (o.shared !== undefined) o.shared.route(routed, false);
        else await net.deleteRoute({ dst: routed, dev: o.tunName }).catch(() => {});
        o.log.info(`DHCPv6-PD: ${routed} released`);
        routed = undefined;
        o.onDelegated?.(undefined);
      }
      if (add !== undefined && !isClosed()) {
        if (o.shared !== undefined) o.shared.route(add, true);
        else await net.addRoute({ dst: add, dev: o.tunName });
        routed = add;
        o.log.info(`DHCPv6-PD: ${add} delegated via ${o.tunName}`);
        o.onDelegated?.(add);
      }
    }).catch((e) => o.log.warn(`DHCPv6-PD: Cannot route: ${(e as Error).message}`));
  return {
    intercept(bytes) {
      // Cheap test first: UDP to port 547.
      if (bytes.length < 48 || bytes[6] !== NEXT_HEADER.UDP) return false;
      if (((bytes[42]! << 8) | bytes[43]!) !== DHCPV6_PORT.SERVER) return false;
      try {
        const packet = decodeIpv6Packet(bytes);
        const udp = decodeUdp(packet.payload);
        const message = decodeDhcpv6Message(udp.payload);
        const out = responder.respond(message);
        if (out.discarded !== undefined) {
          o.log.debug(`DHCPv6-PD: discarded ${dhcpv6MessageName(message.type)}: ${out.discarded}`);
        }
        if (out.released !== undefined) route(undefined);
        if (out.delegated !== undefined) route(formatIpv6Prefix(out.delegated));
        if (out.reply !== undefined) {
          o.send([encodeIpv6Packet({
            source,
            destination: packet.source,
            nextHeader: NEXT_HEADER.UDP,
            hopLimit: DHCPV6_HOP_LIMIT,
            payload: encodeUdp({
              sourcePort: DHCPV6_PORT.SERVER,
              destinationPort: udp.sourcePort,
              payload: encodeDhcpv6Message(out.reply),
            }),
          })]);
        }
      } catch (e) {
        o.log.debug(`DHCPv6-PD: discarded a packet: ${(e as Error).message}`);
      }
      return true;
    },
    close() {
      responder.close();
      route(undefined);
    },
  };
}
