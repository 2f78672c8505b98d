/**
 * The data-plane Worker (`tls-engine: openssl-worker`): one thread that
 * owns the TLS connections (OpenSSL `SSL*` on non-blocking sockets) of the
 * sessions handed to it and, once their links are up, their TUN devices,
 * and blocks in ONE synchronous `epoll_wait` over all of them (plus an
 * eventfd for the main thread's messages). This is the OpenVPN/ocserv
 * shape: each hop costs one wake-up of one thread, and each wake-up drains
 * what is ready (batches). The client hands it its one session; the server
 * a share of its sessions (a fixed pool of Workers, `worker_data_path.ts`).
 *
 * Flow of one wake-up:
 * 1. eventfd: take the main thread's messages (session start, control
 *    packets to write, the TUN device, gate changes, close);
 * 2. each ready socket or TUN device: its session's path moves the packets
 *    (`data_plane_session.ts`);
 * 3. each session touched: what goes to the main thread is sent, counters
 *    at most every 500 ms; an ended session is finished (its `SSL*` freed,
 *    its fds closed) and said `end` of.
 *
 * @module
 */
import {
  closeQuietly,
  drainEventFd,
  EINTR,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_DATA_OFFSET,
  EPOLL_EVENT_SIZE,
  EPOLLIN,
  errno,
  ErrnoError,
  libc,
} from "./libc.ts";
import { requireOpenSsl } from "./openssl.ts";
import type { FromWorker, ToWorker } from "./data_plane_messages.ts";
import { type SessionHost, SessionPath, TAG_SOCKET, TAG_TUN } from "./data_plane_session.ts";

/** How often sessions with counters or a close pending are looked at (ms). */
const TIMED_SCAN_MS = 100;
/** Most events taken per `epoll_wait`. */
const MAX_EVENTS = 256;
/** The eventfd's tag (session ids start at 1). */
const TAG_WAKE = 3;
/** Largest IP packet read from a TUN device, times the batch. */
const TUN_ARENA_BYTES = 64 * 4096;

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
};

/** The Worker's loop: one epoll set over every session's fds. */
class WorkerLoop implements SessionHost {
  readonly #wakeFd: number;
  readonly #posted: Int32Array;
  readonly #epfd: number;
  readonly #inbox: ToWorker[] = [];
  #inboxWaiter: (() => void) | undefined;
  #handled = 0;
  #exiting = false;
  readonly #sessions = new Map<number, SessionPath>();
  /** Sessions with events or messages in this wake-up. */
  readonly #touched = new Set<SessionPath>();
  /** Sessions with counters to report or a close flushing: looked at every {@linkcode TIMED_SCAN_MS}. */
  readonly #timed = new Set<SessionPath>();
  #nextTimedScanMs = 0;
  readonly readBuffer = new Uint8Array(64 * 1024);
  readonly tunArena = new Uint8Array(TUN_ARENA_BYTES);
  readonly #events = new Uint8Array(EPOLL_EVENT_SIZE * MAX_EVENTS);
  readonly #eventsView = new DataView(this.#events.buffer);
  readonly #ctlEvent = new Uint8Array(EPOLL_EVENT_SIZE);
  readonly #ctlView = new DataView(this.#ctlEvent.buffer);

  constructor(init: Extract<ToWorker, { type: "init" }>) {
    this.#wakeFd = init.wakeFd;
    this.#posted = new Int32Array(init.posted);
    const epfd = libc().epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
      throw new ErrnoError("Cannot start the data-plane worker", "epoll_create1", errno());
    }
    this.#epfd = epfd;
    this.ctl(EPOLL_CTL_ADD, this.#wakeFd, EPOLLIN, TAG_WAKE, 0);
  }

  /** A message arrived (the loop takes it when the eventfd wakes it). */
  receive(m: ToWorker): void {
    this.#inbox.push(m);
    const w = this.#inboxWaiter;
    this.#inboxWaiter = undefined;
    w?.();
  }

