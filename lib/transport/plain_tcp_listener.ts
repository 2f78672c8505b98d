/**
 * The listener of TLS offload (`sstp-server: tls: no`): a load balancer
 * (HAProxy `bind ... ssl crt`) terminates TLS and forwards the decrypted
 * stream, so the server reads the SSTP HTTP request and PPP in cleartext
 * from plain TCP. The crypto binding still protects the login: the client
 * hashes the certificate the balancer presented, and the server checks
 * against the hashes of `certificate-hash-from` (the same certificate), which
 * {@linkcode TlsListener.certificateOf} reports for every connection.
 *
 * With `proxy-protocol` each connection must come from a
 * `proxy-protocol-from` source and start with a PROXY header (read with the
 * pure {@linkcode parseProxyHeader}); the accepted duplex then reports the
 * header's client address as its `remoteAddr`. Connections waiting for
 * their header count against `max-handshakes` (a newcomer beyond it closes
 * the oldest) and are closed when the header is not complete within the
 * handshake timeout. Connections from addresses outside
 * `proxy-protocol-from` are reset at once and logged once per window, by
 * the same code as the PROXY + TLS listener's. Without PROXY protocol a connection is handed over at
 * once; the server's own admission (`max-unauthenticated-per-source`,
 * `authentication-deadline`) applies from there, as for TLS connections.
 *
 * Accepting is the TLS listeners' (lib/transport/_raw_listener.ts): the same
 * node:net path with its long accept queue and the watchdog that rebinds a
 * listener stopped by descriptor exhaustion.
 *
 * The returned object has the {@linkcode TlsListener} shape so the server
 * treats both listeners alike; `info` carries no TLS fields.
 *
 * @module
 */
import type * as net from "node:net";
import { Buffer } from "node:buffer";
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { ByteDuplex, TransportAddr } from "../duplex.ts";
import { nodeSocketDuplex } from "./_node_socket_duplex.ts";
import type { ProxyProtocolMode } from "./proxy_protocol.ts";
import { trustedSources } from "./proxy_source.ts";
import {
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_MAX_HANDSHAKES_PER_SOURCE,
  type ListenerCertificate,
  type TlsListener,
} from "./tls_server.ts";
import { AcceptQueue } from "./_accept_queue.ts";
import { bindRawListener, HandshakeAdmission, type RawBound } from "./_raw_listener.ts";
import { readProxyHeader } from "./_proxy_header_reader.ts";

/** How long a closed connection may take to flush its last writes and FIN. */
const CLOSE_GRACE_MS = 2000;

/** Options of {@linkcode listenPlainTcp}. */
export interface ListenPlainTcpOptions {
  /** Addresses to bind, one listener each. */
  hostname: readonly string[];
  /** TCP port on every address; 0 picks one (the others bind the same). */
  port: number;
  /**
   * The certificate the load balancer presents (PEM, leaf first), reported
   * by `certificateOf` for the crypto binding.
   */
  certPem: string;
  /** PROXY protocol: `any` (either version), `v1` or `v2`, and the trusted balancers. */
  proxy?: { mode: ProxyProtocolMode; trusted: readonly string[] };
  /** A PROXY header must be complete within this (default 30,000 ms). */
  handshakeTimeoutMs?: number;
  /** Connections still waiting for their PROXY header (default 256). */
  maxHandshakes?: number;
  /** Clock of `info.acceptedMs` (default the system's monotonic clock). */
  clock?: Clock;
  /** Where refused and failed connections are logged; silent when absent. */
  logger?: Logger;
}

/**
 * Binds every address and starts accepting.
 *
 * @throws the bind error (`Error` with `code`, e.g. `EADDRINUSE`); nothing stays bound.
 */
