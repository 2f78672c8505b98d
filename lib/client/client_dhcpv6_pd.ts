/**
 * The client's DHCPv6 prefix delegation (`dhcpv6-pd yes`), once IPV6CP is
 * open: the pure {@linkcode Dhcpv6PdClient} asks the server over the
 * tunnel (UDP from our link-local port 546 to ff02::1:2 port 547), and this
 * shell installs what it gets:
 *
 * - an `unreachable` route for the whole prefix (RFC 7084 WPD-5: traffic
 *   for parts of the prefix that no downstream network uses must not bounce
 *   back into the tunnel, where the server routes the prefix to us);
 * - with `dhcpv6-pd-interface`, the prefix's first /64 as `::1/64` on that
 *   interface (its connected /64 is more specific than the unreachable route).
 *
 * Renewals run on the injected timers; a lost or replaced prefix is removed,
 * and {@linkcode ClientPrefixDelegation.close} removes it when IPv6 or the
 * session ends. Both changes are journaled by the caller's
 * {@linkcode NetConfig}, so crash recovery removes them too.
 *
 * @module
 */
import type { Clock, Timers } from "../clock.ts";
import { MAX_TIMER_MS } from "../clock.ts";
import type { Logger } from "../log.ts";
import { formatIpv6, formatIpv6Prefix, type Ipv6Prefix } from "../ipv6/address.ts";
import {
  ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
  decodeDhcpv6Message,
  DHCPV6_PORT,
  dhcpv6MessageName,
  encodeDhcpv6Message,
} from "../ipv6/dhcpv6.ts";
import { Dhcpv6PdClient, type Dhcpv6PdLease, type Dhcpv6PdStep } from "../ipv6/dhcpv6_pd_client.ts";
import {
  decodeIpv6Packet,
  decodeUdp,
  encodeIpv6Packet,
  encodeUdp,
  NEXT_HEADER,
} from "../ipv6/ipv6_packet.ts";
import type { NetConfig } from "../net/net_config.ts";

/** What `sstp status` shows of the delegation. */
export interface DelegatedPrefixInfo {
  /** The delegated prefix (`2001:db8:8000::/60`). */
  prefix: string;
  /** The address put on `dhcpv6-pd-interface`, if any (`2001:db8:8000::1/64 on lan0`). */
  downstream?: string;
  /** Seconds the prefix is valid for, from `renewedAtMs`. */
  validLifetimeS: number;
  /** Seconds until the next Renew, from `renewedAtMs`. */
  t1S: number;
}

/** Options of {@linkcode startClientPrefixDelegation}. */
export interface ClientPrefixDelegationOptions {
  /** Our link-local address (the messages' source). */
  source: Uint8Array;
  /** Our DUID (RFC 8415 11). */
  duid: Uint8Array;
  /** Puts IPv6 packets into the tunnel. */
  /** Sends DHCPv6 packets into the tunnel. */
  send: (packets: Uint8Array[]) => void;
  /** Applies the delegated prefix to the system. */
  net: NetConfig;
  /** `dhcpv6-pd-interface`. */
  downstreamInterface?: string | undefined;
  /** Time source for lifetimes and renewals. */
  clock: Clock;
  /** Timers for retransmission, T1 and T2. */
  timers: Timers;
  /** Where progress and failures are reported. */
  log: Logger;
  /** Uniform random number in [0, 1) (default `Math.random`). */
  random?: () => number;
  /** Called with the delegation when it changes, undefined when it is gone. */
  onChange: (info: DelegatedPrefixInfo | undefined) => void;
}

/** A running delegation. */
export interface ClientPrefixDelegation {
  /** Takes DHCPv6 packets for our port (true when taken). */
  intercept(packet: Uint8Array): boolean;
  /** Stops renewing and removes the prefix's route and address. */
  close(): Promise<void>;
}

/** Hop limit of our DHCPv6 messages: they are for the link only. */
const DHCPV6_HOP_LIMIT = 1;
/** IAID of our one IA_PD. */
const IAID = 1;

