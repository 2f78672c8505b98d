/**
 * One session's data path inside a data-plane Worker (`data_plane_worker.ts`
 * runs the loop, one `epoll_wait` over every session it serves): the
 * session's TLS connection (an OpenSSL `SSL*` on a non-blocking socket)
 * and, once the link is up, its TUN device.
 *
 * Per wake-up of the session:
 * 1. socket readable: `SSL_read` until WANT_READ; SSTP packets are cut by
 *    {@linkcode SstpFramer}; data frames go through
 *    {@linkcode DataPlane.decapsulate} (gate, MRU, source check, upload
 *    policer, MSS clamp) and IP packets are written to the TUN device;
 *    everything else (SSTP control, LCP, IPCP, IPv6 link control, ...) goes
 *    to the main thread's runner as SSTP packets. Right after writing to the
 *    TUN device the device is read again (the local stack often answered
 *    inside the write: an echo reply, TCP ACKs);
 * 2. socket writable: queued ciphertext-to-be is written;
 * 3. TUN readable: up to {@linkcode TUN_BATCH} packets,
 *    {@linkcode DataPlane.encapsulate} into one buffer, one `SSL_write`.
 *
 * Bounds: output OpenSSL could not take yet waits here; above
 * {@linkcode OUTPUT_HIGH_BYTES} the TUN device is not read (the kernel's
 * queue holds the burst) until it is below {@linkcode OUTPUT_LOW_BYTES}.
 *
 * Ending: the peer closing, a TLS or framing error, or the main thread's
 * `close` ends the session; {@linkcode SessionPath.finish} then frees the
 * `SSL*` and closes the socket and the TUN duplicate, exactly once, and
 * says `end`.
 *
 * @module
 */
import { sslCallError } from "./ssl_call_error.ts";
import {
  closeQuietly,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  libc,
} from "./libc.ts";
import { requireOpenSsl, SSL_ERROR, takeErrors } from "./openssl.ts";
import { SstpFramer } from "../lib/sstp/framer.ts";
import { encodeSstpPacket, type SstpPacket } from "../lib/sstp/packet.ts";
import { DataPlane, type DataPlanePolicy, type LinkFraming } from "../lib/tunnel/data_plane.ts";
import { buildDataPlanePolicy } from "../lib/tunnel/data_plane_policy.ts";
import { isIpv6LinkControl } from "./data_plane_worker_routing.ts";
import type {
  FromWorker,
  ToWorker,
  WorkerCounters,
  WorkerGate,
  WorkerPolicy,
} from "./data_plane_messages.ts";

/** Most TUN packets read per wake-up (one encapsulated buffer, one `SSL_write`). */
const TUN_BATCH = 64;
/** Output waiting for the socket above which the TUN device is not read. */
const OUTPUT_HIGH_BYTES = 1024 * 1024;
/** ... and below which it is read again. */
const OUTPUT_LOW_BYTES = 256 * 1024;
/** How often counters are reported while traffic flows. */
const COUNTERS_EVERY_MS = 500;
/** How long a `close` waits for queued output to leave. */
const CLOSE_FLUSH_MS = 1000;
/** Largest IP packet read from the TUN device (an SSTP packet carries at most 4095 bytes). */
const TUN_READ_MAX = 4096;

/** epoll tags (the low half of `epoll_event.data`; the session id is the high half). */
export const TAG_SOCKET = 1;
/** The session's TUN device. */
export const TAG_TUN = 2;

/** What a session needs of the loop that runs it. */
export interface SessionHost {
  /** `epoll_ctl` for one of the session's fds. */
  ctl(op: number, fd: number, events: number, tag: number, id: number): void;
  /** Sends a message to the main thread. */
  post(message: FromWorker): void;
  /** Buffers shared by every session of the Worker (used within one call only). */
  readonly readBuffer: Uint8Array;
  /** See {@linkcode SessionHost.readBuffer}. */
  readonly tunArena: Uint8Array;
}

