/**
 * The accept path that every `node:tls` based listener (plain and PROXY
 * protocol) shares: a `node:net` server accepts, and each raw socket passes
 * admission ({@linkcode HandshakeAdmission}) before any TLS object exists
 * for it.
 *
 * Why not `tls.createServer(...).listen()`: Deno 2.9.6's `node:tls` server
 * wraps every accepted socket in a `TLSSocket` before the server's own
 * `connection` listeners run, so even a connection refused at once costs a
 * TLS session object. Measured on loopback (one process reconnecting from
 * 1,000 loops as soon as it was closed, the server closing every
 * connection): `tls.createServer` accepted about 2,200 connections/s at
 * 70-77 % of a core, `net.createServer` 9,800-10,500/s at 38-44 % (the
 * flooding process was then the limit). A connection that passes
 * admission is handed to a `tls.Server` that never listens
 * (`emit("connection", socket)`, the documented way to give node:tls a
 * socket), so handshakes, client certificates (`authorized`), SNI and
 * `setSecureContext` behave as before.
 *
 * The kernel's accept queue is first-in first-out: a legitimate client
 * waits behind every connection the flood has queued, so the rate at which
 * refused connections are drained is what keeps it out, or lets it in.
 *
 * @module
 */
import * as net from "node:net";
import type { Logger } from "../log.ts";
import { type Clock, systemClock } from "../clock.ts";
import { RefusalLog, sourceKey, SourceLimiter } from "./source_limiter.ts";
import { isFdExhaustion, listenQueueLength } from "./_listen_queue.ts";

/**
 * Accept queue length asked of the kernel (which caps it at
 * `net.core.somaxconn`, 4096 by default). node's default of 511 let one
 * address that reconnects as fast as it is refused keep the queue full, so
 * that other clients' SYNs were dropped (measured: 600 connections from one
 * address, each re-opened when closed, kept a client from another address
 * out for over 5 s). A longer queue makes a newcomer wait its turn instead.
 */
export const LISTEN_BACKLOG = 4096;

/** Shortest time between two "no file descriptor left" warnings of one listener. */
export const FD_LOG_WINDOW_MS = 10_000;

/** How often a listener checks that it still accepts. */
const ACCEPT_CHECK_MS = 1000;

/**
 * What {@linkcode HandshakeAdmission} needs of an accepted connection: a
 * `net.Socket` has it; a TLS engine's accept path (lib/tls_engine.ts) passes
 * a stand-in whose `destroy` closes its own socket.
 */
export interface AdmittedSocket {
  /** Peer address, as node:net reports it. */
  readonly remoteAddress?: string | undefined;
  /** Peer port. */
  readonly remotePort?: number | undefined;
  /** Closes the connection now. */
  destroy(): void;
  /** `close` listeners: the admission forgets a socket that closed before it finished. */
  once(event: "close", listener: () => void): unknown;
  /** Removes a `close` listener added with `once`. */
  off(event: "close", listener: () => void): unknown;
}

/** A raw socket admitted until its handshake ends (see {@linkcode HandshakeAdmission}). */
export interface RawTicket<S extends AdmittedSocket = net.Socket> {
  /** The accepted socket. */
  readonly raw: S;
  /** When it was accepted (the admission clock). */
  readonly acceptedMs: number;
  /** The source key it counts against now. */
  readonly source: string;
  /**
   * Counts the socket against `source` instead (a PROXY header named the
   * real client), with that source's cap. False when `source` is full: the
   * socket is then destroyed and the refusal logged.
   */
  rekey(source: string): boolean;
  /** The handshake completed: the deadline and the slot are released. Idempotent. */
  finish(): void;
}

/** Options of {@linkcode HandshakeAdmission}. */
export interface HandshakeAdmissionOptions {
  /** Raw sockets before the end of their handshake, in all. */
  maxHandshakes: number;
  /** Of those, per source key. */
  maxHandshakesPerSource: number;
  /** A raw socket whose handshake is not done by then is destroyed. */
  handshakeTimeoutMs: number;
  /** Clock of `acceptedMs` and the refusal log. */
  clock: Clock;
  /** Where evictions, deadlines and refusals are logged. */
  logger: Logger;
  /**
   * What an admitted socket must finish, as the logs name it (default
   * `TLS handshake`; the cleartext listener waits for a `PROXY header`).
   */
  phase?: string;
}

