/**
 * The session runner: the I/O shell around one pure {@linkcode TunnelEngine}.
 *
 * Flow:
 * 1. `run()` feeds the engine `start`, then runs the inbound loop until the
 *    session ends.
 * 2. Inbound: transport chunk (pushed through the transport's
 *    {@linkcode DirectLane} when it has one, else read from its readable) →
 *    {@linkcode SstpFramer} (leftover bytes from the
 *    HTTP preamble first) → per packet:
 *    - data carrying IPv4/IPv6 while the engine's gate is open → collected
 *      and written to the TUN device in ONE `writePackets()` per chunk (up to
 *      64 that arrive while the TUN device is still being set up wait for it);
 *    - data carrying IP while the gate is closed → dropped and counted
 *      (MS-SSTP 3.2.7.2 / 3.3.7.1: no IP before Call Connected);
 *    - other PPP frames and control messages → `engine.handle()`.
 *    The engine's Hello bookkeeping is touched once per chunk, not per packet.
 * 3. Actions: `send` → {@linkcode OutputQueue} (control first, written at
 *    once when idle, coalesced while a write is pending); timers → the
 *    injected {@linkcode TimerApi}; `linkUp` → the caller's `onLinkUp`
 *    configures the interface and returns the TUN, then outbound reading
 *    starts; `closed` → drain output, close everything.
 * 4. Outbound: TUN batch (pushed by the device inside its wake-up when it has
 *    `readPush`, else read in a loop) → OutputQueue.pushDataBatch (SSTP+PPP
 *    headers, gathered into large writes); reading pauses above the queue's
 *    high-water mark (backpressure).
 *    Right after each inbound write to the TUN device, whatever the device
 *    already has queued (the local stack's immediate answers) is sent too.
 * 5. Ending: the first fatal error (transport closed, framing error, engine
 *    `closed`) ends the session with that reason; timers are cleared and the
 *    TUN reader released. The caller owns and closes the TUN device.
 *
 * @module
 */
import { asError } from "../errors.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { TunDevice, TunReadControl } from "../tun.ts";
import type { IpConfig, TunnelAction, TunnelEngine, TunnelEvent } from "../tunnel/events.ts";
import type { DirectLane } from "../transport/duplex.ts";
import { SstpFramer } from "../sstp/framer.ts";
import { encodeSstpPacket, type SstpPacket } from "../sstp/packet.ts";
import { describeSstpPacket } from "../sstp/describe.ts";
import { OutputQueue } from "./output_queue.ts";
import { clampTcpMss, mssForMtu } from "./tcp_mss.ts";

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

/** A byte stream pair the session runs over (TLS in production). */
export interface RunnerTransport {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
  /** The synchronous data-path lane, when the transport has one (node:tls). */
  lane?: DirectLane;
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
  /**
   * Server: upload policer of the session's `rate-limit` (a token bucket);
   * read at link-up. A packet it refuses is dropped. Absent: no limit.
   */
  uploadPolicer?: { take(bytes: number, nowMs: number): boolean } | undefined;
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
  /** Client packets dropped by the upload `rate-limit` policer. */
  droppedPoliced: number;
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
const PROTO_IPV4 = 0x0021;
const PROTO_IPV6 = 0x0057;

/** Runs one SSTP session: engine, timers, data path. */
export class TunnelRunner {
  readonly #o: TunnelRunnerOptions;
  readonly #timers: TimerApi;
  readonly #framer = new SstpFramer();
  readonly #output: OutputQueue;
  readonly #timerHandles = new Map<string, unknown>();
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #tun: TunDevice | undefined;
  #tunReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #done = false;
  #result: RunResult = {};
  #finish!: () => void;
  readonly #finished: Promise<void>;
  #batch: Uint8Array[] = [];
  /** IP packets that arrived after IPCP opened, before the TUN device was ready. */
  #heldForLinkUp: Uint8Array[] | undefined;
  /** The TUN reader loop runs (the device is ours to read). */
  #isOutboundRunning = false;
  /** Push-mode TUN reading, when the device offers it. */
  #tunPush: TunReadControl | undefined;
  /** MSS limits for IPv4 and IPv6 once the MTU is known; 0 = no clamping. */
  #mss4 = 0;
  #mss6 = 0;
  /** Source check of inbound IP, set at link-up (see `sourceFilter`). */
  #sourceFilter: { allows(packet: Uint8Array): boolean } | undefined;
  /** Upload policer, set at link-up (see `uploadPolicer`). */
  #uploadPolicer: { take(bytes: number, nowMs: number): boolean } | undefined;
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
    this.#output = new OutputQueue(lane ? lane.write : options.transport.writable.getWriter());
    this.#reader = lane ? undefined : options.transport.readable.getReader();
    this.#finished = new Promise((resolve) => (this.#finish = resolve));
    this.counters.lastDataMs = options.clock.now();
  }

