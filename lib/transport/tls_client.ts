/**
 * Dial an SSTP server over TLS and hand back a {@linkcode ByteDuplex}, the
 * server's leaf certificate DER (for the MS-SSTP 3.2.5.2 crypto binding
 * certificate hash) and what the handshake negotiated.
 *
 * It uses node:tls because `Deno.TlsConn` exposes no peer certificate and the
 * crypto binding must hash the leaf of this very connection; node:tls
 * downloads at a higher CPU cost. Measurements: docs/transport.md.
 *
 * Verification: node:tls checks the chain against `caPem` or the runtime's
 * roots (`socket.authorized`); the leaf's dates, EKU and names are read by
 * `leaf_fields.ts`. `@peculiar/x509` (~350 ms to import) is loaded, through
 * `_tls_verify_detail.ts`, only to word a failure precisely or to check CRLs,
 * so a successful connect never pays for it.
 *
 * @module
 */

import * as tls from "node:tls";
import { Buffer } from "node:buffer";
import type * as NodeDns from "node:dns/promises";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { HttpProxyOptions } from "./http_proxy.ts";
import type * as HttpProxy from "./http_proxy.ts";
import { NOOP_LOGGER } from "../log.ts";
import {
  certificateFingerprint,
  fingerprintsEqual,
  formatFingerprint,
} from "../cert/fingerprint.ts";
import { type LeafFields, readLeafFields } from "../cert/leaf_fields.ts";
import { hostMatchesNames } from "../cert/_host_match.ts";
import { isIpAddress } from "../cert/_ip.ts";
import type { ByteDuplex } from "../duplex.ts";
import type { DataPathOffload, TlsEngineDialer } from "../tls_engine.ts";
import { nodeSocketDuplex, nodeSocketInfo } from "./_node_socket_duplex.ts";
import { certificateError, SERVER_PURPOSES, type TlsCertErrorCode } from "./tls_errors.ts";
import {
  checkNegotiatedCipher,
  nodeTlsPolicyOptions,
  TLS_POLICY_DETAIL,
  tlsAgreementFailure,
  type TlsPolicy,
} from "./tls_policy.ts";
import type * as VerifyDetail from "./_tls_verify_detail.ts";
import type * as Crl from "../cert/crl.ts";
import type * as Names from "../cert/names.ts";

// The lazily loaded modules are named by `URL`, not by an `import("...")`
// literal: Deno loads (without running) the graph of every literal dynamic
// import together with the importing module, so a literal would put
// @peculiar/x509 back on the start-up path of `sstp connect`.

/**
 * The TLS session of the last verified connection to ONE server, so the next
 * dial resumes it (RFC 8446 2.2 tickets, RFC 5077 in TLS 1.2): a reconnect
 * then skips the server's certificate signature, the client's chain check
 * and a round trip of the handshake. The pin or chain check still runs on
 * the resumed connection's certificate. Keep one cache per server (host,
 * port, verification settings); a session is stored only after the
 * connection it came from passed verification, and from that moment (not
 * only when the connection closes), so an immediate redial offers it.
 *
 * With Deno's node:tls (2.9.6) the stored bytes only permit resumption: the
 * TLS 1.3 tickets themselves stay in the runtime, one store per process and
 * server name (the SNI, or the IP dialled without SNI), at most 8 tickets
 * per name and about 32 names, oldest dropped first; an offer uses up one
 * ticket and each new connection brings 2 (measured; docs/transport.md). One
 * client per process, as `sstp connect`, always has one; many clients of
 * one server in one process share those 8.
 *
 * @example
 * ```ts
 * import { TlsSessionCache } from "./tls_client.ts";
 * const cache = new TlsSessionCache();
 * if (cache.get() !== undefined) throw new Error();
 * ```
 */
export class TlsSessionCache {
  #session: Uint8Array | undefined;

  /** The stored session (opaque bytes), if any. */
  get(): Uint8Array | undefined {
    return this.#session;
  }

  /** Stores a session (replacing the previous one). */
  set(session: Uint8Array): void {
    this.#session = session;
  }

