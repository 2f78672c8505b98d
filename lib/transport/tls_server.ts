/**
 * Accept SSTP clients over TLS and hand each one over as a
 * {@linkcode ByteDuplex}; the caller reads the HTTP preamble.
 *
 * Two implementations: `"node"` (default) drops connections whose handshake
 * stalls and can ask for client certificates; `"deno"` reads at half the CPU
 * but leaves stalled handshakes open. Measurements: docs/transport.md.
 * Only `"node"` enforces `tls-version`, `maxHandshakes` and
 * `maxHandshakesPerSource` and restarts a listener that descriptor
 * exhaustion stopped: it accepts with node:net and counts raw sockets from
 * the accept on, refusing a source over its cap before any TLS object
 * exists, then hands admitted sockets to node:tls
 * (lib/transport/_raw_listener.ts says why and what it measured). An
 * `engine` (the system OpenSSL) accepts on its own socket but asks the same
 * admission for every accepted connection (its `admit` hook), so the caps,
 * the deadline and their log lines are the same, and it keeps accepting
 * through descriptor exhaustion (logged by the same code); it also takes
 * `tls-version` into its handshake and the rest of `tlsPolicy` is checked
 * after it, as for node.
 *
 * @module
 */

import * as tls from "node:tls";
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import { type Clock, systemClock } from "../clock.ts";
import { sourceKey } from "./source_limiter.ts";
import {
  type AdmittedSocket,
  bindRawListener,
  FdExhaustionLog,
  HandshakeAdmission,
  type RawTicket,
} from "./_raw_listener.ts";
import { isFdExhaustion } from "./_listen_queue.ts";
import { admitEngineConnection } from "./engine_admission.ts";
import type { ByteDuplex, TransportAddr } from "../duplex.ts";
import { denoConnDuplex } from "./_deno_conn_duplex.ts";
import { AcceptQueue } from "./_accept_queue.ts";
import { nodeSocketDuplex, nodeSocketInfo } from "./_node_socket_duplex.ts";
import type { TlsEngineListener, TlsEngineServer } from "../tls_engine.ts";
import { nodeTlsPolicyOptions, type TlsPolicy, tlsPolicyRefusal } from "./tls_policy.ts";

/** Options of {@linkcode listenTls}. */
export interface ListenTlsOptions {
  /** Address or addresses to bind (default `"0.0.0.0"`). */
  hostname?: string | readonly string[];
  /** TCP port; 0 picks a free one (see {@linkcode TlsListener.addrs}). */
  port: number;
  /** Server certificate chain, PEM, leaf first. */
  certPem: string;
  /** Server private key, PEM. */
  keyPem: string;
  /**
   * Ask clients for a certificate signed by `caPem`. `required` (default
   * true) refuses clients without one in the handshake; otherwise the
   * duplex reports `info.peerVerified`.
   */
  clientCertificate?: { caPem: string; required?: boolean };
  /**
   * TLS implementation; `"node"` is forced by `clientCertificate`. Default
   * `"node"`: `"deno"` leaves stalled handshakes open (see the module doc).
   */
  implementation?: "deno" | "node";
  /**
   * RouterOS `tls-version`: `any` (1.2 or 1.3, the default), `only-1.2` or
   * `only-1.3`. Only the `"node"` implementation can restrict it.
   */
  tlsVersion?: "any" | "only-1.2" | "only-1.3";
  /**
   * Another TLS library (the system OpenSSL); used instead of `implementation`
   * unless client certificates are requested (node:tls then).
   */
  engine?: TlsEngineServer;
  /** Drop connections whose handshake takes longer (default 30,000 ms). */
  handshakeTimeoutMs?: number;
  /**
   * TCP connections still before the end of their TLS handshake, counted
   * from the moment they are accepted (default 256). A newcomer beyond it
   * closes the oldest one. node and `engine` (see the module doc).
   */
  maxHandshakes?: number;
  /**
   * Of those, from one source address (IPv6: one /64) (default 8); further
   * ones are closed at once. node and `engine`.
   */
  maxHandshakesPerSource?: number;
  /** Clock of `info.acceptedMs` (default the system's monotonic clock). */
  clock?: Clock;
  /** Told the duration (ms, TCP accept to handshake done) of each accepted handshake (metrics; node and `engine`). */
  onHandshake?: (ms: number) => void;
  /** Logger for accept and handshake failures. */
  logger?: Logger;
  /**
   * `tls-version`, `pfs`, `ciphers`, `force-aes`; forces `"node"`. Versions
   * go into the handshake, the suite is checked after it (tls_policy.ts).
   */
  tlsPolicy?: TlsPolicy;
}

