/**
 * A TLS listener behind a load balancer that speaks the PROXY protocol
 * (`sstp-server: proxy-protocol`). Each TCP connection must come from a
 * `proxy-protocol-from` source and start with a PROXY header (read with
 * the pure {@linkcode parseProxyHeader}); the TLS handshake follows on the
 * same connection, and the accepted duplex reports the client address from
 * the header as its `remoteAddr`, so logs, `sstp status`, per-source
 * limits and RADIUS Calling-Station-Id see the real client.
 *
 * Connections from other sources, without a valid header, or that do not
 * finish header and handshake within the handshake timeout are closed.
 *
 * Admission is the plain listener's (lib/transport/_raw_listener.ts): the
 * same node:net accept path, EMFILE watchdog and `max-handshakes` cap. A
 * balancer carries every client at once, so its connections awaiting their
 * header count only against `max-handshakes` (the oldest is closed for a
 * newcomer); once the header names the client, the connection counts
 * against that client's address, and `max-handshakes-per-source` closes
 * one over the cap before any TLS work. Connections from addresses outside
 * `proxy-protocol-from` are reset at once and logged once per window.
 *
 * Why a separate listener: in Deno 2.9.6 a `node:tls` server handed a
 * socket whose first bytes were consumed in JavaScript (the header, then
 * `unshift` of the rest) never completes the handshake: the TLS layer
 * reads the socket's handle, not the JavaScript buffer. A `TLSSocket`
 * over a JavaScript `Duplex` that first yields the bytes after the header
 * and then the socket's data does work, so this listener does that.
 *
 * @module
 */
import type * as net from "node:net";
import * as tls from "node:tls";
import { Duplex } from "node:stream";
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { ByteDuplex, TransportAddr } from "../duplex.ts";
import { nodeSocketDuplex, nodeSocketInfo } from "./_node_socket_duplex.ts";
import { nodeTlsPolicyOptions, type TlsPolicy, tlsPolicyRefusal } from "./tls_policy.ts";
import type { ProxyProtocolMode } from "./proxy_protocol.ts";
import { readProxyHeader } from "./_proxy_header_reader.ts";
import { AcceptQueue } from "./_accept_queue.ts";
import { trustedSources } from "./proxy_source.ts";
import {
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_MAX_HANDSHAKES_PER_SOURCE,
  type ListenerCertificate,
  type TlsListener,
} from "./tls_server.ts";
import { sourceKey } from "./source_limiter.ts";
import {
  bindRawListener,
  HandshakeAdmission,
  type RawBound,
  type RawTicket,
} from "./_raw_listener.ts";

/** Options of {@linkcode listenProxyTls}. */
export interface ListenProxyTlsOptions {
  /** Addresses to bind, one listener each. */
  hostname: readonly string[];
  /** TCP port on every address. */
  port: number;
  /** Server certificate chain, PEM, leaf first. */
  certPem: string;
  /** The certificate's private key, PEM. */
  keyPem: string;
  /** `yes` (either version), `v1` or `v2`. */
  mode: ProxyProtocolMode;
  /** `proxy-protocol-from`. */
  trusted: readonly string[];
  /** Header plus TLS handshake must finish within this (default 30,000 ms). */
  handshakeTimeoutMs?: number;
  /** Where refused and failed connections are logged; silent when absent. */
  logger?: Logger;
  /** `tls-version`, `pfs`, `ciphers`, `force-aes` (see tls_policy.ts). */
  tlsPolicy?: TlsPolicy;
  /** Connections before the end of their handshake, in all (default 256). */
  maxHandshakes?: number;
  /** Of those, per client address named by the PROXY header (default 8). */
  maxHandshakesPerSource?: number;
  /** Clock of `info.acceptedMs` and the refusal log (default the system's). */
  clock?: Clock;
  /**
   * Told the duration (ms, TCP accept to handshake done, the PROXY header
   * included) of each accepted handshake (metrics).
   */
  onHandshake?: (ms: number) => void;
}

