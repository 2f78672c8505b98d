/**
 * One TUN device shared by every session (`interface-mode: shared`, as
 * OpenVPN's server mode and WireGuard do it): the kernel routes the address
 * pools into the one device once, and this demultiplexer hands each packet
 * read from it to the session that owns its destination (the session's /32,
 * its framed routes, its IPv6 prefixes; longest prefix wins,
 * {@linkcode PrefixTable}). Packets of every session are written to the same
 * device. A session sees its own {@linkcode SharedTunPort}, a
 * {@linkcode TunDevice} like a per-session device, so the session runner
 * and its data plane (source check, upload policer, MSS clamp) work
 * unchanged: the source check of what a client sends stays in the data
 * plane's `SourceCheck` seam, before `writePackets` reaches this device.
 *
 * Differences from a per-session device, by construction:
 * - a port that pauses (its TLS connection is backed up) drops the packets
 *   routed to it meanwhile, as a full device queue would: the one kernel
 *   queue cannot be held back for one session without stalling all;
 * - a packet whose destination has no session is dropped and counted
 *   (`unrouted`);
 * - the optional download policer of a port (the download half of
 *   `rate-limit`, which a per-session device shapes with a qdisc) drops the
 *   packets over its rate;
 * - the device's MTU is the largest of any session, so a packet larger than
 *   its session's MTU is handled here as the kernel would before a smaller
 *   device (`too_big.ts`): IPv4 without DF is fragmented; IPv4 with
 *   DF and IPv6 are dropped and answered, written back into the device, with
 *   ICMP "fragmentation needed" / ICMPv6 Packet Too Big carrying the
 *   session's MTU, at most {@linkcode TOO_BIG_PER_SECOND} a second for a
 *   session and {@linkcode TOO_BIG_PER_SECOND_ALL} for the device.
 *
 * @module
 */
import type { TunDevice, TunReadControl, TunStats } from "../tun.ts";
import { PrefixTable } from "./prefix_table.ts";
import type { UploadPolicer } from "./data_plane.ts";
import { TokenBucket } from "./token_bucket.ts";
import {
  fragmentIpv4,
  ipv4DontFragment,
  ipv4FragmentationNeeded,
  ipv6PacketTooBig,
} from "./too_big.ts";

/** ICMP errors for packets too big, per second and session (burst: the same number). */
export const TOO_BIG_PER_SECOND = 20;
/**
 * The same for the whole device (burst 50): Linux's `icmp_msgs_per_sec` and
 * `icmp_msgs_burst` defaults, a bound on the work a flood of large packets
 * makes the demultiplexer do.
 */
export const TOO_BIG_PER_SECOND_ALL = 1000;

/** A bucket of ICMP messages: a {@linkcode TokenBucket} where one message is one byte. */
function messageBucket(perSecond: number, burst: number): TokenBucket {
  return new TokenBucket({ rateBps: perSecond * 8, burstBytes: burst });
}

/** Counters of the shared device's demultiplexer. */
export interface SharedTunStats {
  /** Packets read from the device whose destination no session owns (dropped). */
  unrouted: number;
  /** Packets for a session whose port was paused (dropped). */
  droppedPaused: number;
  /** Packets over a port's download policer (dropped). */
  droppedPoliced: number;
  /** Packets larger than their session's MTU that could not be fragmented (dropped). */
  droppedTooBig: number;
  /** IPv4 packets without DF larger than their session's MTU, sent on in fragments. */
  fragmented: number;
  /** ICMP "fragmentation needed" and ICMPv6 Packet Too Big written to the device. */
  tooBigSent: number;
  /** The same, not sent: over the rate limit. */
  tooBigRateLimited: number;
}

/** Options of {@linkcode SharedTun.attach}. */
export interface SharedTunPortOptions {
  /** Destination prefixes routed to the session: its address first, then framed routes. */
  prefixes: readonly string[];
  /** The session's MTU: larger packets are fragmented or answered (absent: the device's). */
  mtu?: number;
  /** Download policer: each packet for the session must fit it (absent: no limit). */
  downloadPolicer?: UploadPolicer;
  /** Clock for the policer (ms). */
  now?: () => number;
  /** Undoes what the caller set up for the port (kernel routes); `closed` waits for it. */
  onClose?: () => Promise<void>;
}

/** The demultiplexer over the one shared device. */
export class SharedTun {
  readonly #device: TunDevice;
  readonly #table = new PrefixTable<SharedTunPort>();
  readonly #reads: TunReadControl;
  #ended = false;
  /** Ports that received packets in the batch being delivered. */
  #touched: SharedTunPort[] = [];
  /** Demultiplexer counters. */
  readonly stats: SharedTunStats = {
    unrouted: 0,
    droppedPaused: 0,
    droppedPoliced: 0,
    droppedTooBig: 0,
    fragmented: 0,
    tooBigSent: 0,
    tooBigRateLimited: 0,
  };
  readonly #now: () => number;
  readonly #tooBigLimit = messageBucket(TOO_BIG_PER_SECOND_ALL, 50);