/**
 * Raw sockets from their `connection` event to the end of their handshake,
 * capped in all (a newcomer evicts the oldest) and per source (a newcomer
 * over the cap is destroyed at once, before any TLS work), each with a
 * deadline. Refusals are logged through one {@linkcode RefusalLog}.
 */
export class HandshakeAdmission<S extends AdmittedSocket = net.Socket> {
  readonly #limiter: SourceLimiter<S>;
  readonly #tickets = new Map<S, { timer: ReturnType<typeof setTimeout> }>();
  readonly #o: HandshakeAdmissionOptions;
  readonly #refusals: RefusalLog;
  readonly #phase: string;

  /**
   * Admission with the given caps and deadline.
   *
   * @throws {RangeError} when a cap is not a positive integer.
   */
  constructor(options: HandshakeAdmissionOptions) {
    this.#o = options;
    this.#limiter = new SourceLimiter({
      max: options.maxHandshakes,
      maxPerSource: options.maxHandshakesPerSource,
    });
    this.#refusals = new RefusalLog(options.logger, options.clock);
    this.#phase = options.phase ?? "TLS handshake";
  }

  /** The caps. */
  get limits(): { max: number; maxPerSource: number } {
    return this.#limiter.limits;
  }

  /** Raw sockets admitted and not finished. */
  get size(): number {
    return this.#limiter.size;
  }

  /** Logs (rate-limited) that a connection from `source` was refused for `reason`. */
  refused(source: string, reason: string): void {
    this.#refusals.refused(source, reason);
  }

  /**
   * Admits `raw` from `source` (at most `maxPerSource` from it, default the
   * per-source cap), or destroys it and returns undefined. An evicted
   * oldest socket is destroyed.
   */
  admit(
    raw: S,
    source: string,
    maxPerSource = this.#limiter.limits.maxPerSource,
  ): RawTicket<S> | undefined {
    const acceptedMs = this.#o.clock.now();
    const admission = this.#limiter.admit(source, raw, acceptedMs, maxPerSource);
    if (!admission.admitted) {
      this.#refuse(raw, source);
      return undefined;
    }
    if (admission.evicted !== undefined) {
      const old = admission.evicted;
      this.#o.logger.debug(
        `${this.#phase} with ${old.remoteAddress}:${old.remotePort} dropped: ` +
          `max-handshakes ${this.#limiter.limits.max} reached, oldest first`,
      );
      this.#drop(old);
      old.destroy();
    }
    const timer = setTimeout(() => {
      this.#drop(raw);
      this.#o.logger.debug(
        `${this.#phase} with ${raw.remoteAddress}:${raw.remotePort} failed: ` +
          `no ${this.#phase} within ${this.#o.handshakeTimeoutMs} ms`,
      );
      raw.destroy();
    }, this.#o.handshakeTimeoutMs);
    this.#tickets.set(raw, { timer });
    const onClose = () => this.#drop(raw);
    raw.once("close", onClose);
    let source_ = source;
    return {
      raw,
      acceptedMs,
      get source() {
        return source_;
      },
      rekey: (next) => {
        if (!this.#tickets.has(raw)) return false;
        if (next === source_) return true;
        if (this.#limiter.countOf(next) >= this.#limiter.limits.maxPerSource) {
          this.#drop(raw);
          raw.off("close", onClose);
          this.#refusals.refused(
            next,
            `max-handshakes-per-source ${this.#limiter.limits.maxPerSource} reached`,
          );
          raw.destroy();
          return false;
        }
        this.#limiter.release(raw);
        this.#limiter.admit(next, raw, acceptedMs);
        source_ = next;
        return true;
      },
      finish: () => {
        // Only needed during the handshake: not kept for the connection's life.
        raw.off("close", onClose);
        this.#drop(raw);
      },
    };
  }

  /** Destroys every admitted raw socket (the listener is closing). */
  closeAll(): void {
    for (const raw of [...this.#tickets.keys()]) {
      this.#drop(raw);
      raw.destroy();
    }
  }

  /**
   * Admits `raw` from a load balancer (PROXY protocol): a source outside
   * `proxy-protocol-from` (`isTrusted` false) is reset and the refusal
   * logged through the same rate-limited log as every other refusal. A
   * trusted balancer's connections are keyed apart from client addresses
   * and capped only by max-handshakes (oldest closed first): a balancer is
   * every client at once.
   */
  admitFromBalancer(raw: S, isTrusted: (address: string) => boolean): RawTicket<S> | undefined {
    const balancer = sourceKey(raw.remoteAddress);
    if (!isTrusted(raw.remoteAddress ?? "")) {
      this.#refusals.refused(balancer, "not in proxy-protocol-from");
      resetQuietly(raw);
      return undefined;
    }
    return this.admit(raw, `balancer ${balancer}`, Infinity);
  }

  #refuse(raw: S, source: string): void {
    this.#refusals.refused(
      source,
      `max-handshakes-per-source ${this.#limiter.limits.maxPerSource} reached`,
    );
    // A reset costs neither side a FIN exchange nor the server a TIME_WAIT entry.
    resetQuietly(raw);
  }

  #drop(raw: S): void {
    const ticket = this.#tickets.get(raw);
    if (ticket === undefined) return;
    clearTimeout(ticket.timer);
    this.#tickets.delete(raw);
    this.#limiter.release(raw);
  }
}

