/**
 * {@linkcode TunDevice} for Linux: `/dev/net/tun` opened `O_NONBLOCK`,
 * `IFF_TUN | IFF_NO_PI`, driven through FFI. Deno cannot register an
 * FFI-opened fd with its event loop, so readiness comes from an FFI `poll()`
 * or a shared `epoll_wait`, and each wake-up drains the fd.
 *
 * Read path (outbound traffic, kernel → us):
 * 1. `readBatch()` (and `readable.pull`, which uses it) first drains the fd
 *    with synchronous `read()` calls into one preallocated 64 KiB buffer until
 *    `EAGAIN` or `maxBatch` packets; each packet is copied out with `slice`
 *    (the only copy on this path).
 * 2. If nothing was queued it waits for readability ONCE, then drains again:
 *    - alone: one `nonblocking: true` `poll()` on the TUN fd plus an eventfd
 *      (one blocking-pool thread per device);
 *    - with a shared {@linkcode EpollReactor}: no FFI call of its own, the
 *      reactor's single `epoll_wait` resolves the wait.
 * 3. Push mode (`readPush`, what the data path uses): the same drain runs
 *    inside the wake-up and hands each batch to a callback, so a device has
 *    no pending promise or suspended reader; with the reactor the drain goes
 *    on to EAGAIN (edge-triggered) unless the consumer pauses, and `resume()`
 *    drains what queued meanwhile; `poll()` drains once, synchronously
 *    (what the local stack answered inside a write).
 * 4. Outside the {@linkcode TunDevice} seam (tools and this file's tests):
 *    `readable` enqueues each packet of the batch; backpressure is the
 *    stream's high-water mark (pull is not called while the queue is full, so
 *    the kernel queue, `txqueuelen`, absorbs bursts and then drops).
 *
 * Write path (inbound traffic, us → kernel):
 * 1. `writePackets()` issues one synchronous `write()` per packet;
 *    `EAGAIN` (or any other error) counts a drop and goes on, as a NIC would.
 * 2. `writable` wraps it per chunk.
 *
 * Closing: `close()` is idempotent. It wakes a pending `poll()` through the
 * eventfd and closes both fds once that call has returned (closing an fd
 * another thread is polling is not a reliable wake-up, and a recycled fd
 * number could keep the poll asleep forever); `closed` resolves then. The TUN
 * fd is closed off the JS thread: deleting the interface costs ~16 ms. Any fd
 * opened during a failed `openLinuxTun` is closed before it throws.
 *
 * @module
 */

import type { TunDevice, TunReadControl, TunStats } from "../lib/tun.ts";
import type { Logger } from "../lib/log.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import type { EpollReactor } from "./epoll_reactor.ts";
import { decodeIfreqName, encodeIfreq, IFF_NO_PI, IFF_TAP, IFF_TUN, TUNSETIFF } from "./ifreq.ts";
import {
  check,
  closeQuietly,
  createEventFd,
  cString,
  drainEventFd,
  EAGAIN,
  EINTR,
  errno,
  ErrnoError,
  errnoName,
  libc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLFD_SIZE,
  POLLIN,
  signalEventFd,
} from "./libc.ts";
import { checkNetdevSettings, configureNetdev, readNetdev } from "./netdev.ts";

/** Options of {@linkcode openLinuxTun}. */
export interface LinuxTunOptions {
  /** Interface name (at most 15 bytes); a `%d` template lets the kernel number it. */
  name: string;
  /** MTU to set (68..65535); left at the kernel default (1500) when absent. */
  mtu?: number;
  /**
   * Transmit queue length (kernel default 500); about 5000 keeps event-loop
   * stalls from overflowing the queue and dropping packets.
   */
  txQueueLen?: number;
  /** Bring the link up (IFF_UP) right away. */
  up?: boolean;
  /** Share this reactor's `epoll_wait` instead of a `poll()` per device. */
  reactor?: EpollReactor;
  /** Most packets returned by one drain (default 1024), to bound event-loop stalls. */
  maxBatch?: number;
  /** Logger for drops and errors. */
  logger?: Logger;
  /**
   * `"tap"`: a layer-2 device (`IFF_TAP | IFF_NO_PI`) carrying whole Ethernet
   * frames (destination MAC onwards, no FCS), e.g. a bridge port for BCP.
   * Default `"tun"`: raw IP packets.
   */
  mode?: "tun" | "tap";
}