  /**
   * Starts reading `device` (it stays the caller's to close); `now` is the
   * clock (ms) of the rate limit of ICMP errors.
   */
  constructor(
    device: TunDevice,
    onEnd?: (error?: Error) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#device = device;
    this.#now = now;
    this.#reads = device.readPush((batch) => this.#deliver(batch), (error) => {
      this.#ended = true;
      onEnd?.(error);
    });
  }

  /** The shared device's name (every session's interface). */
  get name(): string {
    return this.#device.name;
  }

  /** Sessions attached. */
  get ports(): number {
    return this.#ports;
  }
  #ports = 0;

  /** Entries in the routing table (addresses and framed routes of every port). */
  get routes(): number {
    return this.#table.size;
  }

  /** The port a packet with this destination goes to (tests, diagnostics). */
  lookup(packet: Uint8Array): SharedTunPort | undefined {
    return this.#table.lookupPacket(packet);
  }

  /**
   * Attaches a session: packets to `prefixes` go to the returned port from
   * now on, until its `close()`.
   *
   * @throws {Error} When one of the prefixes belongs to another session
   * (nothing stays added), or the device has ended.
   * @throws {TypeError} For a prefix that is not one.
   */
  attach(options: SharedTunPortOptions): SharedTunPort {
    if (this.#ended) throw new Error(`Cannot attach to ${this.name}: the shared device has ended`);
    const port = new SharedTunPort(this, this.#device, options);
    const added: string[] = [];
    for (const p of options.prefixes) {
      if (!this.#table.add(p, port)) {
        for (const a of added) this.#table.delete(a, port);
        throw new Error(
          `Cannot route ${p} to this session on ${this.name}: another session has it`,
        );
      }
      added.push(p);
    }
    this.#ports++;
    return port;
  }

  /** Called by a port's close: its entries leave the table. */
  detach(port: SharedTunPort, prefixes: Iterable<string>): void {
    for (const p of prefixes) this.#table.delete(p, port);
    this.#ports--;
  }

  /** Routes one more prefix to `port` ({@linkcode SharedTunPort.addPrefix}); false when taken. */
  route(port: SharedTunPort, prefix: string): boolean {
    return this.#table.add(prefix, port);
  }

  /** Takes `prefix` away from `port` (it keeps its others). */
  unroute(port: SharedTunPort, prefix: string): void {
    this.#table.delete(prefix, port);
  }

  /** Delivers what the device has queued now (a port's `poll()`). */
  poll(): void {
    if (!this.#ended) this.#reads.poll();
  }

  /** Stops reading the device (the caller closes it). */
  stop(): void {
    this.#reads.stop();
    this.#ended = true;
  }

  #deliver(batch: Uint8Array[]): void {
    const table = this.#table;
    const touched = this.#touched;
    let errors: Uint8Array[] | undefined;
    for (const packet of batch) {
      const port = table.lookupPacket(packet);
      if (port === undefined) {
        this.stats.unrouted++;
        continue;
      }
      if (packet.length > port.mtu) {
        const error = this.#tooBig(packet, port, touched);
        if (error !== undefined) (errors ??= []).push(error);
        continue;
      }
      if (port.queue(packet)) touched.push(port);
    }
    if (errors !== undefined) this.stats.tooBigSent += this.#device.writePackets(errors);
    if (touched.length === 0) return;
    this.#touched = [];
    for (const port of touched) port.flush();
  }

  /**
   * A packet over its session's MTU: its fragments queued to the port (IPv4
   * without DF), or dropped and the ICMP error to write returned, when one
   * is due and within the rate limits.
   */
  #tooBig(
    packet: Uint8Array,
    port: SharedTunPort,
    touched: SharedTunPort[],
  ): Uint8Array | undefined {
    const v4 = packet[0]! >> 4 === 4;
    if (v4 && !ipv4DontFragment(packet)) {
      const fragments = fragmentIpv4(packet, port.mtu);
      if (fragments !== undefined) {
        this.stats.fragmented++;
        for (const f of fragments) if (port.queue(f)) touched.push(port);
        return undefined;
      }
    }
    this.stats.droppedTooBig++;
    const error = v4
      ? ipv4FragmentationNeeded(packet, port.mtu)
      : ipv6PacketTooBig(packet, port.mtu);
    if (error === undefined) return undefined;
    const now = this.#now();
    if (!port.tooBigLimit.take(1, now) || !this.#tooBigLimit.take(1, now)) {
      this.stats.tooBigRateLimited++;
      return undefined;
    }
    return error;
  }
}