  /** Forgets the stored session (after a failed dial with it). */
  clear(): void {
    this.#session = undefined;
  }
}

/** Options of {@linkcode dialTls}. */
export interface DialTlsOptions {
  /** Server name or IP literal to dial. */
  host: string;
  /** TCP port (443 for SSTP). */
  port: number;
  /** SNI to send: a name, or `false` for none. Default: `host` when it is a name; an IP is never sent. */
  sni?: string | false;
  /** PEM bundle of trusted CAs. Default: the runtime's root store. */
  caPem?: string;
  /** Verify the chain, dates and purpose (RouterOS `verify-server-certificate`). Default true. */
  verifyServerCertificate?: boolean;
  /** Verify the dialled name or IP against SAN DNS/IP (CN when no SAN). Default true. */
  verifyServerAddress?: boolean;
  /**
   * SHA-256 of the expected leaf DER. With a pin and no `caPem`, the pin
   * replaces the chain check; with `caPem`, both must pass.
   */
  serverFingerprintSha256?: Uint8Array;
  /**
   * CRLs (PEM `X509 CRL` blocks) to check the server's leaf against, as
   * OpenSSL `-crl_check` does: a CRL from the leaf's issuer must be present,
   * signed by a trusted certificate of that issuer (`caPem`, the runtime's
   * roots or the verified chain) and current. Ignored when
   * `verifyServerCertificate` is false.
   */
  crlPem?: string;
  /** Client certificate (PEM, leaf first) for servers that verify clients. */
  clientCertPem?: string;
  /** Key of `clientCertPem` (PEM). */
  clientKeyPem?: string;
  /** Abort the TCP connect plus handshake after this long. Default 30,000. */
  connectTimeoutMs?: number;
  /** Aborts the dial. */
  signal?: AbortSignal;
  /** Logger for connect progress. */
  logger?: Logger;
  /** Reach the server through this web proxy with HTTP CONNECT (MS-SSTP 4.5). */
  httpProxy?: HttpProxyOptions;
  /** RouterOS `tls-version`: `any` (1.2 or 1.3, the default), `only-1.2`, `only-1.3`. */
  tlsVersion?: "any" | "only-1.2" | "only-1.3";
  /**
   * Another TLS library to dial with (the system OpenSSL). Not used through
   * an HTTP proxy or with `crlPem` (node:tls then carries the connection, and
   * a log line says so).
   */
  engine?: TlsEngineDialer;
  /**
   * `tls-version`, `pfs`, `ciphers`, `force-aes` (overrides `tlsVersion`).
   * Versions go into the handshake; the suite is checked after it, since
   * this TLS stack ignores a cipher list (see tls_policy.ts).
   */
  tlsPolicy?: TlsPolicy;
  /** Resume the session of an earlier connection to this server (node:tls only). */
  sessionCache?: TlsSessionCache;
  /**
   * Called once TCP is connected and the ClientHello is written (node:tls
   * only: not through an HTTP proxy or another engine), so that the caller
   * can use the JS thread while the server answers.
   */
  onClientHello?: () => void;
}

/** An established client connection. */
export interface TlsClientConnection {
  /** The byte stream; the caller writes the SSTP HTTP preamble first. */
  duplex: ByteDuplex;
  /** DER of the server's leaf certificate, from this connection. */
  peerCertDer: Uint8Array;
  /** `"TLSv1.2"` or `"TLSv1.3"`. */
  tlsVersion: string;
  /** Cipher suite name. */
  cipher: string;
  /** Negotiated ALPN protocol, if any. */
  alpn?: string;
  /** The TLS session was resumed (abbreviated handshake). */
  resumed?: boolean;
  /** Set when the TLS engine runs the data path in a thread of its own (`openssl-worker`). */
  offload?: DataPathOffload;
}

