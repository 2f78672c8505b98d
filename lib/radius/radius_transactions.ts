/**
 * The request/retry/failover automaton of a RADIUS client (RFC 2865 2.4,
 * RFC 2866 2, RFC 5080 2.2), without sockets or timers: the caller feeds it
 * received datagrams and the time, and carries out the sends it returns.
 *
 * - Each request goes to the first configured server; it is resent
 *   unchanged (same Identifier and authenticator) after `timeoutMs`, up to
 *   `attempts` sends, then the next server is tried with a freshly built
 *   packet (its own secret, Identifier and authenticator). When every
 *   server has been tried the request fails with a `TIMEOUT` naming them.
 * - Identifiers are unique per server and port among outstanding requests;
 *   when all 256 are in use the request fails at once (`RETRY_EXHAUSTED`)
 *   rather than waiting without bound.
 * - A datagram that matches no outstanding request, or fails the
 *   authenticator checks, is dropped with a reason for the log; the request
 *   keeps waiting for a genuine reply.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { type RadiusPacket, verifyResponse } from "./radius_packet.ts";

/** One configured RADIUS server (RouterOS `/radius` entry). */
export interface RadiusServer {
  /** IPv4 or IPv6 address. */
  address: string;
  /** Shared secret (never logged). */
  secret: Uint8Array;
  /** UDP port for Access-Requests (usually 1812). */
  authenticationPort: number;
  /** UDP port for Accounting-Requests (usually 1813). */
  accountingPort: number;
  /** Wait for each reply, ms (RouterOS `timeout`, default 300 ms). */
  timeoutMs: number;
  /**
   * Refuse Access replies without a Message-Authenticator (RouterOS
   * `require-message-auth`, default true: the BlastRADIUS forgery needs a
   * reply the NAS accepts without one). Accounting replies never need one.
   */
  requireMessageAuthenticator?: boolean;
}

/** Authentication (port 1812) or accounting (port 1813). */
export type RadiusKind = "auth" | "acct";

/** A built request. */
export interface BuiltRequest {
  /** The encoded datagram. */
  bytes: Uint8Array;
  /** The authenticator the reply is checked against. */
  requestAuthenticator: Uint8Array;
}

/** Builds the request for one server with one Identifier. */
export type RequestBuilder = (
  server: RadiusServer,
  identifier: number,
  attempt: { elapsedMs: number },
) => BuiltRequest;

/** A datagram to send. */
export interface RadiusSend {
  /** Index of the server in the configured list. */
  server: number;
  /** Destination address. */
  address: string;
  /** Destination UDP port. */
  port: number;
  /** The datagram. */
  bytes: Uint8Array;
}

/** What the automaton asks for. */
export type TransactionEvent =
  | { type: "send"; id: number; send: RadiusSend }
  | {
    type: "reply";
    id: number;
    reply: RadiusPacket;
    server: number;
    /** The authenticator of the request it answers (MPPE keys are encrypted with it). */
    requestAuthenticator: Uint8Array;
  }
  | { type: "failed"; id: number; error: ProtocolError }
  | { type: "dropped"; reason: string };

interface Pending {
  id: number;
  kind: RadiusKind;
  build: RequestBuilder;
  startedMs: number;
  server: number;
  identifier: number;
  request: BuiltRequest;
  sends: number;
  deadlineMs: number;
  tried: string[];
}

/** Options of {@linkcode RadiusTransactions}. */
export interface RadiusTransactionsOptions {
  /** Servers in failover order (at least one). */
  servers: readonly RadiusServer[];
  /** Sends per server before failing over (default 3). */
  attempts?: number;
  /** Source of Identifiers. */
  randomBytes: (n: number) => Uint8Array;
}

/** Outstanding RADIUS requests. */
export class RadiusTransactions {
  readonly #servers: readonly RadiusServer[];
  readonly #attempts: number;
  readonly #random: (n: number) => Uint8Array;
  readonly #pending = new Map<number, Pending>();
  /** `${server}/${kind}` -> identifiers in use. */
  readonly #inUse = new Map<string, Set<number>>();
  #nextId = 1;

  /**
   * An empty table of outstanding requests.
   *
   * @param options Servers, attempts and randomness.
   * @throws {RangeError} When no server is configured.
   */
  constructor(options: RadiusTransactionsOptions) {
    if (options.servers.length === 0) {
      throw new RangeError("Cannot create RADIUS client: no servers configured");
    }
    this.#servers = options.servers;
    this.#attempts = Math.max(1, options.attempts ?? 3);
    this.#random = options.randomBytes;
  }

  /** Outstanding requests. */
  get size(): number {
    return this.#pending.size;
  }