/** One session's view of the shared device (a {@linkcode TunDevice}). */
export class SharedTunPort implements TunDevice {
  readonly stats: TunStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
  readonly #shared: SharedTun;
  readonly #device: TunDevice;
  readonly #prefixes: Set<string>;
  readonly #policer: UploadPolicer | undefined;
  readonly #now: () => number;
  /** The session's MTU: larger packets do not reach it whole. */
  readonly mtu: number;
  /** Rate limit of the ICMP errors answering packets too big for the session. */
  readonly tooBigLimit: TokenBucket = messageBucket(TOO_BIG_PER_SECOND, TOO_BIG_PER_SECOND);
  #onPackets: ((batch: Uint8Array[]) => void) | undefined;
  #onEnd: ((error?: Error) => void) | undefined;
  #paused = false;
  #closed = false;
  /** Packets of the batch being delivered. */
  #pending: Uint8Array[] = [];
  readonly #onClose: (() => Promise<void>) | undefined;
  /** Settles once the port is closed and its `onClose` is done (a port holds no file descriptor). */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  /** Use {@linkcode SharedTun.attach}. */
  constructor(shared: SharedTun, device: TunDevice, options: SharedTunPortOptions) {
    this.#shared = shared;
    this.#device = device;
    this.#prefixes = new Set(options.prefixes);
    this.#policer = options.downloadPolicer;
    this.mtu = options.mtu ?? Infinity;
    this.#now = options.now ?? (() => performance.now());
    this.#onClose = options.onClose;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** The shared device's name. */
  get name(): string {
    return this.#device.name;
  }

  /** The prefixes routed to this port. */
  get prefixes(): readonly string[] {
    return [...this.#prefixes];
  }

  /**
   * Routes `prefix` to this port too (an IPv6 prefix once IPV6CP is up, a
   * delegated prefix); until `close()` or {@linkcode removePrefix}.
   *
   * @throws {Error} When another session has it, or the port is closed.
   */
  addPrefix(prefix: string): void {
    if (this.#closed) throw new Error(`Cannot route ${prefix}: the session's port is closed`);
    if (this.#prefixes.has(prefix)) return;
    if (!this.#shared.route(this, prefix)) {
      throw new Error(
        `Cannot route ${prefix} to this session on ${this.name}: another session has it`,
      );
    }
    this.#prefixes.add(prefix);
  }

  /** Stops routing `prefix` to this port (idempotent). */
  removePrefix(prefix: string): void {
    if (!this.#prefixes.delete(prefix) || this.#closed) return;
    this.#shared.unroute(this, prefix);
  }

  /** Takes `packet` for the batch being delivered; true when it is the first one. */
  queue(packet: Uint8Array): boolean {
    const stats = this.#shared.stats;
    if (this.#closed || this.#onPackets === undefined || this.#paused) {
      stats.droppedPaused++;
      return false;
    }
    if (this.#policer !== undefined && !this.#policer.take(packet.length, this.#now())) {
      stats.droppedPoliced++;
      return false;
    }
    this.stats.rxPackets++;
    this.stats.rxBytes += packet.length;
    this.#pending.push(packet);
    return this.#pending.length === 1;
  }

  /** Hands the batch collected by {@linkcode queue} to the session. */
  flush(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#onPackets?.(batch);
  }

  readPush(
    onPackets: (batch: Uint8Array[]) => void,
    onEnd: (error?: Error) => void,
  ): TunReadControl {
    if (this.#onPackets !== undefined) throw new Error(`${this.name}: push reads already started`);
    this.#onPackets = onPackets;
    this.#onEnd = onEnd;
    return {
      pause: () => (this.#paused = true),
      resume: () => (this.#paused = false),
      poll: () => {
        if (!this.#paused && !this.#closed) this.#shared.poll();
      },
      stop: () => {
        this.#onPackets = undefined;
        this.#onEnd = undefined;
      },
    };
  }

  writePackets(packets: readonly Uint8Array[]): number {
    if (this.#closed) {
      this.stats.txDropped += packets.length;
      return 0;
    }
    const n = this.#device.writePackets(packets);
    for (let i = 0; i < n; i++) {
      this.stats.txPackets++;
      this.stats.txBytes += packets[i]!.length;
    }
    this.stats.txDropped += packets.length - n;
    return n;
  }

  /** Detaches the session: its routes leave the table; push reads end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#shared.detach(this, this.#prefixes);
    const onEnd = this.#onEnd;
    this.#onPackets = undefined;
    this.#onEnd = undefined;
    onEnd?.();
    const undo = this.#onClose?.().catch(() => {}) ?? Promise.resolve();
    void undo.then(() => this.#resolveClosed());
  }
}
