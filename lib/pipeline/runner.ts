/**
 * The session runner: the I/O shell around one pure {@linkcode TunnelEngine}
 * and its {@linkcode DataPlane}. There is one inbound and one outbound path,
 * both pushed: the same in production (node:tls lane, Linux TUN) and in the
 * in-memory tests (test/helpers/memory_duplex.ts, memory_tun.ts).
 *
 * Flow:
 * 1. `run()` feeds the engine `start`, hands it the bytes that followed the
 *    HTTP preamble, then takes the transport's reads over
 *    ({@linkcode DirectLane.takeReads}) until the session ends.
 * 2. Inbound: transport chunk → {@linkcode SstpFramer} → per packet:
 *    - control messages → `engine.handle()`;
 *    - data → {@linkcode DataPlane.decapsulate}: IP packets are collected and
 *      written to the TUN device in ONE `writePackets()` per chunk (up to 64
 *      that arrive while the TUN device is still being set up wait for it);
 *      other PPP frames → `engine.handle()`; drops are counted.
 *    The engine's Hello bookkeeping is touched once per chunk, not per packet.
 * 3. Actions: `send` → {@linkcode OutputQueue} (control first, written at
 *    once when idle, coalesced while a write is pending); timers → the
 *    injected {@linkcode TimerApi}; `linkUp` → the caller's `onLinkUp`
 *    configures the interface and returns the TUN, then outbound reading
 *    starts; `closed` → drain output, close everything.
 * 4. Outbound: TUN batch (pushed by the device inside its wake-up) →
 *    {@linkcode DataPlane.encapsulate} → one framed buffer →
 *    {@linkcode OutputQueue.pushFramed}. Right after each inbound write to the
 *    TUN device, `poll()` sends whatever the device already has queued (the
 *    local stack's immediate answers).
 * 5. Bounds: output above the queue's high-water mark pauses TUN reads until
 *    the low-water mark; control output piling up (a peer that sends
 *    requests without reading the answers) pauses transport reads; output
 *    beyond a hard bound ends the session with a `LIMIT_EXCEEDED`
 *    {@linkcode ProtocolError} and a warning.
 * 5b. Bridging (BCP): the engine's `bridgeUp` asks the caller's
 *    `onBridgeUp` for the TAP device (the session's bridge port); bridged
 *    frames ({@linkcode DataPlane.decapsulate} `eth`) are written to it in
 *    one batch per chunk, and its reads go through
 *    {@linkcode DataPlane.encapsulateBridged} to the same output queue,
 *    paused and resumed with the TUN reads.
 * 6. Ending: the first fatal error (transport closed, framing error, engine
 *    `closed`, overflow) ends the session with that reason; timers are
 *    cleared and TUN reads stopped. The caller owns and closes the TUN device.
 *
 * @module
 */
import { asError, type ProtocolError } from "../errors.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { TunDevice, TunReadControl } from "../tun.ts";
import type {
  IpConfig,
  Ipv6LinkConfig,
  TunnelAction,
  TunnelEngine,
  TunnelEvent,
} from "../tunnel/events.ts";
import type { DirectLane, LaneReadControl } from "../duplex.ts";
import { SstpFramer } from "../sstp/framer.ts";
import { encodeSstpPacket, type SstpPacket } from "../sstp/packet.ts";
import { describeSstpPacket } from "../sstp/describe.ts";
import { DataPlane, type SourceCheck, type UploadPolicer } from "../tunnel/data_plane.ts";
import { type OutputLimits, OutputQueue } from "./output_queue.ts";

/** The runner's own timer for the MP reassembly deadline (beside the engine's timers). */
const MP_REASSEMBLY_TIMER = "mpReassembly";

/** Timer functions, injectable so tests can drive time by hand. */
export interface TimerApi {
  /** Calls `fn` once after `ms` milliseconds; returns a handle for `clear`. */
  set(fn: () => void, ms: number): unknown;
  /** Cancels a timer `set` returned (no effect once it fired). */
  clear(handle: unknown): void;
}

/** The real timers. */
export const SYSTEM_TIMERS: TimerApi = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * The IPv6 packets a session's own IPv6 code produces and consumes (Router
 * Solicitations and Advertisements, DHCPv6), next to the TUN device.
 */