  /** The TUN device once the link is up. */
  get tun(): TunDevice | undefined {
    return this.#tun;
  }

  /** Whether the data path runs through the transport's {@linkcode DirectLane}. */
  get usesLane(): boolean {
    return this.#o.transport.lane !== undefined;
  }

  /** Output side statistics. */
  get outputStats(): OutputQueue["stats"] {
    return this.#output.stats;
  }

  /** Runs the session to its end. Never throws: the reason is in the result. */
  async run(): Promise<RunResult> {
    this.#dispatch({ type: "start" });
    if (this.#o.leftover && this.#o.leftover.length > 0 && !this.#done) {
      this.#inbound(this.#o.leftover);
    }
    const lane = this.#o.transport.lane;
    if (lane && !this.#done) {
      lane.takeReads((chunk) => this.#pushed(chunk), (error) => this.#transportEnded(error));
    }
    const inbound = this.#reader ? this.#inboundLoop(this.#reader) : undefined;
    await this.#finished;
    await inbound;
    return this.#result;
  }

  /** Asks for a graceful disconnect (SIGTERM, admin disconnect). */
  close(reason = "local close"): void {
    if (!this.#done) this.#dispatch({ type: "close", reason });
  }

  async #inboundLoop(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      while (!this.#done) {
        const { value, done } = await reader.read();
        if (done) return this.#transportEnded();
        this.#inbound(value);
      }
    } catch (e) {
      this.#transportEnded(asError(e));
    }
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
      // TCP ACKs): send it now instead of after the reader's thread wake-ups.
      if (tun?.readAvailable && this.#isOutboundRunning && this.#output.isWritable) {
        const answers = tun.readAvailable();
        if (answers.length > 0) this.#output.pushDataBatch(answers, this.#protocolOf);
      }
    }
  }

  #onPacket(p: SstpPacket): void {
    if (this.#done) return;
    if (p.kind === "control") {
      this.#log("recv", p);
      this.#dispatch({ type: "control", message: p.message });
      return;
    }
    const f = p.data;
    let off = 0;
    if (f[0] === 0xff && f[1] === 0x03) off = 2;
    let proto: number;
    if (((f[off] ?? 0) & 1) === 1) {
      proto = f[off] ?? 0;
      off += 1;
    } else {
      proto = ((f[off] ?? 0) << 8) | (f[off + 1] ?? 0);
      off += 2;
    }
    if (proto === PROTO_IPV4 || proto === PROTO_IPV6) {
      const open = proto === PROTO_IPV4 ? this.#o.engine.isIpv4Open : this.#o.engine.isIpv6Open;
      const held = this.#heldForLinkUp;
      if (!open || off >= f.length || (!this.#tun && (!held || held.length >= MAX_HELD_PACKETS))) {
        this.counters.droppedInbound++;
        return;
      }
      // While the interface is being configured, the first packets wait (a copy:
      // the framer may reuse the bytes behind `f`).
      // SOURCE CHECK (server): the one place inbound IP is judged by its source
      // address; it moves with the rest of this path into the data plane.
      if (this.#sourceFilter !== undefined && !this.#sourceFilter.allows(f.subarray(off))) {
        this.counters.droppedSpoofed++;
        return;
      }
      // UPLOAD POLICER (server, `rate-limit` rx half): a packet over the rate is
      // dropped here, before the TUN device; it moves into the data plane with
      // the SOURCE CHECK above. Counted bytes are the IP packet's.
      if (
        this.#uploadPolicer !== undefined &&
        !this.#uploadPolicer.take(f.length - off, this.#o.clock.now())
      ) {
        this.counters.droppedPoliced++;
        return;
      }
      const ip = this.#tun ? f.subarray(off) : f.slice(off);
      if (this.#mss4 > 0) clampTcpMss(ip, proto === PROTO_IPV4 ? this.#mss4 : this.#mss6);
      this.counters.rxPackets++;
      this.counters.rxBytes += ip.length;
      this.counters.lastDataMs = this.#o.clock.now();
      if (this.#tun) this.#batch.push(ip);
      else held!.push(ip);
      return;
    }
    this.#dispatch({ type: "ppp", frame: f });
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
    this.#uploadPolicer = this.#o.uploadPolicer;
    if (this.#o.clampTcpMss) {
      this.#mss4 = mssForMtu(ip.mtu, 4);
      this.#mss6 = mssForMtu(ip.mtu, 6);
    }
    this.#heldForLinkUp = [];
    this.#o.onLinkUp(ip).then((tun) => {
      const held = this.#heldForLinkUp ?? [];
      this.#heldForLinkUp = undefined;
      if (this.#done) return;
      this.#tun = tun;
      if (held.length > 0) tun.writePackets(held);
      if (tun.readPush) this.#startPushReads(tun, tun.readPush.bind(tun));
      else void this.#outboundLoop(tun);
    }, (e) => {
      const error = asError(e);
      this.#o.logger.error(`Cannot bring the link up: ${error.message}`);
      this.#dispatch({ type: "close", reason: error.message });
      this.#end({ error });
    });
  }

  /**
   * Push mode: each TUN batch is framed and written inside the wake-up that
   * read it; reading pauses above the output queue's high-water mark.
   */
  #startPushReads(tun: TunDevice, readPush: NonNullable<TunDevice["readPush"]>): void {
    this.#isOutboundRunning = true;
    const control = readPush((batch) => {
      if (this.#done) return;
      this.#output.pushDataBatch(batch, this.#protocolOf);
      if (this.#output.isWritable) return;
      control.pause();
      this.#output.whenWritable()?.then(() => {
        if (!this.#done) control.resume();
      });
    }, (error) => {
      this.#isOutboundRunning = false;
      if (error && !this.#done) {
        this.#o.logger.warn(`TUN ${tun.name} read failed: ${error.message}`);
      }
    });
    this.#tunPush = control;
  }

  async #outboundLoop(tun: TunDevice): Promise<void> {
    this.#isOutboundRunning = true;
    try {
      await this.#outboundLoopOf(tun);
    } finally {
      this.#isOutboundRunning = false;
    }
  }

  async #outboundLoopOf(tun: TunDevice): Promise<void> {
    if (tun.readBatch) return await this.#outboundBatchLoop(tun, tun.readBatch.bind(tun));
    const reader = tun.readable.getReader();
    this.#tunReader = reader;
    try {
      while (!this.#done) {
        const { value, done } = await reader.read();
        if (done || this.#done) break;
        this.#output.pushDataBatch([value], this.#protocolOf);
        const wait = this.#output.whenWritable();
        if (wait) await wait;
      }
    } catch (e) {
      if (!this.#done) this.#o.logger.warn(`TUN read failed: ${String(e)}`);
    } finally {
      reader.releaseLock();
    }
  }

  /** The batched variant: one promise per TUN wake-up, one buffer per batch. */
  async #outboundBatchLoop(
    tun: TunDevice,
    readBatch: () => Promise<Uint8Array[]>,
  ): Promise<void> {
    try {
      while (!this.#done) {
        const batch = await readBatch();
        if (batch.length === 0 || this.#done) break;
        this.#output.pushDataBatch(batch, this.#protocolOf);
        const wait = this.#output.whenWritable();
        if (wait) await wait;
      }
    } catch (e) {
      if (!this.#done) this.#o.logger.warn(`TUN ${tun.name} read failed: ${String(e)}`);
    }
  }

  /** PPP protocol for an outbound IP packet, or undefined to drop it (gate closed, too big). */
  readonly #protocolOf = (p: Uint8Array): number | undefined => {
    const engine = this.#o.engine;
    const v6 = (p[0] ?? 0) >> 4 === 6;
    if (!(v6 ? engine.isIpv6Open : engine.isIpv4Open) || p.length > engine.peerMru) {
      return undefined;
    }
    if (this.#mss4 > 0) clampTcpMss(p, v6 ? this.#mss6 : this.#mss4);
    this.counters.txPackets++;
    this.counters.txBytes += p.length;
    this.counters.lastDataMs = this.#o.clock.now();
    return v6 ? PROTO_IPV6 : PROTO_IPV4;
  };

  #end(result: RunResult): void {
    if (this.#done) return;
    this.#done = true;
    this.#result = result;
    for (const h of this.#timerHandles.values()) this.#timers.clear(h);
    this.#timerHandles.clear();
    this.#tunPush?.stop();
    this.#isOutboundRunning = false;
    const finish = async () => {
      await this.#output.drain(1000);
      this.#output.close();
      try {
        await this.#tunReader?.cancel();
      } catch { /* already released */ }
      try {
        await this.#reader?.cancel();
      } catch { /* already closed */ }
      try {
        this.#o.transport.close();
      } catch { /* already closed */ }
      this.#finish();
    };
    void finish();
  }
}
