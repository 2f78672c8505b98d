/**
 * The system OpenSSL as a {@linkcode TlsEngineDialer} for the client: one
 * `SSL_CTX` per dial (its settings come from the dial's options), one
 * {@linkcode EpollReactor} for every connection of the process (its loop runs
 * only while a connection is open).
 *
 * @module
 */
import type {
  TlsEngineConnection,
  TlsEngineDialer,
  TlsEngineDialOptions,
  TlsEngineListener,
  TlsEngineListenOptions,
  TlsEngineServer,
} from "../lib/tls_engine.ts";
import { EpollReactor } from "./epoll_reactor.ts";
import { openSsl, openSslUnavailableReason, SslContext, X509_V_OK } from "./openssl.ts";
import { dialOpenSsl, type OpenSslConn } from "./openssl_conn.ts";
import { spawnDataPlaneWorker, WorkerDataPath } from "./worker_data_path.ts";
import { dialOpenSslMem, OpenSslMemConn } from "./openssl_mem_conn.ts";
import { resetTcpConn } from "./tcp_reset.ts";

let reactor: EpollReactor | undefined;

/**
 * How the socket is waited for: `deno` (default), Deno's own reactor with
 * OpenSSL on memory BIOs (`openssl_mem_conn.ts`); `epoll`, a raw socket in
 * the epoll reactor (`openssl_conn.ts`); `worker`, the raw socket handed
 * after the HTTP preamble to the data-plane Worker, which also takes the
 * TUN device at link-up (`worker_data_path.ts`, `tls-engine:
 * openssl-worker`). The environment variable `SSTP_OPENSSL_IO` picks `deno`
 * or `epoll` for `tls-engine: openssl`, for measurements (bench/README.md).
 */
export type OpenSslIo = "deno" | "epoll" | "worker";

/**
 * The OpenSSL dialer, or the reason it is unavailable (`libssl.so.3` or
 * `libcrypto.so.3` missing, or no FFI permission).
 */
export function openSslDialer(
  io: OpenSslIo = Deno.env.get("SSTP_OPENSSL_IO") === "epoll" ? "epoll" : "deno",
): TlsEngineDialer | string {
  if (openSsl() === undefined) return openSslUnavailableReason() ?? "libssl.so.3 not loaded";
  return { name: `openssl (${io} I/O)`, dial: (o) => dial(o, io) };
}

async function dial(o: TlsEngineDialOptions, io: OpenSslIo): Promise<TlsEngineConnection> {
  const ctx = new SslContext({
    role: "client",
    minVersion: o.minVersion,
    ...(o.maxVersion === undefined ? {} : { maxVersion: o.maxVersion }),
    verify: o.verifyChain,
    ...(o.caPem === undefined ? {} : { caPem: o.caPem }),
    ...(o.clientCertPem === undefined
      ? {}
      : { certPem: o.clientCertPem, keyPem: o.clientKeyPem ?? "" }),
  });
  try {
    const common = {
      host: o.address,
      port: o.port,
      ...(o.serverName === undefined ? {} : { serverName: o.serverName }),
      ctx,
      timeoutMs: o.timeoutMs,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    };
    if (io !== "deno" && (reactor === undefined || reactor.isClosed)) {
      reactor = new EpollReactor();
    }
    if (io === "worker" && reactor !== undefined) return await dialWorker(common, reactor);
    const conn = io === "epoll" && reactor !== undefined
      ? await dialOpenSsl({ ...common, reactor })
      : await dialOpenSslMem(common);
    const { verify, ...info } = conn.info();
    return {
      duplex: conn.duplex(info),
      ...(info.peerCertDer === undefined ? {} : { peerCertDer: info.peerCertDer }),
      tlsVersion: info.tlsVersion ?? "",
      cipher: info.cipher ?? "",
      chain: { ok: verify.code === X509_V_OK, code: verify.code, reason: verify.text },
    };
  } finally {
    // Each SSL* holds its own reference to the context.
    ctx.free();
  }
}

/**
 * Dials on a raw socket (the handshake and the HTTP preamble on this thread)
 * while the data-plane Worker loads; the connection goes to the Worker when
 * the runner takes its reads over.
 */