/** One session's data path, owned by the Worker's thread. */
export class SessionPath {
  /** The session id its messages carry. */
  readonly id: number;
  readonly #host: SessionHost;
  readonly #ssl: Deno.PointerObject;
  readonly #sock: number;
  readonly #framer = new SstpFramer();
  readonly #gate: WorkerGate = {
    isIpv4Open: false,
    isIpv6Open: false,
    peerMru: 1500,
    isBridgeOpen: false,
  };
  #plane: DataPlane | undefined;
  #policy: DataPlanePolicy = {};
  #tun = -1;
  #isTunPaused = false;
  #isReadPaused = false;
  // Plaintext SSL_write has not taken yet, oldest first.
  readonly #out: Uint8Array[] = [];
  #outBytes = 0;
  #socketEvents = EPOLLIN | EPOLLRDHUP;
  // Collected per wake-up.
  #toMain: Uint8Array[] = [];
  #toMainBytes = 0;
  #tunBatch: Uint8Array[] = [];
  readonly #counters: WorkerCounters = {
    rxBytes: 0,
    rxPackets: 0,
    txBytes: 0,
    txPackets: 0,
    droppedInbound: 0,
    droppedSpoofed: 0,
    droppedPoliced: 0,
  };
  /** True while counters wait to be reported. */
  countersDirty = false;
  #lastCountersMs = 0;
  #ended: { error?: Error } | undefined;
  /** Set by `close`: the time by which queued output must have left. */
  closingUntil = 0;
  #finished = false;

  /**
   * Takes over the connection of `start` and watches its socket.
   *
   * @throws {ErrnoError} when the socket cannot be watched (the caller frees and closes).
   */
  constructor(start: Extract<ToWorker, { type: "start" }>, host: SessionHost) {
    const ptr = Deno.UnsafePointer.create(start.ssl);
    if (ptr === null) throw new Error("Cannot start the data path: NULL SSL*");
    this.id = start.id;
    this.#host = host;
    this.#ssl = ptr;
    this.#sock = start.fd;
    host.ctl(EPOLL_CTL_ADD, this.#sock, this.#socketEvents, TAG_SOCKET, this.id);
    for (const chunk of start.unsent) this.#queueOut(chunk);
    for (const chunk of start.received) this.#frame(chunk);
    if (start.ended !== undefined) {
      this.#end(start.ended.error === undefined ? {} : { error: new Error(start.ended.error) });
    }
    this.#flush();
  }

  /** True once the session must be finished. */
  get isEnded(): boolean {
    return this.#ended !== undefined;
  }

  /** One message of the main thread for this session. */
  handle(m: ToWorker): void {
    switch (m.type) {
      case "write":
        this.#queueOut(m.bytes);
        this.#flush();
        return;
      case "tun":
        this.#adoptTun(m.fd, m.framing as LinkFraming, m.gate, m.clampMssMtu, m.policy);
        return;
      case "tunWrite":
        this.#writeTun(m.packets);
        return;
      case "gate":
        Object.assign(this.#gate, m.gate);
        return;
      case "sources":
        this.#setSources(m.source);
        return;
      case "reads":
        this.#isReadPaused = m.paused;
        this.#setSocketEvents();
        if (!m.paused) this.#readSocket();
        return;
      case "close":
        this.closingUntil = Date.now() + CLOSE_FLUSH_MS;
        return;
    }
  }

  /** The socket's epoll events. */
  onSocket(events: number): void {
    if (this.#isReadPaused && (events & (EPOLLHUP | EPOLLERR)) !== 0) {
      this.#end({ error: new Deno.errors.ConnectionReset("TLS connection: socket hung up") });
    }
    if ((events & EPOLLOUT) !== 0) this.#flush();
    this.#readSocket();
  }

  /** The TUN device is readable. */
  onTun(): void {
    this.#readTun();
  }

  /** After the session's events of one wake-up: report, and end a close whose output left. */
  afterWake(now: number): void {
    this.#sendToMain();
    if (this.closingUntil > 0 && (this.#outBytes === 0 || now > this.closingUntil)) {
      requireOpenSsl().SSL_shutdown(this.#ssl);
      takeErrors();
      this.#end({});
    }
    if (this.countersDirty && (now - this.#lastCountersMs >= COUNTERS_EVERY_MS || this.#ended)) {
      this.#postCounters(now);
    }
  }

  /** Ends the session (the loop finishes it). */
  end(error?: Error): void {
    this.#end(error === undefined ? {} : { error });
  }

  #postCounters(now: number): void {
    this.#host.post({ type: "counters", id: this.id, ...this.#counters });
    for (const k of Object.keys(this.#counters) as (keyof WorkerCounters)[]) this.#counters[k] = 0;
    this.countersDirty = false;
    this.#lastCountersMs = now;
  }

  #adoptTun(
    fd: number,
    framing: LinkFraming,
    gate: WorkerGate,
    clampMssMtu: number | undefined,
    policy: WorkerPolicy | undefined,
  ): void {
    if (this.#tun >= 0 || this.#ended !== undefined) {
      closeQuietly(fd);
      return;
    }
    this.#tun = fd;
    Object.assign(this.#gate, gate);
    const plane = new DataPlane({ gate: this.#gate });
    plane.setFraming(framing);
    if (clampMssMtu !== undefined) plane.clampMssFor(clampMssMtu);
    try {
      if (policy !== undefined) {
        this.#policy = buildDataPlanePolicy(policy);
        plane.setPolicy(this.#policy);
      }
      this.#host.ctl(EPOLL_CTL_ADD, fd, EPOLLIN, TAG_TUN, this.id);
    } catch (e) {
      // No data path without its checks: the session ends.
      this.#end({ error: e instanceof Error ? e : new Error(String(e)) });
      return;
    }
    this.#plane = plane;
    this.#readTun();
  }

  /** A new source check; the upload policer (and its bucket) stays. */
  #setSources(source: NonNullable<WorkerPolicy["source"]>): void {
    const plane = this.#plane;
    if (plane === undefined) return;
    try {
      const { sourceCheck } = buildDataPlanePolicy({ source });
      this.#policy = { ...this.#policy, sourceCheck };
      plane.setPolicy(this.#policy);
    } catch (e) {
      // No data path without its checks: the session ends.
      this.#end({ error: e instanceof Error ? e : new Error(String(e)) });
    }
  }

  #setSocketEvents(): void {
    const events = (this.#isReadPaused ? 0 : EPOLLIN | EPOLLRDHUP) |
      (this.#outBytes > 0 ? EPOLLOUT : 0);
    if (events === this.#socketEvents) return;
    this.#socketEvents = events;
    this.#host.ctl(EPOLL_CTL_MOD, this.#sock, events, TAG_SOCKET, this.id);
  }

  #setTunPaused(paused: boolean): void {
    if (this.#tun < 0 || this.#plane === undefined || paused === this.#isTunPaused) return;
    this.#isTunPaused = paused;
    this.#host.ctl(EPOLL_CTL_MOD, this.#tun, paused ? 0 : EPOLLIN, TAG_TUN, this.id);
  }

  // ---- socket → TUN

  #readSocket(): void {
    const s = requireOpenSsl();
    const buffer = this.#host.readBuffer;
    while (this.#ended === undefined && !this.#isReadPaused) {
      const n = s.SSL_read(this.#ssl, buffer, buffer.length);
      if (n > 0) {
        this.#frame(buffer.subarray(0, n));
        continue;
      }
      const code = s.SSL_get_error(this.#ssl, n);
      if (code === SSL_ERROR.WANT_READ) break;
      if (code === SSL_ERROR.WANT_WRITE) {
        // A TLS 1.3 KeyUpdate answer could not be written: wait for writability.
        if ((this.#socketEvents & EPOLLOUT) === 0) {
          this.#socketEvents |= EPOLLOUT;
          this.#host.ctl(EPOLL_CTL_MOD, this.#sock, this.#socketEvents, TAG_SOCKET, this.id);
        }
        break;
      }
      if (code === SSL_ERROR.ZERO_RETURN) {
        this.#end({});
        break;
      }
      this.#end({ error: sslCallError("Cannot read from TLS connection", "SSL_read", code) });
      break;
    }
  }

  /** Frames plaintext; IP goes to the TUN device before `chunk`'s bytes are reused. */
  #frame(chunk: Uint8Array): void {
    try {
      this.#framer.pushEach(chunk, (p) => this.#onPacket(p));
    } catch (e) {
      // The runner ends the session on any framing error; so does this path.
      this.#end({ error: e instanceof Error ? e : new Error(String(e)) });
    }
    if (this.#tunBatch.length > 0) {
      this.#writeTun(this.#tunBatch);
      this.#tunBatch = [];
      // Read after write: the local stack's answers leave in this wake-up.
      this.#readTun();
    }
  }

  #onPacket(p: SstpPacket): void {
    const plane = this.#plane;
    if (p.kind === "control" || plane === undefined) return this.#forward(encodeSstpPacket(p));
    const r = plane.decapsulate(p.data, Date.now());
    switch (r.kind) {
      case "ip4":
      case "ip6":
        if (r.kind === "ip6" && isIpv6LinkControl(r.packet)) break; // the main thread's IPv6 code
        this.#counters.rxPackets++;
        this.#counters.rxBytes += r.packet.length;
        this.countersDirty = true;
        this.#tunBatch.push(r.packet);
        return;
      case "held":
        return;
      case "drop":
        if (r.reason === "source") this.#counters.droppedSpoofed++;
        else if (r.reason === "policed") this.#counters.droppedPoliced++;
        else this.#counters.droppedInbound++;
        this.countersDirty = true;
        return;
      case "control":
        if (r.frame !== undefined) {
          return this.#forward(encodeSstpPacket({ kind: "data", data: r.frame }));
        }
        break;
      case "eth":
        break;
    }
    this.#forward(encodeSstpPacket(p));
  }

  #forward(packet: Uint8Array): void {
    this.#toMain.push(packet);
    this.#toMainBytes += packet.length;
  }

  #sendToMain(): void {
    if (this.#toMain.length === 0) return;
    const bytes = new Uint8Array(this.#toMainBytes);
    let o = 0;
    for (const p of this.#toMain) {
      bytes.set(p, o);
      o += p.length;
    }
    this.#toMain = [];
    this.#toMainBytes = 0;
    this.#host.post({ type: "packets", id: this.id, bytes });
  }

  #writeTun(packets: readonly Uint8Array[]): void {
    if (this.#tun < 0) return;
    const write = libc().write;
    for (const p of packets) {
      // A full device queue drops the packet, as a NIC would.
      write(this.#tun, p, BigInt(p.length));
    }
  }

  // ---- TUN → socket

  #readTun(): void {
    const plane = this.#plane;
    if (this.#tun < 0 || this.#isTunPaused || plane === undefined || this.#ended) return;
    const read = libc().read;
    const arena = this.#host.tunArena;
    for (let round = 0; round < 4 && !this.#isTunPaused; round++) {
      const packets: Uint8Array[] = [];
      let offset = 0;
      while (packets.length < TUN_BATCH) {
        const room = arena.subarray(offset, offset + TUN_READ_MAX);
        const n = Number(read(this.#tun, room, BigInt(TUN_READ_MAX)));
        if (n <= 0) break; // EAGAIN (drained), or the device is gone (the session ends elsewhere)
        packets.push(room.subarray(0, n));
        offset += n;
      }
      if (packets.length === 0) return;
      const framed = plane.encapsulate(packets);
      if (framed.packets > 0) {
        this.#counters.txPackets += framed.packets;
        this.#counters.txBytes += framed.ipBytes;
        this.countersDirty = true;
        this.#queueOut(framed.bytes);
        this.#flush();
      }
      if (packets.length < TUN_BATCH) return;
    }
  }

  #queueOut(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
  }

  /** Hands queued output to `SSL_write` until it would block. */
  #flush(): void {
    if (this.#ended !== undefined) return;
    const s = requireOpenSsl();
    while (this.#out.length > 0) {
      const chunk = this.#out[0]!;
      const n = s.SSL_write(this.#ssl, chunk, chunk.length);
      if (n > 0) {
        this.#outBytes -= n;
        if (n === chunk.length) this.#out.shift();
        else this.#out[0] = chunk.subarray(n);
        continue;
      }
      const code = s.SSL_get_error(this.#ssl, n);
      if (code === SSL_ERROR.WANT_WRITE || code === SSL_ERROR.WANT_READ) break;
      this.#end({ error: sslCallError("Cannot write to TLS connection", "SSL_write", code) });
      return;
    }
    this.#setSocketEvents();
    if (this.#outBytes > OUTPUT_HIGH_BYTES) this.#setTunPaused(true);
    else if (this.#outBytes < OUTPUT_LOW_BYTES) this.#setTunPaused(false);
  }

  #end(result: { error?: Error }): void {
    this.#ended ??= result;
  }

  /** Frees and closes what this session owns, exactly once, and says so. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#ended ??= {};
    this.#sendToMain();
    if (this.countersDirty) this.#postCounters(Date.now());
    // Closing an fd takes it out of the epoll set; DEL first keeps the set exact
    // when another descriptor still refers to the same file.
    this.#unwatch(this.#sock);
    requireOpenSsl().SSL_free(this.#ssl);
    takeErrors();
    closeQuietly(this.#sock);
    if (this.#tun >= 0) {
      if (this.#plane !== undefined) this.#unwatch(this.#tun);
      closeQuietly(this.#tun);
    }
    const error = this.#ended.error;
    this.#host.post({
      type: "end",
      id: this.id,
      ...(error === undefined ? {} : { error: { name: error.name, message: error.message } }),
    });
  }

  #unwatch(fd: number): void {
    try {
      this.#host.ctl(EPOLL_CTL_DEL, fd, 0, 0, this.id);
    } catch { /* not watched */ }
  }
}
