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
} from "../lib/transport/tls_engine.ts";
import { EpollReactor } from "./epoll_reactor.ts";
import { openSsl, openSslUnavailableReason, SslContext, X509_V_OK } from "./openssl.ts";
import { dialOpenSsl } from "./openssl_conn.ts";
import { dialOpenSslMem } from "./openssl_mem_conn.ts";

let reactor: EpollReactor | undefined;

/**
 * How the socket is waited for: `deno` (default), Deno's own reactor with
 * OpenSSL on memory BIOs (`openssl_mem_conn.ts`); `epoll`, a raw socket in
 * the epoll reactor (`openssl_conn.ts`). The environment variable
 * `SSTP_OPENSSL_IO` picks one, for measurements (bench/README.md).
 */
export type OpenSslIo = "deno" | "epoll";

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
    if (io === "epoll" && (reactor === undefined || reactor.isClosed)) {
      reactor = new EpollReactor();
    }
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
