/**
 * The main thread's side of the data-plane Worker (`tls-engine:
 * openssl-worker`, see `data_plane_worker.ts`): a {@linkcode ByteDuplex}
 * whose HTTP preamble runs on the main thread over an {@linkcode OpenSslConn}
 * as usual, and whose lane hands the connection to the Worker the moment the
 * runner takes the reads over.
 *
 * From then on:
 * - the runner's writes (SSTP control, PPP control) go to the Worker as
 *   messages; the main thread never touches the `SSL*` again;
 * - the runner receives, through the lane, only what the Worker does not
 *   deliver itself: SSTP control packets, PPP control frames, and, until
 *   the TUN device is handed over, every data packet;
 * - at link-up {@linkcode WorkerDataPath.adoptTun} gives the Worker a
 *   duplicate of the TUN fd, the negotiated framing and the engine's gate;
 *   gate changes follow after each control packet either way;
 * - counters arrive as increments, at most every 500 ms while traffic flows.
 *
 * Ending: the Worker closes the socket, frees the `SSL*` and closes its TUN
 * duplicate, then says `end`; `closed` resolves after that (so the caller
 * may close the TUN device itself without the Worker still using the fd).
 *
 * @module
 */
import type { ByteDuplex, DirectLane, LaneReadControl, TransportInfo } from "../lib/duplex.ts";
import type { DataPathOffload, OffloadCounters, OffloadGate } from "../lib/tls_engine.ts";
import type { TunDevice, TunReadControl } from "../lib/tun.ts";
import { check, closeQuietly, createEventFd, libc, signalEventFd } from "./libc.ts";
import type { OpenSslConn } from "./openssl_conn.ts";
import { requireOpenSsl } from "./openssl.ts";
import type { FromWorker, ToWorker, WorkerGate } from "./data_plane_messages.ts";
import type { DataPlanePolicySpec } from "../lib/tunnel/data_plane_policy.ts";

/** How long a started session may take to end after `close()`. */
const END_TIMEOUT_MS = 5000;
const EMPTY = new Uint8Array(0);
const UNCOMPRESSED = { acfc: false, pfc: false };

/**
 * One data-plane Worker as the main thread sees it: the thread, its wake-up
 * eventfd and message counter, and the sessions it serves by id. The client
 * makes one per connection (`exclusive`: it exits with its session); the
 * server keeps a fixed pool ({@linkcode DataPlaneWorkerPool}).
 */