  /** The earliest time `tick` has something to do, or `undefined`. */
  get nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const p of this.#pending.values()) {
      if (next === undefined || p.deadlineMs < next) next = p.deadlineMs;
    }
    return next;
  }

  /** Starts a request; returns its id and the first send (or the failure). */
  start(
    kind: RadiusKind,
    build: RequestBuilder,
    nowMs: number,
  ): { id: number; events: TransactionEvent[] } {
    const id = this.#nextId++;
    const p: Pending = {
      id,
      kind,
      build,
      startedMs: nowMs,
      server: 0,
      identifier: 0,
      request: { bytes: new Uint8Array(0), requestAuthenticator: new Uint8Array(16) },
      sends: 0,
      deadlineMs: nowMs,
      tried: [],
    };
    return { id, events: this.#toServer(p, 0, nowMs) };
  }

  #port(kind: RadiusKind, s: RadiusServer): number {
    return kind === "auth" ? s.authenticationPort : s.accountingPort;
  }

  #toServer(p: Pending, server: number, nowMs: number): TransactionEvent[] {
    for (let i = server; i < this.#servers.length; i++) {
      const s = this.#servers[i]!;
      const key = `${i}/${p.kind}`;
      let used = this.#inUse.get(key);
      if (used === undefined) this.#inUse.set(key, used = new Set());
      if (used.size >= 256) {
        p.tried.push(`${s.address}:${this.#port(p.kind, s)} (all 256 identifiers in use)`);
        continue;
      }
      let identifier = this.#random(1)[0] ?? 0;
      while (used.has(identifier)) identifier = (identifier + 1) & 0xff;
      used.add(identifier);
      p.server = i;
      p.identifier = identifier;
      p.request = p.build(s, identifier, { elapsedMs: nowMs - p.startedMs });
      p.sends = 1;
      p.deadlineMs = nowMs + s.timeoutMs;
      this.#pending.set(p.id, p);
      return [{ type: "send", id: p.id, send: this.#send(p) }];
    }
    this.#pending.delete(p.id);
    const code = p.tried.some((t) => t.includes("identifiers"))
      ? ERROR_CODE.RETRY_EXHAUSTED
      : ERROR_CODE.TIMEOUT;
    const what = p.kind === "auth" ? "authentication" : "accounting";
    const error = new ProtocolError(
      "radius",
      code,
      `Cannot reach a RADIUS ${what} server: no valid answer from ${p.tried.join(", ")}`,
    );
    return [{ type: "failed", id: p.id, error }];
  }

  #send(p: Pending): RadiusSend {
    const s = this.#servers[p.server]!;
    return {
      server: p.server,
      address: s.address,
      port: this.#port(p.kind, s),
      bytes: p.request.bytes,
    };
  }

  #release(p: Pending): void {
    this.#inUse.get(`${p.server}/${p.kind}`)?.delete(p.identifier);
  }

  /** Resends or fails over every request whose deadline has passed. */
  tick(nowMs: number): TransactionEvent[] {
    const out: TransactionEvent[] = [];
    for (const p of [...this.#pending.values()]) {
      if (p.deadlineMs > nowMs) continue;
      const s = this.#servers[p.server]!;
      if (p.sends < this.#attempts) {
        p.sends++;
        p.deadlineMs = nowMs + s.timeoutMs;
        out.push({ type: "send", id: p.id, send: this.#send(p) });
        continue;
      }
      this.#release(p);
      p.tried.push(`${s.address}:${this.#port(p.kind, s)} (${p.sends} tries)`);
      out.push(...this.#toServer(p, p.server + 1, nowMs));
    }
    return out;
  }

  /** A datagram from `address`:`port`. */
  receive(address: string, port: number, bytes: Uint8Array): TransactionEvent[] {
    if (bytes.length < 20) {
      return [{ type: "dropped", reason: `${bytes.length}-byte datagram from ${address}:${port}` }];
    }
    const identifier = bytes[1] ?? 0;
    for (const p of this.#pending.values()) {
      const s = this.#servers[p.server]!;
      if (p.identifier !== identifier || s.address !== address || this.#port(p.kind, s) !== port) {
        continue;
      }
      let reply: RadiusPacket;
      try {
        reply = verifyResponse(bytes, p.request.requestAuthenticator, s.secret, {
          // RFC 3579 3.2 asks it of Access replies; accounting replies rarely carry one.
          requireMessageAuthenticator: p.kind === "auth" &&
            (s.requireMessageAuthenticator ?? true),
        });
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        return [{ type: "dropped", reason: `reply from ${address}:${port}: ${e.message}` }];
      }
      this.#release(p);
      this.#pending.delete(p.id);
      return [{
        type: "reply",
        id: p.id,
        reply,
        server: p.server,
        requestAuthenticator: p.request.requestAuthenticator,
      }];
    }
    return [{
      type: "dropped",
      reason: `reply from ${address}:${port} with identifier ${identifier} matches no request`,
    }];
  }

  /** Forgets a request (its caller went away). */
  cancel(id: number): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#release(p);
    this.#pending.delete(id);
  }
}
