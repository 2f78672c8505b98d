/**
 * The client's IPv6, once IPV6CP is Opened: the link-local from the
 * negotiated Interface-Identifier on the TUN device, Router Solicitations
 * until the server's Router Advertisement arrives, then SLAAC done here
 * (RFC 4862 5.5.3 from the RA and our identifier; a TUN device's kernel
 * autoconfiguration is not relied on, and the RA never reaches it), the
 * split IPv6 default routes with `add-default-route` and the RDNSS servers
 * with `use-peer-dns`.
 *
 * With `dhcpv6-pd` it also requests a delegated prefix
 * ({@linkcode startClientPrefixDelegation}).
 *
 * IPV6CP can close while IPCP stays open (the server sends a Terminate-Request
 * for IPV6CP only): the service's `close()` then takes the IPv6 side down on
 * its own: the split IPv6 routes, the SLAAC addresses and the link-local go,
 * resolv.conf goes back to the IPv4 servers, the delegated prefix is removed.
 * At the session's end the same undo runs before the caller's
 * {@linkcode NetConfig} cleanup (which also journals the routes and
 * resolv.conf for crash recovery).
 *
 * @module
 */
import type { Clock, Timers } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Ipv6LinkConfig } from "../tunnel/events.ts";
import type { Ipv6LinkService } from "../pipeline/runner.ts";
import { formatIpv6, formatIpv6Prefix, parseIpv6 } from "../ipv6/address.ts";
import { decodeIpv6Packet, NEXT_HEADER } from "../ipv6/ipv6_packet.ts";
import {
  buildRouterSolicitationPacket,
  decodeRouterAdvertisement,
  ICMPV6_TYPE,
} from "../ipv6/ndp.ts";
import { slaacFromRouterAdvertisement } from "../ipv6/slaac.ts";
import {
  isAlreadyGone,
  NetCommandError,
  type NetConfig,
  type RouteSpec,
} from "../net/net_config.ts";
import { SPLIT_DEFAULT_IPV6 } from "./tunnel_routes.ts";
import { type DelegatedPrefixInfo, startClientPrefixDelegation } from "./client_dhcpv6_pd.ts";

/** RFC 4861 10: MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL. */
const SOLICITATIONS = 3;
const SOLICITATION_INTERVAL_MS = 4_000;

/** What the client's IPv6 shows in `sstp status`. */
export interface ClientIpv6Info {
  /** Our link-local address on the tunnel (from the IPV6CP interface identifier). */
  localLinkLocal: string;
  /** The server's link-local address. */
  peerLinkLocal: string;
  /** SLAAC addresses with their prefix length (`2001:2:0:100::1/64`). */
  addresses: string[];
  /** The advertised prefixes. */
  prefixes: string[];
  /** DNS servers learned from RDNSS options. */
  dns: string[];
  /** How the IPv6 default route is installed ("none" without add-default-route). */
  defaultRoute: string;
  /** The delegated prefix (`dhcpv6-pd`), once the server gave one. */
  delegated?: DelegatedPrefixInfo;
}

/** The IPv6 side of a session: takes inbound RAs and DHCPv6, undoes itself on close. */
export interface ClientIpv6Service extends Ipv6LinkService {
  /** Stops timers and removes what IPv6 configured (see the module text). */
  close(): Promise<void>;
}

/** Options of {@linkcode startClientIpv6}. */
export interface ClientIpv6Options {
  /** The link as IPV6CP negotiated it (interface identifiers). */
  ip6: Ipv6LinkConfig;
  /** The TUN device's name. */
  tunName: string;
  /** Network configuration (addresses, routes, resolv.conf). */
  net: NetConfig;
  /** Install an IPv6 default route through the tunnel. */
  addDefaultRoute: boolean;
  /** Metric of the routes installed. */
  distance: number;
  /** Use the DNS servers the server advertises (RDNSS). */
  usePeerDns: boolean;
  /** The IPv4 DNS servers in use (kept first in resolv.conf). */
  ipv4Dns: () => readonly string[];
  /** Sends IPv6 packets (router solicitations) into the tunnel. */
  send: (packets: Uint8Array[]) => void;
  /** Where progress and problems are logged. */
  log: Logger;
  /** Called whenever the info changes. */
  onInfo: (info: ClientIpv6Info) => void;
  /** Time and timers of the Router Solicitations and DHCPv6 (tests pass a FakeClock). */
  clock: Clock;
  /** Timers of the IPv6 client (RS retransmission, lifetimes). */
  timers: Timers;
  /** `dhcpv6-pd`: request a delegated prefix with this DUID. */
  dhcpv6Pd?: { duid: Uint8Array; downstreamInterface?: string | undefined } | undefined;
}