/**
 * Connects, completes the TLS handshake and verifies the server certificate.
 *
 * @throws {TypeError | RangeError} for bad options.
 * @throws {ProtocolError} layer "tls": detail `TLS_CERT_*` for a rejected certificate
 *   (see {@linkcode TLS_CERT_ERROR}), code `TIMEOUT` for a connect timeout.
 * @throws {Error} the network error (connection refused, reset, aborted).
 */
export async function dialTls(options: DialTlsOptions): Promise<TlsClientConnection> {
  const { host, port } = options;
  if (typeof host !== "string" || host === "") {
    throw new TypeError("Cannot dial TLS: host must be a non-empty string");
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot dial TLS: port ${port} is not in 1..65535`);
  }
  const pin = options.serverFingerprintSha256;
  if (pin !== undefined && pin.length !== 32) {
    throw new RangeError(`Cannot dial TLS: SHA-256 pin has ${pin.length} bytes, not 32`);
  }
  if ((options.clientCertPem === undefined) !== (options.clientKeyPem === undefined)) {
    throw new TypeError("Cannot dial TLS: clientCertPem and clientKeyPem go together");
  }
  const crls = options.crlPem === undefined
    ? undefined
    : (await import(new URL("../cert/crl.ts", import.meta.url).href) as typeof Crl).parseCrls(
      options.crlPem,
    );
  const timeoutMs = options.connectTimeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) {
    throw new RangeError(`Cannot dial TLS: connectTimeoutMs ${timeoutMs} must be positive`);
  }
  const logger = options.logger ?? NOOP_LOGGER;
  const hostIsIp = isIpAddress(host);
  const sni = options.sni === false ? undefined : options.sni ?? (hostIsIp ? undefined : host);
  if (sni !== undefined && isIpAddress(sni)) {
    throw new TypeError(`Cannot dial TLS: SNI "${sni}" must be a name, not an IP address`);
  }
  options.signal?.throwIfAborted();

  const bareHost = host.replace(/^\[(.*)\]$/, "$1");
  // node:tls sends a named host as SNI whatever `servername` says, so without
  // SNI the name is resolved here (getaddrinfo, as node would) and the address dialled.
  const address = sni === undefined && !hostIsIp && options.httpProxy === undefined
    ? await withSignal(lookupAddress(bareHost), options.signal)
    : bareHost;
  const proxied = options.httpProxy === undefined ? undefined : await (
    await import(new URL("./http_proxy.ts", import.meta.url).href) as typeof HttpProxy
  ).connectThroughProxy(
    options.httpProxy,
    bareHost,
    port,
    timeoutMs,
    options.signal,
  );
  if (proxied) {
    logger.info(
      `HTTP proxy ${options.httpProxy?.host}:${options.httpProxy?.port}: tunnel to ${host}:${port}`,
    );
  }
  if (options.engine !== undefined) {
    if (proxied === undefined && crls === undefined) {
      return await dialWithEngine(options.engine, options, address, sni, hostIsIp, timeoutMs);
    }
    logger.warn(
      `TLS engine ${options.engine.name} is not used ${
        proxied ? "through an HTTP proxy" : "with a CRL"
      }: using node:tls`,
    );
  }
  const versions = options.tlsPolicy !== undefined
    ? nodeTlsPolicyOptions(options.tlsPolicy)
    : options.tlsVersion === "only-1.2"
    ? { minVersion: "TLSv1.2" as const, maxVersion: "TLSv1.2" as const }
    : options.tlsVersion === "only-1.3"
    ? { minVersion: "TLSv1.3" as const, maxVersion: "TLSv1.3" as const }
    : { minVersion: "TLSv1.2" as const };
  const connectOptions: tls.ConnectionOptions = {
    ...(proxied ? { socket: proxied } : { host: address, port }),
    ...versions,
    // Verification is done below on the handshake result, so that every
    // failure gets a precise message (rustls' codes are coarse, see tls_errors.ts).
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    ...(sni === undefined ? {} : { servername: sni }),
    ...(options.caPem === undefined ? {} : { ca: options.caPem }),
    ...(options.clientCertPem === undefined
      ? {}
      : { cert: options.clientCertPem, key: options.clientKeyPem }),
  };
  const cache = options.sessionCache;
  const stored = cache?.get();
  if (stored !== undefined) connectOptions.session = Buffer.from(stored);
  logger.debug(`TLS connect ${host}:${port}${sni === undefined ? " (no SNI)" : ` sni=${sni}`}`);
  const socket = tls.connect(connectOptions);
  // node:tls writes the ClientHello from its own, earlier "connect" listener.
  if (options.onClientHello !== undefined && !proxied) {
    socket.once("connect", options.onClientHello);
  }
  // Tickets may arrive after the handshake (TLS 1.3); kept only once this
  // connection's certificate has passed the checks below. Deno's node:tls
  // emits a TLS 1.3 `session` only when the socket closes (see
  // TlsSessionCache), so the session the socket holds at verification is
  // kept too: a redial before that close still offers it.
  let verified = false;
  let ticket: Uint8Array | undefined;
  if (cache !== undefined) {
    socket.on("session", (session: Buffer) => {
      ticket = new Uint8Array(session);
      if (verified) cache.set(ticket);
    });
  }
  // The data path gathers packets into large writes itself; Nagle would only
  // delay the small ones (pings, TCP ACKs of the tunnelled flows).
  socket.setNoDelay(true);
  // TLS 1.3: the server checks our certificate after our Finished, so its alert (unknown CA,
  // certificate required) can come after the handshake resolved (even in the same read as the
  // server's Finished, before any await), while the checks below run. Held
  // here until the duplex takes the socket's errors over; unheard, it would be uncaught.
  let lateError: Error | undefined;
  const noteLateError = (error: Error) => lateError ??= error;
  socket.on("error", noteLateError);
  try {
    await handshake(socket, timeoutMs, options.signal, host, port);
  } catch (error) {
    socket.destroy();
    cache?.clear();
    throw tlsAgreementFailure(error, `${host}:${port}`, {
      ...(options.tlsPolicy === undefined ? {} : { policy: options.tlsPolicy }),
      clientCertificate: options.clientCertPem !== undefined,
    }) ?? error;
  }

  const info = nodeSocketInfo(socket);
  try {
    const refused = options.tlsPolicy === undefined
      ? undefined
      : checkNegotiatedCipher(options.tlsPolicy, {
        name: info.cipher ?? "",
        ...(info.tlsVersion === undefined ? {} : { version: info.tlsVersion }),
      });
    if (refused !== undefined) {
      throw new ProtocolError(
        "tls",
        ERROR_CODE.NEGOTIATION_FAILED,
        `Cannot use the TLS session with ${host}:${port}: ${refused}`,
        { detail: TLS_POLICY_DETAIL },
      );
    }
    const leaf = info.peerCertDer;
    if (leaf === undefined) throw certificateError("TLS_CERT_MISSING");
    await verifyServer(socket, leaf, host, hostIsIp, options, crls);
    verified = true;
    const held = ticket ?? socket.getSession();
    if (held) cache?.set(new Uint8Array(held));
    const resumed = socket.isSessionReused();
    socket.off("error", noteLateError);
    if (lateError !== undefined) throw lateError;
    const duplex = nodeSocketDuplex(socket, info);
    logger.info(
      `TLS ${info.tlsVersion ?? "?"} ${info.cipher ?? "?"}${
        resumed ? " (resumed)" : ""
      } to ${host}:${port}, server certificate ${
        formatFingerprint(certificateFingerprint(leaf), "sha256")
      }`,
    );
    return {
      duplex,
      peerCertDer: leaf,
      tlsVersion: info.tlsVersion ?? "",
      cipher: info.cipher ?? "",
      ...(info.alpnProtocol === undefined ? {} : { alpn: info.alpnProtocol }),
      resumed,
    };
  } catch (error) {
    cache?.clear();
    socket.destroy();
    await new Promise<void>((resolve) => socket.closed ? resolve() : socket.once("close", resolve));
    throw error;
  }
}

/** OpenSSL's `X509_V_ERR_*` codes (x509_vfy.h) as this module's `TLS_CERT_*` codes. */
const OPENSSL_VERIFY_CODES: Record<number, TlsCertErrorCode> = {
  9: "TLS_CERT_NOT_YET_VALID",
  10: "TLS_CERT_EXPIRED",
  18: "TLS_CERT_SELF_SIGNED",
  19: "TLS_CERT_SELF_SIGNED",
  2: "TLS_CERT_UNKNOWN_ISSUER",
  20: "TLS_CERT_UNKNOWN_ISSUER",
  21: "TLS_CERT_UNKNOWN_ISSUER",
  26: "TLS_CERT_PURPOSE",
};

async function dialWithEngine(
  engine: TlsEngineDialer,
  options: DialTlsOptions,
  address: string,
  sni: string | undefined,
  hostIsIp: boolean,
  timeoutMs: number,
): Promise<TlsClientConnection> {
  const { host, port } = options;
  const logger = options.logger ?? NOOP_LOGGER;
  const pin = options.serverFingerprintSha256;
  const checkChain = options.verifyServerCertificate !== false &&
    (pin === undefined || options.caPem !== undefined);
  logger.debug(
    `TLS connect ${host}:${port} by ${engine.name}${
      sni === undefined ? " (no SNI)" : ` sni=${sni}`
    }`,
  );
  const conn = await engine.dial({
    address: isIpAddress(address) ? address : await lookupAddress(address),
    port,
    ...(sni === undefined ? {} : { serverName: sni }),
    verifyChain: checkChain,
    ...(options.caPem === undefined ? {} : { caPem: options.caPem }),
    ...(options.clientCertPem === undefined
      ? {}
      : { clientCertPem: options.clientCertPem, clientKeyPem: options.clientKeyPem ?? "" }),
    minVersion: options.tlsVersion === "only-1.3" ? "TLSv1.3" : "TLSv1.2",
    ...(options.tlsVersion === "only-1.2" ? { maxVersion: "TLSv1.2" as const } : {}),
    timeoutMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  try {
    const leaf = conn.peerCertDer;
    if (leaf === undefined) throw certificateError("TLS_CERT_MISSING");
    if (pin !== undefined && !fingerprintsEqual(certificateFingerprint(leaf, "sha256"), pin)) {
      throw certificateError(
        "TLS_CERT_FINGERPRINT_MISMATCH",
        `got ${formatFingerprint(certificateFingerprint(leaf), "sha256")}`,
      );
    }
    if (options.verifyServerCertificate !== false) {
      if (checkChain && !conn.chain.ok) {
        throw certificateError(
          OPENSSL_VERIFY_CODES[conn.chain.code] ?? "TLS_CERT_INVALID",
          conn.chain.reason,
        );
      }
      const fields = readLeafFields(leaf);
      if (fields === undefined || leafMayBeUnusable(fields)) {
        const problem = (await detail()).leafProblem(leaf);
        if (problem !== undefined) throw certificateError(...problem);
      }
      if (options.verifyServerAddress !== false) {
        const matches = fields !== undefined
          ? hostMatchesNames(fields, host)
          : (await import(new URL("../cert/names.ts", import.meta.url).href) as typeof Names)
            .certificateMatchesHost(leaf, host);
        if (!matches) {
          throw certificateError(
            hostIsIp ? "TLS_CERT_IP_MISMATCH" : "TLS_CERT_NAME_MISMATCH",
            `dialled ${host}`,
          );
        }
      }
    }
    logger.info(
      `TLS ${conn.tlsVersion} ${conn.cipher} to ${host}:${port} by ${engine.name}, server certificate ${
        formatFingerprint(certificateFingerprint(leaf), "sha256")
      }`,
    );
    return {
      duplex: conn.duplex,
      peerCertDer: leaf,
      tlsVersion: conn.tlsVersion,
      cipher: conn.cipher,
      ...(conn.offload === undefined ? {} : { offload: conn.offload }),
    };
  } catch (error) {
    conn.duplex.close();
    await conn.duplex.closed;
    throw error;
  }
}

/** node:dns, loaded only to resolve a server given by name (`deno info` does not follow this specifier). */
const NODE_DNS = "node:dns/promises";

/** The first address of `name` (getaddrinfo, as node:net would resolve it). */
async function lookupAddress(name: string): Promise<string> {
  return (await (await import(NODE_DNS) as typeof NodeDns).lookup(name)).address;
}

function withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function handshake(
  socket: tls.TLSSocket,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  host: string,
  port: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish(
        new ProtocolError(
          "tls",
          ERROR_CODE.TIMEOUT,
          `Cannot connect to ${host}:${port}: no TLS handshake within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    const onAbort = () => finish(signal?.reason ?? new DOMException("Aborted", "AbortError"));
    const onError = (error: Error) => finish(error);
    const onSecure = () => finish();
    function finish(error?: unknown) {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      socket.off("secureConnect", onSecure);
      if (error === undefined) return resolve();
      socket.destroy();
      // Settle only once the socket has released its resources.
      if (socket.closed) reject(error);
      else socket.once("close", () => reject(error));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once("secureConnect", onSecure);
  });
}

