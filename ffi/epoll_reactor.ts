/**
 * One readiness loop for many descriptors: a server with thousands of
 * sessions keeps exactly one `nonblocking: true` FFI call pending (each
 * pending call holds a thread of Deno's bounded blocking pool).
 *
 * Flow:
 * 1. `register(fd, cb)` adds `fd` to the epoll set as `EPOLLIN | EPOLLET`
 *    (edge-triggered: one wake-up per arrival, so a consumer that is not
 *    draining yet never turns the loop into a busy spin). The first
 *    registration starts the loop.
 * 2. The loop awaits ONE `epoll_wait` (a `nonblocking: true` call) over every
 *    registered fd plus an eventfd. `epoll_ctl` changes apply to a pending
 *    `epoll_wait`, so registering never needs a wake-up.
 * 3. On return it calls the callbacks of the ready fds synchronously. A
 *    callback must either drain its fd to `EAGAIN` or remember that it is
 *    readable (edge-triggered), and must tolerate spurious calls.
 * 4. When the last fd is unregistered, or on `close()`, the eventfd wakes the
 *    pending `epoll_wait` and the loop ends, leaving no pending op behind.
 *    `close()` calls every remaining callback once so that their owners see
 *    {@linkcode EpollReactor.isClosed} and stop waiting.
 *
 * @module
 */

import type { Logger } from "../lib/log.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import {
  check,
  closeQuietly,
  createEventFd,
  drainEventFd,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_EVENT_DATA_OFFSET,
  EPOLL_EVENT_SIZE,
  EPOLLET,
  EPOLLIN,
  libc,
  signalEventFd,
} from "./libc.ts";

/** Options of {@linkcode EpollReactor}. */
export interface EpollReactorOptions {
  /** Most events taken per `epoll_wait` (default 256). */
  maxEvents?: number;
  /** Where the loop logs start/stop and callback errors. */
  logger?: Logger;
}

/** Consecutive failed `epoll_wait` calls after which the loop gives up. */
const MAX_WAIT_FAILURES = 100;