/** Closes `raw` with a TCP reset where node:net offers it, else plainly. */
export function resetQuietly(raw: AdmittedSocket): void {
  const reset = (raw as AdmittedSocket & { resetAndDestroy?: () => void }).resetAndDestroy;
  try {
    if (typeof reset === "function") reset.call(raw);
    else raw.destroy();
  } catch {
    raw.destroy();
  }
}

/** A bound {@linkcode bindRawListener}. */
export interface RawBound {
  /** The bound address. */
  readonly addr: { hostname: string; port: number };
  /** Stops accepting (connections already accepted stay). */
  close(): void;
  /** Settles once closed and every accepted connection has closed. */
  readonly closed: Promise<void>;
}

/**
 * Binds `hostname`:`port` with a long accept queue and calls
 * `onConnection` for every accepted socket, and keeps accepting through
 * descriptor exhaustion (see {@linkcode AcceptWatchdog}).
 *
 * @throws the bind error (`Error` with `code`, e.g. `EADDRINUSE`).
 */
export async function bindRawListener(
  hostname: string,
  port: number,
  logger: Logger,
  onConnection: (raw: net.Socket) => void,
): Promise<RawBound> {
  let acceptedSinceCheck = 0;
  // A peer's FIN during the handshake ends the connection: with it on, a peer
  // that closed mid-handshake raised no event at all (measured, Deno 2.9.6)
  // and held its socket and slot until the deadline. TLS connections turn it
  // on once their handshake is done.
  const server = net.createServer({ allowHalfOpen: false }, (raw) => {
    acceptedSinceCheck++;
    onConnection(raw);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: hostname, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closing = false;
  // node emits "close" when a listener closed for a restart has no connection left.
  const closed = new Promise<void>((resolve) =>
    server.on("close", () => {
      if (closing) resolve();
    })
  );
  const address = server.address();
  const addr = address !== null && typeof address === "object"
    ? { hostname: address.address, port: address.port }
    : { hostname, port };
  server.on("error", (error: Error) => {
    logger.error(`Cannot listen on ${hostname}:${addr.port} again: ${error.message}`);
  });
  const watchdog = new AcceptWatchdog(hostname, addr.port, logger, () => {
    const accepted = acceptedSinceCheck;
    acceptedSinceCheck = 0;
    return accepted;
  }, () => {
    // Connections in the dead listener's queue are reset; new ones reach the new socket.
    server.close();
    server.listen({ port: addr.port, host: hostname, backlog: LISTEN_BACKLOG });
  });
  return {
    addr,
    close() {
      if (closing) return;
      closing = true;
      watchdog.stop();
      server.close();
    },
    closed,
  };
}

/**
 * Keeps a node listener accepting through descriptor exhaustion. Deno
 * 2.9.6's node:net drops an accept error (EMFILE, ENFILE) without an event
 * and never polls that listener again: measured, a server at its open-file
 * limit accepted nothing more, even after every descriptor was free again.
 * Once a second this reads the listener's accept queue; a queue that holds
 * connections through two checks while none was accepted means the listener
 * is dead, and it is closed and bound again. While no descriptor is left
 * (the check itself cannot open /proc), that is logged once.
 *
 * `readQueue` and `intervalMs` are for tests, which call
 * {@linkcode AcceptWatchdog.check} themselves.
 */
export class AcceptWatchdog {
  readonly #timer: ReturnType<typeof setInterval>;
  #stalledChecks = 0;
  readonly #check: () => void;

  /** Starts the checks; `relisten` binds the listener again, `takeAccepted` counts accepts since the last call. */
  constructor(
    hostname: string,
    port: number,
    logger: Logger,
    takeAccepted: () => number,
    relisten: () => void,
    readQueue: () => number | undefined = () => listenQueueLength(hostname, port),
    intervalMs = ACCEPT_CHECK_MS,
  ) {
    const fds = new FdExhaustionLog(hostname, port, logger);
    this.#check = () => {
      let queued: number | undefined;
      try {
        queued = readQueue();
      } catch (error) {
        fds.failed(error);
        return;
      }
      fds.succeeded();
      const accepted = takeAccepted();
      this.#stalledChecks = queued !== undefined && queued > 0 && accepted === 0
        ? this.#stalledChecks + 1
        : 0;
      if (this.#stalledChecks >= 2) {
        this.#stalledChecks = 0;
        logger.warn(
          `listener ${hostname}:${port} stopped accepting with ${queued} connections waiting ` +
            "(the open-file limit was reached); listening again",
        );
        relisten();
      }
    };
    this.#timer = setInterval(this.#check, intervalMs);
    Deno.unrefTimer(this.#timer);
  }

  /** One check (what the timer runs every `intervalMs`). */
  check(): void {
    this.#check();
  }

  /** Stops the checks. */
  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * Logs that a listener ran out of file descriptors once, until it can open
 * one again (then that is logged once): the node:net watchdog below and a
 * TLS engine's accept loop (lib/tls_engine.ts) report through it.
 */
export class FdExhaustionLog {
  readonly #where: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #exhausted = false;
  /** The current episode is not logged (one began less than a window ago). */
  #quiet = false;
  #warnedMs = -Infinity;

  /** For the listener on `hostname`:`port`; at most one warning per window of `clock`. */
  constructor(hostname: string, port: number, logger: Logger, clock: Clock = systemClock) {
    this.#where = `${hostname}:${port}`;
    this.#logger = logger;
    this.#clock = clock;
  }

  /**
   * An accept or open failed with `error`: logged when it is descriptor
   * exhaustion, unless an earlier shortage was logged less than
   * {@linkcode FD_LOG_WINDOW_MS} ago (under a flood descriptors come and
   * go; each short episode would be two more lines).
   */
  failed(error: unknown): void {
    if (!isFdExhaustion(error) || this.#exhausted) return;
    this.#exhausted = true;
    const now = this.#clock.now();
    this.#quiet = now - this.#warnedMs < FD_LOG_WINDOW_MS;
    if (this.#quiet) return;
    this.#warnedMs = now;
    this.#logger.warn(
      `no file descriptor left (${String(error)}): new connections to ${this.#where} ` +
        "wait until some are free; raise the open-file limit (systemd LimitNOFILE=) " +
        "or lower the connection limits",
    );
  }

  /** An accept or open succeeded. */
  succeeded(): void {
    if (!this.#exhausted) return;
    this.#exhausted = false;
    if (!this.#quiet) this.#logger.info("file descriptors are available again");
  }
}