export async function listenPlainTcp(o: ListenPlainTcpOptions): Promise<TlsListener> {
  if (o.hostname.length === 0) throw new TypeError("Cannot listen: hostname list is empty");
  const logger = o.logger ?? NOOP_LOGGER;
  const clock = o.clock ?? systemClock;
  const isTrusted = o.proxy === undefined ? undefined : trustedSources(o.proxy.trusted);
  const served = new WeakMap<ByteDuplex, string>();
  let currentPem = o.certPem;
  const queue = new AcceptQueue();
  // Connections still reading their PROXY header, oldest evicted first, each
  // with the deadline. They all come from the balancers, so the cap is on
  // the total; per-client limits apply once the header names the client.
  const admission = new HandshakeAdmission({
    maxHandshakes: o.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES,
    maxHandshakesPerSource: DEFAULT_MAX_HANDSHAKES_PER_SOURCE,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? 30_000,
    clock,
    logger,
    phase: "PROXY header",
  });

  const handOver = (
    raw: net.Socket,
    acceptedMs: number,
    remoteAddr?: TransportAddr,
    localAddr?: TransportAddr,
  ) => {
    // A peer's FIN ends only our readable; pending writes (Call Disconnect) still go out.
    raw.allowHalfOpen = true;
    const inner = nodeSocketDuplex(graceful(raw), { acceptedMs });
    const duplex: ByteDuplex = remoteAddr === undefined && localAddr === undefined ? inner : {
      // Getters keep the Web Streams lazy: the data path reads through the lane.
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
      remoteAddr: remoteAddr ?? inner.remoteAddr,
      localAddr: localAddr ?? inner.localAddr,
    };
    served.set(duplex, currentPem);
    if (!queue.put(duplex)) duplex.close();
  };

  const onConnection = (raw: net.Socket) => {
    // No Nagle: PPP negotiation is a series of small request/answer packets.
    raw.setNoDelay(true);
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    raw.on("error", (e) => logger.debug(`${peer}: ${e.message}`));
    if (o.proxy === undefined || isTrusted === undefined) return handOver(raw, clock.now());
    // Untrusted sources reset, refusals logged at most once per window (as PROXY + TLS).
    const ticket = admission.admitFromBalancer(raw, isTrusted);
    if (ticket === undefined) return;
    readProxyHeader(raw, o.proxy.mode, peer, logger, (h, rest) => {
      // Paused in the turn its data listener went: a flowing socket without one drops data.
      raw.pause();
      ticket.finish();
      // The bytes after the header (often the HTTP request, in the same segment) come first.
      if (rest.length > 0) raw.unshift(Buffer.from(rest));
      handOver(
        raw,
        ticket.acceptedMs,
        h.source === undefined ? undefined : { hostname: h.source.address, port: h.source.port },
        h.destination === undefined
          ? undefined
          : { hostname: h.destination.address, port: h.destination.port },
      );
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

  const listener: TlsListener = {
    addrs,
    accept: () => queue.take(),
    close() {
      if (queue.isClosed) return;
      queue.close();
      for (const b of bound) b.close();
      // Connections still reading their header end now.
      admission.closeAll();
    },
    closed,
    setCertificate(next: ListenerCertificate) {
      // Only the hashes change: the balancer serves the new certificate.
      currentPem = next.certPem;
      return Promise.resolve();
    },
    certificateOf: (duplex) => served.get(duplex),
    async *[Symbol.asyncIterator]() {
      for (let d = await listener.accept(); d !== null; d = await listener.accept()) yield d;
    },
  };
  return listener;
}

/**
 * Makes a plain `destroy()` of `socket` (what the duplex's `close()` calls)
 * flush what is buffered and send FIN first; the socket is destroyed once
 * the peer closes too, or after {@linkcode CLOSE_GRACE_MS}. A bare destroy
 * dropped the last writes (the server's Call Disconnect).
 */
function graceful(socket: net.Socket): net.Socket {
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (error?: Error) => {
    if (error !== undefined || socket.destroyed || socket.writableEnded) return destroy(error);
    const timer = setTimeout(() => destroy(), CLOSE_GRACE_MS);
    socket.once("close", () => clearTimeout(timer));
    socket.end();
    return socket;
  };
  return socket;
}
