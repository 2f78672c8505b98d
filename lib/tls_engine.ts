/**
 * The seam for a second TLS library: the client dials through a
 * {@linkcode TlsEngineDialer} (the system OpenSSL by FFI, built in `ffi/`
 * and handed in by `main.ts`) instead of node:tls. The engine only connects
 * and runs the handshake; what the certificate must satisfy (pin, chain,
 * dates, purpose, name) is still decided by `tls_client.ts`, with the same
 * error codes whatever the engine.
 *
 * @module
 */
import type { ByteDuplex } from "./duplex.ts";

/** What {@linkcode TlsEngineDialer.dial} needs. */
export interface TlsEngineDialOptions {
  /** IP literal (already resolved). */
  address: string;
  /** TCP port of the server. */
  port: number;
  /** SNI to send, if any. */
  serverName?: string;
  /** Ask the engine to verify the chain (against `caPem`, or the system roots). */
  verifyChain: boolean;
  /** Trusted CAs (PEM). */
  caPem?: string;
  /** Client certificate (PEM, leaf first) and its key. */
  clientCertPem?: string;
  /** The client certificate's private key (PEM). */
  clientKeyPem?: string;
  /** Lowest TLS version to offer (RouterOS `tls-version`). */
  minVersion: "TLSv1.2" | "TLSv1.3";
  /** Highest TLS version to offer; absent: the library's highest. */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** Deadline for TCP connect plus handshake, ms. */
  timeoutMs: number;
  /** Aborts the dial (the socket is closed). */
  signal?: AbortSignal;
}

/** A connection the engine made. */
export interface TlsEngineConnection {
  /** The connection as the data path uses it (with its lane). */
  duplex: ByteDuplex;
  /** DER of the server's leaf, from this very connection. */
  peerCertDer?: Uint8Array;
  /** Negotiated version, e.g. `TLSv1.3`. */
  tlsVersion: string;
  /** Negotiated suite in OpenSSL's naming, e.g. `TLS_AES_256_GCM_SHA384`. */
  cipher: string;
  /** The engine's chain verdict (only meaningful with `verifyChain`). */
  chain: { ok: boolean; code: number; reason: string };
}

/** A TLS library other than node:tls. */
export interface TlsEngineDialer {
  /** Name for logs (`openssl`). */
  readonly name: string;
  /** Connects and completes the handshake; rejects on failure or deadline. */
  dial(options: TlsEngineDialOptions): Promise<TlsEngineConnection>;
}

/** What {@linkcode TlsEngineServer.listen} needs. */
export interface TlsEngineListenOptions {
  /** Address to bind. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Certificate chain (PEM, leaf first) and its key. */
  certPem: string;
  /** The certificate's private key (PEM). */
  keyPem: string;
  /** A connection whose handshake takes longer is closed (its socket really released). */
  handshakeTimeoutMs: number;
  /** Each connection whose handshake completed. */
  onConnection(duplex: ByteDuplex): void;
  /** A failed handshake (logged at debug level by the caller). */
  onHandshakeError(peer: string, error: Error): void;
}

/** A bound listener of a {@linkcode TlsEngineServer}. */
export interface TlsEngineListener {
  /** The bound address (the port chosen when 0 was asked for). */
  readonly addr: { hostname: string; port: number };
  /** Stops accepting; handed-out connections stay open. */
  close(): void;
  /** Settles once the listening socket and pending handshakes are released. */
  readonly closed: Promise<void>;
}

/** The server side of a TLS library other than node:tls. */
export interface TlsEngineServer {
  /** Name for logs (`openssl`). */
  readonly name: string;
  /**
   * Binds and starts accepting.
   *
   * @throws the bind error (e.g. `Deno.errors.AddrInUse`).
   */
  listen(options: TlsEngineListenOptions): TlsEngineListener;
}
