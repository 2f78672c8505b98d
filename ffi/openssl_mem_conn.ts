/**
 * TLS by OpenSSL over a `Deno.TcpConn`, through memory BIOs: Deno's own
 * reactor (on the JS thread) waits for the socket, `conn.read` hands the
 * ciphertext to `BIO_write`, `SSL_read` decrypts it in the same call stack,
 * and `SSL_write`'s records are taken from the write BIO and sent with
 * `conn.write`.
 *
 * Why a second I/O shape beside `openssl_conn.ts`: there the socket waits in
 * the epoll reactor, whose `epoll_wait` runs on a thread of Deno's blocking
 * pool, so every received record costs a wake-up of that thread and then one
 * of the JS thread. Here the JS thread's own reactor sees the socket (one
 * wake-up), and only the TLS work moves from node:tls to OpenSSL.
 *
 * @module
 */

import type { ByteDuplex, DirectLane, LaneReadControl, TransportInfo } from "../lib/duplex.ts";
import {
  negotiated,
  OpenSslError,
  peerCertificateDer,
  requireOpenSsl,
  setServerName,
  SSL_ERROR,
  type SslContext,
  takeErrors,
  verifyResult,
} from "./openssl.ts";

/**
 * Bytes asked of one `conn.read`: one full TLS record (16 KiB of plaintext
 * plus header and AEAD overhead). Each connection keeps one such buffer while
 * its read is pending, so it is what an idle session costs here.
 */
const READ_BUFFER_BYTES = 16 * 1024 + 512;
/**
 * Plaintext taken per `SSL_read`, and ciphertext per `BIO_read`: scratch
 * buffers shared by every connection (both are used synchronously and what
 * leaves them is copied), so that a session does not hold 128 KiB of its own.
 */
const PLAIN_BUFFER_BYTES = 64 * 1024;
const sharedPlain = new Uint8Array(PLAIN_BUFFER_BYTES);
const sharedCipherOut = new Uint8Array(64 * 1024);
/** Ciphertext waiting in the write path above which writers are asked to wait. */
const WRITE_HIGH_WATER_BYTES = 1024 * 1024;

