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
import type { IpConfig, TunnelAction, TunnelEngine, TunnelEvent } from "../tunnel/events.ts";
import type { DirectLane, LaneReadControl } from "../transport/duplex.ts";
import { SstpFramer } from "../sstp/framer.ts";
import { encodeSstpPacket, type SstpPacket } from "../sstp/packet.ts";
import { describeSstpPacket } from "../sstp/describe.ts";
import { DataPlane, type DataPlaneOptions } from "../tunnel/data_plane.ts";
import { type OutputLimits, OutputQueue } from "./output_queue.ts";

/** Timer functions, injectable so tests can drive time by hand. */
export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** The real timers. */
export const SYSTEM_TIMERS: TimerApi = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** The byte stream the session runs over (TLS in production): its lane and a close. */
export interface RunnerTransport {
  /** The data path's lane: synchronous writes, pushed reads. */
  lane: DirectLane;
  close(): void;
}

/** Options of {@linkcode TunnelRunner}. */
export interface TunnelRunnerOptions {
  engine: TunnelEngine;
  transport: RunnerTransport;
  /** Bytes that followed the HTTP header in the same read. */
  leftover?: Uint8Array;
  clock: Clock;
  logger: Logger;
  /** Configures the interface for `ip` and returns the TUN device to use. */
  onLinkUp(ip: IpConfig): Promise<TunDevice>;
  timers?: TimerApi;
  /** Clamp the MSS of TCP SYNs both ways to fit the tunnel MTU (RouterOS `change-tcp-mss`). */
  clampTcpMss?: boolean;
  /**
   * Server: which client sources may reach the TUN device (assigned address,
   * secret routes); read at link-up. Absent: no check (the client).
   */
  sourceFilter?: { allows(packet: Uint8Array): boolean } | undefined;
  /** Overrides of the output queue's bounds (tests). */
  outputLimits?: Partial<OutputLimits>;
  /** The IPv4 source check of the data plane ({@linkcode DataPlaneOptions.allowSource}). */
  allowSource?: DataPlaneOptions["allowSource"];
}

/** Traffic counters, as RouterOS `monitor` shows them. */
export interface SessionCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  droppedInbound: number;
  /** Client IPv4 packets dropped for a source outside its address and routes. */
  droppedSpoofed: number;
  /** Clock time of the last data packet either way (idle-time). */
  lastDataMs: number;
}

/** Why a run ended. */
export interface RunResult {
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
  /** IP packets that arrived after IPCP opened, before the TUN device was ready. */
  #heldForLinkUp: Uint8Array[] | undefined;
  /** TUN push reads, once the link is up. */
  #tunReads: TunReadControl | undefined;
  /** Transport push reads, once running. */
  #laneReads: LaneReadControl | undefined;
  /** Output pressure: TUN reads paused; control pressure: transport reads paused. */
  #isOutputOver = false;
  #isControlOver = false;
  /** Source check of inbound IP, set at link-up (see `sourceFilter`). */
  #sourceFilter: { allows(packet: Uint8Array): boolean } | undefined;
  readonly counters: SessionCounters = {
    rxBytes: 0,
    rxPackets: 0,
    txBytes: 0,
    txPackets: 0,
    droppedInbound: 0,
    droppedSpoofed: 0,
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
        if (over) this.#tunReads?.pause();
        else this.#tunReads?.resume();
      },
      onControlPressure: (over) => {
        this.#isControlOver = over;
        if (over) this.#laneReads?.pause();
        else this.#laneReads?.resume();
      },
    });
    // SOURCE CHECK (server): the session's filter is known at link-up; the
    // data plane asks it for every inbound IPv4 packet (reason "source").
    // (`in`, not a read: the session's option is a getter valid from link-up on.)
    const allowSource = "sourceFilter" in options
      ? (p: Uint8Array) => this.#sourceFilter?.allows(p) ?? true
      : options.allowSource;
    this.#plane = new DataPlane({
      gate: options.engine,
      ...(allowSource ? { allowSource } : {}),
    });
    this.#finished = new Promise((resolve) => (this.#finish = resolve));
    this.counters.lastDataMs = options.clock.now();
  }

  /** The TUN device once the link is up. */
  get tun(): TunDevice | undefined {
    return this.#tun;
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
    try {
      this.#framer.pushEach(chunk, (p) => this.#onPacket(p));
    } catch (e) {
      // MS-SSTP 3.1.5.1: a stream that cannot be delineated is closed without Call Abort.
      this.#end({ error: asError(e) });
      return;
    }
    if (this.#batch.length > 0) {
      const tun = this.#tun;
      if (tun) tun.writePackets(this.#batch);
      this.#batch = [];
      // The local stack often answered inside that write (an ICMP echo reply,
      // TCP ACKs): send it now instead of after the reader's next wake-up.
      if (!this.#isOutputOver) this.#tunReads?.poll();
    }
  }

  #onPacket(p: SstpPacket): void {
    if (this.#done) return;
    if (p.kind === "control") {
      this.#log("recv", p);
      this.#dispatch({ type: "control", message: p.message });
      return;
    }
    // MULTILINK: MP fragments are timed by the clock (reassembly timeout).
    const r = this.#plane.decapsulate(p.data, this.#o.clock.now());
    switch (r.kind) {
      case "control":
        this.#dispatch({ type: "ppp", frame: r.frame ?? p.data });
        return;
      case "held":
        return;
      case "drop":
        if (r.reason === "source") this.counters.droppedSpoofed++;
        else this.counters.droppedInbound++;
        return;
    }
    const tun = this.#tun;
    const held = this.#heldForLinkUp;
    if (tun === undefined && (held === undefined || held.length >= MAX_HELD_PACKETS)) {
      this.counters.droppedInbound++;
      return;
    }
    this.counters.rxPackets++;
    this.counters.rxBytes += r.packet.length;
    this.counters.lastDataMs = this.#o.clock.now();
    if (tun !== undefined) this.#batch.push(r.packet);
    // While the interface is being configured, the first packets wait (a copy:
    // the framer may reuse the bytes behind the frame).
    else held!.push(r.packet.slice());
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
    this.#sourceFilter = this.#o.sourceFilter;
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
    }, (e) => {
      const error = asError(e);
      this.#o.logger.error(`Cannot bring the link up: ${error.message}`);
      this.#dispatch({ type: "close", reason: error.message });
      this.#end({ error });
    });
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
    this.counters.lastDataMs = this.#o.clock.now();
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
