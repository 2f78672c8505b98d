/**
 * The data-plane Worker (`tls-engine: openssl-worker`): one thread that owns
 * the session's TLS connection (an OpenSSL `SSL*` on a non-blocking socket)
 * and, once the link is up, the TUN device, and blocks in ONE synchronous
 * `epoll_wait` over both (plus an eventfd for the main thread's messages).
 * This is the OpenVPN/ocserv shape: each hop costs one wake-up of one
 * thread, and each wake-up drains what is ready (batches).
 *
 * Flow of one wake-up:
 * 1. eventfd: take the main thread's messages (control packets to write, the
 *    TUN device, gate changes, close);
 * 2. socket readable: `SSL_read` until WANT_READ; SSTP packets are cut by
 *    {@linkcode SstpFramer}; data frames go through
 *    {@linkcode DataPlane.decapsulate} and IP packets are written to the TUN
 *    device; everything else (SSTP control, LCP, IPCP, ...) goes to the main
 *    thread's runner as SSTP packets. Right after writing to the TUN device
 *    the device is read again (the local stack often answered inside the
 *    write: an echo reply, TCP ACKs);
 * 3. socket writable: queued ciphertext-to-be is written;
 * 4. TUN readable: up to {@linkcode TUN_BATCH} packets,
 *    {@linkcode DataPlane.encapsulate} into one buffer, one `SSL_write`.
 *
 * Bounds: output OpenSSL could not take yet waits here; above
 * {@linkcode OUTPUT_HIGH_BYTES} the TUN device is not read (the kernel's
 * queue holds the burst) until it is below {@linkcode OUTPUT_LOW_BYTES}.
 *
 * Ending: the peer closing, a TLS or framing error, or the main thread's
 * `close` ends the loop; the Worker then frees the `SSL*` and closes the
 * socket, the TUN duplicate and its epoll fd, exactly once, and says `end`.
 *
 * @module
 */
import {
  closeQuietly,
  drainEventFd,
  EINTR,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_DATA_OFFSET,
  EPOLL_EVENT_SIZE,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  errno,
  ErrnoError,
  libc,
} from "./libc.ts";
import { OpenSslError, requireOpenSsl, SSL_ERROR, takeErrors } from "./openssl.ts";
import { SstpFramer } from "../lib/sstp/framer.ts";
import { encodeSstpPacket, type SstpPacket } from "../lib/sstp/packet.ts";
import { DataPlane, type LinkFraming } from "../lib/tunnel/data_plane.ts";
import { isIpv6LinkControl } from "./data_plane_worker_routing.ts";
import type { FromWorker, ToWorker, WorkerGate } from "./data_plane_messages.ts";

/** Most TUN packets read per wake-up (one encapsulated buffer, one `SSL_write`). */
const TUN_BATCH = 64;
/** Output waiting for the socket above which the TUN device is not read. */
const OUTPUT_HIGH_BYTES = 1024 * 1024;
/** ... and below which it is read again. */
const OUTPUT_LOW_BYTES = 256 * 1024;
/** `epoll_wait` timeout while counters wait to be sent or a close flushes (else it sleeps until woken). */
const WAIT_MS = 500;
/** How long a `close` waits for queued output to leave. */
const CLOSE_FLUSH_MS = 1000;
/** epoll tags. */
const TAG_SOCKET = 1;
const TAG_TUN = 2;
const TAG_WAKE = 3;
/** Largest IP packet read from the TUN device (an SSTP packet carries at most 4095 bytes). */
const TUN_READ_MAX = 4096;

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
};