export interface Ipv6LinkService {
  /**
   * Sees every inbound IPv6 packet before the TUN device; true when it took
   * the packet (it must not keep `packet`: the bytes are reused).
   */
  intercept(packet: Uint8Array): boolean;
  /** IPv6 is over (IPV6CP down or the session ended): stop timers, undo. */
  close(): void;
}

/** The byte stream the session runs over (TLS in production): its lane and a close. */
export interface RunnerTransport {
  /** The data path's lane: synchronous writes, pushed reads. */
  lane: DirectLane;
  /** Tears the connection down (idempotent); the runner calls it when the session ends. */
  close(): void;
}

/** Options of {@linkcode TunnelRunner}. */
export interface TunnelRunnerOptions {
  /** The pure SSTP + PPP engine the runner feeds with bytes and time. */
  engine: TunnelEngine;
  /** The connection the session runs over. */
  transport: RunnerTransport;
  /** Bytes that followed the HTTP header in the same read. */
  leftover?: Uint8Array;
  /** Time source for the engine's timers and the idle-time counter. */
  clock: Clock;
  /** Where closing reasons, link-up and TUN failures go; SSTP control packets at `debug`. */
  logger: Logger;
  /** Configures the interface for `ip` and returns the TUN device to use. */
  onLinkUp(ip: IpConfig): Promise<TunDevice>;
  /** Timer functions; {@linkcode SYSTEM_TIMERS} when absent. */
  timers?: TimerApi;
  /** Clamp the MSS of TCP SYNs both ways to fit the tunnel MTU (RouterOS `change-tcp-mss`). */
  clampTcpMss?: boolean;
  /**
   * Server: which client sources may reach the TUN device (assigned address,
   * secret routes, IPv6 link-local and prefixes); read at link-up and handed
   * to the data plane. Absent: no check (the client).
   */
  sourceFilter?: SourceCheck | undefined;
  /**
   * Opens the session's bridge port (a TAP device carrying Ethernet frames)
   * once BCP is open; required when the engine runs BCP. The caller owns
   * and closes the device.
   */
  onBridgeUp?(): Promise<TunDevice>;
  /**
   * Server: upload policer of the session's `rate-limit` (a token bucket);
   * read at link-up and handed to the data plane, which drops a packet it
   * refuses (counted in `droppedPoliced`). Absent: no limit.
   */
  uploadPolicer?: UploadPolicer | undefined;
  /**
   * IPV6CP opened (after `onLinkUp`'s TUN device is ready): sets IPv6 up on
   * `tun` and returns the service that sees inbound IPv6 first; `send`
   * puts IPv6 packets it makes into the tunnel. Absent: IPv6 goes straight
   * to the TUN device.
   */
  onIpv6Up?(
    ip6: Ipv6LinkConfig,
    tun: TunDevice,
    send: (packets: Uint8Array[]) => void,
  ): Promise<Ipv6LinkService | undefined>;
  /** Overrides of the output queue's bounds (tests). */
  outputLimits?: Partial<OutputLimits>;
}

/** Traffic counters, as RouterOS `monitor` shows them. */
export interface SessionCounters {
  /** IP bytes received from the peer and passed to the TUN device (or held for link-up). */
  rxBytes: number;
  /** IP packets counted in `rxBytes`. */
  rxPackets: number;
  /** IP bytes read from the TUN device and sent to the peer. */
  txBytes: number;
  /** IP packets counted in `txBytes`. */
  txPackets: number;
  /** Packets from the peer dropped: data gate closed, empty, too long, or no TUN device yet and the hold queue full. */
  droppedInbound: number;
  /** Client IPv4 and IPv6 packets dropped for a source outside its addresses, prefixes and routes. */
  droppedSpoofed: number;
  /** Client packets dropped by the upload `rate-limit` policer. */
  droppedPoliced: number;
  /** Clock time of the last data packet either way (idle-time). */
  lastDataMs: number;
}

/** Why a run ended. */
export interface RunResult {
  /** What ended the session; absent for an orderly disconnect. */
  error?: Error;
}

/**
 * Packets kept while the interface comes up: the peer may send as soon as its
 * IPCP opens, a few milliseconds before our TUN device is configured.
 */
const MAX_HELD_PACKETS = 64;