/** Accepted TLS connections. */
export interface TlsListener extends AsyncIterable<ByteDuplex> {
  /** Bound addresses, in the order of `hostname`. */
  readonly addrs: TransportAddr[];
  /** Next connection whose handshake completed, or `null` once closed. */
  accept(): Promise<ByteDuplex | null>;
  /** Stops accepting; connections already handed out stay open. Idempotent. */
  close(): void;
  /** Settles when every bound socket is released (node: and its connections ended). */
  readonly closed: Promise<void>;
  /**
   * Serves new connections with another certificate (and client CA);
   * accepted connections keep theirs. node: swaps the secure context of
   * the same sockets; deno: closes each listening socket and binds a new
   * one on the same address (connections in the backlog at that moment
   * are reset). The caller checks that key and certificate match: a
   * mismatched pair would fail every later handshake.
   *
   * @throws the bind error (deno) or the context error (node); the old
   *   certificate then stays in use where possible.
   */
  setCertificate(certificate: ListenerCertificate): Promise<void>;
  /** The certificate chain (PEM, leaf first) that `duplex`'s handshake presented. */
  certificateOf(duplex: ByteDuplex): string | undefined;
}

/** What {@linkcode TlsListener.setCertificate} takes. */
export interface ListenerCertificate {
  /** New server certificate chain, PEM, leaf first. */
  certPem: string;
  /** Its private key, PEM. */
  keyPem: string;
  /** New CA bundle for client certificates (only with `clientCertificate`). */
  caPem?: string;
}

/**
 * Binds every address and starts accepting. With port 0 the first address
 * picks a free port and the others bind the same one. Asynchronous because
 * node:tls binds asynchronously (and reports `EADDRINUSE` that way).
 *
 * @throws {TypeError | RangeError} for bad options.
 * @throws {Deno.errors.AddrInUse} and other bind errors (node: `Error` with `code`).
 */