export class DataPlaneWorker {
  readonly #worker: Worker;
  readonly #posted = new Int32Array(new SharedArrayBuffer(4));
  readonly #wakeFd: number;
  #exclusive: boolean;
  readonly #paths = new Map<number, WorkerDataPath>();
  #nextId = 1;
  #exiting = false;
  #gone = false;
  #exitedResolve!: () => void;
  /** Resolves once the Worker has exited (after {@linkcode close}, or when it failed). */
  readonly exited: Promise<void> = new Promise((r) => (this.#exitedResolve = r));

  /**
   * Starts the Worker's module loading now (it takes tens of milliseconds).
   * `exclusive`: the Worker exits when its first session has ended.
   *
   * @throws {ErrnoError} when the eventfd cannot be made.
   */
  constructor(options: { exclusive?: boolean } = {}) {
    this.#wakeFd = createEventFd("Cannot start the data-plane worker");
    this.#exclusive = options.exclusive ?? false;
    this.#worker = new Worker(new URL("./data_plane_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      // An uncaught error in the Worker: what it owned is in an unknown state.
      this.#fail(new Error(`Data-plane worker failed: ${e.message}`));
    };
    this.#worker.postMessage(
      { type: "init", wakeFd: this.#wakeFd, posted: this.#posted.buffer as SharedArrayBuffer },
    );
  }

  /** Sessions handed to this Worker and not ended. */
  get sessions(): number {
    return this.#paths.size;
  }

  /** True once the Worker takes no more sessions. */
  get isClosed(): boolean {
    return this.#exiting || this.#gone;
  }

  /** A new session id for `path`, whose messages are routed to it. */
  add(path: WorkerDataPath): number {
    const id = this.#nextId++;
    this.#paths.set(id, path);
    return id;
  }

  /** The session `id` ended (its `end` arrived; 0: it was closed before the hand-over). */
  remove(id: number): void {
    this.#paths.delete(id);
    if (this.#exclusive && this.#paths.size === 0) this.close();
  }

  /** Posts a message and wakes the Worker. */
  post(message: ToWorker): void {
    if (this.#gone) return;
    this.#worker.postMessage(message);
    Atomics.add(this.#posted, 0, 1);
    signalEventFd(this.#wakeFd);
  }

  /** Lets the Worker exit once it serves no session (at once when it serves none). */
  closeWhenIdle(): void {
    this.#exclusive = true;
    if (this.#paths.size === 0) this.close();
  }

  /** Asks the Worker to finish every session and exit (idempotent). */
  close(): void {
    if (this.#exiting || this.#gone) return;
    this.#exiting = true;
    this.post({ type: "exit" });
  }

  #onMessage(m: FromWorker): void {
    if (m.type === "exited") {
      this.#fail(new Error("Data-plane worker exited"));
      return;
    }
    this.#paths.get(m.id)?.receive(m);
  }

  /** The Worker is gone: every session still on it ends with `error`. */
  #fail(error: Error): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#worker.terminate();
    closeQuietly(this.#wakeFd);
    const paths = [...this.#paths.values()];
    this.#paths.clear();
    for (const p of paths) p.lost(error);
    this.#exitedResolve();
  }
}

/**
 * A fixed number of data-plane Workers for the server: each new session
 * goes to the one serving the fewest.
 */
export class DataPlaneWorkerPool {
  readonly #workers: DataPlaneWorker[] = [];

  /** Starts `size` Workers (at least one). */
  constructor(size: number) {
    for (let i = 0; i < Math.max(1, size); i++) this.#workers.push(new DataPlaneWorker());
  }

  /** The Worker for the next session. */
  pick(): DataPlaneWorker {
    let best = this.#workers[0]!;
    for (const w of this.#workers) if (w.sessions < best.sessions) best = w;
    return best;
  }

  /** Lets each Worker exit once it serves no session. */
  closeWhenIdle(): void {
    for (const w of this.#workers) w.closeWhenIdle();
  }

  /** Finishes every session and lets the Workers exit. */
  async close(): Promise<void> {
    for (const w of this.#workers) w.close();
    await Promise.all(this.#workers.map((w) => w.exited));
  }
}

/** Starts a Worker for one client session (see {@linkcode DataPlaneWorker}). */
export function spawnDataPlaneWorker(): DataPlaneWorker {
  return new DataPlaneWorker({ exclusive: true });
}

/** One session's connection, its preamble on the main thread, its data path in a Worker. */
export class WorkerDataPath implements DataPathOffload {
  readonly #conn: OpenSslConn;
  readonly #worker: DataPlaneWorker;
  #id = 0;
  #started = false;
  #ended = false;
  #closing = false;
  #prepended: Uint8Array[] = [];
  #push: { onChunk(chunk: Uint8Array): void; onEnd(error?: Error): void } | undefined;
  #endResult: { error?: Error } | undefined;
  #gate: OffloadGate | undefined;
  #counters: OffloadCounters | undefined;
  #now: () => number = Date.now;
  #sentGate: WorkerGate | undefined;
  #closedResolve!: () => void;
  #endTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves once the Worker released the connection (or it was closed before the hand-over). */
  readonly closed: Promise<void> = new Promise((r) => (this.#closedResolve = r));

  /**
   * Takes ownership of `conn` (open); its data path will run in `worker`
   * (from {@linkcode spawnDataPlaneWorker} or a {@linkcode DataPlaneWorkerPool}).
   */
  constructor(conn: OpenSslConn, worker: DataPlaneWorker) {
    this.#conn = conn;
    this.#worker = worker;
  }

  /** True once the Worker owns the connection. */
  get isHandedOver(): boolean {
    return this.#started;
  }

  /** See {@linkcode DataPathOffload.prepend}. */
  prepend(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#prepended.push(bytes.slice());
  }

  /** See {@linkcode DataPathOffload.attach}. */
  attach(gate: OffloadGate, counters: OffloadCounters, now: () => number): void {
    this.#gate = gate;
    this.#counters = counters;
    this.#now = now;
  }

  /** See {@linkcode DataPathOffload.adoptTun}. */
  adoptTun(
    tun: TunDevice & { readonly fd?: number; unwatch?(): void },
    options: { clampMssMtu?: number; policy?: DataPlanePolicySpec },
  ): TunDevice | undefined {
    if (tun.fd === undefined || !this.#started || this.#ended || this.#gate === undefined) {
      return undefined;
    }
    // A duplicate, not the fd itself: closing the last fd of a TUN device
    // deletes it (~16 ms in the kernel), which must not stall the Worker's
    // loop; the session closes its own fd off the JS thread afterwards.
    const fd = check(libc().dup(tun.fd), `Cannot hand TUN ${tun.name} to the data plane`, "dup");
    // The Worker reads the device from now on: its arrivals must not wake this thread too.
    tun.unwatch?.();
    const gate = this.#snapshot(this.#gate);
    this.#sentGate = gate;
    this.#post({
      type: "tun",
      id: this.#id,
      fd,
      framing: this.#gate.framing ?? UNCOMPRESSED,
      gate,
      ...(options.clampMssMtu === undefined ? {} : { clampMssMtu: options.clampMssMtu }),
      ...(options.policy === undefined ? {} : { policy: options.policy }),
    });
    const idle: TunReadControl = { pause() {}, resume() {}, poll() {}, stop() {} };
    return {
      name: tun.name,
      // The Worker reads the device; nothing is pushed on this thread.
      readPush: () => idle,
      writePackets: (packets) => {
        if (packets.length > 0 && !this.#ended) {
          this.#post({ type: "tunWrite", id: this.#id, packets: packets.map((p) => p.slice()) });
        }
        return packets.length;
      },
      // The caller closes the real device once `closed` resolved.
      close: () => {},
      get stats() {
        return tun.stats;
      },
    };
  }

  /** See {@linkcode DataPathOffload.updateSources}. */
  updateSources(source: { assigned: string; routes: string[] }): void {
    this.#post({
      type: "sources",
      id: this.#id,
      source: { ...source, routes: [...source.routes] },
    });
  }

  /** This connection as the session's {@linkcode ByteDuplex}. */
  duplex(info: TransportInfo): ByteDuplex {
    const inner = this.#conn.duplex(info);
    const lane: DirectLane = {
      write: (chunk) => this.#write(chunk),
      takeReads: (onChunk, onEnd) => this.#takeReads(onChunk, onEnd),
    };
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      get readable() {
        if (self.#started) throw new Error("TLS reads were taken over by the data path");
        return inner.readable;
      },
      get writable() {
        return inner.writable;
      },
      close: () => this.close(),
      closed: this.closed,
      localAddr: inner.localAddr,
      remoteAddr: inner.remoteAddr,
      info,
      lane,
    };
  }

  /** Ends the connection: before the hand-over at once, after it through the Worker (idempotent). */
  close(): void {
    if (this.#ended) return;
    if (!this.#started) {
      this.#conn.close();
      this.#finish({});
      return;
    }
    if (this.#closing) return;
    this.#closing = true;
    this.#post({ type: "close", id: this.#id });
    this.#endTimer = setTimeout(() => {
      this.#finish({ error: new Error("Data path did not end within 5 s of its close") });
    }, END_TIMEOUT_MS);
  }

  #write(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#ended) {
      throw this.#endResult?.error ?? new Deno.errors.BrokenPipe("TLS connection closed");
    }
    if (!this.#started) return this.#conn.write(chunk);
    if (chunk.length > 0) this.#post({ type: "write", id: this.#id, bytes: chunk });
    this.#syncGate();
    return undefined;
  }

  #takeReads(
    onChunk: (chunk: Uint8Array) => void,
    onEnd: (error?: Error) => void,
  ): LaneReadControl {
    if (this.#push !== undefined) throw new Error("TLS reads were already taken over");
    this.#push = { onChunk, onEnd };
    const idle: LaneReadControl = { pause() {}, resume() {} };
    if (this.#ended) {
      onEnd(this.#endResult?.error);
      return idle;
    }
    let h;
    try {
      h = this.#conn.handOver();
    } catch (e) {
      this.#conn.close();
      this.#finish({ error: e instanceof Error ? e : new Error(String(e)) });
      return idle;
    }
    if (this.#worker.isClosed) {
      freeSsl(h.ssl);
      closeQuietly(h.fd);
      this.#finish({ error: new Error("Cannot start the data path: its Worker has exited") });
      return idle;
    }
    this.#started = true;
    this.#id = this.#worker.add(this);
    const start: ToWorker = {
      type: "start",
      id: this.#id,
      ssl: h.ssl,
      fd: h.fd,
      received: [...this.#prepended, ...h.received],
      unsent: h.unsent,
      ...(h.ended === undefined
        ? {}
        : { ended: h.ended.error === undefined ? {} : { error: h.ended.error.message } }),
    };
    this.#prepended = [];
    this.#worker.post(start);
    return {
      pause: () => this.#post({ type: "reads", id: this.#id, paused: true }),
      resume: () => this.#post({ type: "reads", id: this.#id, paused: false }),
    };
  }

  #post(message: ToWorker): void {
    if (!this.#started || this.#ended) return;
    this.#worker.post(message);
  }

  /** The Worker is gone (failed or exited) with this session on it. */
  lost(error: Error): void {
    this.#finish({ error });
  }

  /** A message of the Worker for this session. */
  receive(m: FromWorker): void {
    switch (m.type) {
      case "packets":
        this.#push?.onChunk(m.bytes);
        this.#syncGate();
        return;
      case "counters": {
        const c = this.#counters;
        if (c === undefined) return;
        c.rxBytes += m.rxBytes;
        c.rxPackets += m.rxPackets;
        c.txBytes += m.txBytes;
        c.txPackets += m.txPackets;
        c.droppedInbound += m.droppedInbound;
        c.droppedSpoofed = (c.droppedSpoofed ?? 0) + m.droppedSpoofed;
        c.droppedPoliced = (c.droppedPoliced ?? 0) + m.droppedPoliced;
        if (m.rxPackets + m.txPackets > 0) c.lastDataMs = this.#now();
        // Data from the peer: the engine's keepalive sees the link alive.
        if (m.rxPackets > 0) this.#push?.onChunk(EMPTY);
        return;
      }
      case "end": {
        const error = m.error === undefined
          ? undefined
          : Object.assign(new Error(m.error.message), {
            name: m.error.name,
          });
        this.#finish(error === undefined ? {} : { error });
        return;
      }
    }
  }

  #finish(result: { error?: Error }): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endResult = result;
    if (this.#endTimer !== undefined) clearTimeout(this.#endTimer);
    this.#worker.remove(this.#id);
    this.#closedResolve();
    this.#push?.onEnd(result.error);
  }

  #snapshot(gate: OffloadGate): WorkerGate {
    return {
      isIpv4Open: gate.isIpv4Open,
      isIpv6Open: gate.isIpv6Open,
      peerMru: gate.peerMru,
      isBridgeOpen: gate.isBridgeOpen ?? false,
    };
  }

  /** Sends the engine's gate when it changed since the last one sent (after the TUN hand-over). */
  #syncGate(): void {
    const last = this.#sentGate;
    const gate = this.#gate;
    if (last === undefined || gate === undefined || this.#ended) return;
    if (
      last.isIpv4Open === gate.isIpv4Open && last.isIpv6Open === gate.isIpv6Open &&
      last.peerMru === gate.peerMru && last.isBridgeOpen === (gate.isBridgeOpen ?? false)
    ) return;
    const next = this.#snapshot(gate);
    this.#sentGate = next;
    this.#post({ type: "gate", id: this.#id, gate: next });
  }
}

/** Frees an `SSL*` that no Worker took over. */
function freeSsl(ssl: bigint): void {
  const ptr = Deno.UnsafePointer.create(ssl);
  if (ptr !== null) requireOpenSsl().SSL_free(ptr);
}