/** Runs one SSTP session: engine, timers, data path. */
export class TunnelRunner {
  readonly #o: TunnelRunnerOptions;
  readonly #timers: TimerApi;
  readonly #framer = new SstpFramer();
  readonly #output: OutputQueue;
  readonly #plane: DataPlane;
  readonly #timerHandles = new Map<string, unknown>();
  #tun: TunDevice | undefined;
  #done = false;
  #result: RunResult = {};
  #finish!: () => void;
  readonly #finished: Promise<void>;
  #batch: Uint8Array[] = [];
  /** The TAP device of a bridged session, once BCP is open. */
  #tap: TunDevice | undefined;
  #tapReads: TunReadControl | undefined;
  #ethBatch: Uint8Array[] = [];
  /** IP packets that arrived after IPCP opened, before the TUN device was ready. */
  #heldForLinkUp: Uint8Array[] | undefined;
  /** TUN push reads, once the link is up. */
  #tunReads: TunReadControl | undefined;
  /** Transport push reads, once running. */
  #laneReads: LaneReadControl | undefined;
  /** Output pressure: TUN reads paused; control pressure: transport reads paused. */
  #isOutputOver = false;
  #isControlOver = false;
  /** IPV6CP's result while it waits for the TUN device. */
  #pendingIpv6: Ipv6LinkConfig | undefined;
  /** The session's IPv6 service once set up. */
  #ipv6Service: Ipv6LinkService | undefined;
  /** True from `ipv6Up` until the IPv6 service is set up (or failed). */
  #isIpv6Starting = false;
  /** Bumped on every IPv6 up/down: a late setup for an old generation is closed. */
  #ipv6Generation = 0;
  /**
   * The clock reading of the inbound chunk being handled (NaN outside one):
   * every packet of the chunk, and the TUN answers sent inside its call
   * stack, use it instead of reading the clock again (a `performance.now()`
   * costs about as much as classifying a packet).
   */
  #chunkNow = NaN;
  /** Traffic counters of this session, updated in place. */
  readonly counters: SessionCounters = {
    rxBytes: 0,
    rxPackets: 0,
    txBytes: 0,
    txPackets: 0,
    droppedInbound: 0,
    droppedSpoofed: 0,
    droppedPoliced: 0,
    lastDataMs: 0,
  };