/** One TLS connection by OpenSSL over a Deno TCP connection. */
export class OpenSslMemConn {
  readonly #conn: Deno.TcpConn;
  readonly #ssl: Deno.PointerObject;
  readonly #rbio: Deno.PointerObject;
  readonly #wbio: Deno.PointerObject;
  readonly #role: "client" | "server";
  #open = false;
  #isClosed = false;
  #handshakeDone!: { resolve(): void; reject(e: Error): void };
  /** Settles when the handshake completes or fails. */
  readonly handshake: Promise<void>;
  #closedResolve!: () => void;
  /** Resolves once the connection is closed and the `SSL*` freed. */
  readonly closed: Promise<void> = new Promise((r) => this.#closedResolve = r);
  #failure: Error | undefined;
  // Ciphertext being sent; more gathered while a send is in flight.
  #sending = false;
  #outBytes = 0;
  #drain: { promise: Promise<void>; resolve(): void; reject(e: Error): void } | undefined;
  // Reads.
  readonly #queue: Uint8Array[] = [];
  #ended: { error?: Error } | undefined;
  #wakeReader: (() => void) | undefined;
  #push: { onChunk(chunk: Uint8Array): void; onEnd(error?: Error): void } | undefined;
  #paused = false;
  #resumeReading: (() => void) | undefined;

  /** Takes ownership of `conn` and starts the handshake. */
  constructor(conn: Deno.TcpConn, ctx: SslContext, options: { serverName?: string } = {}) {
    const s = requireOpenSsl();
    this.#conn = conn;
    this.#role = ctx.role;
    this.handshake = new Promise<void>((resolve, reject) => {
      this.#handshakeDone = { resolve, reject };
    });
    this.handshake.catch(() => {});
    const ssl = s.SSL_new(ctx.pointer);
    const rbio = s.BIO_new(s.BIO_s_mem());
    const wbio = s.BIO_new(s.BIO_s_mem());
    if (ssl === null || rbio === null || wbio === null) {
      if (rbio !== null) s.BIO_free(rbio);
      if (wbio !== null) s.BIO_free(wbio);
      if (ssl !== null) s.SSL_free(ssl);
      conn.close();
      throw new OpenSslError("Cannot create TLS connection", "SSL_new/BIO_new");
    }
    // SSL_set_bio takes ownership of both BIOs (freed by SSL_free).
    s.SSL_set_bio(ssl, rbio, wbio);
    this.#ssl = ssl;
    this.#rbio = rbio;
    this.#wbio = wbio;
    try {
      if (options.serverName !== undefined) setServerName(ssl, options.serverName);
    } catch (e) {
      s.SSL_free(ssl);
      conn.close();
      throw e;
    }
    conn.setNoDelay(true);
    this.#step();
    this.#readLoop();
  }

  /** Version, cipher, the peer's leaf and the chain verdict (after the handshake). */
  info(): TransportInfo & { verify: { code: number; text: string } } {
    const { version, cipher } = negotiated(this.#ssl);
    const der = peerCertificateDer(this.#ssl);
    return {
      tlsVersion: version,
      cipher,
      ...(der === undefined ? {} : { peerCertDer: der }),
      verify: verifyResult(this.#ssl),
    };
  }

  /** Tears the connection down now; idempotent. */
  close(error?: Error): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#failure ??= error;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    requireOpenSsl().SSL_free(this.#ssl);
    const failure = this.#failure ?? new Deno.errors.BrokenPipe("TLS connection closed");
    if (!this.#open) this.#handshakeDone.reject(failure);
    this.#drain?.reject(failure);
    this.#drain = undefined;
    this.#finish(this.#failure);
    this.#resumeReading?.();
    this.#closedResolve();
  }

  /** Sends close_notify (best effort). */
  shutdown(): void {
    if (!this.#open || this.#isClosed) return;
    requireOpenSsl().SSL_shutdown(this.#ssl);
    takeErrors();
    this.#sendOut();
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    const s = requireOpenSsl();
    try {
      while (!this.#isClosed) {
        if (this.#paused) {
          await new Promise<void>((r) => this.#resumeReading = r);
          this.#resumeReading = undefined;
          continue;
        }
        const n = await this.#conn.read(buffer);
        if (this.#isClosed) return;
        if (n === null) {
          // TCP EOF: the plaintext already decrypted was delivered; no close_notify is fine.
          this.#finish();
          this.close();
          return;
        }
        let offset = 0;
        while (offset < n) {
          const w = s.BIO_write(this.#rbio, buffer.subarray(offset, n), n - offset);
          if (w <= 0) throw new OpenSslError("Cannot read from TLS connection", "BIO_write");
          offset += w;
        }
        this.#step();
      }
    } catch (e) {
      this.close(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Advances the handshake or reads plaintext, then sends what OpenSSL wrote. */
  #step(): void {
    if (this.#isClosed) return;
    const s = requireOpenSsl();
    try {
      if (!this.#open) {
        const r = this.#role === "client" ? s.SSL_connect(this.#ssl) : s.SSL_accept(this.#ssl);
        if (r === 1) {
          this.#open = true;
          this.#handshakeDone.resolve();
        } else {
          const code = s.SSL_get_error(this.#ssl, r);
          if (code !== SSL_ERROR.WANT_READ && code !== SSL_ERROR.WANT_WRITE) {
            throw new OpenSslError("Cannot complete TLS handshake", "SSL_connect/SSL_accept", code);
          }
        }
      }
      if (this.#open) this.#readPlain();
    } catch (e) {
      this.#sendOut();
      this.close(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    this.#sendOut();
  }

  #readPlain(): void {
    const s = requireOpenSsl();
    while (!this.#isClosed && this.#ended === undefined) {
      const n = s.SSL_read(this.#ssl, sharedPlain, sharedPlain.length);
      if (n > 0) {
        this.#deliver(sharedPlain.slice(0, n));
        continue;
      }
      const code = s.SSL_get_error(this.#ssl, n);
      if (code === SSL_ERROR.WANT_READ || code === SSL_ERROR.WANT_WRITE) return;
      if (code === SSL_ERROR.ZERO_RETURN) return this.#finish();
      throw new OpenSslError("Cannot read from TLS connection", "SSL_read", code);
    }
  }

  /** Moves the write BIO's records to the socket (one send in flight at a time). */
  #sendOut(): void {
    if (this.#sending || this.#isClosed) return;
    const s = requireOpenSsl();
    const pending = Number(s.BIO_ctrl_pending(this.#wbio));
    if (pending === 0) {
      const drain = this.#drain;
      this.#drain = undefined;
      drain?.resolve();
      return;
    }
    const out = pending <= sharedCipherOut.length ? sharedCipherOut : new Uint8Array(pending);
    const n = s.BIO_read(this.#wbio, out, Math.min(pending, out.length));
    if (n <= 0) return;
    this.#sending = true;
    this.#outBytes = Number(s.BIO_ctrl_pending(this.#wbio));
    // The shared scratch is reused by the next connection: the send keeps a copy.
    this.#writeAll(out.slice(0, n)).then(() => {
      this.#sending = false;
      this.#sendOut();
    }, (e) => {
      this.#sending = false;
      this.close(e instanceof Error ? e : new Error(String(e)));
    });
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  #deliver(chunk: Uint8Array): void {
    if (this.#push !== undefined) return this.#push.onChunk(chunk);
    this.#queue.push(chunk);
    this.#wakeReader?.();
  }

  #finish(error?: Error): void {
    if (this.#ended !== undefined) return;
    this.#ended = error === undefined ? {} : { error };
    if (this.#push !== undefined) this.#push.onEnd(error);
    else this.#wakeReader?.();
  }

  /** See {@linkcode DirectLane.write}. */
  write(chunk: Uint8Array): Promise<void> | undefined {
    if (!this.#open || this.#isClosed) {
      throw this.#failure ?? new Deno.errors.BrokenPipe("TLS connection closed");
    }
    if (chunk.length === 0) return undefined;
    const s = requireOpenSsl();
    let offset = 0;
    while (offset < chunk.length) {
      // Memory BIOs grow: SSL_write takes everything at once.
      const n = s.SSL_write(this.#ssl, chunk.subarray(offset), chunk.length - offset);
      if (n <= 0) {
        const error = new OpenSslError(
          "Cannot write to TLS connection",
          "SSL_write",
          s.SSL_get_error(this.#ssl, n),
        );
        this.close(error);
        throw error;
      }
      offset += n;
    }
    // Sent the same call stack when no send is in flight (the ping path).
    this.#sendOut();
    if (this.#outBytes + Number(s.BIO_ctrl_pending(this.#wbio)) < WRITE_HIGH_WATER_BYTES) {
      return undefined;
    }
    if (this.#drain === undefined) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#drain = { promise, resolve, reject };
    }
    return this.#drain.promise;
  }

  /** See {@linkcode DirectLane.takeReads}. */
  takeReads(
    onChunk: (chunk: Uint8Array) => void,
    onEnd: (error?: Error) => void,
  ): LaneReadControl {
    if (this.#push !== undefined) throw new Error("TLS reads were already taken over");
    this.#push = { onChunk, onEnd };
    for (const chunk of this.#queue.splice(0)) onChunk(chunk);
    if (this.#ended !== undefined) onEnd(this.#ended.error);
    return {
      pause: () => {
        this.#paused = true;
      },
      resume: () => {
        this.#paused = false;
        this.#resumeReading?.();
      },
    };
  }

  /** This connection as the pipeline's {@linkcode ByteDuplex}. */
  duplex(info: TransportInfo): ByteDuplex {
    const lane: DirectLane = {
      write: (chunk) => this.write(chunk),
      takeReads: (onChunk, onEnd) => this.takeReads(onChunk, onEnd),
    };
    let readable: ReadableStream<Uint8Array> | undefined;
    let writable: WritableStream<Uint8Array> | undefined;
    const makeReadable = () =>
      new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          while (this.#queue.length === 0 && this.#ended === undefined) {
            await new Promise<void>((resolve) => (this.#wakeReader = resolve));
            this.#wakeReader = undefined;
          }
          const chunk = this.#queue.shift();
          if (chunk !== undefined) return controller.enqueue(chunk);
          if (this.#ended?.error !== undefined) controller.error(this.#ended.error);
          else controller.close();
        },
        cancel: () => this.close(),
      }, { highWaterMark: 0 });
    const makeWritable = () =>
      new WritableStream<Uint8Array>({
        write: async (chunk) => {
          await this.write(chunk);
        },
        close: () => this.shutdown(),
        abort: () => this.close(),
      });
    const addr = (a: Deno.Addr) =>
      a.transport === "tcp" ? { hostname: a.hostname, port: a.port } : { hostname: "", port: 0 };
    const push = () => this.#push;
    return {
      get readable() {
        if (push() !== undefined) throw new Error("TLS reads were taken over by the data path");
        return readable ??= makeReadable();
      },
      get writable() {
        return writable ??= makeWritable();
      },
      close: () => this.close(),
      closed: this.closed,
      localAddr: addr(this.#conn.localAddr),
      remoteAddr: addr(this.#conn.remoteAddr),
      info,
      lane,
    };
  }
}

/**
 * Connects with `Deno.connect` and completes the TLS handshake.
 *
 * @throws {Error} the connect or handshake failure, or a timeout.
 */
export async function dialOpenSslMem(options: {
  host: string;
  port: number;
  serverName?: string;
  ctx: SslContext;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<OpenSslMemConn> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ]);
  const tcp = await Deno.connect({ hostname: options.host, port: options.port, signal });
  const conn = new OpenSslMemConn(tcp, options.ctx, {
    ...(options.serverName === undefined ? {} : { serverName: options.serverName }),
  });
  const onAbort = () =>
    conn.close(
      new Deno.errors.TimedOut(
        `Cannot connect to ${options.host}:${options.port}: no TLS handshake within ${options.timeoutMs} ms`,
      ),
    );
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await conn.handshake;
    return conn;
  } catch (e) {
    await conn.closed;
    throw e;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
