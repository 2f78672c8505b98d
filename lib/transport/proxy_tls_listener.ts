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
 * Why a separate listener: in Deno 2.9.6 a `node:tls` server handed a
 * socket whose first bytes were consumed in JavaScript (the header, then
 * `unshift` of the rest) never completes the handshake: the TLS layer
 * reads the socket's handle, not the JavaScript buffer. A `TLSSocket`
 * over a JavaScript `Duplex` that first yields the bytes after the header
 * and then the socket's data does work, so this listener does that.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { Duplex } from "node:stream";
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import { ProtocolError } from "../errors.ts";
import type { ByteDuplex, TransportAddr } from "./duplex.ts";
import { nodeSocketDuplex, nodeSocketInfo } from "./_node_socket_duplex.ts";
import { parseProxyHeader, PROXY_V1_MAX_LENGTH, type ProxyProtocolMode } from "./proxy_protocol.ts";
import { trustedSources } from "./proxy_source.ts";
import type { ListenerCertificate, TlsListener } from "./tls_server.ts";

/** Largest PROXY header read (v2 with TLVs); HAProxy's are far smaller. */
const MAX_HEADER_BYTES = 4096;

/** Options of {@linkcode listenProxyTls}. */
export interface ListenProxyTlsOptions {
  hostname: readonly string[];
  port: number;
  certPem: string;
  keyPem: string;
  /** `yes` (either version), `v1` or `v2`. */
  mode: ProxyProtocolMode;
  /** `proxy-protocol-from`. */
  trusted: readonly string[];
  /** Header plus TLS handshake must finish within this (default 30,000 ms). */
  handshakeTimeoutMs?: number;
  logger?: Logger;
}

/** Binds every address; resolves once all are listening. */
export async function listenProxyTls(o: ListenProxyTlsOptions): Promise<TlsListener> {
  const logger = o.logger ?? NOOP_LOGGER;
  const isTrusted = trustedSources(o.trusted);
  const timeoutMs = o.handshakeTimeoutMs ?? 30_000;
  let current = {
    certPem: o.certPem,
    context: tls.createSecureContext({ cert: o.certPem, key: o.keyPem }),
  };
  const served = new WeakMap<ByteDuplex, string>();
  const ready: ByteDuplex[] = [];
  const waiters: ((d: ByteDuplex | null) => void)[] = [];
  // Connections still reading their header or in their handshake.
  const handshaking = new Set<net.Socket>();
  let isClosed = false;
  const put = (d: ByteDuplex) => {
    if (isClosed) return d.close();
    const w = waiters.shift();
    if (w !== undefined) w(d);
    else ready.push(d);
  };

  const onConnection = (raw: net.Socket) => {
    raw.setNoDelay(true);
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    if (!isTrusted(raw.remoteAddress ?? "")) {
      logger.warn(`refused ${peer}: not in proxy-protocol-from`);
      raw.destroy();
      return;
    }
    handshaking.add(raw);
    raw.once("close", () => handshaking.delete(raw));
    const timer = setTimeout(() => {
      logger.debug(`${peer}: no PROXY header and TLS handshake within ${timeoutMs} ms`);
      raw.destroy();
    }, timeoutMs);
    raw.once("close", () => clearTimeout(timer));
    let buffered = new Uint8Array(0);
    const onData = (chunk: Uint8Array) => {
      const next = new Uint8Array(buffered.length + chunk.length);
      next.set(buffered);
      next.set(chunk, buffered.length);
      buffered = next;
      let r;
      try {
        r = parseProxyHeader(buffered, o.mode);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        logger.warn(`refused ${peer}: ${e.message}`);
        raw.destroy();
        return;
      }
      if (!r.done) {
        if (
          buffered.length > MAX_HEADER_BYTES ||
          (o.mode === "v1" && buffered.length > PROXY_V1_MAX_LENGTH)
        ) {
          logger.warn(`refused ${peer}: PROXY header longer than allowed`);
          raw.destroy();
        }
        return;
      }
      raw.off("data", onData);
      const h = r.header;
      const remoteAddr: TransportAddr = h.source !== undefined
        ? { hostname: h.source.address, port: h.source.port }
        : { hostname: raw.remoteAddress ?? "", port: raw.remotePort ?? 0 };
      const localAddr: TransportAddr = h.destination !== undefined
        ? { hostname: h.destination.address, port: h.destination.port }
        : { hostname: raw.localAddress ?? "", port: raw.localPort ?? 0 };
      startTls(raw, buffered.subarray(r.length), remoteAddr, localAddr, timer);
    };
    raw.on("data", onData);
    raw.on("error", (e) => logger.debug(`${peer}: ${e.message}`));
  };

  const startTls = (
    raw: net.Socket,
    rest: Uint8Array,
    remoteAddr: TransportAddr,
    localAddr: TransportAddr,
    timer: ReturnType<typeof setTimeout>,
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
      clearTimeout(timer);
      handshaking.delete(raw);
      const inner = nodeSocketDuplex(socket, nodeSocketInfo(socket));
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
      put(duplex);
    });
  };

  const servers: net.Server[] = [];
  const addrs: TransportAddr[] = [];
  let port = o.port;
  try {
    for (const hostname of o.hostname) {
      const server = net.createServer(onConnection);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, hostname, () => {
          server.off("error", reject);
          resolve();
        });
      });
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
  logger.info(`PROXY protocol (${o.mode}) expected from ${o.trusted.join(", ")}`);

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
      // Connections still reading their header or handshaking end now.
      for (const raw of handshaking) raw.destroy();
      handshaking.clear();
    },
    closed,
    setCertificate(next: ListenerCertificate) {
      current = {
        certPem: next.certPem,
        context: tls.createSecureContext({ cert: next.certPem, key: next.keyPem }),
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
