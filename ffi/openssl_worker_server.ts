/**
 * The server side of `tls-engine: openssl-worker`: accepts on a raw
 * listening socket in the main thread's epoll reactor, runs each TLS
 * handshake with OpenSSL (`SSL_accept`, non-blocking, edge-driven), and
 * hands each connection whose handshake completed to the session as a
 * {@linkcode ByteDuplex} whose `offload` moves it, after the HTTP preamble,
 * to one of a fixed pool of data-plane Workers (`worker_data_path.ts`,
 * one per core by default). There, one `epoll_wait` per Worker serves every
 * session's socket and TUN device: one wake-up per hop.
 *
 * Admission is the caller's `admit` hook, asked for each accepted socket
 * before any TLS object exists (`listenTls` answers it with the node:tls
 * listeners' `HandshakeAdmission`: per-source cap, oldest first over
 * `max-handshakes`, the deadline): a refused socket is reset; one the
 * admission closes later (evicted, or past the deadline) fails its
 * handshake and its socket is really released. The listener has no caps or
 * deadline of its own. The versions are enforced by the context; so are required
 * client certificates (`clientCaPem`: OpenSSL asks for one and fails the
 * handshake without a certificate that verifies). The suite policy is
 * checked by the caller after the handshake (`listenTls`).
 *
 * @module
 */
import type {
  TlsEngineListener,
  TlsEngineListenOptions,
  TlsEngineServer,
} from "../lib/tls_engine.ts";
import { EpollReactor } from "./epoll_reactor.ts";
import { closeQuietly, EPOLLIN, ErrnoError } from "./libc.ts";
import { openSsl, openSslUnavailableReason, SslContext } from "./openssl.ts";
import { acceptTcp, listenTcp, OpenSslConn, socketAddress } from "./openssl_conn.ts";
import { DataPlaneWorkerPool, WorkerDataPath } from "./worker_data_path.ts";
import { resetFd } from "./tcp_reset.ts";

/** Closes a connection in its handshake, with the reason its handshake failed. */
type Close = (why?: string) => void;
/** Retry delay after an accept failure (descriptor exhaustion). */
const ACCEPT_RETRY_MS = 100;

let reactor: EpollReactor | undefined;
let pool: DataPlaneWorkerPool | undefined;
let listeners = 0;

/** Data-plane Workers of the server: one per core (`SSTP_DATA_WORKERS` overrides). */
function workerCount(): number {
  const env = Number(Deno.env.get("SSTP_DATA_WORKERS"));
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
}

/**
 * Binds `o.hostname:o.port` and accepts (see the module doc).
 *
 * @throws {ErrnoError} the bind error; {@linkcode OpenSslError} for a bad certificate or key.
 */
export function listenOpenSslWorker(o: TlsEngineListenOptions): TlsEngineListener {
  const ctx = new SslContext({
    role: "server",
    certPem: o.certPem,
    keyPem: o.keyPem,
    ...(o.minVersion === undefined ? {} : { minVersion: o.minVersion }),
    ...(o.maxVersion === undefined ? {} : { maxVersion: o.maxVersion }),
    ...(o.clientCaPem === undefined ? {} : { requirePeerCertificate: true, caPem: o.clientCaPem }),
  });
  let bound: { fd: number; port: number };
  try {
    bound = listenTcp(o.hostname, o.port, 4096);
  } catch (e) {
    ctx.free();
    if (e instanceof ErrnoError && e.code === "EADDRINUSE") {
      throw new Deno.errors.AddrInUse(e.message);
    }
    throw e;
  }
  if (reactor === undefined || reactor.isClosed) reactor = new EpollReactor();
  const loop = reactor;
  pool ??= new DataPlaneWorkerPool(workerCount());
  const workers = pool;
  listeners++;
  /** The close of each connection before the end of its handshake. */
  const pending = new Set<Close>();
  let isClosed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const { promise: closed, resolve: markClosed } = Promise.withResolvers<void>();

  const handshake = (fd: number): void => {
    const remote = socketAddress(fd, "getpeername");
    const peer = `${remote.hostname}:${remote.port}`;
    let conn: OpenSslConn | undefined;
    let reason: string | undefined;
    // Refused before any TLS object exists: a reset. Later: the handshake fails with `why`.
    const close: Close = (why) => {
      if (reason !== undefined) return;
      reason = why ?? "closed by the handshake admission";
      if (conn === undefined) resetFd(fd);
      else conn.close(new Error(reason));
    };
    const slot = o.admit(remote, () => close());
    if (slot === undefined) {
      close();
      return;
    }
    try {
      conn = new OpenSslConn(fd, ctx, loop);
    } catch (e) {
      slot.finish();
      o.onHandshakeError(peer, e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const opened = conn;
    pending.add(close);
    opened.handshake.then(() => {
      pending.delete(close);
      slot.finish();
      if (reason !== undefined) return;
      const { verify: _, ...info } = opened.info();
      const path = new WorkerDataPath(opened, workers.pick());
      const duplex = path.duplex({
        ...info,
        acceptedMs: slot.acceptedMs,
        // The handshake failed unless the client's certificate verified.
        ...(o.clientCaPem === undefined ? {} : { peerVerified: true }),
      });
      duplex.offload = path;
      o.onConnection(duplex);
    }, (error: Error) => {
      pending.delete(close);
      slot.finish();
      o.onHandshakeError(peer, reason === undefined ? error : new Error(reason));
    });
  };

  const onAccept = (): void => {
    if (isClosed) return;
    for (;;) {
      let fd: number | undefined;
      try {
        fd = acceptTcp(bound.fd);
      } catch (e) {
        // EMFILE and the like: the connection waits in the backlog; edge-triggered,
        // nothing reports it again, so look again shortly.
        const error = e instanceof Error ? e : new Error(String(e));
        if (o.onAcceptError !== undefined) o.onAcceptError(error);
        else o.onHandshakeError(`(accept on ${o.hostname}:${bound.port})`, error);
        retry ??= setTimeout(() => {
          retry = undefined;
          onAccept();
        }, ACCEPT_RETRY_MS);
        return;
      }
      if (fd === undefined) return;
      handshake(fd);
    }
  };
  loop.register(bound.fd, onAccept, EPOLLIN);

  return {
    addr: { hostname: o.hostname, port: bound.port },
    close() {
      if (isClosed) return;
      isClosed = true;
      clearTimeout(retry);
      loop.unregister(bound.fd);
      closeQuietly(bound.fd);
      for (const close of [...pending]) close("listener closed");
      ctx.free();
      // Sessions handed out keep their Worker; the pool exits once none is left.
      if (--listeners === 0 && pool !== undefined) {
        pool.closeWhenIdle();
        pool = undefined;
      }
      markClosed();
    },
    closed,
  };
}

/**
 * The `openssl-worker` server engine, or the reason it is unavailable
 * (`libssl.so.3` or `libcrypto.so.3` missing, or no FFI permission).
 */
export function openSslWorkerServer(): TlsEngineServer | string {
  if (openSsl() === undefined) return openSslUnavailableReason() ?? "libssl.so.3 not loaded";
  return {
    name: "openssl-worker",
    verifiesClientCertificates: true,
    listen: listenOpenSslWorker,
  };
}
