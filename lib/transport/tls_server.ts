/**
 * Accept SSTP clients over TLS and hand each one over as a
 * {@linkcode ByteDuplex}; the caller reads the HTTP preamble.
 *
 * Two implementations:
 * - `"deno"` (default): `Deno.listenTls`, the fastest reader here (676-773
 *   MiB/s against 119-192 for node:tls, see tls_client.ts). It cannot ask
 *   for client certificates (deno issue 26825) and exposes neither the TLS
 *   version, the cipher nor the SNI of a connection.
 * - `"node"`: `node:tls` `createServer`, chosen automatically when client
 *   certificates are requested (RouterOS `verify-client-certificate`).
 *   Measured in Deno 2.9.6 (unlike the 2.7.12 report in deno issue 33367):
 *   with `requestCert: true, ca` the server receives the client's leaf
 *   (`getPeerCertificate(true).raw`, subject CN), `authorized` is true for a
 *   CA-signed client certificate; with `rejectUnauthorized: true` a client
 *   without a certificate is refused with the TLS 1.3 `certificate_required`
 *   alert and a certificate from another CA fails the handshake; with
 *   `rejectUnauthorized: false` such clients connect with `authorized`
 *   false and `authorizationError` UNABLE_TO_GET_ISSUER_CERT (none sent) or
 *   UNABLE_TO_VERIFY_LEAF_SIGNATURE (foreign CA). This path also reports
 *   version, cipher and SNI.
 *
 * @module
 */

import * as tls from "node:tls";
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import type { ByteDuplex, TransportAddr } from "./duplex.ts";
import { denoConnDuplex } from "./_deno_conn_duplex.ts";
import { nodeSocketDuplex, nodeSocketInfo } from "./_node_socket_duplex.ts";

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
  /** TLS implementation; `"node"` is forced by `clientCertificate`. Default `"deno"`. */
  implementation?: "deno" | "node";
  /** Drop connections whose handshake takes longer (default 30,000 ms). */
  handshakeTimeoutMs?: number;
  /** Logger for accept and handshake failures. */
  logger?: Logger;
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
  const implementation = options.clientCertificate !== undefined
    ? "node"
    : options.implementation ?? "deno";
  const logger = options.logger ?? NOOP_LOGGER;
  const queue = new AcceptQueue();
  const binds: Bound[] = [];
  let port = options.port;
  try {
    for (const hostname of hostnames) {
      const bind = implementation === "node"
        ? await bindNode(hostname, port, options, queue, logger)
        : bindDeno(hostname, port, options, queue, logger);
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
}

function bindDeno(
  hostname: string,
  port: number,
  options: ListenTlsOptions,
  queue: AcceptQueue,
  logger: Logger,
): Bound {
  const listener = Deno.listenTls({
    hostname,
    port,
    cert: options.certPem,
    key: options.keyPem,
  });
  const timeoutMs = options.handshakeTimeoutMs ?? 30_000;
  const handshakes = new Set<Promise<void>>();
  const loop = (async () => {
    for (;;) {
      let conn: Deno.TlsConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (!queue.isClosed) logger.warn(`TLS accept failed: ${String(error)}`);
        break;
      }
      const task = handshakeDeno(conn, timeoutMs, queue, logger);
      handshakes.add(task);
      task.finally(() => handshakes.delete(task));
    }
    await Promise.all(handshakes);
  })();
  const addr = listener.addr;
  return {
    addr: { hostname: addr.hostname, port: addr.port },
    close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
    },
    closed: loop,
  };
}

async function handshakeDeno(
  conn: Deno.TlsConn,
  timeoutMs: number,
  queue: AcceptQueue,
  logger: Logger,
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
    if (!queue.put(duplex)) duplex.close();
  } catch (error) {
    logger.debug(`TLS handshake with ${peer.hostname}:${peer.port} failed: ${String(error)}`);
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
  queue: AcceptQueue,
  logger: Logger,
): Promise<Bound> {
  const clientCert = options.clientCertificate;
  const required = clientCert?.required ?? true;
  const server = tls.createServer({
    cert: options.certPem,
    key: options.keyPem,
    handshakeTimeout: options.handshakeTimeoutMs ?? 30_000,
    ...(clientCert === undefined
      ? {}
      : { requestCert: true, rejectUnauthorized: required, ca: clientCert.caPem }),
  }, (socket) => {
    const info = nodeSocketInfo(socket);
    // `servername` is set by node:tls on server sockets but missing from its types.
    const serverName = (socket as tls.TLSSocket & { servername?: unknown }).servername;
    if (typeof serverName === "string" && serverName !== "") info.serverName = serverName;
    if (clientCert !== undefined) info.peerVerified = socket.authorized;
    const duplex = nodeSocketDuplex(socket, info);
    if (!queue.put(duplex)) duplex.close();
  });
  server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
    logger.debug(
      `TLS handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${error.message}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  const address = server.address();
  const addr = address !== null && typeof address === "object"
    ? { hostname: address.address, port: address.port }
    : { hostname, port };
  return { addr, close: () => server.close(), closed };
}

/** Hands accepted connections to `accept()` callers in order. */
class AcceptQueue {
  #ready: ByteDuplex[] = [];
  #waiters: ((duplex: ByteDuplex | null) => void)[] = [];
  #closed = false;

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Queues a connection; false when the queue is closed (caller closes it). */
  put(duplex: ByteDuplex): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(duplex);
    else this.#ready.push(duplex);
    return true;
  }

  take(): Promise<ByteDuplex | null> {
    const ready = this.#ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
    for (const duplex of this.#ready.splice(0)) duplex.close();
  }
}
