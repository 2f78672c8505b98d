/**
 * A server session's IPv6, once IPV6CP is Opened: a /64 from the profile's
 * `remote-ipv6-prefix-pool`, our link-local and a route to the /64 on the
 * session's TUN device, and Router Advertisements into the tunnel (three
 * initial ones, then every 200-600 s, and an answer to every Router
 * Solicitation). The RS never reaches the kernel: the session is the router
 * of its point-to-point link, whatever the host's forwarding settings.
 *
 * The address and the route name the TUN device, so the kernel removes them
 * with it; the prefix goes back to its pool when the service closes (IPV6CP
 * down or the session's end, whichever comes first).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { Ipv6LinkConfig } from "../tunnel/events.ts";
import type { Ipv6LinkService } from "../pipeline/runner.ts";
import type { PppProfile } from "../config/server_config.ts";
import { formatIpv6, formatIpv6Prefix, type Ipv6Prefix, parseIpv6 } from "../ipv6/address.ts";
import type { Ipv6PrefixPool } from "../ipv6/prefix_pool.ts";
import { Ipv6RouterLink, RA_TIMING } from "../ipv6/router_link.ts";
import { NetConfig } from "../net/net_config.ts";

/** What a session's IPv6 needs. */
export interface ServerIpv6Options {
  ip6: Ipv6LinkConfig;
  /** The TUN device's name and MTU. */
  tunName: string;
  mtu: number;
  profile: PppProfile;
  pools: ReadonlyMap<string, Ipv6PrefixPool>;
  send: (packets: Uint8Array[]) => void;
  log: Logger;
  /** Runs `ip` (tests inject one); default: a {@linkcode NetConfig}. */
  ip?: (args: string[]) => Promise<unknown>;
  /** Called with the prefix once it is routed, and with undefined when it is released. */
  onPrefix?: (prefix: string | undefined) => void;
}

/** Sets up a session's IPv6 and returns the service that answers its RS and sends its RAs. */
export async function startServerIpv6(o: ServerIpv6Options): Promise<Ipv6LinkService> {
  const ip = o.ip ?? ((args: string[]) => new NetConfig({ logger: o.log }).ip(args));
  const poolName = o.profile.remoteIpv6PrefixPool;
  const pool = poolName === undefined ? undefined : o.pools.get(poolName);
  let prefix: Ipv6Prefix | undefined;
  if (poolName !== undefined && pool === undefined) {
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
      pool?.release(prefix);
      o.onPrefix?.(undefined);
    }
  };
  const timers = new Set<ReturnType<typeof setTimeout>>();
  try {
    // `nodad`: the link has two ends and IPV6CP already made the identifiers differ.
    await ip(["-6", "addr", "add", `${o.ip6.localLinkLocal}/64`, "dev", o.tunName, "nodad"]);
    if (prefix !== undefined) {
      await ip(["-6", "route", "add", formatIpv6Prefix(prefix), "dev", o.tunName]);
    }
  } catch (e) {
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
  const prefixText = prefix === undefined ? undefined : formatIpv6Prefix(prefix);
  if (prefixText !== undefined) o.onPrefix?.(prefixText);
  o.log.info(
    `IPv6 up: ${o.tunName} ${o.ip6.localLinkLocal} → ${o.ip6.peerLinkLocal}` +
      (prefixText === undefined ? "" : `, prefix ${prefixText}`) +
      (dns.length > 0 ? `, dns ${dns.map(formatIpv6).join(" ")}` : ""),
  );
  let closed = false;
  let initialLeft: number = RA_TIMING.initialCount;
  const schedule = (ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (closed) return;
      o.send([router.advertisement()]);
      initialLeft--;
      schedule(nextInterval(initialLeft));
    }, ms);
    timers.add(t);
  };
  o.send([router.advertisement()]);
  initialLeft--;
  schedule(nextInterval(initialLeft));
  return {
    intercept(packet) {
      const v = router.receive(packet);
      if (!v.taken) return false;
      if (v.problem !== undefined) o.log.debug(`IPv6: discarded ${v.problem}`);
      if (v.reply !== undefined) o.send([v.reply]);
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      release();
    },
  };
}

function nextInterval(initialLeft: number): number {
  if (initialLeft > 0) return RA_TIMING.initialIntervalMs;
  const spread = RA_TIMING.maxIntervalMs - RA_TIMING.minIntervalMs;
  return RA_TIMING.minIntervalMs + Math.floor(Math.random() * spread);
}
