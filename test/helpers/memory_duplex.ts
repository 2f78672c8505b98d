/**
 * Paired in-memory byte streams (wireguard-go `bindtest` analogue). Whatever
 * one end writes, the other end reads, re-chunked by an optional splitter so
 * tests can feed adversarial chunkings to the framer and preamble readers.
 *
 * @module
 */

import type { DirectLane } from "../../lib/transport/duplex.ts";
import { xorshift32 } from "./xorshift.ts";

/** One end of a {@linkcode memoryDuplexPair}. */
export interface MemoryDuplexEnd {
  /** With `lane: true`: synchronous writes and pushed reads, as node:tls offers. */
  lane?: DirectLane;
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Closes both directions of this end. */
  close(): void;
  /** Bytes written by this end so far. */
  readonly bytesWritten: number;
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

function pipe(split: Splitter | undefined) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      closed = true;
    },
  });
  const end = () => {
    if (closed) return;
    closed = true;
    try {
      controller.close();
    } catch { /* already closed */ }
  };
  const push = (chunk: Uint8Array) => {
    if (closed) throw new Error("Cannot write to memory duplex: the other end is closed");
    for (const piece of split ? split(chunk) : [chunk.slice()]) controller.enqueue(piece);
  };
  return { readable, push, end };
}

/**
 * Creates two connected ends. `a.writable` feeds `b.readable` and vice versa.
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
  options: { splitAtoB?: Splitter; splitBtoA?: Splitter; lane?: boolean } = {},
): [MemoryDuplexEnd, MemoryDuplexEnd] {
  const ab = pipe(options.splitAtoB);
  const ba = pipe(options.splitBtoA);
  const make = (inbound: typeof ab, outbound: typeof ab): MemoryDuplexEnd => {
    let written = 0;
    const lane: DirectLane = {
      write(chunk) {
        written += chunk.length;
        outbound.push(chunk);
        return undefined;
      },
      takeReads(onChunk, onEnd) {
        const reader = inbound.readable.getReader();
        (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return onEnd();
            onChunk(value);
          }
        })().catch((e) => onEnd(e instanceof Error ? e : new Error(String(e))));
      },
    };
    return {
      ...(options.lane ? { lane } : {}),
      readable: inbound.readable,
      writable: new WritableStream<Uint8Array>({
        write(chunk) {
          written += chunk.length;
          outbound.push(chunk);
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
    };
  };
  return [make(ba, ab), make(ab, ba)];
}
