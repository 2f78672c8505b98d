/**
 * An in-memory TUN device (wireguard-go `tuntest.ChannelTUN` analogue) that
 * implements the same {@linkcode TunDevice} seam as `ffi/linux_tun.ts`: push
 * reads with pause/resume/poll, synchronous batch writes. The test side
 * queues packets for the tunnel to read (`inject`, `push`) and collects the
 * packets the tunnel writes (`written`, `nextWritten`).
 *
 * @module
 */
import type { TunDevice, TunReadControl, TunStats } from "../../lib/tun.ts";

/** A {@linkcode TunDevice} backed by arrays. */
export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly stats: TunStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
  /** Packets the tunnel wrote to this device, oldest first. */
  readonly written: Uint8Array[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;
  readonly #answer: ((packet: Uint8Array) => Uint8Array | undefined) | undefined;
  /** Packets queued for the tunnel to read (the kernel's queue). */
  #queue: Uint8Array[] = [];
  #reader: { onPackets(b: Uint8Array[]): void; onEnd(e?: Error): void } | undefined;
  #isPaused = false;
  #isScheduled = false;
  /** Largest batch handed over at once (a wake-up drains at most this many). */
  readonly maxBatch = 64;
  /** How many answers of the local stack `poll()` handed out. */
  answersRead = 0;
  /** How many times the reader paused and resumed. */
  pauses = 0;
  resumes = 0;

  /**
   * Creates a device called `name`. With `answer`, the device plays a local
   * stack that replies inside the write, as Linux does to an ICMP echo for
   * one of its own addresses: the reply is queued for reading at once.
   */
  constructor(name = "mem0", answer?: (packet: Uint8Array) => Uint8Array | undefined) {
    this.name = name;
    this.#answer = answer;
  }

  /** Packets queued and not yet read by the tunnel. */
  get held(): number {
    return this.#queue.length;
  }

  /**
   * Queues a packet for the tunnel to read, as if the kernel sent it; it is
   * delivered in a later task (the device's wake-up), batched with others.
   */
  inject(packet: Uint8Array): void {
    if (this.#closed) throw new Error(`Cannot inject into ${this.name}: device is closed`);
    this.#enqueue(packet);
    this.#schedule();
  }

  /** Queues packets and delivers them now, synchronously, unless the reader paused. */
  push(batch: Uint8Array[]): void {
    if (this.#closed) throw new Error(`Cannot push into ${this.name}: device is closed`);
    for (const p of batch) this.#enqueue(p);
    this.#deliver();
  }

  #enqueue(packet: Uint8Array): void {
    this.stats.rxPackets++;
    this.stats.rxBytes += packet.length;
    this.#queue.push(packet);
  }

  #schedule(): void {
    if (this.#isScheduled || this.#reader === undefined) return;
    this.#isScheduled = true;
    queueMicrotask(() => {
      this.#isScheduled = false;
      this.#deliver();
    });
  }

  #deliver(): number {
    let n = 0;
    while (!this.#isPaused && this.#reader !== undefined && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      n += batch.length;
      this.#reader.onPackets(batch);
    }
    return n;
  }

  readPush(
    onPackets: (batch: Uint8Array[]) => void,
    onEnd: (error?: Error) => void,
  ): TunReadControl {
    if (this.#reader !== undefined || this.#closed) {
      throw new Error(`Cannot push reads from ${this.name}: already reading or closed`);
    }
    const reader = { onPackets, onEnd };
    this.#reader = reader;
    this.#schedule();
    return {
      pause: () => {
        if (this.#isPaused) return;
        this.#isPaused = true;
        this.pauses++;
      },
      resume: () => {
        if (!this.#isPaused) return;
        this.#isPaused = false;
        this.resumes++;
        this.#schedule();
      },
      poll: () => {
        if (this.#reader !== reader) return;
        this.answersRead += this.#deliver();
      },
      stop: () => {
        if (this.#reader === reader) this.#reader = undefined;
      },
    };
  }

  writePackets(packets: readonly Uint8Array[]): number {
    if (this.#closed) {
      this.stats.txDropped += packets.length;
      return 0;
    }
    for (const p of packets) {
      this.written.push(p.slice());
      this.stats.txPackets++;
      this.stats.txBytes += p.length;
      const reply = this.#answer?.(p);
      if (reply !== undefined) this.#enqueue(reply);
    }
    if (this.#queue.length > 0) this.#schedule();
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
    return packets.length;
  }

  /** Resolves with the `index`-th written packet once it exists (bounded by `timeoutMs`). */
  async nextWritten(index: number, timeoutMs = 2000): Promise<Uint8Array> {
    const deadline = performance.now() + timeoutMs;
    while (this.written.length <= index) {
      if (performance.now() > deadline) {
        throw new Error(
          `MemoryTun ${this.name}: packet ${index} not written within ${timeoutMs} ms`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, 20);
      });
      clearTimeout(timer);
    }
    return this.written[index]!;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const reader = this.#reader;
    this.#reader = undefined;
    this.#queue = [];
    reader?.onEnd();
  }
}