/** Largest packet a TUN device can carry (its MTU limit is 65535). */
const READ_BUFFER_SIZE = 65536;
const READ_BUFFER_SIZE_BIG = BigInt(READ_BUFFER_SIZE);
/**
 * One read buffer for every device: reads are synchronous and each packet is
 * copied out before the next read, so a server with thousands of TUN devices
 * does not keep 64 KiB per device.
 */
const SHARED_READ_BUFFER = new Uint8Array(READ_BUFFER_SIZE);
/** Consecutive failed `poll()` calls (EINTR) after which a read gives up. */
const MAX_POLL_FAILURES = 100;

/** Path of the TUN clone device. */
export const TUN_CLONE_DEVICE = "/dev/net/tun";

/** A Linux TUN device; create it with {@linkcode openLinuxTun}. */
export class LinuxTun implements TunDevice {
  /** The name the kernel gave the device. */
  readonly name: string;
  /** The device MTU, read back from the kernel after configuration. */
  readonly mtu: number;
  /** The TUN file descriptor (for diagnostics and leak checks). */
  readonly fd: number;
  /** The wake-up eventfd, or -1 with a shared reactor (for diagnostics and leak checks). */
  readonly eventFd: number;
  /** Packet counters: rx = read from the device, tx = written to it. */
  readonly stats: TunStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
  /** Resolves once every descriptor of the device is closed. */
  readonly closed: Promise<void>;

