/**
 * The byte duplex the pipeline runs over: a TLS connection
 * seen as two Web Streams. The HTTP preamble is read and written by the
 * caller over these same streams (lib/sstp/http_preamble.ts).
 *
 * @module
 */
import type { DataPathOffload } from "./tls_engine.ts";

/** An IP endpoint. */
export interface TransportAddr {
  /** IP address literal. */
  hostname: string;
  /** TCP port. */
  port: number;
}

/** What the TLS handshake negotiated. */
export interface TransportInfo {
  /** `"TLSv1.2"` or `"TLSv1.3"`. */
  tlsVersion?: string;
  /** Cipher suite name as reported by the TLS library. */
  cipher?: string;
  /** DER of the peer's leaf certificate, when the peer sent one and the TLS library exposes it. */
  peerCertDer?: Uint8Array;
  /** Server Name Indication the client sent, when observable (server side, node:tls path). */
  serverName?: string;
  /** Server side with client certificates requested: whether the client's certificate verified. */
  peerVerified?: boolean;
  /** ALPN protocol negotiated, if any. */
  alpnProtocol?: string;
  /** Server side: clock time the TCP connection was accepted (the listener's clock, ms). */
  acceptedMs?: number;
}

/**
 * The data path's direct lane into a transport whose TLS library writes
 * synchronously and delivers reads as events (node:tls). It skips the Web
 * Streams layers per packet: on an idle path every promise hop and stream
 * layer costs tens of microseconds of added RTT here (bench/README.md,
 * "Added RTT: hop by hop").
 */
export interface DirectLane {
  /**
   * Hands `chunk` to the TLS library now. Returns a promise only when the
   * caller must wait before the next write (the library's buffer is above its
   * high-water mark); it rejects when the connection failed. Throws (or
   * rejects) on a closed connection. `chunk` must not be modified afterwards.
   */
  write(chunk: Uint8Array): Promise<void> | undefined;
  /**
   * Switches reading to push mode for good: bytes the readable had queued are
   * delivered first, in order, then each chunk as it arrives, synchronously
   * from the I/O event. `onEnd` runs once, on EOF (no error) or on failure.
   * The readable must be unlocked and is not to be read afterwards. The
   * returned control pauses and resumes delivery (the socket stops reading,
   * so TCP flow control holds the peer back).
   */
  takeReads(onChunk: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): LaneReadControl;
}

/** Flow control of {@linkcode DirectLane.takeReads}. */
export interface LaneReadControl {
  /** Stops delivering chunks (the socket stops reading). */
  pause(): void;
  /** Delivers again. */
  resume(): void;
}

/**
 * A connected byte stream.
 *
 * - `readable` yields the peer's bytes in arbitrary chunking and closes on EOF.
 * - `writable` sends bytes. Write large chunks: each write may become its own
 *   TLS record and TCP segment (Deno TLS over a veth: 50-80 MB/s in 1,400-byte
 *   writes, 540-680 MB/s in 16 KiB writes). A chunk must not be modified
 *   after it is written. Closing the writable half-closes (TLS close_notify).
 * - `close()` tears the connection down at once; it is idempotent.
 * - `closed` settles once the underlying resource is released.
 */
export interface ByteDuplex {
  /** Bytes from the peer; ends when the peer closes. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it half-closes the connection. */
  writable: WritableStream<Uint8Array>;
  /** Tears the connection down at once (idempotent). */
  close(): void;
  /** Settles once the underlying resource is released. */
  closed: Promise<void>;
  /** This end's address. */
  localAddr: TransportAddr;
  /** The peer's address (for PROXY-protocol listeners, the client the header names). */
  remoteAddr: TransportAddr;
  /** TLS version, cipher, ALPN protocol and peer certificate, as far as the TLS library reports them. */
  info: TransportInfo;
  /** The data path's lane: every transport offers one (the session runs only through it). */
  lane: DirectLane;
  /**
   * Set when the connection's data path runs in a thread of its own (server
   * `tls-engine: openssl-worker`): the session hands it the TUN device.
   */
  offload?: DataPathOffload;
}