async function dialWorker(
  common: Omit<Parameters<typeof dialOpenSsl>[0], "reactor">,
  reactor: EpollReactor,
): Promise<TlsEngineConnection> {
  const worker = spawnDataPlaneWorker();
  let conn: OpenSslConn;
  try {
    conn = await dialOpenSsl({ ...common, reactor });
  } catch (e) {
    worker.close();
    throw e;
  }
  const { verify, ...info } = conn.info();
  const path = new WorkerDataPath(conn, worker);
  return {
    duplex: path.duplex(info),
    ...(info.peerCertDer === undefined ? {} : { peerCertDer: info.peerCertDer }),
    tlsVersion: info.tlsVersion ?? "",
    cipher: info.cipher ?? "",
    chain: { ok: verify.code === X509_V_OK, code: verify.code, reason: verify.text },
    offload: path,
  };
}

/**
 * The OpenSSL server engine (memory BIOs over `Deno.listen` connections), or
 * the reason it is unavailable. Each accepted connection passes the
 * caller's `admit` hook before any TLS object exists; a connection the
 * admission closes (evicted, or past the deadline) is closed at once (the
 * socket is ours).
 */
export function openSslServer(): TlsEngineServer | string {
  if (openSsl() === undefined) return openSslUnavailableReason() ?? "libssl.so.3 not loaded";
  return { name: "openssl", listen };
}

/** Pause before accepting again after an accept failed (e.g. EMFILE). */
const ACCEPT_RETRY_MS = 100;

function listen(o: TlsEngineListenOptions): TlsEngineListener {
  const ctx = new SslContext({
    role: "server",
    certPem: o.certPem,
    keyPem: o.keyPem,
    ...(o.minVersion === undefined ? {} : { minVersion: o.minVersion }),
    ...(o.maxVersion === undefined ? {} : { maxVersion: o.maxVersion }),
  });
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: o.hostname, port: o.port });
  } catch (e) {
    ctx.free();
    throw e;
  }
  const handshakes = new Set<Promise<void>>();
  const handshake = async (tcp: Deno.TcpConn) => {
    const peer = `${tcp.remoteAddr.hostname}:${tcp.remoteAddr.port}`;
    // Until the TLS connection owns the socket, closing means a refusal (logged
    // by the admission, rate-limited): a reset, as node:tls's listener and
    // `openssl-worker` do (no FIN exchange, no TIME_WAIT entry). An eviction
    // or the deadline closes the TLS connection, as they do too.
    let closeNow = () => resetTcpConn(tcp);
    const admitted = o.admit(
      { hostname: tcp.remoteAddr.hostname, port: tcp.remoteAddr.port },
      () => closeNow(),
    );
    if (admitted === undefined) return;
    let conn: OpenSslMemConn;
    try {
      conn = new OpenSslMemConn(tcp, ctx);
    } catch (e) {
      admitted.finish();
      o.onHandshakeError(peer, e instanceof Error ? e : new Error(String(e)));
      return;
    }
    closeNow = () => conn.close(new Error("closed by admission (max-handshakes or deadline)"));
    try {
      await conn.handshake;
      admitted.finish();
      const { verify: _, ...info } = conn.info();
      o.onConnection(conn.duplex({ ...info, acceptedMs: admitted.acceptedMs }));
    } catch (e) {
      admitted.finish();
      o.onHandshakeError(peer, e instanceof Error ? e : new Error(String(e)));
      await conn.closed;
    }
  };
  let closing = false;
  const loop = (async () => {
    while (!closing) {
      let tcp: Deno.TcpConn;
      try {
        tcp = await listener.accept();
      } catch (e) {
        if (closing) break;
        // Descriptor exhaustion (EMFILE) and other transient failures: the
        // listener stays usable; retry after a pause instead of spinning.
        o.onAcceptError?.(e instanceof Error ? e : new Error(String(e)));
        await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
        continue;
      }
      const task = handshake(tcp);
      handshakes.add(task);
      task.finally(() => handshakes.delete(task));
    }
  })();
  const addr = listener.addr;
  return {
    addr: { hostname: addr.hostname, port: addr.port },
    close() {
      closing = true;
      try {
        listener.close();
      } catch { /* already closed */ }
    },
    closed: loop.then(async () => {
      await Promise.all(handshakes);
      ctx.free();
    }),
  };
}
