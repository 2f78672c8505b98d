/**
 * `interface-mode: shared`: the one TUN device of the server and what the
 * kernel needs to reach it, set up once at start: the device (`shared-interface`,
 * MTU `max-mtu`), up, and a route per IPv4 pool range into it. A session
 * then needs no file descriptor and, in the common case (an address from a
 * pool, a server address already on the device, no routes of its own), no
 * rtnetlink request: its port in the {@linkcode SharedTun} demultiplexer is
 * an in-process table entry.
 *
 * Per-session kernel work remains only where the kernel would otherwise not
 * route to the device: a server address not yet on it (added on first use,
 * kept until the server stops), a client address outside every pool routed
 * at start (a /32, removed at the session's end), and the secret's and
 * RADIUS's framed routes (removed at the session's end). Everything on the
 * device goes with it when the server closes it.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { Platform, PlatformNetlink, PlatformReactor, PlatformTun } from "../platform.ts";
import type { IpPool, Ipv6PoolConfig, PppRoute } from "../config/server_config.ts";
import { formatIpv4, type Ipv4Range, parseIpv4Cidr } from "../ip.ts";
import { NetConfig } from "../net/net_config.ts";
import { PrefixTable } from "../tunnel/prefix_table.ts";
import { SharedTun, type SharedTunPort } from "../tunnel/shared_tun.ts";
import type { UploadPolicer } from "../tunnel/data_plane.ts";

/** Transmit queue of the shared device: the whole server's burst, not one session's. */
const SHARED_TX_QUEUE_LEN = 10_000;

/** What {@linkcode SharedLink.open} needs. */
export interface SharedLinkOptions {
  /** Opens the device. */
  platform: Platform;
  /** The server's reactor (the device's wake-ups). */
  reactor: PlatformReactor;
  /** The server's rtnetlink socket, or absent: `ip` does the work. */
  netlink: PlatformNetlink | undefined;
  /** Device name (`shared-interface`). */
  name: string;
  /** Device MTU (`max-mtu`): the largest packet any session takes. */
  mtu: number;
  /** IPv4 pools routed into the device at start. */
  pools: readonly IpPool[];
  /** IPv6 pools (`ipv6-pools`: SLAAC and DHCPv6-PD prefixes) routed into the device at start. */
  ipv6Pools?: readonly Ipv6PoolConfig[];
  /** The server's log. */
  logger: Logger;
}

/** What one session attaches with. */
export interface SharedSessionLink {
  /** The server's address on the link. */
  localAddress: string;
  /** The client's address. */
  peerAddress: string;
  /** The session's MTU: larger packets are fragmented or answered with ICMP. */
  mtu: number;
  /** The secret's and RADIUS's routes to the client. */
  routes: readonly PppRoute[];
  /** Download half of `rate-limit`, policed per packet (absent: none). */
  downloadPolicer?: UploadPolicer;
}

/** The largest CIDR blocks that exactly cover `range`. */
export function rangeToCidrs(range: Ipv4Range): string[] {
  const out: string[] = [];
  let first = range.first;
  while (first <= range.last) {
    let length = 32;
    // Grow the block while it stays aligned and inside the range.
    while (length > 0) {
      const size = 2 ** (33 - length);
      if (first % size !== 0 || first + size - 1 > range.last) break;
      length--;
    }
    out.push(`${formatIpv4(first)}/${length}`);
    first += 2 ** (32 - length);
  }
  return out;
}

/** The shared device, its demultiplexer and the kernel state behind it. */
export class SharedLink {
  /** The one device. */
  readonly tun: PlatformTun;
  /** Its demultiplexer: each session's port. */
  readonly demux: SharedTun;
  readonly #index: () => number;
  readonly #nl: PlatformNetlink | undefined;
  readonly #net: NetConfig;
  readonly #log: Logger;
  /** Prefixes routed into the device at start. */
  readonly #routed = new PrefixTable<true>();
  /** The same, and the IPv6 pool prefixes, as text. */
  readonly #routedText = new Set<string>();
  /** Server addresses on the device (added on first use). */
  readonly #locals = new Map<string, Promise<void>>();

