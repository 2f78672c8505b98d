/**
 * Adapts a connected `node:tls` `TLSSocket` to a {@linkcode ByteDuplex}.
 *
 * Reads use `data` events with pause/resume backpressure (`Readable.toWeb`
 * on a TLSSocket never delivered data in Deno 2.9.6; measured in /tmp). Writes
 * go straight to `socket.write` and wait for `drain` when it reports a full
 * buffer. (Not waiting until 1 MiB was buffered hung Deno 2.9.6's node:tls:
 * a 1 MiB echo through it never completed; see lib/transport/tls_test.ts.)
 *
 * @module
 */

import type { TLSSocket } from "node:tls";
import type { ByteDuplex, TransportAddr, TransportInfo } from "./duplex.ts";

const READ_QUEUE_CHUNKS = 16;

/** Wraps `socket`; the socket must already be connected and secure. */
export function nodeSocketDuplex(socket: TLSSocket, info: TransportInfo): ByteDuplex {
  const closed = new Promise<void>((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    else socket.once("close", () => resolve());
  });
  let failure: Error | undefined;
  socket.on("error", (error: Error) => {
    failure ??= error;
  });

  // Set once the stream is closed, errored or cancelled: the controller then refuses calls.
  let done = false;
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      socket.on("data", (chunk: Uint8Array) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) socket.pause();
      });
      socket.once("end", () => {
        if (!done) controller.close();
        done = true;
      });
      socket.once("close", () => {
        if (done) return;
        done = true;
        if (failure !== undefined) controller.error(failure);
        else controller.close();
      });
    },
    pull() {
      socket.resume();
    },
    cancel() {
      done = true;
      socket.destroy();
    },
  }, new CountQueuingStrategy({ highWaterMark: READ_QUEUE_CHUNKS }));

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

  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (socket.destroyed) throw failure ?? new Deno.errors.BrokenPipe("TLS connection closed");
      if (!socket.write(chunk)) await waitDrain();
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

  return {
    readable,
    writable,
    close: () => {
      socket.destroy();
    },
    closed,
    localAddr: addr(socket.localAddress, socket.localPort),
    remoteAddr: addr(socket.remoteAddress, socket.remotePort),
    info,
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