  readonly #wakeFd: number;
  readonly #reactor: EpollReactor | undefined;
  readonly #log: Logger;
  readonly #maxBatch: number;
  readonly #pollFds = new Uint8Array(2 * POLLFD_SIZE);
  readonly #pollView = new DataView(this.#pollFds.buffer);
  #isClosed = false;
  #isReadCancelled = false;
  #isReading = false;
  #pendingPoll: Promise<number> | undefined;
  #waiter: (() => void) | undefined;
  #push: PushReader | undefined;
  #closedResolve!: () => void;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** @internal Use {@linkcode openLinuxTun}. */
  constructor(
    fd: number,
    wakeFd: number,
    name: string,
    mtu: number,
    options: LinuxTunOptions,
  ) {
    this.fd = fd;
    this.eventFd = wakeFd;
    this.#wakeFd = wakeFd;
    this.name = name;
    this.mtu = mtu;
    this.#reactor = options.reactor;
    this.#log = options.logger ?? NOOP_LOGGER;
    this.#maxBatch = options.maxBatch ?? 1024;
    this.closed = new Promise((r) => this.#closedResolve = r);
    const v = this.#pollView;
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
    v.setInt32(POLLFD_SIZE, wakeFd, true);
    v.setInt16(POLLFD_SIZE + 4, POLLIN, true);
    this.#reactor?.register(fd, () => this.#wake());
  }

  /**
   * Stops watching the device in the shared reactor: another thread reads
   * it now (a data-plane Worker with a duplicate of the fd), and every
   * packet the kernel queued would otherwise also wake this thread for
   * nothing. Reads on this object then wait in `poll()` as without a reactor.
   */
  unwatch(): void {
    this.#reactor?.unregister(this.fd);
  }

  /** True once {@linkcode close} was called. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /**
   * IP packets read from the device, one per chunk. Cancelling it stops the
   * reads (a pending wait ends) but leaves the device open for writing.
   */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const batch = await this.readBatch();
        if (this.#isReadCancelled) return;
        if (batch.length === 0) {
          controller.close();
          return;
        }
        for (const p of batch) controller.enqueue(p);
      },
      cancel: async () => {
        this.#isReadCancelled = true;
        this.#interruptWait();
        await this.#pendingPoll;
      },
    }, { highWaterMark: 0 });
  }

  /** IP packets to write, one per chunk (see {@linkcode writePackets}). */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: (packet) => {
        if (this.#isClosed) {
          throw new Error(`Cannot write to TUN device "${this.name}": device is closed`);
        }
        this.writePackets([packet]);
      },
    });
  }

  /**
   * Drains the packets queued right now with synchronous reads (possibly
   * none). Never waits.
   *
   * @throws {ErrnoError} on a read error other than EAGAIN/EINTR.
   */
  readAvailable(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#isClosed || this.#isReadCancelled) return out;
    const { read } = libc();
    const buf = SHARED_READ_BUFFER;
    const fd = this.fd;
    const stats = this.stats;
    while (out.length < this.#maxBatch) {
      const n = Number(read(fd, buf, READ_BUFFER_SIZE_BIG));
      if (n > 0) {
        out.push(buf.slice(0, n));
        stats.rxPackets++;
        stats.rxBytes += n;
        continue;
      }
      if (n === 0) break;
      const e = errno();
      if (e === EAGAIN) break;
      if (e === EINTR) continue;
      throw new ErrnoError(`Cannot read from TUN device "${this.name}"`, "read", e);
    }
    return out;
  }

  /**
   * Waits until at least one packet is queued, then drains up to `maxBatch`
   * packets. Cheaper than `readable` when the consumer handles a batch at a
   * time (one promise per batch instead of one per packet). Resolves to an
   * empty array only when the device is closed or `readable` was cancelled.
   * One read may be pending at a time.
   *
   * @throws {Error} when another read is pending.
   * @throws {ErrnoError} on a read or poll error.
   */
  async readBatch(): Promise<Uint8Array[]> {
    if (this.#isReading) {
      throw new Error(`Cannot read from TUN device "${this.name}": a read is already pending`);
    }
    this.#isReading = true;
    try {
      for (;;) {
        const batch = this.readAvailable();
        if (batch.length > 0 || this.#isClosed || this.#isReadCancelled) return batch;
        await this.#waitReadable();
      }
    } finally {
      this.#isReading = false;
    }
  }

  /**
   * Writes each packet with one synchronous `write()`. A packet the kernel
   * refuses (EAGAIN when the queue is full, EINVAL when malformed, EIO while
   * the link is down) is dropped and counted in `stats.txDropped`.
   *
   * @returns How many packets were written.
   */
  writePackets(packets: readonly Uint8Array[]): number {
    const stats = this.stats;
    if (this.#isClosed) {
      stats.txDropped += packets.length;
      return 0;
    }
    const { write } = libc();
    const fd = this.fd;
    let written = 0;
    for (const p of packets) {
      const n = Number(write(fd, p, BigInt(p.length)));
      if (n >= 0) {
        written++;
        stats.txPackets++;
        stats.txBytes += p.length;
      } else {
        const e = errno();
        stats.txDropped++;
        if (this.#log.enabled("debug")) {
          this.#log.debug(`tun ${this.name}: dropped ${p.length}-byte packet (${errnoName(e)})`);
        }
      }
    }
    return written;
  }

  /**
   * Push mode (see {@linkcode TunDevice.readPush}). With a shared reactor the
   * reactor's wake-up drains the device and calls `onPackets` directly; alone,
   * one poll loop per device does the same.
   *
   * @throws {Error} when a read is pending or push mode is already on.
   */
  readPush(
    onPackets: (batch: Uint8Array[]) => void,
    onEnd: (error?: Error) => void,
  ): TunReadControl {
    if (this.#isReading || this.#push !== undefined) {
      throw new Error(`Cannot push reads from TUN device "${this.name}": already reading`);
    }
    const push: PushReader = { onPackets, onEnd, isPaused: false };
    this.#push = push;
    const control: TunReadControl = {
      pause: () => {
        push.isPaused = true;
      },
      resume: () => {
        if (!push.isPaused || this.#push !== push) return;
        push.isPaused = false;
        // Edge-triggered reactor: what queued while paused raised no new edge.
        if (this.#reactor !== undefined) this.#drainToPush();
        else this.#wake();
      },
      poll: () => {
        if (push.isPaused || this.#push !== push) return;
        try {
          const batch = this.readAvailable();
          if (batch.length > 0) push.onPackets(batch);
        } catch (e) {
          this.#endPush(e instanceof Error ? e : new Error(String(e)));
        }
      },
      stop: () => {
        if (this.#push !== push) return;
        this.#push = undefined;
        this.#interruptWait();
      },
    };
    // First delivery after the caller holds the control (it may pause at once).
    queueMicrotask(() => {
      if (this.#push !== push) return;
      if (this.#reactor !== undefined) this.#drainToPush();
      else void this.#pollToPush(push);
    });
    return control;
  }

  /** Reactor mode: drains to EAGAIN (edge-triggered) unless paused; ends push mode on close. */
  #drainToPush(): void {
    const push = this.#push;
    if (push === undefined) return;
    if (this.#isClosed || this.#reactor?.isClosed) return this.#endPush();
    try {
      while (!push.isPaused && this.#push === push) {
        const batch = this.readAvailable();
        if (batch.length === 0) return;
        push.onPackets(batch);
      }
    } catch (e) {
      this.#endPush(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Alone: one poll loop for the device, delivering each batch. */
  async #pollToPush(push: PushReader): Promise<void> {
    try {
      while (this.#push === push && !this.#isClosed) {
        const batch = push.isPaused ? [] : this.readAvailable();
        if (batch.length > 0) {
          push.onPackets(batch);
          continue;
        }
        if (push.isPaused) {
          await new Promise<void>((resolve) => this.#waiter = resolve);
        } else await this.#waitReadable();
      }
      if (this.#push === push) this.#endPush();
    } catch (e) {
      if (this.#push === push) this.#endPush(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #endPush(error?: Error): void {
    const push = this.#push;
    if (push === undefined) return;
    this.#push = undefined;
    push.onEnd(error);
  }

  /**
   * Closes the device (idempotent). A pending read resolves (empty batch, or
   * the end of `readable`); the descriptors are closed as soon as no FFI call
   * uses them, the TUN fd by a `nonblocking: true` close (the kernel deletes
   * the interface then, about 16 ms), and {@linkcode closed} resolves after.
   * Await {@linkcode closed} before a test ends: until then an FFI op is
   * pending.
   */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#reactor?.unregister(this.fd);
    this.#interruptWait();
    const release = () => {
      closeQuietly(this.#wakeFd);
      // Off the JS thread: the kernel unregisters the netdev inside close(),
      // which took about 16 ms per device here (a mass disconnect of 2,000
      // sessions would otherwise freeze the event loop for half a minute).
      libc().closeAsync(this.fd).then(() => this.#closedResolve(), () => this.#closedResolve());
    };
    if (this.#pendingPoll === undefined) release();
    else this.#pendingPoll.then(release, release);
  }

  /** `using tun = openLinuxTun(...)` support. */
  [Symbol.dispose](): void {
    this.close();
  }

  #wake(): void {
    if (this.#reactor !== undefined && this.#push !== undefined) return this.#drainToPush();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  #interruptWait(): void {
    if (this.#reactor !== undefined) this.#wake();
    else if (this.#pendingPoll !== undefined) signalEventFd(this.#wakeFd);
    else {
      // A paused push loop waits on #waiter without a poll.
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.();
    }
  }

  async #waitReadable(): Promise<void> {
    const reactor = this.#reactor;
    if (reactor !== undefined) {
      if (reactor.isClosed) {
        throw new Error(`Cannot read from TUN device "${this.name}": reactor is closed`);
      }
      await new Promise<void>((resolve) => this.#waiter = resolve);
      return;
    }
    let failures = 0;
    for (;;) {
      const p = libc().pollAsync(this.#pollFds, 2n, -1);
      this.#pendingPoll = p;
      let n: number;
      try {
        n = await p;
      } finally {
        this.#pendingPoll = undefined;
      }
      if (n > 0) {
        // revents of the eventfd entry: a wake-up from close() or cancel.
        if (this.#pollView.getInt16(POLLFD_SIZE + 6, true) !== 0 && !this.#isClosed) {
          drainEventFd(this.#wakeFd);
        }
        return;
      }
      // n < 0: errno stays on the pool thread; EINTR is the only error a valid
      // call can get (a signal delivered to that thread).
      if (this.#isClosed || this.#isReadCancelled) return;
      if (++failures >= MAX_POLL_FAILURES) {
        throw new Error(
          `Cannot read from TUN device "${this.name}": poll failed ${failures} times in a row`,
        );
      }
    }
  }
}

/** The consumer of {@linkcode LinuxTun.readPush}. */
interface PushReader {
  onPackets(batch: Uint8Array[]): void;
  onEnd(error?: Error): void;
  isPaused: boolean;
}

/**
 * Creates (or attaches to) TUN device `options.name` in the calling thread's
 * network namespace, with `IFF_TUN | IFF_NO_PI`, `O_NONBLOCK`, and applies
 * MTU, transmit queue length and up through ioctls.
 *
 * @example
 * ```ts ignore
 * const tun = openLinuxTun({ name: "sstp%d", mtu: 1400, txQueueLen: 5000, up: true });
 * for await (const packet of tun.readable) tun.writePackets([packet]);
 * ```
 *
 * @throws {RangeError} `Cannot create TUN device "tun-very-long-name": name must be at most 15 bytes`.
 * @throws {ErrnoError} when open, TUNSETIFF or an interface ioctl fails; no fd stays open.
 */
export function openLinuxTun(options: LinuxTunOptions): LinuxTun {
  const tap = options.mode === "tap";
  const what = tap ? "create TAP device" : "create TUN device";
  const req = encodeIfreq(options.name, (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI, what);
  checkNetdevSettings(options.name, options, what);
  if (
    options.maxBatch !== undefined && !(Number.isInteger(options.maxBatch) && options.maxBatch > 0)
  ) {
    throw new RangeError(`Cannot ${what} "${options.name}": maxBatch ${options.maxBatch} < 1`);
  }
  if (options.reactor?.isClosed) {
    throw new Error(`Cannot ${what} "${options.name}": reactor is closed`);
  }
  const action = `Cannot ${what} "${options.name}"`;
  const { open, ioctl } = libc();
  const flags = O_RDWR | O_NONBLOCK | O_CLOEXEC;
  const fd = check(open(cString(TUN_CLONE_DEVICE), flags, 0), action, `open(${TUN_CLONE_DEVICE})`);
  let wakeFd = -1;
  let tun: LinuxTun | undefined;
  try {
    check(ioctl(fd, BigInt(TUNSETIFF), req), action, "ioctl(TUNSETIFF)");
    const name = decodeIfreqName(req);
    const settings = {
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.txQueueLen !== undefined ? { txQueueLen: options.txQueueLen } : {}),
      ...(options.up !== undefined ? { up: options.up } : {}),
    };
    configureNetdev(name, settings);
    const { mtu } = readNetdev(name);
    if (options.reactor === undefined) wakeFd = createEventFd(action);
    tun = new LinuxTun(fd, wakeFd, name, mtu, options);
    return tun;
  } finally {
    if (tun === undefined) {
      closeQuietly(wakeFd);
      closeQuietly(fd);
    }
  }
}