/** Binds every address; resolves once all are listening. */
export async function listenProxyTls(o: ListenProxyTlsOptions): Promise<TlsListener> {
  const logger = o.logger ?? NOOP_LOGGER;
  const isTrusted = trustedSources(o.trusted);
  const timeoutMs = o.handshakeTimeoutMs ?? 30_000;
  const versions = o.tlsPolicy === undefined ? {} : nodeTlsPolicyOptions(o.tlsPolicy);
  let current = {
    certPem: o.certPem,
    context: tls.createSecureContext({ cert: o.certPem, key: o.keyPem, ...versions }),
  };
  const served = new WeakMap<ByteDuplex, string>();
  const queue = new AcceptQueue();
  const clock = o.clock ?? systemClock;
  const admission = new HandshakeAdmission({
    maxHandshakes: o.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES,
    maxHandshakesPerSource: o.maxHandshakesPerSource ?? DEFAULT_MAX_HANDSHAKES_PER_SOURCE,
    handshakeTimeoutMs: timeoutMs,
    clock,
    logger,
  });

  const onConnection = (raw: net.Socket) => {
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    const ticket = admission.admitFromBalancer(raw, isTrusted);
    if (ticket === undefined) return;
    raw.setNoDelay(true);
    readProxyHeader(raw, o.mode, peer, logger, (h, rest) => {
      const remoteAddr: TransportAddr = h.source !== undefined
        ? { hostname: h.source.address, port: h.source.port }
        : { hostname: raw.remoteAddress ?? "", port: raw.remotePort ?? 0 };
      const localAddr: TransportAddr = h.destination !== undefined
        ? { hostname: h.destination.address, port: h.destination.port }
        : { hostname: raw.localAddress ?? "", port: raw.localPort ?? 0 };
      // From here on the real client's share counts (refused and logged when full).
      if (!ticket.rekey(sourceKey(remoteAddr.hostname))) return;
      startTls(raw, rest, remoteAddr, localAddr, ticket);
    });
    raw.on("error", (e) => logger.debug(`${peer}: ${e.message}`));
  };

  const startTls = (
    raw: net.Socket,
    rest: Uint8Array,
    remoteAddr: TransportAddr,
    localAddr: TransportAddr,
    ticket: RawTicket,
  ) => {
    const bridge = new Duplex({
      read() {
        raw.resume();
      },
      write(chunk, _encoding, callback) {
        raw.write(chunk, callback);
      },
      final(callback) {
        raw.end();
        callback();
      },
      destroy(error, callback) {
        raw.destroy();
        callback(error);
      },
    });
    if (rest.length > 0) bridge.push(rest.slice());
    raw.on("data", (chunk) => {
      if (!bridge.push(chunk)) raw.pause();
    });
    raw.once("end", () => bridge.push(null));
    raw.once("close", () => bridge.destroy());
    const certPem = current.certPem;
    const socket = new tls.TLSSocket(bridge, { isServer: true, secureContext: current.context });
    socket.on("error", (e) => {
      logger.debug(`TLS with ${remoteAddr.hostname}:${remoteAddr.port} failed: ${e.message}`);
      raw.destroy();
    });
    socket.once("secure", () => {
      ticket.finish();
      const info = nodeSocketInfo(socket);
      const refused = tlsPolicyRefusal(o.tlsPolicy, info);
      if (refused !== undefined) {
        logger.info(`TLS client ${remoteAddr.hostname}:${remoteAddr.port} refused: ${refused}`);
        socket.destroy();
        raw.destroy();
        return;
      }
      info.acceptedMs = ticket.acceptedMs;
      o.onHandshake?.(clock.now() - ticket.acceptedMs);
      const inner = nodeSocketDuplex(socket, info);
      // Getters keep the Web Streams lazy: the data path reads through the lane.
      const duplex: ByteDuplex = {
        get readable() {
          return inner.readable;
        },
        get writable() {
          return inner.writable;
        },
        lane: inner.lane,
        close: () => inner.close(),
        closed: inner.closed,
        info: inner.info,
        remoteAddr,
        localAddr,
      };
      served.set(duplex, certPem);
      if (!queue.put(duplex)) duplex.close();
    });
  };

  const bound: RawBound[] = [];
  let port = o.port;
  try {
    for (const hostname of o.hostname) {
      const b = await bindRawListener(hostname, port, logger, onConnection);
      bound.push(b);
      port = b.addr.port;
    }
  } catch (e) {
    for (const b of bound) b.close();
    await Promise.all(bound.map((b) => b.closed));
    throw e;
  }
  const addrs: TransportAddr[] = bound.map((b) => ({ ...b.addr }));
  const closed = Promise.all(bound.map((b) => b.closed)).then(() => {});
  logger.info(`PROXY protocol (${o.mode}) expected from ${o.trusted.join(", ")}`);

  const listener: TlsListener = {
    addrs,
    accept: () => queue.take(),
    close() {
      if (queue.isClosed) return;
      queue.close();
      for (const b of bound) b.close();
      // Connections still reading their header or handshaking end now.
      admission.closeAll();
    },
    closed,
    setCertificate(next: ListenerCertificate) {
      current = {
        certPem: next.certPem,
        context: tls.createSecureContext({ cert: next.certPem, key: next.keyPem, ...versions }),
      };
      return Promise.resolve();
    },
    certificateOf: (duplex) => served.get(duplex),
    async *[Symbol.asyncIterator]() {
      for (let d = await listener.accept(); d !== null; d = await listener.accept()) yield d;
    },
  };
  return listener;
}