  private constructor(tun: PlatformTun, o: SharedLinkOptions) {
    this.tun = tun;
    this.#nl = o.netlink;
    this.#log = o.logger;
    this.#net = new NetConfig({
      logger: o.logger,
      ...(o.netlink === undefined ? {} : { netlink: () => o.netlink! }),
    });
    let index: number | undefined;
    this.#index = () => (index ??= o.netlink!.interfaceIndex(tun.name));
    this.demux = new SharedTun(tun, (error) => {
      if (error !== undefined) o.logger.error(`shared device ${tun.name}: ${error.message}`);
    });
  }

  /**
   * Opens the device, sets it up and routes every pool range into it.
   *
   * @throws {Error} When the device cannot be opened or configured; nothing stays open.
   */
  static async open(o: SharedLinkOptions): Promise<SharedLink> {
    const tun = o.platform.openTun({
      name: o.name,
      mtu: o.mtu,
      txQueueLen: SHARED_TX_QUEUE_LEN,
      reactor: o.reactor,
    });
    const link = new SharedLink(tun, o);
    try {
      await link.#setUp();
      const routes = await link.routePools(o.pools, o.ipv6Pools ?? []);
      o.logger.info(
        `interface-mode shared: ${tun.name} (mtu ${o.mtu}) carries every session; ` +
          `${o.pools.length} pools${
            o.ipv6Pools?.length ? ` and ${o.ipv6Pools.length} IPv6 pools` : ""
          } routed into it (${routes} routes)`,
      );
      return link;
    } catch (e) {
      await link.close();
      throw e;
    }
  }

  /**
   * Routes into the device every pool range and IPv6 pool prefix not routed
   * yet (at start, and on reload for the pools a new file adds; routes of
   * pools a reload removes stay until the server stops). Returns how many
   * routes it added.
   *
   * @throws {Error} When the kernel refuses a route.
   */
  async routePools(
    pools: readonly IpPool[],
    ipv6Pools: readonly Ipv6PoolConfig[],
  ): Promise<number> {
    let added = 0;
    for (const cidr of pools.flatMap((p) => p.ranges.flatMap(rangeToCidrs))) {
      if (this.#routedText.has(cidr)) continue;
      await this.#route("add", cidr);
      this.#routed.add(cidr, true);
      this.#routedText.add(cidr);
      added++;
    }
    for (const { prefix } of ipv6Pools) {
      if (this.#routedText.has(prefix)) continue;
      await this.#route6(prefix);
      this.#routedText.add(prefix);
      added++;
    }
    return added;
  }

  /**
   * Attaches a session: its address and routes lead to the returned port
   * (closing it undoes what this added and resolves `closed` after).
   *
   * @throws {Error} When another session has one of the prefixes, or the
   * kernel refuses a route; nothing stays added.
   */
  async attach(s: SharedSessionLink, log: Logger): Promise<SharedTunPort> {
    const prefixes = [s.peerAddress, ...s.routes.map((r) => r.dst)];
    const kernelRoutes: PppRoute[] = [];
    const peerCidr = `${s.peerAddress}/32`;
    if (!this.#isRouted(s.peerAddress)) {
      kernelRoutes.push({ dst: peerCidr, gateway: undefined, distance: 1 });
    }
    kernelRoutes.push(...s.routes);
    const added: PppRoute[] = [];
    const undo = async () => {
      for (const r of added) {
        await this.#route("del", r.dst, r.distance).catch((e) =>
          log.warn(`route ${r.dst} dev ${this.tun.name}: ${String(e)}`)
        );
      }
    };
    const port = this.demux.attach({
      prefixes,
      mtu: s.mtu,
      ...(s.downloadPolicer === undefined ? {} : { downloadPolicer: s.downloadPolicer }),
      onClose: undo,
    });
    try {
      await this.#addLocal(s.localAddress);
      for (const r of kernelRoutes) {
        await this.#route("add", r.dst, r.distance);
        added.push(r);
        if (r.dst !== peerCidr) {
          log.info(`route ${r.dst} dev ${this.tun.name} metric ${r.distance} added`);
        }
      }
    } catch (e) {
      port.close();
      await port.closed;
      throw e;
    }
    return port;
  }

  /** Stops the demultiplexer and closes the device (its addresses and routes go with it). */
  async close(): Promise<void> {
    this.demux.stop();
    const st = this.demux.stats;
    if (st.droppedTooBig + st.fragmented > 0) {
      this.#log.info(
        `${this.tun.name}: ${st.fragmented} packets fragmented and ${st.droppedTooBig} dropped ` +
          `for a session's smaller MTU (${st.tooBigSent} ICMP errors sent, ` +
          `${st.tooBigRateLimited} over the rate limit)`,
      );
    }
    this.tun.close();
    await this.tun.closed;
  }

  #isRouted(address: string): boolean {
    const a = parseIpv4Cidr(address);
    return a !== undefined && this.#routed.lookupIpv4(a.address) === true;
  }

  async #setUp(): Promise<void> {
    if (this.#nl !== undefined) this.#nl.setLink({ index: this.#index(), up: true });
    else await this.#net.setLinkUp(this.tun.name);
  }

  #addLocal(address: string): Promise<void> {
    let task = this.#locals.get(address);
    if (task === undefined) {
      task = (async () => {
        if (this.#nl !== undefined) {
          this.#nl.addAddress({ index: this.#index(), local: address, prefixLen: 32 });
        } else await this.#net.ip(["addr", "add", `${address}/32`, "dev", this.tun.name]);
        this.#log.info(`${this.tun.name}: server address ${address} added`);
      })();
      this.#locals.set(address, task);
      // A failed add is tried again by the next session.
      task.catch(() => this.#locals.delete(address));
    }
    return task;
  }

  /**
   * Puts the server's IPv6 link-local `cidr` on the device, once for every
   * session that uses it (a fixed `local-ipv6-interface-id` makes it one).
   */
  addLinkLocal6(cidr: string): Promise<void> {
    let task = this.#locals.get(cidr);
    if (task === undefined) {
      task = this.#net.setIpv6Address(this.tun.name, cidr, { nodad: true }).then(() =>
        this.#log.info(`${this.tun.name}: server address ${cidr} added`)
      );
      this.#locals.set(cidr, task);
      task.catch(() => this.#locals.delete(cidr));
    }
    return task;
  }

  /** An IPv6 pool's prefix into the device (at start). */
  #route6(prefix: string): Promise<void> {
    return this.route6("add", prefix);
  }

  /**
   * Adds or deletes the kernel route of an IPv6 `prefix` into the device
   * (a session's IPv6 routes; the demultiplexer picks the session).
   *
   * @throws {Error} When the kernel or `ip` refuses.
   */
  async route6(op: "add" | "del", prefix: string, metric?: number): Promise<void> {
    const [dst = "", len = "128"] = prefix.split("/");
    const nl = this.#nl;
    const req = {
      dst,
      prefixLen: Number(len),
      index: this.#index(),
      ...(metric === undefined ? {} : { metric }),
    };
    if (op === "add" && nl?.addRoute6 !== undefined) nl.addRoute6(req);
    else if (op === "del" && nl?.deleteRoute6 !== undefined) nl.deleteRoute6(req);
    else {
      await this.#net.ip([
        "-6",
        "route",
        op,
        prefix,
        "dev",
        this.tun.name,
        ...(metric === undefined ? [] : ["metric", String(metric)]),
      ]);
    }
  }

  async #route(op: "add" | "del", dst: string, metric?: number): Promise<void> {
    const [address = "", len = "32"] = dst.split("/");
    const nl = this.#nl;
    if (nl !== undefined && (op === "add" || nl.deleteRoute !== undefined)) {
      const req = {
        dst: address,
        prefixLen: Number(len),
        index: this.#index(),
        ...(metric === undefined ? {} : { metric }),
      };
      if (op === "add") nl.addRoute(req);
      else nl.deleteRoute!(req);
      return;
    }
    await this.#net.ip([
      "route",
      op,
      dst,
      "dev",
      this.tun.name,
      ...(metric === undefined ? [] : ["metric", String(metric)]),
    ]);
  }
}