  ctl(op: number, fd: number, events: number, tag: number, id: number): void {
    this.#ctlView.setUint32(0, events >>> 0, true);
    this.#ctlView.setUint32(EPOLL_EVENT_DATA_OFFSET, tag, true);
    this.#ctlView.setUint32(EPOLL_EVENT_DATA_OFFSET + 4, id, true);
    if (libc().epoll_ctl(this.#epfd, op, fd, this.#ctlEvent) < 0) {
      throw new ErrnoError(
        "Cannot watch a descriptor in the data-plane worker",
        "epoll_ctl",
        errno(),
      );
    }
  }

  post(message: FromWorker): void {
    scope.postMessage(message);
  }

  async run(): Promise<void> {
    while (!this.#exiting) {
      // Idle, nothing to report: sleep until something happens.
      const n = libc().epoll_wait(this.#epfd, this.#events, MAX_EVENTS, this.#timeout());
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        // The loop cannot go on: every session ends with the reason.
        const error = new ErrnoError("Cannot wait in the data-plane worker", "epoll_wait", e);
        for (const s of this.#sessions.values()) s.end(error);
        break;
      }
      // Messages first: what the main thread did before the peer's bytes
      // arrived (the TUN device handed over, the gate opened) applies to them.
      for (let i = 0; i < n; i++) {
        const tag = this.#eventsView.getUint32(
          i * EPOLL_EVENT_SIZE + EPOLL_EVENT_DATA_OFFSET,
          true,
        );
        if (tag === TAG_WAKE) {
          await this.#takeMessages();
          break;
        }
      }
      for (let i = 0; i < n; i++) {
        const base = i * EPOLL_EVENT_SIZE;
        const events = this.#eventsView.getUint32(base, true);
        const tag = this.#eventsView.getUint32(base + EPOLL_EVENT_DATA_OFFSET, true);
        const id = this.#eventsView.getUint32(base + EPOLL_EVENT_DATA_OFFSET + 4, true);
        if (tag === TAG_WAKE) continue;
        const s = this.#sessions.get(id);
        if (s === undefined || s.isEnded) continue;
        this.#touched.add(s);
        this.#guard(
          s,
          () => tag === TAG_SOCKET ? s.onSocket(events) : tag === TAG_TUN && s.onTun(),
        );
      }
      this.#afterWake();
    }
    for (const s of this.#sessions.values()) s.finish();
    this.#sessions.clear();
    closeQuietly(this.#epfd);
    this.post({ type: "exited" });
  }

  /** -1 (sleep until woken) unless counters wait to be sent or a close is flushing. */
  #timeout(): number {
    return this.#timed.size > 0 ? TIMED_SCAN_MS : -1;
  }

  /**
   * The sessions this wake-up touched, and every {@linkcode TIMED_SCAN_MS}
   * those with counters or a close pending: a wake-up costs what it
   * touched, not a walk over every session.
   */
  #afterWake(): void {
    const now = Date.now();
    if (now >= this.#nextTimedScanMs) {
      for (const s of this.#timed) this.#touched.add(s);
      this.#nextTimedScanMs = now + TIMED_SCAN_MS;
    }
    for (const s of this.#touched) {
      this.#guard(s, () => s.afterWake(now));
      if (s.isEnded) {
        this.#sessions.delete(s.id);
        this.#timed.delete(s);
        s.finish();
      } else if (s.countersDirty || s.closingUntil > 0) {
        this.#timed.add(s);
      } else {
        this.#timed.delete(s);
      }
    }
    this.#touched.clear();
  }

  /** Runs `step` of `s`; an exception ends that session only. */
  #guard(s: SessionPath, step: () => unknown): void {
    try {
      step();
    } catch (e) {
      s.end(e instanceof Error ? e : new Error(String(e)));
    }
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
    if (m.type === "init") return;
    if (m.type === "exit") {
      this.#exiting = true;
      return;
    }
    if (m.type === "start") return this.#start(m);
    const s = this.#sessions.get(m.id);
    if (s === undefined) {
      // A TUN duplicate for a session that already ended is still ours to close.
      if (m.type === "tun") closeQuietly(m.fd);
      return;
    }
    this.#touched.add(s);
    this.#guard(s, () => s.handle(m));
  }

  #start(m: Extract<ToWorker, { type: "start" }>): void {
    let s: SessionPath;
    try {
      s = new SessionPath(m, this);
    } catch (error) {
      // Nothing was taken over: the SSL* and the socket are still to be released.
      const ptr = Deno.UnsafePointer.create(m.ssl);
      if (ptr !== null) requireOpenSsl().SSL_free(ptr);
      closeQuietly(m.fd);
      const err = error instanceof Error ? error : new Error(String(error));
      this.post({ type: "end", id: m.id, error: { name: err.name, message: err.message } });
      return;
    }
    this.#sessions.set(s.id, s);
    this.#touched.add(s);
  }
}

let loop: WorkerLoop | undefined;
scope.onmessage = (e) => {
  const m = e.data;
  if (loop !== undefined) return loop.receive(m);
  if (m.type !== "init") return;
  loop = new WorkerLoop(m);
  void loop.run();
};
