/**
 * An in-memory TUN device (wireguard-go `tuntest.ChannelTUN` analogue). The
 * test side injects packets that the tunnel reads (`inject`) and collects the
 * packets the tunnel writes (`written`, `nextWritten`).
 *
 * @module
 */
import type { TunDevice, TunStats } from "../../lib/tun.ts";

/** A {@linkcode TunDevice} backed by arrays. */
export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly stats: TunStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
  /** Packets the tunnel wrote to this device, oldest first. */
  readonly written: Uint8Array[] = [];
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #waiters: (() => void)[] = [];
  #closed = false;
  readonly #answer: ((packet: Uint8Array) => Uint8Array | undefined) | undefined;
  #answers: Uint8Array[] = [];
  /** How many answers `readAvailable` handed out. */
  answersRead = 0;

  /**
   * Creates a device called `name`. With `answer`, the device plays a local
   * stack that replies inside the write, as Linux does to an ICMP echo for
   * one of its own addresses: the reply is queued for `readAvailable`.
   */
  constructor(name = "mem0", answer?: (packet: Uint8Array) => Uint8Array | undefined) {
    this.name = name;
    this.#answer = answer;
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controller = c;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (p) => {
        this.writePackets([p]);
      },
    });
  }

  /** Queues a packet for the tunnel to read, as if the kernel sent it. */
  inject(packet: Uint8Array): void {
    if (this.#closed) throw new Error(`Cannot inject into ${this.name}: device is closed`);
    this.stats.rxPackets++;
    this.stats.rxBytes += packet.length;
    this.#controller.enqueue(packet);
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
      if (reply !== undefined) this.#answers.push(reply);
    }
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
    return packets.length;
  }

  /** The answers queued by the local stack (see the constructor), without waiting. */
  readAvailable(): Uint8Array[] {
    const out = this.#answers;
    this.#answers = [];
    this.answersRead += out.length;
    return out;
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
    try {
      this.#controller.close();
    } catch { /* already closed or cancelled */ }
  }
}