/** One session's data path, owned by this Worker's thread. */
class DataPlaneLoop {
  readonly #ssl: Deno.PointerObject;
  readonly #sock: number;
  readonly #wakeFd: number;
  readonly #posted: Int32Array;
  readonly #epfd: number;
  readonly #inbox: ToWorker[];
  #inboxWaiter: (() => void) | undefined;
  #handled = 0;
  readonly #framer = new SstpFramer();
  readonly #gate: WorkerGate = {
    isIpv4Open: false,
    isIpv6Open: false,
    peerMru: 1500,
    isBridgeOpen: false,
  };
  #plane: DataPlane | undefined;
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
  readonly #readBuffer = new Uint8Array(64 * 1024);
  readonly #tunArena = new Uint8Array(TUN_BATCH * TUN_READ_MAX);
  readonly #events = new Uint8Array(EPOLL_EVENT_SIZE * 8);
  readonly #eventsView = new DataView(this.#events.buffer);
  readonly #ctlEvent = new Uint8Array(EPOLL_EVENT_SIZE);
  readonly #counters = { rxBytes: 0, rxPackets: 0, txBytes: 0, txPackets: 0, droppedInbound: 0 };
  #countersDirty = false;
  #lastCountersMs = 0;
  #ended: { error?: Error } | undefined;
  #closingUntil = 0;

  constructor(start: Extract<ToWorker, { type: "start" }>, inbox: ToWorker[]) {
    const ptr = Deno.UnsafePointer.create(start.ssl);
    if (ptr === null) throw new Error("Cannot start the data-plane worker: NULL SSL*");
    this.#ssl = ptr;
    this.#sock = start.fd;
    this.#wakeFd = start.wakeFd;
    this.#posted = new Int32Array(start.posted);
    this.#inbox = inbox;
    const epfd = libc().epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
      throw new ErrnoError("Cannot start the data-plane worker", "epoll_create1", errno());
    }
    this.#epfd = epfd;
    this.#ctl(EPOLL_CTL_ADD, this.#sock, this.#socketEvents, TAG_SOCKET);
    this.#ctl(EPOLL_CTL_ADD, this.#wakeFd, EPOLLIN, TAG_WAKE);
    for (const chunk of start.unsent) this.#queueOut(chunk);
    for (const chunk of start.received) this.#frame(chunk);
    if (start.ended !== undefined) {
      this.#end(start.ended.error === undefined ? {} : { error: new Error(start.ended.error) });
    }
  }

  /** A message arrived (the loop takes it when the eventfd wakes it). */
  notify(): void {
    const w = this.#inboxWaiter;
    this.#inboxWaiter = undefined;
    w?.();
  }

  async run(): Promise<void> {
    try {
      this.#flush();
      this.#sendToMain();
      while (this.#ended === undefined) {
        // Idle, nothing to report: sleep until something happens.
        const timeout = this.#countersDirty || this.#closingUntil > 0 ? WAIT_MS : -1;
        const n = libc().epoll_wait(this.#epfd, this.#events, 8, timeout);
        if (n < 0) {
          const e = errno();
          if (e === EINTR) continue;
          throw new ErrnoError("Cannot wait in the data-plane worker", "epoll_wait", e);
        }
        let socket = 0;
        let tun = false;
        let wake = false;
        for (let i = 0; i < n; i++) {
          const base = i * EPOLL_EVENT_SIZE;
          const events = this.#eventsView.getUint32(base, true);
          const tag = this.#eventsView.getUint32(base + EPOLL_EVENT_DATA_OFFSET, true);
          if (tag === TAG_SOCKET) socket = events;
          else if (tag === TAG_TUN) tun = true;
          else if (tag === TAG_WAKE) wake = true;
        }
        if (wake) await this.#takeMessages();
        if (socket !== 0) {
          if (this.#isReadPaused && (socket & (EPOLLHUP | EPOLLERR)) !== 0) {
            this.#end({ error: new Deno.errors.ConnectionReset("TLS connection: socket hung up") });
          }
          if ((socket & EPOLLOUT) !== 0) this.#flush();
          this.#readSocket();
        }
        if (tun) this.#readTun();
        this.#afterWake();
      }
    } catch (e) {
      this.#end({ error: e instanceof Error ? e : new Error(String(e)) });
    }
    this.#finish();
  }

  #afterWake(): void {
    this.#sendToMain();
    if (this.#closingUntil > 0 && (this.#outBytes === 0 || Date.now() > this.#closingUntil)) {
      requireOpenSsl().SSL_shutdown(this.#ssl);
      takeErrors();
      this.#end({});
    }
    const now = Date.now();
    if (this.#countersDirty && (now - this.#lastCountersMs >= WAIT_MS || this.#ended)) {
      this.#postCounters(now);
    }
  }

  #postCounters(now: number): void {
    scope.postMessage({ type: "counters", ...this.#counters });
    this.#counters.rxBytes = this.#counters.rxPackets = 0;
    this.#counters.txBytes = this.#counters.txPackets = 0;
    this.#counters.droppedInbound = 0;
    this.#countersDirty = false;
    this.#lastCountersMs = now;
  }

  async #takeMessages(): Promise<void> {
    drainEventFd(this.#wakeFd);
    while (this.#handled < Atomics.load(this.#posted, 0)) {
      const m = this.#inbox.shift();
      if (m === undefined) {
        await new Promise<void>((resolve) => (this.#inboxWaiter = resolve));
        continue;
      }
      this.#handled++;
      this.#handle(m);
    }
  }

  #handle(m: ToWorker): void {
    switch (m.type) {
      case "write":
        this.#queueOut(m.bytes);
        this.#flush();
        return;
      case "tun":
        this.#adoptTun(m.fd, m.framing as LinkFraming, m.gate, m.clampMssMtu);
        return;
      case "tunWrite":
        this.#writeTun(m.packets);
        return;
      case "gate":
        Object.assign(this.#gate, m.gate);
        return;
      case "reads":
        this.#isReadPaused = m.paused;
        this.#setSocketEvents();
        if (!m.paused) this.#readSocket();
        return;
      case "close":
        this.#closingUntil = Date.now() + CLOSE_FLUSH_MS;
        return;
      case "start":
        return;
    }
  }

  #adoptTun(fd: number, framing: LinkFraming, gate: WorkerGate, clampMssMtu?: number): void {
    if (this.#tun >= 0) {
      closeQuietly(fd);
      return;
    }
    this.#tun = fd;
    Object.assign(this.#gate, gate);
    const plane = new DataPlane({ gate: this.#gate });
    plane.setFraming(framing);
    if (clampMssMtu !== undefined) plane.clampMssFor(clampMssMtu);
    this.#plane = plane;
    this.#ctl(EPOLL_CTL_ADD, fd, EPOLLIN, TAG_TUN);
    this.#readTun();
  }

  #ctl(op: number, fd: number, events: number, tag: number): void {
    const v = new DataView(this.#ctlEvent.buffer);
    v.setUint32(0, events >>> 0, true);
    v.setUint32(EPOLL_EVENT_DATA_OFFSET, tag, true);
    v.setUint32(EPOLL_EVENT_DATA_OFFSET + 4, 0, true);
    if (libc().epoll_ctl(this.#epfd, op, fd, this.#ctlEvent) < 0) {
      throw new ErrnoError(
        "Cannot watch a descriptor in the data-plane worker",
        "epoll_ctl",
        errno(),
      );
    }
  }

  #setSocketEvents(): void {
    const events = (this.#isReadPaused ? 0 : EPOLLIN | EPOLLRDHUP) |
      (this.#outBytes > 0 ? EPOLLOUT : 0);
    if (events === this.#socketEvents) return;
    this.#socketEvents = events;
    this.#ctl(EPOLL_CTL_MOD, this.#sock, events, TAG_SOCKET);
  }

  #setTunPaused(paused: boolean): void {
    if (this.#tun < 0 || paused === this.#isTunPaused) return;
    this.#isTunPaused = paused;
    this.#ctl(EPOLL_CTL_MOD, this.#tun, paused ? 0 : EPOLLIN, TAG_TUN);
  }

  // ---- socket → TUN

  #readSocket(): void {
    const s = requireOpenSsl();
    while (this.#ended === undefined && !this.#isReadPaused) {
      const n = s.SSL_read(this.#ssl, this.#readBuffer, this.#readBuffer.length);
      if (n > 0) {
        this.#frame(this.#readBuffer.subarray(0, n));
        continue;
      }
      const code = s.SSL_get_error(this.#ssl, n);
      if (code === SSL_ERROR.WANT_READ) break;
      if (code === SSL_ERROR.WANT_WRITE) {
        // A TLS 1.3 KeyUpdate answer could not be written: wait for writability.
        if ((this.#socketEvents & EPOLLOUT) === 0) {
          this.#socketEvents |= EPOLLOUT;
          this.#ctl(EPOLL_CTL_MOD, this.#sock, this.#socketEvents, TAG_SOCKET);
        }
        break;
      }
      if (code === SSL_ERROR.ZERO_RETURN) {
        this.#end({});
        break;
      }
      this.#end({ error: this.#sslError("Cannot read from TLS connection", "SSL_read", code) });
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
        this.#countersDirty = true;
        this.#tunBatch.push(r.packet);
        return;
      case "held":
        return;
      case "drop":
        this.#counters.droppedInbound++;
        this.#countersDirty = true;
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
    scope.postMessage({ type: "packets", bytes });
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
    for (let round = 0; round < 4 && !this.#isTunPaused; round++) {
      const packets: Uint8Array[] = [];
      let offset = 0;
      while (packets.length < TUN_BATCH) {
        const room = this.#tunArena.subarray(offset, offset + TUN_READ_MAX);
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
        this.#countersDirty = true;
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
      this.#end({ error: this.#sslError("Cannot write to TLS connection", "SSL_write", code) });
      return;
    }
    this.#setSocketEvents();
    if (this.#outBytes > OUTPUT_HIGH_BYTES) this.#setTunPaused(true);
    else if (this.#outBytes < OUTPUT_LOW_BYTES) this.#setTunPaused(false);
  }

  #sslError(action: string, call: string, code: number): Error {
    if (code === SSL_ERROR.SYSCALL) {
      const codes = takeErrors();
      const e = errno();
      if (codes.length === 0) {
        return e === 0
          ? new Deno.errors.ConnectionReset(`${action}: peer closed the connection`)
          : new ErrnoError(action, call, e);
      }
      return new OpenSslError(action, call, code, codes);
    }
    return new OpenSslError(action, call, code);
  }

  #end(result: { error?: Error }): void {
    this.#ended ??= result;
  }

  /** Frees and closes what this thread owns, exactly once, and says so. */
  #finish(): void {
    this.#sendToMain();
    if (this.#countersDirty) this.#postCounters(Date.now());
    requireOpenSsl().SSL_free(this.#ssl);
    takeErrors();
    closeQuietly(this.#sock);
    if (this.#tun >= 0) closeQuietly(this.#tun);
    closeQuietly(this.#epfd);
    const error = this.#ended?.error;
    scope.postMessage({
      type: "end",
      ...(error === undefined ? {} : { error: { name: error.name, message: error.message } }),
    });
  }
}

const inbox: ToWorker[] = [];
let loop: DataPlaneLoop | undefined;
scope.onmessage = (e) => {
  const m = e.data;
  if (loop === undefined) {
    if (m.type !== "start") return;
    try {
      loop = new DataPlaneLoop(m, inbox);
    } catch (error) {
      // Nothing was taken over: the SSL* and the socket are still to be released.
      const s = requireOpenSsl();
      const ptr = Deno.UnsafePointer.create(m.ssl);
      if (ptr !== null) s.SSL_free(ptr);
      closeQuietly(m.fd);
      const err = error instanceof Error ? error : new Error(String(error));
      scope.postMessage({ type: "end", error: { name: err.name, message: err.message } });
      return;
    }
    void loop.run();
    return;
  }
  inbox.push(m);
  loop.notify();
};