/** Sets the link-local up and starts soliciting; the service takes the RAs. */
export async function startClientIpv6(o: ClientIpv6Options): Promise<ClientIpv6Service> {
  const { net, tunName, log } = o;
  const linkLocal = `${o.ip6.localLinkLocal}/64`;
  // `nodad`: IPV6CP already made the two identifiers on this link differ.
  await net.setIpv6Address(tunName, linkLocal, { nodad: true });
  const info: ClientIpv6Info = {
    localLinkLocal: o.ip6.localLinkLocal,
    peerLinkLocal: o.ip6.peerLinkLocal,
    addresses: [],
    prefixes: [],
    dns: [],
    defaultRoute: "none",
  };
  const publish = () => {
    if (!closed) {
      o.onInfo({ ...info, addresses: [...info.addresses], prefixes: [...info.prefixes] });
    }
  };
  const source = parseIpv6(o.ip6.localLinkLocal)!;
  let closed = false;
  publish();
  let advertised = false;
  let solicited = 0;
  let timer: unknown;
  const solicit = () => {
    timer = undefined;
    if (closed || advertised || solicited >= SOLICITATIONS) return;
    solicited++;
    o.send([buildRouterSolicitationPacket(source)]);
    timer = o.timers.set(solicit, SOLICITATION_INTERVAL_MS);
  };
  solicit();
  const pd = o.dhcpv6Pd === undefined ? undefined : startClientPrefixDelegation({
    source,
    duid: o.dhcpv6Pd.duid,
    send: o.send,
    net,
    downstreamInterface: o.dhcpv6Pd.downstreamInterface,
    clock: o.clock,
    timers: o.timers,
    log,
    onChange: (d) => {
      if (d === undefined) delete info.delegated;
      else info.delegated = d;
      publish();
    },
  });
  let routesAdded = false;
  /** The split routes added, for the undo. */
  const routes: RouteSpec[] = [];
  let dnsApplied = false;
  let work: Promise<void> = Promise.resolve();

  const apply = async (bytes: Uint8Array): Promise<void> => {
    let ra;
    try {
      ra = decodeRouterAdvertisement(decodeIpv6Packet(bytes));
    } catch (e) {
      log.debug(`IPv6: ${(e as Error).message}`);
      return;
    }
    const slaac = slaacFromRouterAdvertisement(ra, o.ip6.localInterfaceId);
    for (const why of slaac.skipped) log.debug(`IPv6 SLAAC skipped ${why}`);
    for (const a of slaac.addresses) {
      if (closed) return;
      const text = `${formatIpv6(a.address)}/${a.prefix.length}`;
      // `replace` refreshes the lifetimes on every RA (RFC 4862 5.5.3 e).
      await net.setIpv6Address(tunName, text, {
        nodad: true,
        replace: true,
        validLifetimeS: a.validLifetimeS,
        preferredLifetimeS: a.preferredLifetimeS,
      });
      if (!info.addresses.includes(text)) {
        info.addresses.push(text);
        info.prefixes.push(formatIpv6Prefix(a.prefix));
        log.info(`IPv6 address ${text} on ${tunName} (SLAAC from ${o.ip6.peerLinkLocal})`);
      }
    }
    if (o.addDefaultRoute && !routesAdded && slaac.routerLifetimeS > 0 && !closed) {
      routesAdded = true;
      for (const dst of SPLIT_DEFAULT_IPV6) {
        const route: RouteSpec = { dst, dev: tunName, metric: o.distance };
        try {
          await net.addRoute(route);
          routes.push(route);
        } catch (e) {
          if (!(e instanceof NetCommandError) || !e.stderr.includes("File exists")) throw e;
          throw new Error(
            `Cannot add IPv6 default route ${dst} metric ${o.distance}: another route holds ` +
              "that prefix and metric (another tunnel?); give this one another default-route-distance",
            { cause: e },
          );
        }
      }
      info.defaultRoute = `split ${
        SPLIT_DEFAULT_IPV6.join("+")
      } metric ${o.distance} via ${tunName}`;
      log.info(`IPv6 default route ${info.defaultRoute}`);
    }
    const dns = slaac.dns.map(formatIpv6);
    if (dns.join() !== info.dns.join()) {
      info.dns = dns;
      if (o.usePeerDns && dns.length > 0 && !closed) {
        await net.setDns([...o.ipv4Dns(), ...dns]);
        dnsApplied = true;
        log.info(`peer IPv6 DNS: ${dns.join(", ")} (applied)`);
      } else if (dns.length > 0) log.info(`peer IPv6 DNS: ${dns.join(", ")}`);
    }
    publish();
  };

  /** Takes IPv6 down on the link (IPV6CP closed, or the session's end). */
  const undo = async () => {
    await pd?.close();
    for (const route of routes.splice(0)) {
      await net.deleteRoute(route).catch((e) => log.warn(`IPv6: ${(e as Error).message}`));
    }
    for (const a of [...info.addresses, linkLocal]) {
      try {
        await net.removeIpv6Address(tunName, a);
      } catch (e) {
        if (!isAlreadyGone(e)) log.warn(`IPv6: Cannot remove ${a}: ${(e as Error).message}`);
      }
    }
    const ipv4Dns = o.ipv4Dns();
    if (dnsApplied && ipv4Dns.length > 0) {
      await net.setDns(ipv4Dns).catch((e) => log.warn(`IPv6: ${(e as Error).message}`));
    } else if (dnsApplied) {
      log.info("IPv6 DNS servers stay in resolv.conf until the tunnel closes (no IPv4 ones)");
    }
    log.info(`IPv6 down on ${tunName}`);
  };

  return {
    intercept(packet) {
      if (closed) return false;
      if (pd?.intercept(packet)) return true;
      if (packet.length < 41 || packet[6] !== NEXT_HEADER.ICMPV6) return false;
      if (packet[40] !== ICMPV6_TYPE.ROUTER_ADVERTISEMENT) return false;
      advertised = true;
      const copy = packet.slice();
      work = work.then(() => apply(copy)).catch((e) => {
        log.warn(`Cannot apply the IPv6 Router Advertisement: ${(e as Error).message}`);
      });
      return true;
    },
    close() {
      if (closed) return work;
      closed = true;
      if (timer !== undefined) o.timers.clear(timer);
      timer = undefined;
      // After any RA still being applied, so nothing is added behind the undo.
      work = work.then(undo).catch((e) => log.warn(`IPv6: ${(e as Error).message}`));
      return work;
    },
  };
}