export async function listenTls(options: ListenTlsOptions): Promise<TlsListener> {
  const hostnames = typeof options.hostname === "string"
    ? [options.hostname]
    : options.hostname ?? ["0.0.0.0"];
  if (hostnames.length === 0) throw new TypeError("Cannot listen: hostname list is empty");
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`Cannot listen: port ${options.port} is not in 0..65535`);
  }
  const implementation = options.clientCertificate !== undefined ||
      options.tlsPolicy !== undefined
    ? "node"
    : options.implementation ?? "node";
  if (implementation === "deno" && (options.tlsVersion ?? "any") !== "any") {
    throw new TypeError(
      `Cannot listen: tls-version ${options.tlsVersion} needs the node implementation`,
    );
  }
  const logger = options.logger ?? NOOP_LOGGER;
  const queue = new AcceptQueue();
  const served = new WeakMap<ByteDuplex, string>();
  const current = { certPem: options.certPem, keyPem: options.keyPem };
  const clock = options.clock ?? systemClock;
  const handshakes = new HandshakeAdmission({
    maxHandshakes: options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES,
    maxHandshakesPerSource: options.maxHandshakesPerSource ?? DEFAULT_MAX_HANDSHAKES_PER_SOURCE,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
    clock,
    logger,
  });
  const state: BindState = { queue, logger, served, current, handshakes, clock };
  const binds: Bound[] = [];
  let port = options.port;
  if (options.engine !== undefined && !engineTakesClientCertificate(options)) {
    logger.warn(
      `tls-engine ${options.engine.name} does not handle these client certificate settings: ` +
        "the listener uses node:tls",
    );
  }
  try {
    for (const hostname of hostnames) {
      const bind = options.engine !== undefined && engineTakesClientCertificate(options)
        ? bindEngine(options.engine, hostname, port, options, state)
        : implementation === "node"
        ? await bindNode(hostname, port, options, state)
        : bindDeno(hostname, port, options, state);
      binds.push(bind);
      port = bind.addr.port;
    }
  } catch (error) {
    queue.close();
    for (const bind of binds) bind.close();
    await Promise.all(binds.map((b) => b.closed));
    throw error;
  }
  const closed = Promise.all(binds.map((b) => b.closed)).then(() => {});
  return {
    addrs: binds.map((b) => b.addr),
    accept: () => queue.take(),
    close() {
      if (queue.isClosed) return;
      queue.close();
      for (const bind of binds) bind.close();
    },
    closed,
    async setCertificate(certificate) {
      if (queue.isClosed) throw new Deno.errors.BadResource("Cannot set certificate: closed");
      const previous = { ...current };
      current.certPem = certificate.certPem;
      current.keyPem = certificate.keyPem;
      try {
        for (const bind of binds) await bind.setCertificate(certificate, previous);
      } catch (error) {
        current.certPem = previous.certPem;
        current.keyPem = previous.keyPem;
        for (const bind of binds) await bind.setCertificate(previous, previous).catch(() => {});
        throw error;
      }
    },
    certificateOf: (duplex) => served.get(duplex),
    async *[Symbol.asyncIterator]() {
      for (let duplex = await queue.take(); duplex !== null; duplex = await queue.take()) {
        yield duplex;
      }
    },
  };
}

interface Bound {
  addr: TransportAddr;
  close(): void;
  closed: Promise<void>;
  setCertificate(next: ListenerCertificate, previous: ListenerCertificate): Promise<void>;
}

/** Shared by the bound sockets of one listener. */
interface BindState {
  queue: AcceptQueue;
  logger: Logger;
  /** Certificate chain each handed-out connection presented. */
  served: WeakMap<ByteDuplex, string>;
  /** Certificate for new connections. */
  current: { certPem: string; keyPem: string };
  /** Raw sockets from `connection` to the end of their handshake (node and engines). */
  handshakes: HandshakeAdmission<AdmittedSocket>;
  clock: Clock;
}

