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
import type { TunDevice } from "./tun.ts";

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
  /** Set when the engine runs the data path in a thread of its own (`openssl-worker`). */
  offload?: DataPathOffload;
}

/**
 * The session state a data path running in another thread follows: the
 * protocol engine's gate (a `SessionEngine` has these members). Read on the
 * main thread after every control packet either way; changes are sent over.
 */
export interface OffloadGate {
  /** True when IPv4 data may flow both ways. */
  readonly isIpv4Open: boolean;
  /** True when IPv6 data may flow both ways. */
  readonly isIpv6Open: boolean;
  /** The peer's MRU: larger outbound packets are dropped. */
  readonly peerMru: number;
  /** True when bridged Ethernet frames may flow (BCP open). */
  readonly isBridgeOpen?: boolean;
  /** What LCP negotiated for data frames (header compression, multilink): a plain object. */
  readonly framing?: object;
}

/** The traffic counters an offloaded data path adds to (the runner's `SessionCounters`). */
export interface OffloadCounters {
  /** IP bytes received from the peer and written to the TUN device. */
  rxBytes: number;
  /** IP packets counted in `rxBytes`. */
  rxPackets: number;
  /** IP bytes read from the TUN device and sent to the peer. */
  txBytes: number;
  /** IP packets counted in `txBytes`. */
  txPackets: number;
  /** Packets from the peer dropped. */
  droppedInbound: number;
  /** Packets from the peer dropped for a source address the session may not use (server). */
  droppedSpoofed?: number;
  /** Packets from the peer dropped over the upload rate-limit (server). */
  droppedPoliced?: number;
  /** Clock time of the last data packet either way. */
  lastDataMs: number;
}

/**
 * A server session's inbound checks as plain data, for a data path in
 * another thread (where class instances do not cross): the source check and
 * the upload policer's token bucket. The shape of `DataPlanePolicySpec`.
 */
export interface OffloadPolicy {
  /** The address IPCP assigned and the prefixes routed to the client. */
  source?: { assigned: string; routes: string[] };
  /** Sustained rate (bit/s), bucket (bytes), optional peak rate and bucket. */
  upload?: { rateBps: number; burstBytes: number; peakBps?: number; peakBurstBytes?: number };
}

/**
 * A data path that runs outside the main thread: one thread owns the TLS
 * connection and, once the link is up, the TUN device, and moves packets
 * between them itself (one wake-up per hop). The main thread's runner keeps
 * the protocol engine: it receives only non-IP packets through the lane and
 * writes its control packets through it.
 */
export interface DataPathOffload {
  /**
   * Bytes received right after the HTTP header: framed by the data-path
   * thread ahead of everything else (give the runner no `leftover` then).
   */
  prepend(bytes: Uint8Array): void;
  /**
   * The engine whose gate the data path follows and the counters it credits
   * (each credit also tells `onReceive` that the peer is alive).
   */
  attach(gate: OffloadGate, counters: OffloadCounters, now: () => number): void;
  /**
   * Hands the TUN device's I/O to the data-path thread (a duplicate of `fd`,
   * closed by that thread). Returns the device as the runner must see it
   * (its writes go through the data-path thread, its reads never fire), or
   * `undefined` when the device has no fd to hand over (the runner then
   * uses `tun` itself and every packet crosses the thread boundary).
   */
  adoptTun(tun: TunDevice & { readonly fd?: number; unwatch?(): void }, options: {
    /** Clamp the TCP MSS for this MTU (RouterOS `change-tcp-mss`). */
    clampMssMtu?: number;
    /** The server's inbound checks (a `DataPlanePolicySpec`, lib/tunnel/data_plane_policy.ts). */
    policy?: OffloadPolicy;
  }): TunDevice | undefined;
  /**
   * Replaces the source check of the data path (after `adoptTun`): the
   * prefixes routed to the client changed (an IPv6 /64 or a delegated
   * prefix came or went). The upload policer keeps its bucket.
   */
  updateSources?(source: { assigned: string; routes: string[] }): void;
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
  /** Lowest TLS version to accept (`tls-version`; default TLS 1.2). */
  minVersion?: "TLSv1.2" | "TLSv1.3";
  /** Highest TLS version to accept (default: the library's highest). */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * Require a client certificate chaining to these CAs (PEM): a client
   * without one, or with one that does not verify, fails the handshake.
   * Only for engines with {@linkcode TlsEngineServer.verifiesClientCertificates}.
   */
  clientCaPem?: string;
  /**
   * Each connection whose handshake completed; its `info.acceptedMs` is the
   * admission's (see `admit`).
   */
  onConnection(duplex: ByteDuplex): void;
  /** A failed handshake (logged at debug level by the caller). */
  onHandshakeError(peer: string, error: Error): void;
  /**
   * Admission of each accepted TCP connection, before any TLS work: the
   * node:tls listeners' caps (`max-handshakes` oldest first,
   * `max-handshakes-per-source`) and the handshake deadline, applied by the
   * same code (`listenTls` answers it with its `HandshakeAdmission`, through
   * `admitEngineConnection` of lib/transport/engine_admission.ts). It is an
   * engine's only admission: engines keep no caps or deadline of their own.
   * `close` closes that connection (the admission calls it to refuse, evict
   * or time it out). Undefined: refused (already closed by `close`). The
   * engine calls `finish` once the handshake ends, completed or failed.
   */
  admit(
    peer: { hostname: string; port: number },
    close: () => void,
  ): TlsEngineAdmission | undefined;
  /**
   * An accept failed while the listener is open (e.g. no file descriptor
   * left): the engine keeps accepting after a short pause.
   */
  onAcceptError?(error: Error): void;
}

/** An admitted connection of a {@linkcode TlsEngineServer} (see `admit`). */
export interface TlsEngineAdmission {
  /** When it was accepted, on the admission's clock. */
  readonly acceptedMs: number;
  /** The handshake ended: its slot and deadline are released. Idempotent. */
  finish(): void;
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
  /** True when `listen` takes `clientCaPem` (required client certificates). */
  readonly verifiesClientCertificates?: boolean;
  /**
   * Binds and starts accepting.
   *
   * @throws the bind error (e.g. `Deno.errors.AddrInUse`).
   */
  listen(options: TlsEngineListenOptions): TlsEngineListener;
}
