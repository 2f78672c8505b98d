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
 * handshake timeout. Without PROXY protocol a connection is handed over at
 * once; the server's own admission (`max-unauthenticated-per-source`,
 * `authentication-deadline`) applies from there, as for TLS connections.
 *
 * The returned object has the {@linkcode TlsListener} shape so the server
 * treats both listeners alike; `info` carries no TLS fields.
 *
 * @module
 */
import * as net from "node:net";
import { Buffer } from "node:buffer";
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import { type Clock, systemClock } from "../clock.ts";
import { ProtocolError } from "../errors.ts";
import type { ByteDuplex, TransportAddr } from "../duplex.ts";
import { nodeSocketDuplex } from "./_node_socket_duplex.ts";
import { parseProxyHeader, PROXY_V1_MAX_LENGTH, type ProxyProtocolMode } from "./proxy_protocol.ts";
import { trustedSources } from "./proxy_source.ts";
import type { ListenerCertificate, TlsListener } from "./tls_server.ts";

/** Largest PROXY header read (v2 with TLVs); HAProxy's are far smaller. */
const MAX_HEADER_BYTES = 4096;

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
  const timeoutMs = o.handshakeTimeoutMs ?? 30_000;
  const isTrusted = o.proxy === undefined ? undefined : trustedSources(o.proxy.trusted);
  const served = new WeakMap<ByteDuplex, string>();
  let currentPem = o.certPem;
  const ready: ByteDuplex[] = [];
  const waiters: ((d: ByteDuplex | null) => void)[] = [];
  // Connections still reading their PROXY header, oldest first (a Set keeps
  // insertion order). They all come from the balancers, so the cap is on the
  // total; per-client limits apply once the header names the client.
  const pending = new Set<net.Socket>();
  const maxPending = o.maxHandshakes ?? 256;
  let isClosed = false;
  const put = (d: ByteDuplex) => {
    if (isClosed) return d.close();
    const w = waiters.shift();
    if (w !== undefined) w(d);
    else ready.push(d);
  };

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
    put(duplex);
  };

  const onConnection = (raw: net.Socket) => {
    // No Nagle: PPP negotiation is a series of small request/answer packets.
    raw.setNoDelay(true);
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    raw.on("error", (e) => logger.debug(`${peer}: ${e.message}`));
    const acceptedMs = clock.now();
    if (o.proxy === undefined || isTrusted === undefined) return handOver(raw, acceptedMs);
    if (!isTrusted(raw.remoteAddress ?? "")) {
      logger.warn(`refused ${peer}: not in proxy-protocol-from`);
      raw.destroy();
      return;
    }
    const mode = o.proxy.mode;
    if (pending.size >= maxPending) {
      const old = pending.values().next().value!;
      pending.delete(old);
      logger.debug(
        `${old.remoteAddress}:${old.remotePort} dropped: max-handshakes ` +
          `${maxPending} connections wait for their PROXY header, oldest first`,
      );
      old.destroy();
    }
    pending.add(raw);
    const timer = setTimeout(() => {
      logger.debug(`${peer}: no PROXY header within ${timeoutMs} ms`);
      raw.destroy();
    }, timeoutMs);
    raw.once("close", () => {
      clearTimeout(timer);
      pending.delete(raw);
    });
    let buffered = new Uint8Array(0);
    const onData = (chunk: Uint8Array) => {
      const next = new Uint8Array(buffered.length + chunk.length);
      next.set(buffered);
      next.set(chunk, buffered.length);
      buffered = next;
      let r;
      try {
        r = parseProxyHeader(buffered, mode);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        logger.warn(`refused ${peer}: ${e.message}`);
        raw.destroy();
        return;
      }
      if (!r.done) {
        if (
          buffered.length > MAX_HEADER_BYTES ||
          (mode === "v1" && buffered.length > PROXY_V1_MAX_LENGTH)
        ) {
          logger.warn(`refused ${peer}: PROXY header longer than allowed`);
          raw.destroy();
        }
        return;
      }
      // Paused before the listener goes: a flowing socket without one drops data.
      raw.pause();
      raw.off("data", onData);
      clearTimeout(timer);
      pending.delete(raw);
      const rest = buffered.subarray(r.length);
      // The bytes after the header (often the HTTP request, in the same segment) come first.
      if (rest.length > 0) raw.unshift(Buffer.from(rest));
      const h = r.header;
      handOver(
        raw,
        acceptedMs,
        h.source === undefined ? undefined : { hostname: h.source.address, port: h.source.port },
        h.destination === undefined
          ? undefined
          : { hostname: h.destination.address, port: h.destination.port },
      );
    };
    raw.on("data", onData);
  };

  const servers: net.Server[] = [];
  const addrs: TransportAddr[] = [];
  let port = o.port;
  try {
    for (const hostname of o.hostname) {
      const server = net.createServer({ allowHalfOpen: false }, onConnection);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port, host: hostname, backlog: 4096 }, () => {
          server.off("error", reject);
          resolve();
        });
      });
      server.on("error", (e: Error) => logger.error(`listener ${hostname}:${port}: ${e.message}`));
      servers.push(server);
      const a = server.address();
      if (a !== null && typeof a === "object") {
        addrs.push({ hostname: a.address, port: a.port });
        port = a.port;
      }
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  const closed = Promise.all(
    servers.map((s) => new Promise<void>((r) => s.once("close", () => r()))),
  ).then(() => {});

  const listener: TlsListener = {
    addrs,
    accept() {
      const d = ready.shift();
      if (d !== undefined) return Promise.resolve(d);
      if (isClosed) return Promise.resolve(null);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      for (const s of servers) s.close();
      for (const w of waiters.splice(0)) w(null);
      for (const d of ready.splice(0)) d.close();
      // Connections still reading their header end now.
      for (const raw of pending) raw.destroy();
      pending.clear();
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
