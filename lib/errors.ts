/**
 * Error classes and the error policy of `sstp`.
 *
 * Policy:
 * - Caller mistakes (bad options, bad arguments) use the built-ins `TypeError`
 *   and `RangeError`.
 * - Peer mistakes use {@linkcode ProtocolError}, which carries a `layer` and a
 *   `code` from {@linkcode ERROR_CODE}. Decoders throw only `ProtocolError`.
 * - Malformed *data* frames are logged at debug level, counted and dropped.
 * - Malformed or unexpected *control* messages follow the spec: SSTP moves to
 *   `Call_Abort_In_Progress_1` and sends Call Abort (MS-SSTP 3.1.5.1); PPP
 *   silently discards or Code-Rejects (RFC 1661 5.7).
 * - Teardown requested by the peer is {@linkcode PeerAbortError} or
 *   {@linkcode PeerDisconnectError}.
 * - I/O failures close the session and end in the CLI's exit code.
 *
 * @module
 */

/** Where an error happened, in the manner of Open-SSTP-Client's `Where`. */
export type ErrorLayer =
  | "sstp"
  | "http"
  | "ppp"
  | "lcp"
  | "pap"
  | "chap"
  | "ipcp"
  | "ipv6cp"
  | "ipv6"
  | "dhcpv6"
  | "eap"
  | "radius"
  | "proxy"
  | "auth"
  | "tun"
  | "tls"
  | "net"
  | "config";

/** Machine-readable error codes carried by {@linkcode ProtocolError}. */
export const ERROR_CODE = {
  /** A packet or field ended before its declared length. */
  TRUNCATED: "TRUNCATED",
  /** SSTP version is not 0x10 (MS-SSTP 2.2.1). */
  BAD_VERSION: "BAD_VERSION",
  /** A length field is inconsistent with the data. */
  BAD_LENGTH: "BAD_LENGTH",
  /** An attribute is missing, duplicated or malformed (MS-SSTP 2.2.4). */
  BAD_ATTRIBUTE: "BAD_ATTRIBUTE",
  /** A field holds a value the spec does not allow. */
  BAD_VALUE: "BAD_VALUE",
  /** A message arrived in a state where it is not allowed. */
  UNEXPECTED_MESSAGE: "UNEXPECTED_MESSAGE",
  /** A retry limit was exhausted (Connect Nak, Max-Configure, ...). */
  RETRY_EXHAUSTED: "RETRY_EXHAUSTED",
  /** A timer expired without the expected answer. */
  TIMEOUT: "TIMEOUT",
  /** The peer rejected our credentials, or we rejected the peer's. */
  AUTH_FAILED: "AUTH_FAILED",
  /** No authentication method acceptable to both sides. */
  AUTH_NEGOTIATION_FAILED: "AUTH_NEGOTIATION_FAILED",
  /** The MS-CHAPv2 authenticator response did not verify. */
  AUTH_SERVER_INVALID: "AUTH_SERVER_INVALID",
  /** Crypto binding nonce, certificate hash or Compound MAC mismatch. */
  CRYPTO_BINDING_MISMATCH: "CRYPTO_BINDING_MISMATCH",
  /** The HTTP preamble is malformed or has the wrong status. */
  BAD_HTTP: "BAD_HTTP",
  /** LCP detected a looped-back link (Magic-Number). */
  LOOPBACK: "LOOPBACK",
  /** The peer rejected a protocol or option we require. */
  NEGOTIATION_FAILED: "NEGOTIATION_FAILED",
  /** The server has no address to give. */
  NO_ADDRESS: "NO_ADDRESS",
  /** The peer terminated the link. */
  PEER_TERMINATED: "PEER_TERMINATED",
  /**
   * The peer exceeded a per-connection bound (a request rate, or output it
   * does not read); the connection is closed.
   */
  LIMIT_EXCEEDED: "LIMIT_EXCEEDED",
} as const;

/** One of the values of {@linkcode ERROR_CODE}. */
export type ErrorCode = typeof ERROR_CODE[keyof typeof ERROR_CODE];

/** Base class of every error `sstp` raises about the protocol or the peer. */
export class SstpError extends Error {
  /** Creates an error with an optional cause. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SstpError";
  }
}

/** A malformed, unexpected or refused message from the peer. */
export class ProtocolError extends SstpError {
  /** Layer the error belongs to. */
  readonly layer: ErrorLayer;
  /** Machine-readable code. */
  readonly code: ErrorCode;
  /** Optional extra detail (never secrets). */
  readonly detail: string | undefined;

  /**
   * A typed error for `layer` with machine-readable `code`.
   *
   * @param layer Where it happened.
   * @param code One of {@linkcode ERROR_CODE}.
   * @param message Std-style message: "Cannot decode SSTP packet: length 3 is shorter than the 4-byte header".
   */
  constructor(
    layer: ErrorLayer,
    code: ErrorCode,
    message: string,
    options?: ErrorOptions & { detail?: string },
  ) {
    super(message, options);
    this.name = "ProtocolError";
    this.layer = layer;
    this.code = code;
    this.detail = options?.detail;
  }
}

/** The peer sent SSTP Call Abort (MS-SSTP 2.2.13). */
export class PeerAbortError extends SstpError {
  /** The Status Info status code, if the peer sent one. */
  readonly status: number | undefined;
  /** Creates the error. */
  constructor(message: string, status?: number) {
    super(message);
    this.name = "PeerAbortError";
    this.status = status;
  }
}

/** The peer sent SSTP Call Disconnect (MS-SSTP 2.2.14). */
export class PeerDisconnectError extends SstpError {
  /** The Status Info status code, if the peer sent one. */
  readonly status: number | undefined;
  /** Creates the error. */
  constructor(message: string, status?: number) {
    super(message);
    this.name = "PeerDisconnectError";
    this.status = status;
  }
}

/** `e` itself when it is an Error, else an Error carrying its text (for `catch (e)` of unknown). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Whether `error` says the process (EMFILE) or the system (ENFILE) has no descriptor left. */
export function isFdExhaustion(error: unknown): boolean {
  return /Too many open files|os error 2[34]\b|EMFILE|ENFILE/.test(String(error));
}

/**
 * True when `e` is an authentication failure (for exit codes and backoff).
 *
 * @example
 * ```ts
 * import { ERROR_CODE, isAuthError, ProtocolError } from "./errors.ts";
 * if (!isAuthError(new ProtocolError("auth", ERROR_CODE.AUTH_FAILED, "no"))) throw new Error();
 * ```
 */
export function isAuthError(e: unknown): boolean {
  return e instanceof ProtocolError &&
    (e.code === "AUTH_FAILED" || e.code === "AUTH_NEGOTIATION_FAILED" ||
      e.code === "AUTH_SERVER_INVALID");
}