  /** Prepares a runner; nothing happens until {@linkcode run}. */
  constructor(options: TunnelRunnerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? SYSTEM_TIMERS;
    const lane = options.transport.lane;
    this.#output = new OutputQueue(lane.write, {
      ...(options.outputLimits ? { limits: options.outputLimits } : {}),
      onOverflow: (error) => this.#overflowed(error),
      onPressure: (over) => {
        this.#isOutputOver = over;
        if (over) {
          this.#tunReads?.pause();
          this.#tapReads?.pause();
        } else {
          this.#tunReads?.resume();
          this.#tapReads?.resume();
        }
      },
      onControlPressure: (over) => {
        this.#isControlOver = over;
        if (over) this.#laneReads?.pause();
        else this.#laneReads?.resume();
      },
    });
    // SOURCE CHECK and UPLOAD POLICER (server) are set on the data plane at
    // link-up, when the session knows the client's address and profile.
    this.#plane = new DataPlane({ gate: options.engine });
    this.#finished = new Promise((resolve) => (this.#finish = resolve));
    this.counters.lastDataMs = options.clock.now();
  }

  /** The TUN device once the link is up. */
  get tun(): TunDevice | undefined {
    return this.#tun;
  }

  /** The TAP device of a bridged session, once BCP is open. */
  get tap(): TunDevice | undefined {
    return this.#tap;
  }

  /** Output side statistics. */
  get outputStats(): OutputQueue["stats"] {
    return this.#output.stats;
  }

  /** Bytes queued for the transport and not yet written. */
  get outputPendingBytes(): number {
    return this.#output.pendingBytes;
  }

  /** Runs the session to its end. Never throws: the reason is in the result. */
  async run(): Promise<RunResult> {
    this.#dispatch({ type: "start" });
    if (this.#o.leftover && this.#o.leftover.length > 0 && !this.#done) {
      this.#pushed(this.#o.leftover);
    }
    if (!this.#done) {
      const reads = this.#o.transport.lane.takeReads(
        (chunk) => this.#pushed(chunk),
        (error) => this.#transportEnded(error),
      );
      this.#laneReads = reads;
      if (this.#isControlOver) reads.pause();
    }
    await this.#finished;
    return this.#result;
  }

  /** Asks for a graceful disconnect (SIGTERM, admin disconnect). */
  close(reason = "local close"): void {
    if (!this.#done) this.#dispatch({ type: "close", reason });
  }

  /** A chunk pushed by the lane, inside the transport's I/O event. */
  #pushed(chunk: Uint8Array): void {
    if (this.#done) return;
    try {
      this.#inbound(chunk);
    } catch (e) {
      this.#end({ error: asError(e) });
    }
  }

  /** EOF (no error) or failure of the transport. */
  #transportEnded(error?: Error): void {
    if (this.#done) return;
    if (error === undefined) {
      // The engine decides: a close during Call Disconnect is a clean end.
      this.#dispatch({ type: "transportClosed" });
      this.#end({ error: new Error("Connection closed by peer") });
    } else {
      this.#dispatch({ type: "transportClosed", error });
      this.#end({ error });
    }
  }

  /** The output queue went over a hard bound: the peer does not read. */
  #overflowed(error: ProtocolError): void {
    if (this.#done) return;
    this.#o.logger.warn(`closing: ${error.message}`);
    this.#dispatch({ type: "transportClosed", error });
    this.#end({ error });
  }

  #inbound(chunk: Uint8Array): void {
    const now = this.#o.clock.now();
    this.#o.engine.noteReceive(now);
    this.#chunkNow = now;
    // What the chunk makes (control answers, the local stack's replies) leaves in one write.
    this.#output.cork();
    try {
      this.#inboundChunk(chunk, now);
    } finally {
      this.#chunkNow = NaN;
      this.#output.uncork();
    }
  }

  #inboundChunk(chunk: Uint8Array, now: number): void {
    const rxPackets = this.counters.rxPackets;
    try {
      this.#framer.pushEach(chunk, this.#onPacket);
    } catch (e) {
      // MS-SSTP 3.1.5.1: a stream that cannot be delineated is closed without Call Abort.
      this.#end({ error: asError(e) });
      return;
    }
    if (this.counters.rxPackets !== rxPackets) this.counters.lastDataMs = now;
    if (this.#batch.length > 0) {
      const tun = this.#tun;
      if (tun) tun.writePackets(this.#batch);
      this.#batch = [];
      // The local stack often answered inside that write (an ICMP echo reply,
      // TCP ACKs): send it now instead of after the reader's next wake-up.
      if (!this.#isOutputOver) this.#tunReads?.poll();
    }
    if (this.#ethBatch.length > 0) {
      this.#tap?.writePackets(this.#ethBatch);
      this.#ethBatch = [];
      if (!this.#isOutputOver) this.#tapReads?.poll();
    }
  }

  /** One framed packet of the chunk being handled (a bound method: no closure per chunk). */
  readonly #onPacket = (p: SstpPacket): void => {
    if (this.#done) return;
    if (p.kind === "control") {
      this.#log("recv", p);
      this.#dispatch({ type: "control", message: p.message });
      return;
    }
    // MULTILINK and UPLOAD POLICER: timed by the chunk's clock reading.
    const r = this.#plane.decapsulate(p.data, this.#chunkNow);
    switch (r.kind) {
      case "control":
        this.#dispatch({ type: "ppp", frame: r.frame ?? p.data });
        return;
      case "held":
        // MULTILINK: a partial packet may stall (its last fragment lost);
        // one timer drops it at its deadline instead of at the next fragment.
        if (!this.#timerHandles.has(MP_REASSEMBLY_TIMER)) this.#armReassemblyTimer();
        return;
      case "drop":
        if (r.reason === "source") this.counters.droppedSpoofed++;
        else if (r.reason === "policed") this.counters.droppedPoliced++;
        else this.counters.droppedInbound++;
        return;
      case "eth":
        if (this.#tap === undefined) {
          // The bridge port is still being set up: the peer's first frames
          // (ARP, spanning tree) are dropped as a LAN port coming up would.
          this.counters.droppedInbound++;
          return;
        }
        this.counters.rxPackets++;
        this.counters.rxBytes += r.packet.length;
        this.#ethBatch.push(r.packet);
        return;
    }
    if (r.kind === "ip6") {
      const service = this.#ipv6Service;
      if (this.#isIpv6Starting) {
        // IPv6 is being set up: a Router Advertisement delivered now would
        // reach the kernel instead of the session's own IPv6 code (the
        // client solicits another one once it is ready).
        this.counters.droppedInbound++;
        return;
      }
      if (service?.intercept(r.packet)) {
        this.counters.rxPackets++;
        this.counters.rxBytes += r.packet.length;
        return;
      }
    }
    const tun = this.#tun;
    const held = this.#heldForLinkUp;
    if (tun === undefined && (held === undefined || held.length >= MAX_HELD_PACKETS)) {
      this.counters.droppedInbound++;
      return;
    }
    this.counters.rxPackets++;
    this.counters.rxBytes += r.packet.length;
    if (tun !== undefined) this.#batch.push(r.packet);
    // While the interface is being configured, the first packets wait (a copy:
    // the framer may reuse the bytes behind the frame).
    else held!.push(r.packet.slice());
  };

  /** Arms the MP reassembly timer for the partial packet's deadline, if one waits. */
  #armReassemblyTimer(): void {
    const deadline = this.#plane.reassemblyDeadlineMs;
    if (deadline === undefined || this.#done) return;
    const h = this.#timers.set(() => {
      this.#timerHandles.delete(MP_REASSEMBLY_TIMER);
      if (this.#done) return;
      if (this.#plane.expireReassembly(this.#o.clock.now())) this.counters.droppedInbound++;
      // Another packet may have started since: its own deadline is later.
      this.#armReassemblyTimer();
    }, Math.max(0, deadline - this.#o.clock.now()));
    this.#timerHandles.set(MP_REASSEMBLY_TIMER, h);
  }

  #log(dir: "send" | "recv", p: SstpPacket): void {
    if (this.#o.logger.enabled("debug")) this.#o.logger.debug(`${dir} [${describeSstpPacket(p)}]`);
  }

  #dispatch(event: TunnelEvent): void {
    if (this.#done) return;
    const actions = this.#o.engine.handle(event, this.#o.clock.now());
    this.#apply(actions);
  }

  #apply(actions: TunnelAction[]): void {
    for (const a of actions) {
      if (this.#done) return;
      switch (a.type) {
        case "send":
          if (a.packet.kind === "control") this.#log("send", a.packet);
          this.#output.pushControl(encodeSstpPacket(a.packet));
          break;
        case "startTimer": {
          this.#clearTimer(a.timer);
          const h = this.#timers.set(() => {
            this.#timerHandles.delete(a.timer);
            this.#dispatch({ type: "timer", timer: a.timer });
          }, a.ms);
          this.#timerHandles.set(a.timer, h);
          break;
        }
        case "stopTimer":
          this.#clearTimer(a.timer);
          break;
        case "linkUp":
          this.#linkUp(a.ip);
          break;
        case "bridgeUp":
          this.#bridgeUp();
          break;
        case "ipv6Up":
          this.#ipv6Generation++;
          this.#pendingIpv6 = a.ip6;
          this.#isIpv6Starting = this.#o.onIpv6Up !== undefined;
          if (this.#tun !== undefined) this.#startIpv6(this.#tun);
          break;
        case "ipv6Down":
          this.#stopIpv6();
          break;
        case "closed":
          this.#end(a.error ? { error: a.error } : {});
          break;
      }
    }
  }

  #clearTimer(name: string): void {
    const h = this.#timerHandles.get(name);
    if (h !== undefined) {
      this.#timers.clear(h);
      this.#timerHandles.delete(name);
    }
  }

  #linkUp(ip: IpConfig): void {
    // SOURCE CHECK and UPLOAD POLICER: read once, here (the session's options
    // are getters valid from link-up on).
    const sourceCheck = this.#o.sourceFilter;
    const uploadPolicer = this.#o.uploadPolicer;
    if (sourceCheck !== undefined || uploadPolicer !== undefined) {
      this.#plane.setPolicy({ sourceCheck, uploadPolicer });
    }
    // FRAMING: what LCP negotiated (ACFC, PFC, multilink) applies from link-up on.
    const framing = this.#o.engine.framing;
    if (framing !== undefined) this.#plane.setFraming(framing);
    if (this.#o.clampTcpMss) this.#plane.clampMssFor(ip.mtu);
    this.#heldForLinkUp = [];
    this.#o.onLinkUp(ip).then((tun) => {
      const held = this.#heldForLinkUp ?? [];
      this.#heldForLinkUp = undefined;
      if (this.#done) return;
      this.#tun = tun;
      if (held.length > 0) tun.writePackets(held);
      this.#startTunReads(tun);
      this.#startIpv6(tun);
    }, (e) => {
      const error = asError(e);
      this.#o.logger.error(`Cannot bring the link up: ${error.message}`);
      this.#dispatch({ type: "close", reason: error.message });
      this.#end({ error });
    });
  }

  #bridgeUp(): void {
    const open = this.#o.onBridgeUp;
    const failed = (error: Error) => {
      this.#o.logger.error(`Cannot open the bridge port: ${error.message}`);
      this.#dispatch({ type: "close", reason: error.message });
      this.#end({ error });
    };
    if (open === undefined) {
      failed(new Error("BCP opened but this session has no bridge configured"));
      return;
    }
    open().then((tap) => {
      if (this.#done) return;
      this.#tap = tap;
      const reads = tap.readPush((batch) => this.#outboundBridged(batch), (error) => {
        this.#tapReads = undefined;
        if (error && !this.#done) {
          this.#o.logger.warn(`TAP ${tap.name} read failed: ${error.message}`);
        }
      });
      this.#tapReads = reads;
      if (this.#isOutputOver) reads.pause();
    }, (e) => failed(asError(e)));
  }

  #outboundBridged(batch: Uint8Array[]): void {
    if (this.#done) return;
    const framed = this.#plane.encapsulateBridged(batch);
    if (framed.packets === 0) return;
    this.counters.txPackets += framed.packets;
    this.counters.txBytes += framed.ipBytes;
    this.counters.lastDataMs = this.#o.clock.now();
    this.#output.pushFramed(framed.bytes, framed.packets);
  }

  #startIpv6(tun: TunDevice): void {
    const ip6 = this.#pendingIpv6;
    const setup = this.#o.onIpv6Up;
    this.#pendingIpv6 = undefined;
    if (ip6 === undefined || setup === undefined || this.#done) return;
    const generation = this.#ipv6Generation;
    setup(ip6, tun, (packets) => this.#injectIpv6(packets, generation)).then((service) => {
      if (generation === this.#ipv6Generation) this.#isIpv6Starting = false;
      if (service === undefined) return;
      if (this.#done || generation !== this.#ipv6Generation) service.close();
      else this.#ipv6Service = service;
    }, (e) => {
      if (generation === this.#ipv6Generation) this.#isIpv6Starting = false;
      // IPv4 keeps working: a failed IPv6 setup costs IPv6 only.
      this.#o.logger.warn(`Cannot set up IPv6: ${asError(e).message}`);
    });
  }

  #stopIpv6(): void {
    this.#ipv6Generation++;
    this.#isIpv6Starting = false;
    this.#pendingIpv6 = undefined;
    const service = this.#ipv6Service;
    this.#ipv6Service = undefined;
    service?.close();
  }

  /** IPv6 packets of the session's own IPv6 service, into the tunnel. */
  #injectIpv6(packets: Uint8Array[], generation: number): void {
    if (this.#done || generation !== this.#ipv6Generation) return;
    this.#outbound(packets);
  }

  /**
   * Each TUN batch is framed and queued inside the wake-up that read it;
   * reading pauses while the output queue is under pressure.
   */
  #startTunReads(tun: TunDevice): void {
    const reads = tun.readPush((batch) => this.#outbound(batch), (error) => {
      this.#tunReads = undefined;
      if (error && !this.#done) {
        this.#o.logger.warn(`TUN ${tun.name} read failed: ${error.message}`);
      }
    });
    this.#tunReads = reads;
    if (this.#isOutputOver) reads.pause();
  }

  #outbound(batch: Uint8Array[]): void {
    if (this.#done) return;
    const framed = this.#plane.encapsulate(batch);
    if (framed.packets === 0) return;
    this.counters.txPackets += framed.packets;
    this.counters.txBytes += framed.ipBytes;
    // Inside an inbound chunk's call stack (the local stack's answers) its
    // clock reading is current.
    const now = this.#chunkNow;
    this.counters.lastDataMs = Number.isNaN(now) ? this.#o.clock.now() : now;
    this.#output.pushFramed(framed.bytes, framed.packets);
  }

  #end(result: RunResult): void {
    if (this.#done) return;
    this.#done = true;
    this.#result = result;
    for (const h of this.#timerHandles.values()) this.#timers.clear(h);
    this.#timerHandles.clear();
    this.#tunReads?.stop();
    this.#tunReads = undefined;
    this.#tapReads?.stop();
    this.#tapReads = undefined;
    this.#stopIpv6();
    const finish = async () => {
      await this.#output.drain(1000);
      this.#output.close();
      try {
        this.#o.transport.close();
      } catch { /* already closed */ }
      this.#finish();
    };
    void finish();
  }
}