/** Starts soliciting; the returned object takes the server's answers. */
export function startClientPrefixDelegation(
  o: ClientPrefixDelegationOptions,
): ClientPrefixDelegation {
  const client = new Dhcpv6PdClient({
    clientDuid: o.duid,
    iaid: IAID,
    random: o.random ?? Math.random,
  });
  let closed = false;
  let timer: unknown;
  let installed: { prefix: string; downstream?: { dev: string; cidr: string } } | undefined;
  let work: Promise<void> = Promise.resolve();

  const queue = (task: () => Promise<void>) => {
    work = work.then(task).catch((e) => {
      o.log.warn(`DHCPv6-PD: ${(e as Error).message}`);
    });
  };

  const uninstall = async () => {
    const i = installed;
    if (i === undefined) return;
    installed = undefined;
    if (i.downstream !== undefined) {
      await o.net.deleteAddress(i.downstream.dev, i.downstream.cidr);
    }
    await o.net.deleteRoute({ dst: i.prefix, type: "unreachable" });
    o.log.info(`DHCPv6-PD: ${i.prefix} removed`);
    o.onChange(undefined);
  };

  const install = async (lease: Dhcpv6PdLease) => {
    const prefix = formatIpv6Prefix(lease.prefix);
    await o.net.addRoute({ dst: prefix, type: "unreachable" });
    installed = { prefix };
    const dev = o.downstreamInterface;
    if (dev !== undefined) {
      const cidr = downstreamAddress(lease.prefix);
      if (cidr === undefined) {
        o.log.warn(`DHCPv6-PD: ${prefix} is longer than /64; nothing for ${dev}`);
      } else {
        await o.net.addAddress(dev, cidr);
        installed.downstream = { dev, cidr };
      }
    }
    o.log.info(
      `DHCPv6-PD: ${prefix} delegated (valid ${lease.validLifetimeS} s, renew in ${lease.t1S} s)` +
        (installed.downstream ? `, ${installed.downstream.cidr} on ${dev}` : ""),
    );
    report(lease);
  };

  const report = (lease: Dhcpv6PdLease) => {
    const d = installed?.downstream;
    o.onChange({
      prefix: formatIpv6Prefix(lease.prefix),
      ...(d !== undefined ? { downstream: `${d.cidr} on ${d.dev}` } : {}),
      validLifetimeS: lease.validLifetimeS,
      t1S: lease.t1S,
    });
  };

  const apply = (step: Dhcpv6PdStep) => {
    if (closed) return;
    if (step.discarded !== undefined) o.log.debug(`DHCPv6-PD: discarded: ${step.discarded}`);
    if (step.lost !== undefined) {
      const why = step.lost.reason;
      o.log.warn(`DHCPv6-PD: ${formatIpv6Prefix(step.lost.prefix)} lost: ${why}`);
      queue(uninstall);
    }
    if (step.bound !== undefined) {
      const lease = step.bound;
      queue(() => closed ? Promise.resolve() : install(lease));
    }
    if (step.renewed !== undefined) {
      const lease = step.renewed;
      o.log.debug(`DHCPv6-PD: ${formatIpv6Prefix(lease.prefix)} renewed`);
      queue(() => Promise.resolve(closed ? undefined : report(lease)));
    }
    if (step.send !== undefined) {
      o.log.debug(`DHCPv6-PD: send ${dhcpv6MessageName(step.send.type)}`);
      o.send([encodeIpv6Packet({
        source: o.source,
        destination: ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        nextHeader: NEXT_HEADER.UDP,
        hopLimit: DHCPV6_HOP_LIMIT,
        payload: encodeUdp({
          sourcePort: DHCPV6_PORT.CLIENT,
          destinationPort: DHCPV6_PORT.SERVER,
          payload: encodeDhcpv6Message(step.send),
        }),
      })]);
    }
    schedule();
  };

  const schedule = () => {
    if (timer !== undefined) o.timers.clear(timer);
    timer = undefined;
    const due = client.nextDeadlineMs;
    if (closed || due === undefined) return;
    // A deadline beyond the longest timer just wakes up early and re-arms.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, due - o.clock.now()));
    timer = o.timers.set(() => {
      timer = undefined;
      apply(client.tick(o.clock.now()));
    }, delay);
  };

  apply(client.start(o.clock.now()));

  return {
    intercept(bytes) {
      // Cheap test first: UDP to port 546.
      if (bytes.length < 48 || bytes[6] !== NEXT_HEADER.UDP) return false;
      if (((bytes[42]! << 8) | bytes[43]!) !== DHCPV6_PORT.CLIENT) return false;
      try {
        const packet = decodeIpv6Packet(bytes);
        const udp = decodeUdp(packet.payload);
        if (udp.sourcePort !== DHCPV6_PORT.SERVER) {
          o.log.debug(`DHCPv6-PD: discarded a packet from port ${udp.sourcePort}`);
          return true;
        }
        const message = decodeDhcpv6Message(udp.payload);
        o.log.debug(
          `DHCPv6-PD: received ${dhcpv6MessageName(message.type)} from ${
            formatIpv6(packet.source)
          }`,
        );
        apply(client.receive(message, o.clock.now()));
      } catch (e) {
        o.log.debug(`DHCPv6-PD: discarded a packet: ${(e as Error).message}`);
      }
      return true;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) o.timers.clear(timer);
      timer = undefined;
      queue(uninstall);
      await work;
    },
  };
}

/** `<first /64 of the prefix>::1/64`, or undefined for a prefix longer than /64. */
export function downstreamAddress(prefix: Ipv6Prefix): string | undefined {
  if (prefix.length > 64) return undefined;
  const a = prefix.address.slice();
  a.fill(0, 8);
  a[15] = 1;
  return `${formatIpv6(a)}/64`;
}
