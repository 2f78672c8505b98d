/**
 * A TLS connection by OpenSSL on a non-blocking TCP socket, driven by the
 * shared epoll reactor: the second transport behind the data path's seam
 * ({@linkcode ByteDuplex} with its {@linkcode DirectLane}).
 *
 * Why: with node:tls each received record crosses Deno's TLS read path
 * (native TLSWrap → node stream → `data` event); here the reactor's wake-up
 * calls `SSL_read` directly on the socket and hands the plaintext to the data
 * path in the same call stack, and a write is one `SSL_write` (one TLS record,
 * one `send`) in the caller's stack.
 *
 * Flow, all in one reactor callback ({@linkcode OpenSslConn}):
 * 1. connecting: the socket turns writable; `SO_ERROR` says how the connect ended;
 * 2. handshake: `SSL_connect`/`SSL_accept` until it returns 1 (WANT_READ/WANT_WRITE wait
 *    for the next edge);
 * 3. open: queued writes are flushed, then `SSL_read` until WANT_READ (edge-triggered:
 *    the socket must be drained), unless reading is paused.
 *
 * @module
 */

import type {
  ByteDuplex,
  DirectLane,
  LaneReadControl,
  TransportAddr,
  TransportInfo,
} from "../lib/duplex.ts";
import { sslCallError } from "./ssl_call_error.ts";
import { formatIpv6, parseIpv6 } from "../lib/ipv6/address.ts";
import type { EpollReactor } from "./epoll_reactor.ts";
import {
  AF_INET,
  AF_INET6,
  check,
  closeQuietly,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  ERRNO,
  errno,
  ErrnoError,
  IPPROTO_TCP,
  libc,
  SO_ERROR,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from "./libc.ts";
import {
  negotiated,
  OpenSslError,
  peerCertificateDer,
  requireOpenSsl,
  setPartialWrites,
  setServerName,
  SSL_ERROR,
  type SslContext,
  takeErrors,
  verifyResult,
} from "./openssl.ts";

const EINPROGRESS = ERRNO.EINPROGRESS.code;

/** Bytes asked of one `SSL_read` (a TLS record carries at most 16 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * The buffer every connection of this thread reads into: each `SSL_read`'s
 * bytes are copied out before the call returns, so one buffer serves all
 * (a 64 KiB buffer per connection cost a server 64 KiB per session).
 */
const readBuffer = new Uint8Array(READ_BUFFER_BYTES);
/** Reads delivered before the readable (preamble phase) stops pulling from the socket. */
const PREAMBLE_QUEUE_BYTES = 1024 * 1024;

/** What the handshake produced, beyond {@linkcode TransportInfo}. */
export interface OpenSslHandshake {
  /** `SSL_get_verify_result` and its text (meaningful only when the context verifies). */
  verify: { code: number; text: string };
}

/** What {@linkcode OpenSslConn.handOver} gives the new owner. */
export interface OpenSslHandOver {
  /** Address of the `SSL*` (`Deno.UnsafePointer.value`), valid in every thread of the process. */
  ssl: bigint;
  /** The non-blocking socket fd the `SSL*` reads and writes. */
  fd: number;
  /** Plaintext received and not yet delivered, oldest first. */
  received: Uint8Array[];
  /** Plaintext written and not yet taken by `SSL_write`, oldest first. */
  unsent: Uint8Array[];
  /** Set when the peer had already closed (no error) or the connection failed. */
  ended?: { error?: Error };
}

type Phase = "connecting" | "handshake" | "open" | "closed";

/** One TLS connection by OpenSSL over a socket fd the connection owns. */
export class OpenSslConn {
  readonly #fd: number;
  readonly #ssl: Deno.PointerObject;
  readonly #reactor: EpollReactor;
  readonly #role: "client" | "server";
  #phase: Phase;
  #handshakeDone!: { resolve(): void; reject(e: Error): void };
  /** Settles when the handshake completes or fails. */
  readonly handshake: Promise<void>;
  #closedResolve!: () => void;
  /** Resolves once the socket is closed and the `SSL*` freed. */
  readonly closed: Promise<void> = new Promise((r) => this.#closedResolve = r);
  #failure: Error | undefined;
  // Writes waiting for the socket to become writable.
  readonly #pending: Uint8Array[] = [];
  #drain: { promise: Promise<void>; resolve(): void; reject(e: Error): void } | undefined;
  // Reads: queued for the preamble's readable until the data path takes over.
  readonly #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #ended: { error?: Error } | undefined;
  #wakeReader: (() => void) | undefined;
  #push: { onChunk(chunk: Uint8Array): void; onEnd(error?: Error): void } | undefined;
  #paused = false;
  #reading = false;

  /**
   * Takes ownership of `fd` (a non-blocking TCP socket, connected or
   * connecting) and starts the handshake as soon as the socket is ready.
   */
  constructor(
    fd: number,
    ctx: SslContext,
    reactor: EpollReactor,
    options: { connecting?: boolean; serverName?: string } = {},
  ) {
    const s = requireOpenSsl();
    this.#fd = fd;
    this.#reactor = reactor;
    this.#role = ctx.role;
    this.handshake = new Promise<void>((resolve, reject) => {
      this.#handshakeDone = { resolve, reject };
    });
    // The caller may never await it when it closes first.
    this.handshake.catch(() => {});
    const ssl = s.SSL_new(ctx.pointer);
    if (ssl === null) {
      closeQuietly(fd);
      throw new OpenSslError("Cannot create TLS connection", "SSL_new");
    }
    this.#ssl = ssl;
    try {
      if (s.SSL_set_fd(ssl, fd) !== 1) {
        throw new OpenSslError("Cannot create TLS connection", "SSL_set_fd");
      }
      setPartialWrites(ssl);
      if (options.serverName !== undefined) setServerName(ssl, options.serverName);
      reactor.register(fd, () => this.#onEvent(), EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    } catch (e) {
      s.SSL_free(ssl);
      closeQuietly(fd);
      throw e;
    }
    this.#phase = options.connecting === true ? "connecting" : "handshake";
    // Edge-triggered: a socket that is already writable may not report a new edge.
    queueMicrotask(() => this.#onEvent());
  }

  /** Version, cipher and the peer's leaf of this very connection (after the handshake). */
  info(): TransportInfo & OpenSslHandshake {
    const { version, cipher } = negotiated(this.#ssl);
    const der = peerCertificateDer(this.#ssl);
    return {
      tlsVersion: version,
      cipher,
      ...(der === undefined ? {} : { peerCertDer: der }),
      verify: verifyResult(this.#ssl),
    };
  }

  /** Local and remote addresses of the socket. */
  addresses(): { localAddr: TransportAddr; remoteAddr: TransportAddr } {
    return {
      localAddr: socketAddress(this.#fd, "getsockname"),
      remoteAddr: socketAddress(this.#fd, "getpeername"),
    };
  }

  /** Tears the connection down now (no close_notify); idempotent. */
  close(error?: Error): void {
    if (this.#phase === "closed") return;
    const wasHandshaking = this.#phase !== "open";
    this.#phase = "closed";
    this.#failure ??= error;
    this.#reactor.unregister(this.#fd);
    requireOpenSsl().SSL_free(this.#ssl);
    closeQuietly(this.#fd);
    const failure = this.#failure ?? new Deno.errors.BrokenPipe("TLS connection closed");
    if (wasHandshaking) this.#handshakeDone.reject(failure);
    this.#drain?.reject(failure);
    this.#drain = undefined;
    this.#pending.length = 0;
    this.#finish(this.#failure);
    this.#closedResolve();
  }

  /**
   * Gives the open connection to another thread (the data-plane Worker):
   * the socket leaves the reactor, the plaintext OpenSSL already holds is
   * read out, and from now on this object never touches the `SSL*` or the
   * fd again (OpenSSL objects must not be used by two threads); the new
   * owner frees and closes them. Returns the `SSL*` address, the fd, the
   * plaintext received but not yet delivered (in order), the writes not yet
   * sent, and whether the peer had already ended the stream.
   *
   * @throws {Error} when the connection is not open.
   */
  handOver(): OpenSslHandOver {
    if (this.#phase !== "open") {
      throw this.#failure ??
        new Deno.errors.BrokenPipe("Cannot hand over TLS connection: not open");
    }
    this.#reactor.unregister(this.#fd);
    const received = this.#queue.splice(0);
    this.#queuedBytes = 0;
    let ended = this.#ended;
    const s = requireOpenSsl();
    while (ended === undefined) {
      const n = s.SSL_read(this.#ssl, readBuffer, readBuffer.length);
      if (n > 0) {
        received.push(readBuffer.slice(0, n));
        continue;
      }
      const code = s.SSL_get_error(this.#ssl, n);
      if (code === SSL_ERROR.WANT_READ || code === SSL_ERROR.WANT_WRITE) break;
      ended = code === SSL_ERROR.ZERO_RETURN
        ? {}
        : { error: sslCallError("Cannot read from TLS connection", "SSL_read", code) };
    }
    const unsent = this.#pending.splice(0);
    this.#phase = "closed";
    this.#drain?.resolve();
    this.#drain = undefined;
    this.#closedResolve();
    return {
      ssl: BigInt(Deno.UnsafePointer.value(this.#ssl)),
      fd: this.#fd,
      received,
      unsent,
      ...(ended === undefined ? {} : { ended }),
    };
  }

  /** Sends close_notify (best effort, non-blocking). */
  shutdown(): void {
    if (this.#phase !== "open") return;
    requireOpenSsl().SSL_shutdown(this.#ssl);
    takeErrors();
  }

  #onEvent(): void {
    if (this.#reactor.isClosed) return this.close(new Error("TLS connection: reactor closed"));
    try {
      if (this.#phase === "connecting" && !this.#connected()) return;
      if (this.#phase === "handshake" && !this.#stepHandshake()) return;
      if (this.#phase !== "open") return;
      this.#flush();
      this.#readAll();
    } catch (e) {
      this.close(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #connected(): boolean {
    const value = new Int32Array(1);
    const length = new Uint32Array([4]);
    check(
      libc().getsockopt(
        this.#fd,
        SOL_SOCKET,
        SO_ERROR,
        new Uint8Array(value.buffer),
        new Uint8Array(length.buffer),
      ),
      "Cannot connect",
      "getsockopt(SO_ERROR)",
    );
    const soError = value[0] ?? 0;
    if (soError === EINPROGRESS) return false;
    if (soError !== 0) throw new ErrnoError("Cannot connect", "connect", soError);
    this.#phase = "handshake";
    return true;
  }

  #stepHandshake(): boolean {
    const s = requireOpenSsl();
    const r = this.#role === "client" ? s.SSL_connect(this.#ssl) : s.SSL_accept(this.#ssl);
    if (r === 1) {
      this.#phase = "open";
      this.#handshakeDone.resolve();
      return true;
    }
    const code = s.SSL_get_error(this.#ssl, r);
    if (code === SSL_ERROR.WANT_READ || code === SSL_ERROR.WANT_WRITE) return false;
    throw sslCallError(
      "Cannot complete TLS handshake",
      this.#role === "client" ? "SSL_connect" : "SSL_accept",
      code,
    );
  }

  /** Writes queued chunks; true when nothing is left. */
  #flush(): boolean {
    const s = requireOpenSsl();
    while (this.#pending.length > 0) {
      const chunk = this.#pending[0] as Uint8Array;
      const n = s.SSL_write(this.#ssl, chunk, chunk.length);
      if (n > 0) {
        if (n === chunk.length) this.#pending.shift();
        else this.#pending[0] = chunk.subarray(n);
        continue;
      }
      const code = s.SSL_get_error(this.#ssl, n);
      if (code === SSL_ERROR.WANT_WRITE || code === SSL_ERROR.WANT_READ) return false;
      throw sslCallError("Cannot write to TLS connection", "SSL_write", code);
    }
    const drain = this.#drain;
    this.#drain = undefined;
    drain?.resolve();
    return true;
  }

  #readAll(): void {
    if (this.#reading) return; // re-entered from a chunk handler (it wrote or resumed)
    this.#reading = true;
    try {
      const s = requireOpenSsl();
      while (this.#phase === "open" && !this.#paused && this.#ended === undefined) {
        if (this.#push === undefined && this.#queuedBytes >= PREAMBLE_QUEUE_BYTES) return;
        const n = s.SSL_read(this.#ssl, readBuffer, readBuffer.length);
        if (n > 0) {
          this.#deliver(readBuffer.slice(0, n));
          continue;
        }
        const code = s.SSL_get_error(this.#ssl, n);
        if (code === SSL_ERROR.WANT_READ) return;
        if (code === SSL_ERROR.WANT_WRITE) return; // the writable edge resumes it
        if (code === SSL_ERROR.ZERO_RETURN) {
          this.#finish();
          return;
        }
        throw sslCallError("Cannot read from TLS connection", "SSL_read", code);
      }
    } finally {
      this.#reading = false;
    }
  }

  #deliver(chunk: Uint8Array): void {
    if (this.#push !== undefined) return this.#push.onChunk(chunk);
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
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
    if (this.#phase !== "open") {
      throw this.#failure ?? new Deno.errors.BrokenPipe("TLS connection closed");
    }
    if (chunk.length === 0) return undefined;
    this.#pending.push(chunk);
    if (this.#pending.length === 1) {
      try {
        if (this.#flush()) return undefined;
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        this.close(error);
        throw error;
      }
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
    this.#queuedBytes = 0;
    for (const chunk of this.#queue.splice(0)) onChunk(chunk);
    if (this.#ended !== undefined) onEnd(this.#ended.error);
    else this.#readAll();
    return {
      pause: () => {
        this.#paused = true;
      },
      resume: () => {
        if (!this.#paused) return;
        this.#paused = false;
        // Bytes may have arrived while paused: their edge is gone, read now.
        queueMicrotask(() => this.#onEvent());
      },
    };
  }

  /** The readable used for the HTTP preamble, before {@linkcode takeReads}. */
  makeReadable(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (this.#queue.length === 0 && this.#ended === undefined) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
          this.#wakeReader = undefined;
        }
        const chunk = this.#queue.shift();
        if (chunk !== undefined) {
          const wasFull = this.#queuedBytes >= PREAMBLE_QUEUE_BYTES;
          this.#queuedBytes -= chunk.length;
          if (wasFull) queueMicrotask(() => this.#onEvent());
          return controller.enqueue(chunk);
        }
        if (this.#ended?.error !== undefined) controller.error(this.#ended.error);
        else controller.close();
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
  }

  /** The writable used for the HTTP preamble; closing it sends close_notify. */
  makeWritable(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.shutdown(),
      abort: () => this.close(),
    });
  }

  /** This connection as the pipeline's {@linkcode ByteDuplex}. */
  duplex(info: TransportInfo): ByteDuplex {
    const lane: DirectLane = {
      write: (chunk) => this.write(chunk),
      takeReads: (onChunk, onEnd) => this.takeReads(onChunk, onEnd),
    };
    let readable: ReadableStream<Uint8Array> | undefined;
    let writable: WritableStream<Uint8Array> | undefined;
    const { localAddr, remoteAddr } = this.addresses();
    // deno-lint-ignore no-this-alias
    const conn = this;
    return {
      get readable() {
        if (conn.#push !== undefined) {
          throw new Error("TLS reads were taken over by the data path");
        }
        return readable ??= conn.makeReadable();
      },
      get writable() {
        return writable ??= conn.makeWritable();
      },
      close: () => this.close(),
      closed: this.closed,
      localAddr,
      remoteAddr,
      info,
      lane,
    };
  }
}

/** `struct sockaddr_in` / `sockaddr_in6` for an IP literal. */
export function sockaddr(host: string, port: number): Uint8Array<ArrayBuffer> {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4 !== null) {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    for (let i = 0; i < 4; i++) {
      const b = Number(v4[i + 1]);
      if (b > 255) throw new TypeError(`Cannot parse address "${host}": octet ${b} > 255`);
      out[4 + i] = b;
    }
    return out;
  }
  const v6 = parseIpv6(host.replace(/^\[(.*)\]$/, "$1"));
  if (v6 === undefined) throw new TypeError(`Cannot parse address "${host}": not an IP literal`);
  const out = new Uint8Array(28);
  const view = new DataView(out.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  out.set(v6, 8);
  return out;
}

/** The local or the peer address of socket `fd` (an IPv4-mapped IPv6 address as IPv4). */
export function socketAddress(fd: number, call: "getsockname" | "getpeername"): TransportAddr {
  const buf = new Uint8Array(28);
  const len = new Uint32Array([28]);
  if (libc()[call](fd, buf, new Uint8Array(len.buffer)) < 0) return { hostname: "", port: 0 };
  const view = new DataView(buf.buffer);
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === AF_INET) return { hostname: [...buf.subarray(4, 8)].join("."), port };
  const address = buf.subarray(8, 24);
  // ::ffff:a.b.c.d: an IPv4 client of a dual-stack socket.
  if (
    address.subarray(0, 10).every((b) => b === 0) && address[10] === 0xff && address[11] === 0xff
  ) {
    return { hostname: [...address.subarray(12, 16)].join("."), port };
  }
  return { hostname: formatIpv6(address), port };
}

/**
 * A non-blocking TCP socket connecting to `host:port` (an IP literal), with
 * `TCP_NODELAY` set. The connect completes later (the socket turns writable).
 *
 * @throws {ErrnoError}
 */
export function connectTcp(host: string, port: number): number {
  const address = sockaddr(host, port);
  const family = address.length === 16 ? AF_INET : AF_INET6;
  const action = `Cannot connect to ${host}:${port}`;
  const fd = check(
    libc().socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
    action,
    "socket",
  );
  try {
    setNoDelay(fd);
    if (libc().connect(fd, address, address.length) < 0) {
      const e = errno();
      if (e !== EINPROGRESS) throw new ErrnoError(action, "connect", e);
    }
    return fd;
  } catch (e) {
    closeQuietly(fd);
    throw e;
  }
}

/** Sets `TCP_NODELAY`: the data path gathers packets itself; Nagle would delay pings and ACKs. */
export function setNoDelay(fd: number): void {
  const one = new Int32Array([1]);
  libc().setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(one.buffer), 4);
}

/** Options of {@linkcode dialOpenSsl}. */
export interface DialOpenSslOptions {
  /** IP literal to dial. */
  host: string;
  /** TCP port. */
  port: number;
  /** SNI to send, if any. */
  serverName?: string;
  /** The client context (verification, versions, client certificate). */
  ctx: SslContext;
  /** Wakes the non-blocking socket when it becomes readable or writable. */
  reactor: EpollReactor;
  /** Handshake deadline (ms). */
  timeoutMs: number;
  /** Aborts the dial. */
  signal?: AbortSignal;
}

/**
 * Connects and completes the TLS handshake.
 *
 * @throws {ErrnoError | OpenSslError | Error} the connect or handshake failure, or a timeout.
 */
export async function dialOpenSsl(options: DialOpenSslOptions): Promise<OpenSslConn> {
  options.signal?.throwIfAborted();
  const fd = connectTcp(options.host, options.port);
  const conn = new OpenSslConn(fd, options.ctx, options.reactor, {
    connecting: true,
    ...(options.serverName === undefined ? {} : { serverName: options.serverName }),
  });
  const timer = setTimeout(() => {
    conn.close(
      new Deno.errors.TimedOut(
        `Cannot connect to ${options.host}:${options.port}: no TLS handshake within ${options.timeoutMs} ms`,
      ),
    );
  }, options.timeoutMs);
  const onAbort = () =>
    conn.close(options.signal?.reason ?? new DOMException("Aborted", "AbortError"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await conn.handshake;
    return conn;
  } catch (e) {
    await conn.closed;
    throw e;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * A non-blocking listening TCP socket on `host:port` (port 0: any), with
 * `SO_REUSEADDR`. Returns the fd and the bound port.
 *
 * @throws {ErrnoError}
 */
export function listenTcp(
  host: string,
  port: number,
  backlog = 1024,
): { fd: number; port: number } {
  const address = sockaddr(host, port);
  const family = address.length === 16 ? AF_INET : AF_INET6;
  const action = `Cannot listen on ${host}:${port}`;
  const fd = check(
    libc().socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
    action,
    "socket",
  );
  try {
    const one = new Int32Array([1]);
    libc().setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(one.buffer), 4);
    check(libc().bind(fd, address, address.length), action, "bind");
    check(libc().listen(fd, backlog), action, "listen");
    return { fd, port: socketAddress(fd, "getsockname").port };
  } catch (e) {
    closeQuietly(fd);
    throw e;
  }
}

/**
 * Accepts one pending connection as a non-blocking socket with `TCP_NODELAY`;
 * `undefined` when none is pending.
 *
 * @throws {ErrnoError} for failures other than EAGAIN.
 */
export function acceptTcp(listenFd: number): number | undefined {
  const fd = libc().accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    const e = errno();
    if (e === ERRNO.EAGAIN.code || e === ERRNO.EINTR.code) return undefined;
    throw new ErrnoError("Cannot accept TCP connection", "accept4", e);
  }
  setNoDelay(fd);
  return fd;
}