function bindDeno(
  hostname: string,
  port: number,
  options: ListenTlsOptions,
  state: BindState,
): Bound {
  const timeoutMs = options.handshakeTimeoutMs ?? 30_000;
  const handshakes = new Set<Promise<void>>();
  const loops: Promise<void>[] = [];
  const open = (certPem: string, keyPem: string): Deno.TlsListener => {
    const listener = Deno.listenTls({ hostname, port, cert: certPem, key: keyPem });
    loops.push((async () => {
      for (;;) {
        let conn: Deno.TlsConn;
        try {
          conn = await listener.accept();
        } catch (error) {
          if (!state.queue.isClosed && listener === current) {
            state.logger.warn(`TLS accept failed: ${String(error)}`);
          }
          break;
        }
        const task = handshakeDeno(conn, timeoutMs, certPem, state);
        handshakes.add(task);
        task.finally(() => handshakes.delete(task));
      }
    })());
    return listener;
  };
  let current = open(options.certPem, options.keyPem);
  const addr = current.addr;
  port = addr.port;
  const closeCurrent = () => {
    try {
      current.close();
    } catch {
      // Already closed.
    }
  };
  let closing = false;
  const { promise: closeCalled, resolve: markClosed } = Promise.withResolvers<void>();
  return {
    addr: { hostname: addr.hostname, port: addr.port },
    close() {
      closing = true;
      closeCurrent();
      markClosed();
    },
    closed: closeCalled.then(async () => {
      // setCertificate may have started loops until close(); all have ended by now or soon.
      await Promise.all(loops);
      await Promise.all(handshakes);
    }),
    async setCertificate(next) {
      if (closing) return;
      closeCurrent();
      // The closed listener frees its port once its pending accept op is
      // cancelled, a few event-loop turns later: retry the bind briefly.
      // On failure `current` stays the closed listener; listenTls rolls back.
      for (let waitedMs = 0;; waitedMs += 10) {
        try {
          current = open(next.certPem, next.keyPem);
          return;
        } catch (error) {
          if (!(error instanceof Deno.errors.AddrInUse) || waitedMs >= 2000) throw error;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

function bindEngine(
  engine: TlsEngineServer,
  hostname: string,
  port: number,
  options: ListenTlsOptions,
  state: BindState,
): Bound {
  // Versions go into the handshake, the suite is checked after it, as with node.
  const versions = tlsVersionRange(options.tlsPolicy?.tlsVersion ?? options.tlsVersion ?? "any");
  const listeners: TlsEngineListener[] = [];
  // The engine's accept path is admitted by node's code: same caps, deadline, logs.
  let fds: FdExhaustionLog | undefined;
  const clientCert = options.clientCertificate;
  const open = (certPem: string, keyPem: string, caPem?: string): TlsEngineListener => {
    const listener = engine.listen({
      hostname,
      port,
      certPem,
      keyPem,
      ...versions,
      ...(clientCert === undefined ? {} : { clientCaPem: caPem ?? clientCert.caPem }),
      onConnection(duplex) {
        const refused = tlsPolicyRefusal(options.tlsPolicy, duplex.info);
        if (refused !== undefined) {
          const peer = `${duplex.remoteAddr.hostname}:${duplex.remoteAddr.port}`;
          state.logger.info(`TLS client ${peer} refused: ${refused}`);
          duplex.close();
          return;
        }
        const acceptedMs = duplex.info.acceptedMs;
        if (acceptedMs !== undefined) options.onHandshake?.(state.clock.now() - acceptedMs);
        state.served.set(duplex, certPem);
        if (!state.queue.put(duplex)) duplex.close();
      },
      onHandshakeError(peer, error) {
        // Refused client certificates matter to the administrator; junk does not.
        (clientCert === undefined ? state.logger.debug : state.logger.info).call(
          state.logger,
          `TLS handshake with ${peer} failed: ${error.message}`,
        );
      },
      admit(peer, close) {
        fds?.succeeded();
        return admitEngineConnection(state.handshakes, peer, close);
      },
      onAcceptError(error) {
        fds ??= new FdExhaustionLog(hostname, port, state.logger, state.clock);
        fds.failed(error);
        // Others (a connection aborted before it was accepted) are retried too.
        if (!isFdExhaustion(error)) state.logger.debug(`TLS accept failed: ${error.message}`);
      },
    });
    listeners.push(listener);
    return listener;
  };
  let current = open(options.certPem, options.keyPem);
  const addr = { ...current.addr };
  port = addr.port;
  let closing = false;
  return {
    addr,
    close() {
      closing = true;
      current.close();
      // Handshakes in progress end now, as node's do.
      state.handshakes.closeAll();
    },
    closed: (async () => {
      // Every listener ever opened (setCertificate replaces them) must be released.
      for (let i = 0; i < listeners.length; i++) await listeners[i]!.closed;
    })(),
    async setCertificate(next) {
      if (closing) return;
      current.close();
      await current.closed;
      current = open(next.certPem, next.keyPem, next.caPem);
    },
  };
}

/**
 * True when `options.engine` serves this listener: always without client
 * certificates; with required ones only when the engine verifies them
 * (node:tls serves the rest).
 */
function engineTakesClientCertificate(options: ListenTlsOptions): boolean {
  const clientCert = options.clientCertificate;
  if (clientCert === undefined) return true;
  return options.engine?.verifiesClientCertificates === true && (clientCert.required ?? true);
}

async function handshakeDeno(
  conn: Deno.TlsConn,
  timeoutMs: number,
  certPem: string,
  { queue, logger, served }: BindState,
): Promise<void> {
  const peer = conn.remoteAddr;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const info = await Promise.race([
      conn.handshake(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no handshake within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    const duplex = denoConnDuplex(
      conn,
      info.alpnProtocol === null ? {} : { alpnProtocol: info.alpnProtocol },
    );
    served.set(duplex, certPem);
    if (!queue.put(duplex)) duplex.close();
  } catch (error) {
    logger.debug(`TLS handshake with ${peer.hostname}:${peer.port} failed: ${String(error)}`);
    // Does not free the socket while the handshake is pending (see the module doc).
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  } finally {
    clearTimeout(timer);
  }
}

async function bindNode(
  hostname: string,
  port: number,
  options: ListenTlsOptions,
  state: BindState,
): Promise<Bound> {
  const { queue, logger, served, current, handshakes, clock } = state;
  const clientCert = options.clientCertificate;
  const required = clientCert?.required ?? true;
  const timeoutMs = options.handshakeTimeoutMs ?? 30_000;
  // Raw sockets in their handshake, by peer address, with their admission
  // and the chain their TLS socket was created with.
  const pending = new Map<string, { certPem: string; ticket: RawTicket<AdmittedSocket> }>();
  const peerKey = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
    `${s.remoteAddress}|${s.remotePort}`;
  // Never listens: the raw listener below accepts and admits, then hands
  // each admitted socket over (see lib/transport/_raw_listener.ts).
  const server = tls.createServer({
    cert: options.certPem,
    key: options.keyPem,
    ...tlsVersionRange(options.tlsVersion ?? "any"),
    // Ours (the admission deadline) destroys the raw socket; node's only
    // ends the TLS socket and left half-open connections open.
    handshakeTimeout: timeoutMs + 1000,
    ...(options.tlsPolicy === undefined ? {} : nodeTlsPolicyOptions(options.tlsPolicy)),
    // Off during the handshake (see bindRawListener); on once it is done, below.
    allowHalfOpen: false,
    // rejectUnauthorized stays false: we refuse below, after the handshake,
    // to log why (node:tls reported a foreign CA only as "socket hang up").
    // The client sees the same either way in TLS 1.3 (Deno's node:tls
    // surfaces the alert as EOF): the connection ends before any HTTP byte.
    ...(clientCert === undefined
      ? {}
      : { requestCert: true, rejectUnauthorized: false, ca: clientCert.caPem }),
  }, (socket) => {
    // A peer's FIN ends only our readable; pending echoes and writes still go out.
    socket.allowHalfOpen = true;
    const key = peerKey(socket);
    const entry = pending.get(key);
    pending.delete(key);
    entry?.ticket.finish();
    if (clientCert !== undefined && required && !socket.authorized) {
      logger.info(
        `TLS client ${socket.remoteAddress}:${socket.remotePort} refused: ${
          clientCertificateProblem(socket)
        }`,
      );
      socket.destroy();
      return;
    }
    const info = nodeSocketInfo(socket);
    const refused = tlsPolicyRefusal(options.tlsPolicy, info);
    if (refused !== undefined) {
      logger.info(`TLS client ${socket.remoteAddress}:${socket.remotePort} refused: ${refused}`);
      socket.destroy();
      return;
    }
    // `servername` is set by node:tls on server sockets but missing from its types.
    const serverName = (socket as tls.TLSSocket & { servername?: unknown }).servername;
    if (typeof serverName === "string" && serverName !== "") info.serverName = serverName;
    if (clientCert !== undefined) info.peerVerified = socket.authorized;
    info.acceptedMs = entry?.ticket.acceptedMs ?? clock.now();
    options.onHandshake?.(clock.now() - info.acceptedMs);
    const duplex = gracefulClose(nodeSocketDuplex(socket, info), socket);
    served.set(duplex, entry?.certPem ?? current.certPem);
    if (!queue.put(duplex)) duplex.close();
  });
  server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
    // Refused client certificates matter to the administrator; junk does not.
    (clientCert === undefined ? logger.debug : logger.info).call(
      logger,
      `TLS handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${error.message}`,
    );
  });
  const bound = await bindRawListener(hostname, port, logger, (raw) => {
    // Refused before any TLS object exists: a refusal costs an accept and a reset.
    const ticket = handshakes.admit(raw, sourceKey(raw.remoteAddress));
    if (ticket === undefined) return;
    // No Nagle: PPP negotiation is a series of small request/answer packets,
    // and the data path gathers its own large writes.
    raw.setNoDelay(true);
    const key = peerKey(raw);
    pending.set(key, { certPem: current.certPem, ticket });
    raw.once("close", () => {
      if (pending.get(key)?.ticket === ticket) pending.delete(key);
    });
    server.emit("connection", raw);
  });
  return {
    addr: bound.addr,
    close: () => {
      bound.close();
      // Handshakes in progress end now: the raw listener waits for every connection.
      for (const { ticket } of pending.values()) ticket.raw.destroy();
      pending.clear();
    },
    closed: bound.closed,
    setCertificate(next) {
      server.setSecureContext({
        cert: next.certPem,
        key: next.keyPem,
        ...(clientCert === undefined ? {} : { ca: next.caPem ?? clientCert.caPem }),
      });
      return Promise.resolve();
    },
  };
}

/** Default of {@linkcode ListenTlsOptions.maxHandshakes}. */
export const DEFAULT_MAX_HANDSHAKES = 256;
/** Default of {@linkcode ListenTlsOptions.maxHandshakesPerSource}. */
export const DEFAULT_MAX_HANDSHAKES_PER_SOURCE = 8;

/** node:tls `minVersion`/`maxVersion` for a RouterOS `tls-version`. */
function tlsVersionRange(
  version: "any" | "only-1.2" | "only-1.3",
): { minVersion: "TLSv1.2" | "TLSv1.3"; maxVersion?: "TLSv1.2" | "TLSv1.3" } {
  if (version === "only-1.2") return { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" };
  if (version === "only-1.3") return { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" };
  return { minVersion: "TLSv1.2" };
}

/** How long a closed node:tls connection may take to flush and say goodbye. */
const CLOSE_GRACE_MS = 2000;

/**
 * Makes a plain `destroy()` of `socket` (what the duplex's `close()`, a
 * cancelled `readable` and an aborted `writable` call) flush what is
 * buffered and send TLS close_notify and FIN (`end()`) first; the socket
 * is destroyed once the peer closes too, or after {@linkcode CLOSE_GRACE_MS}.
 * A bare destroy() dropped the last writes (the server's Call Disconnect,
 * since writes no longer wait for the flush) and made rustls clients report
 * "peer closed connection without sending TLS close_notify". `destroy(error)`
 * and node's own destroy after both sides ended pass straight through.
 */
function gracefulClose(duplex: ByteDuplex, socket: tls.TLSSocket): ByteDuplex {
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (error?: Error) => {
    if (error !== undefined || socket.destroyed || socket.writableEnded) return destroy(error);
    const timer = setTimeout(() => destroy(), CLOSE_GRACE_MS);
    socket.once("close", () => clearTimeout(timer));
    socket.end();
    return socket;
  };
  return duplex;
}

/** Why a client certificate failed verification, for the log. */
function clientCertificateProblem(socket: tls.TLSSocket): string {
  const peer = socket.getPeerCertificate(true);
  if (peer?.raw === undefined || peer.raw.byteLength === 0) {
    return "the client sent no certificate (verify-client-certificate is yes)";
  }
  const name = (n: unknown) =>
    n !== null && typeof n === "object" && "CN" in n ? `CN=${String(n.CN)}` : "?";
  const code = String(socket.authorizationError ?? "not trusted");
  return `client certificate ${name(peer.subject)} (issuer ${
    name(peer.issuer)
  }) does not chain to the configured ca: ${code}`;
}
