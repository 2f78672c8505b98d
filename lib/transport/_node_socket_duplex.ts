/**
 * Adapts a connected `node:tls` `TLSSocket` (or a plain `node:net` socket, for
 * TLS offload) to a {@linkcode ByteDuplex} with a
 * {@linkcode DirectLane}.
 *
 * Reads: `data` events fill a small queue of our own (the socket pauses at
 * {@linkcode READ_QUEUE_BYTES}); the readable (high-water mark 0, so it never
 * buffers by itself) takes from it on demand. `lane.takeReads` hands the
 * queue and every later chunk to a callback instead. (`Readable.toWeb` on a
 * TLSSocket never delivered data in Deno 2.9.6; measured in /tmp.)
 *
 * Writes go straight to `socket.write` and wait for `drain` when it reports a
 * full buffer. (Not waiting until 1 MiB was buffered hung Deno 2.9.6's
 * node:tls: a 1 MiB echo through it never completed; see
 * lib/transport/tls_test.ts.)
 *
 * @module
 */

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ByteDuplex, DirectLane, TransportAddr, TransportInfo } from "../duplex.ts";

/**
 * The socket pauses when this much is queued unread. Large on purpose: Deno
 * 2.9.6's node:tls lost the peer's EOF after pause()/resume() near the end of
 * a stream (a 1 MiB echo in lib/transport/tls_test.ts never ended with a
 * 16-chunk limit), so pausing is for a reader that really stalls. Push mode
 * pauses only when the data path asks (control output piling up behind a
 * peer that sends without reading).
 */
const READ_QUEUE_BYTES = 4 * 1024 * 1024;

/** Wraps `socket`; the socket must already be connected and secure. */
export function nodeSocketDuplex(socket: Socket, info: TransportInfo): ByteDuplex {
  const closed = new Promise<void>((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    else socket.once("close", () => resolve());
  });
  let failure: Error | undefined;
  socket.on("error", (error: Error) => {
    failure ??= error;
  });

  // Chunks received and not yet read; the end once seen (EOF, or the failure).
  const queue: Uint8Array[] = [];
  let queuedBytes = 0;
  let ended: { error?: Error } | undefined;
  let wakeReader: (() => void) | undefined;
  let push: { onChunk(chunk: Uint8Array): void; onEnd(error?: Error): void } | undefined;

  socket.on("data", (chunk: Uint8Array) => {
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (push !== undefined) return push.onChunk(bytes);
    if (ended !== undefined) return;
    queue.push(bytes);
    queuedBytes += bytes.length;
    if (queuedBytes >= READ_QUEUE_BYTES) socket.pause();
    wakeReader?.();
  });
  const finish = (error?: Error) => {
    if (ended !== undefined) return;
    ended = error === undefined ? {} : { error };
    if (push !== undefined) push.onEnd(error);
    else wakeReader?.();
  };
  socket.once("end", () => finish());
  socket.once("close", () => finish(failure));

  const makeReadable = () =>
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        while (queue.length === 0 && ended === undefined) {
          socket.resume();
          await new Promise<void>((resolve) => (wakeReader = resolve));
          wakeReader = undefined;
        }
        const chunk = queue.shift();
        if (chunk !== undefined) {
          queuedBytes -= chunk.length;
          if (queuedBytes < READ_QUEUE_BYTES / 2) socket.resume();
          return controller.enqueue(chunk);
        }
        if (ended?.error !== undefined) controller.error(ended.error);
        else controller.close();
      },
      cancel() {
        ended ??= {};
        socket.destroy();
      },
    }, { highWaterMark: 0 });

  const waitDrain = () =>
    new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        socket.off("drain", onDrain);
        socket.off("close", onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(failure ?? new Deno.errors.BrokenPipe("TLS connection closed"));
      };
      socket.on("drain", onDrain);
      socket.on("close", onClose);
    });

  const write = (chunk: Uint8Array): Promise<void> | undefined => {
    if (socket.destroyed) throw failure ?? new Deno.errors.BrokenPipe("TLS connection closed");
    return socket.write(chunk) ? undefined : waitDrain();
  };

  const makeWritable = () =>
    new WritableStream<Uint8Array>({
      async write(chunk) {
        await write(chunk);
      },
      close() {
        // end()'s callback never runs on a destroyed socket: settle on `close` too.
        return new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once("close", () => resolve());
          socket.end(() => resolve());
        });
      },
      abort() {
        socket.destroy();
      },
    });

  const lane: DirectLane = {
    write,
    takeReads(onChunk, onEnd) {
      if (push !== undefined) throw new Error("TLS reads were already taken over");
      push = { onChunk, onEnd };
      // The streams served the HTTP preamble; a session keeps neither.
      readable = undefined;
      writable = undefined;
      queuedBytes = 0;
      for (const chunk of queue.splice(0)) onChunk(chunk);
      let isPaused = false;
      socket.resume();
      if (ended !== undefined) onEnd(ended.error);
      return {
        pause() {
          if (isPaused) return;
          isPaused = true;
          socket.pause();
        },
        resume() {
          if (!isPaused) return;
          isPaused = false;
          socket.resume();
        },
      };
    },
  };

  // Made on first use and dropped at the take-over (about 3 KiB per idle session).
  let readable: ReadableStream<Uint8Array> | undefined;
  let writable: WritableStream<Uint8Array> | undefined;
  return {
    get readable() {
      if (push !== undefined) throw new Error("TLS reads were taken over by the data path");
      return readable ??= makeReadable();
    },
    get writable() {
      return writable ??= makeWritable();
    },
    close: () => {
      socket.destroy();
    },
    closed,
    localAddr: addr(socket.localAddress, socket.localPort),
    remoteAddr: addr(socket.remoteAddress, socket.remotePort),
    info,
    lane,
  };
}

function addr(hostname: string | undefined, port: number | undefined): TransportAddr {
  return { hostname: hostname ?? "", port: port ?? 0 };
}

/** TLS details of a node:tls socket. */
export function nodeSocketInfo(socket: TLSSocket): TransportInfo {
  const info: TransportInfo = {};
  const version = socket.getProtocol();
  if (version) info.tlsVersion = version;
  const cipher = socket.getCipher()?.name;
  if (cipher) info.cipher = cipher;
  if (typeof socket.alpnProtocol === "string") info.alpnProtocol = socket.alpnProtocol;
  const raw = socket.getPeerCertificate(true)?.raw;
  if (raw !== undefined && raw.byteLength > 0) info.peerCertDer = new Uint8Array(raw);
  return info;
}