/** A single `epoll_wait` loop that dispatches readability callbacks. */
export class EpollReactor {
  readonly #epfd: number;
  readonly #wakeFd: number;
  readonly #callbacks = new Map<number, () => void>();
  readonly #events: Uint8Array<ArrayBuffer>;
  readonly #eventsView: DataView;
  readonly #maxEvents: number;
  readonly #ctl = new Uint8Array(EPOLL_EVENT_SIZE);
  readonly #ctlView = new DataView(this.#ctl.buffer);
  readonly #log: Logger;
  #loop: Promise<void> | undefined;
  #isClosed = false;
  #closedResolve!: () => void;
  /** Resolves once the loop has stopped and both descriptors are closed. */
  readonly closed: Promise<void> = new Promise((r) => this.#closedResolve = r);

  /**
   * Creates the epoll instance and its wake-up eventfd.
   *
   * @throws {ErrnoError} when `epoll_create1` or `eventfd` fails.
   */
  constructor(options: EpollReactorOptions = {}) {
    this.#maxEvents = options.maxEvents ?? 256;
    if (!Number.isInteger(this.#maxEvents) || this.#maxEvents < 1) {
      throw new RangeError(`Cannot create epoll reactor: maxEvents ${this.#maxEvents} < 1`);
    }
    this.#log = options.logger ?? NOOP_LOGGER;
    this.#events = new Uint8Array(EPOLL_EVENT_SIZE * this.#maxEvents);
    this.#eventsView = new DataView(this.#events.buffer);
    const action = "Cannot create epoll reactor";
    this.#epfd = check(libc().epoll_create1(EPOLL_CLOEXEC), action, "epoll_create1");
    try {
      this.#wakeFd = createEventFd(action);
      try {
        this.#ctlAdd(this.#wakeFd, EPOLLIN, action);
      } catch (e) {
        closeQuietly(this.#wakeFd);
        throw e;
      }
    } catch (e) {
      closeQuietly(this.#epfd);
      throw e;
    }
  }

  /** True once {@linkcode close} was called. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** The epoll fd and the wake-up eventfd (for diagnostics and leak checks). */
  get fds(): readonly [epollFd: number, eventFd: number] {
    return [this.#epfd, this.#wakeFd];
  }

  /** How many descriptors are registered. */
  get size(): number {
    return this.#callbacks.size;
  }

  /** True while an `epoll_wait` loop is running (one pending FFI call). */
  get isRunning(): boolean {
    return this.#loop !== undefined;
  }

  /**
   * Calls `onReadable` (synchronously, from the loop) whenever `fd` becomes
   * readable. Edge-triggered: see the module documentation. `events` (default
   * `EPOLLIN`) may add `EPOLLOUT` for a socket that waits to write: the same
   * callback then runs on each readable or writable edge.
   *
   * @throws {Error} when the reactor is closed or `fd` is already registered.
   * @throws {ErrnoError} when `epoll_ctl` fails.
   */
  register(fd: number, onReadable: () => void, events: number = EPOLLIN): void {
    const action = `Cannot register fd ${fd} with the epoll reactor`;
    if (this.#isClosed) throw new Error(`${action}: reactor is closed`);
    if (this.#callbacks.has(fd)) throw new Error(`${action}: fd is already registered`);
    this.#ctlAdd(fd, events | EPOLLET, action);
    this.#callbacks.set(fd, onReadable);
    this.#loop ??= this.#run();
  }

  /**
   * Stops watching `fd` (a no-op when it is not registered). Call it before
   * closing `fd`.
   */
  unregister(fd: number): void {
    if (!this.#callbacks.delete(fd)) return;
    // A NULL event pointer is accepted for DEL since Linux 2.6.9; the buffer is
    // passed anyway for older ABIs. Failure (fd already closed) is harmless.
    libc().epoll_ctl(this.#epfd, EPOLL_CTL_DEL, fd, this.#ctl);
    if (this.#callbacks.size === 0 && this.#loop !== undefined) signalEventFd(this.#wakeFd);
  }

  /**
   * Stops the loop, calls each remaining callback once (their owners then see
   * {@linkcode isClosed}) and closes the epoll fd and eventfd once the pending
   * `epoll_wait` has returned. Idempotent; await {@linkcode closed} to know
   * the descriptors are gone.
   */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const callbacks = [...this.#callbacks.values()];
    this.#callbacks.clear();
    for (const cb of callbacks) this.#call(cb);
    if (this.#loop === undefined) this.#release();
    else signalEventFd(this.#wakeFd);
  }

  #ctlAdd(fd: number, events: number, action: string): void {
    this.#ctlView.setUint32(0, events, true);
    this.#ctlView.setBigUint64(EPOLL_EVENT_DATA_OFFSET, BigInt(fd), true);
    check(libc().epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, this.#ctl), action, "epoll_ctl(ADD)");
  }

  #release(): void {
    closeQuietly(this.#wakeFd);
    closeQuietly(this.#epfd);
    this.#closedResolve();
  }

  #call(cb: () => void): void {
    try {
      cb();
    } catch (e) {
      this.#log.error(`epoll reactor: callback threw: ${e instanceof Error ? e.message : e}`);
    }
  }

  async #run(): Promise<void> {
    this.#log.debug(`epoll reactor: loop start (${this.#callbacks.size} fds)`);
    let failures = 0;
    let reason = "no fds registered";
    try {
      while (!this.#isClosed && this.#callbacks.size > 0) {
        const n = await libc().epollWaitAsync(this.#epfd, this.#events, this.#maxEvents, -1);
        if (n < 0) {
          // errno is on the pool thread; EINTR is the only error of a valid call.
          if (++failures >= MAX_WAIT_FAILURES) {
            reason = `epoll_wait failed ${failures} times in a row`;
            this.#log.error(`epoll reactor: ${reason}`);
            break;
          }
          continue;
        }
        failures = 0;
        for (let i = 0; i < n && !this.#isClosed; i++) {
          const fd = Number(
            this.#eventsView.getBigUint64(i * EPOLL_EVENT_SIZE + EPOLL_EVENT_DATA_OFFSET, true),
          );
          if (fd === this.#wakeFd) {
            drainEventFd(this.#wakeFd);
            continue;
          }
          const cb = this.#callbacks.get(fd);
          if (cb !== undefined) this.#call(cb);
        }
      }
      if (this.#isClosed) reason = "closed";
    } finally {
      this.#loop = undefined;
      this.#log.debug(`epoll reactor: loop stop (${reason})`);
      if (this.#isClosed) {
        this.#release();
      } else if (this.#callbacks.size > 0) {
        // Gave up after repeated failures: wake the owners so they can fail.
        this.close();
      }
    }
  }
}
