/**
 * Paired in-memory byte streams (wireguard-go `bindtest` analogue). Whatever
 * one end writes, the other end reads, re-chunked by an optional splitter so
 * tests can feed adversarial chunkings to the framer and preamble readers.
 *
 * Each end offers the same {@linkcode DirectLane} as the node:tls transport
 * (synchronous writes, pushed reads with pause/resume), so a runner over it
 * runs the production data path. Like a socket, each direction buffers at
 * most `capacity` unread bytes before `write` asks the writer to wait (it
 * returns a promise, resolved once the reader has taken the buffer down to
 * half); what was written is never dropped. The Web Streams (`readable`,
 * `writable`) read and write the same buffer, for the HTTP preamble.
 *
 * @module
 */

import type { DirectLane, LaneReadControl } from "../../lib/transport/duplex.ts";
import { xorshift32 } from "./xorshift.ts";

/** One end of a {@linkcode memoryDuplexPair}. */
export interface MemoryDuplexEnd {
  /** Synchronous writes and pushed reads, as node:tls offers. */
  lane: DirectLane;
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Closes both directions of this end. */
  close(): void;
  /** Bytes written by this end so far. */
  readonly bytesWritten: number;
  /** Bytes written to this end and not yet read by it. */
  readonly unreadBytes: number;
}

/** Decides how to split a written chunk into the chunks the reader sees. */
export type Splitter = (chunk: Uint8Array) => Uint8Array[];

/** A splitter that cuts every chunk into pieces of at most `n` bytes. */
export function splitEvery(n: number): Splitter {
  return (chunk) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < chunk.length; i += n) out.push(chunk.slice(i, i + n));
    return out;
  };
}

/** A splitter with seeded pseudo-random piece sizes in [1, max]. */
export function splitRandom(seed: number, max = 64): Splitter {
  const next = xorshift32(seed);
  return (chunk) => {
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < chunk.length) {
      const n = 1 + (next() % max);
      out.push(chunk.slice(i, i + n));
      i += n;
    }
    return out;
  };
}

/** One direction: a bounded byte queue with one reader (pushed or pulled). */
class Pipe {
  readonly #split: Splitter | undefined;
  readonly #capacity: number;
  #queue: Uint8Array[] = [];
  #head = 0;
  queuedBytes = 0;
  #ended = false;
  #endReported = false;
  #push: { onChunk(c: Uint8Array): void; onEnd(e?: Error): void; paused: boolean } | undefined;
  #isScheduled = false;
  #readerWake: (() => void) | undefined;
  #writerWake: (() => void)[] = [];

  constructor(split: Splitter | undefined, capacity: number) {
    this.#split = split;
    this.#capacity = capacity;
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  write(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#ended) throw new Error("Cannot write to memory duplex: the other end is closed");
    for (const piece of this.#split ? this.#split(chunk) : [chunk.slice()]) {
      this.#queue.push(piece);
      this.queuedBytes += piece.length;
    }
    this.#schedule();
    if (this.queuedBytes <= this.#capacity) return undefined;
    return new Promise((resolve) => this.#writerWake.push(resolve));
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#schedule();
    this.#wakeWriters(true);
  }

  #take(): Uint8Array | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const chunk = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as Uint8Array;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    this.queuedBytes -= chunk.length;
    this.#wakeWriters(false);
    return chunk;
  }

  #wakeWriters(all: boolean): void {
    if (this.#writerWake.length === 0 || (!all && this.queuedBytes > this.#capacity / 2)) return;
    const w = this.#writerWake;
    this.#writerWake = [];
    for (const f of w) f();
  }

  /** Delivery happens in a later task, as a socket's I/O event would. */
  #schedule(): void {
    this.#readerWake?.();
    this.#readerWake = undefined;
    if (this.#push === undefined || this.#isScheduled) return;
    this.#isScheduled = true;
    queueMicrotask(() => {
      this.#isScheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    const push = this.#push;
    if (push === undefined) return;
    while (!push.paused) {
      const chunk = this.#take();
      if (chunk === undefined) break;
      push.onChunk(chunk);
    }
    if (this.#ended && this.queuedBytes === 0 && !this.#endReported && !push.paused) {
      this.#endReported = true;
      push.onEnd();
    }
  }

  takeReads(onChunk: (c: Uint8Array) => void, onEnd: (e?: Error) => void): LaneReadControl {
    if (this.#push !== undefined) throw new Error("memory duplex reads were already taken over");
    const push = { onChunk, onEnd, paused: false };
    this.#push = push;
    this.#schedule();
    return {
      pause: () => {
        push.paused = true;
      },
      resume: () => {
        if (!push.paused) return;
        push.paused = false;
        this.#schedule();
      },
    };
  }

  readable(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          const chunk = this.#take();
          if (chunk !== undefined) return controller.enqueue(chunk);
          if (this.#ended) return controller.close();
          await new Promise<void>((resolve) => (this.#readerWake = resolve));
        }
      },
      cancel: () => this.end(),
    }, { highWaterMark: 0 });
  }
}

/**
 * Creates two connected ends. `a.writable` feeds `b.readable` and vice versa.
 * `capacity` (default 256 KiB) is the unread bytes a direction holds before
 * `lane.write` returns a promise.
 *
 * @example
 * ```ts
 * import { memoryDuplexPair } from "./memory_duplex.ts";
 * const [a, b] = memoryDuplexPair();
 * const w = a.writable.getWriter();
 * await w.write(new Uint8Array([1, 2]));
 * const r = b.readable.getReader();
 * const { value } = await r.read();
 * if (value?.length !== 2) throw new Error();
 * a.close(); b.close();
 * ```
 */
export function memoryDuplexPair(
  options: { splitAtoB?: Splitter; splitBtoA?: Splitter; capacity?: number } = {},
): [MemoryDuplexEnd, MemoryDuplexEnd] {
  const capacity = options.capacity ?? 256 * 1024;
  const ab = new Pipe(options.splitAtoB, capacity);
  const ba = new Pipe(options.splitBtoA, capacity);
  const make = (inbound: Pipe, outbound: Pipe): MemoryDuplexEnd => {
    let written = 0;
    let readable: ReadableStream<Uint8Array> | undefined;
    const write = (chunk: Uint8Array) => {
      written += chunk.length;
      return outbound.write(chunk);
    };
    return {
      lane: {
        write,
        takeReads: (onChunk, onEnd) => inbound.takeReads(onChunk, onEnd),
      },
      get readable() {
        return readable ??= inbound.readable();
      },
      writable: new WritableStream<Uint8Array>({
        async write(chunk) {
          await write(chunk);
        },
        close() {
          outbound.end();
        },
        abort() {
          outbound.end();
        },
      }),
      close() {
        inbound.end();
        outbound.end();
      },
      get bytesWritten() {
        return written;
      },
      get unreadBytes() {
        return inbound.queuedBytes;
      },
    };
  };
  return [make(ba, ab), make(ab, ba)];
}