/** Loads the `@peculiar/x509` half of the check (see the module doc). */
function detail(): Promise<typeof VerifyDetail> {
  return import(new URL("./_tls_verify_detail.ts", import.meta.url).href);
}

async function verifyServer(
  socket: tls.TLSSocket,
  leaf: Uint8Array,
  host: string,
  hostIsIp: boolean,
  options: DialTlsOptions,
  crls: Uint8Array[] | undefined,
): Promise<void> {
  const pin = options.serverFingerprintSha256;
  if (pin !== undefined && !fingerprintsEqual(certificateFingerprint(leaf, "sha256"), pin)) {
    throw certificateError(
      "TLS_CERT_FINGERPRINT_MISMATCH",
      `got ${formatFingerprint(certificateFingerprint(leaf), "sha256")}`,
    );
  }
  if (options.verifyServerCertificate === false) return;
  const checkChain = pin === undefined || options.caPem !== undefined;
  if (checkChain && !socket.authorized) {
    const reported = (socket.authorizationError as unknown as Error | string | null) ?? undefined;
    const reportedCode = typeof reported === "string"
      ? reported
      : (reported as { code?: string } | undefined)?.code;
    const [code, extra] = (await detail()).classifyChain(socket, leaf, reportedCode);
    throw certificateError(code, extra, reported);
  }
  const fields = readLeafFields(leaf);
  if (!checkChain && (fields === undefined || leafMayBeUnusable(fields))) {
    // Pinned without a CA: still refuse a leaf the pin's owner could not use.
    // The detailed check decides (and words the reason) whenever the quick one is unsure.
    const problem = (await detail()).leafProblem(leaf);
    if (problem !== undefined) throw certificateError(...problem);
  }
  if (crls !== undefined) {
    await (await detail()).verifyNotRevoked(socket, leaf, options.caPem, crls);
  }
  if (options.verifyServerAddress !== false) {
    const matches = fields !== undefined
      ? hostMatchesNames(fields, host)
      : (await import(new URL("../cert/names.ts", import.meta.url).href) as typeof Names)
        .certificateMatchesHost(leaf, host);
    if (!matches) {
      throw certificateError(
        hostIsIp ? "TLS_CERT_IP_MISMATCH" : "TLS_CERT_NAME_MISMATCH",
        `dialled ${host}`,
      );
    }
  }
}

/**
 * The quick form of the detailed module's `leafProblem`: true when the leaf is
 * outside its validity or has an EKU without serverAuth/anyExtendedKeyUsage.
 */
function leafMayBeUnusable(fields: LeafFields): boolean {
  const now = Date.now();
  if (now > fields.notAfter.getTime() || now < fields.notBefore.getTime()) return true;
  const ekus = fields.extendedKeyUsages;
  return ekus !== undefined && !ekus.some((oid) => SERVER_PURPOSES.has(oid));
}
