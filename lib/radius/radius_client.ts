/**
 * The UDP shell around {@linkcode RadiusTransactions}: one `node:dgram`
 * socket (bound to `src-address` when set), one timer for the nearest
 * deadline, and promises for callers. Also the Access-Request helper that
 * the server's authenticator uses.
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { ProtocolError } from "../errors.ts";
import type { AuthMethod } from "../ppp/auth/auth_types.ts";
import {
  encodeAccessRequest,
  encodeSignedRequest,
  RADIUS_CODE,
  type RadiusAttribute,
  type RadiusPacket,
} from "./radius_packet.ts";
import {
  type RadiusKind,
  type RadiusServer,
  RadiusTransactions,
  type RequestBuilder,
  type TransactionEvent,
} from "./radius_transactions.ts";
import {
  accessRequestAttributes,
  type CallIdentity,
  interpretAccessReply,
  type NasIdentity,
  type RadiusAuthResult,
  type RadiusCredentials,
} from "./radius_auth.ts";
import { ATTR, integerAttr } from "./radius_attributes.ts";
import { observeRequest, type RadiusObserver } from "./radius_observer.ts";
import {
  eapAccessRequestAttributes,
  type EapRadiusReply,
  interpretEapReply,
} from "./radius_eap.ts";

/** A verified reply and what it answers. */
export interface RadiusReply {
  /** The decoded reply, its Response Authenticator verified. */
  reply: RadiusPacket;
  /** The server that answered. */
  server: RadiusServer;
  /** The request's authenticator (MS-MPPE keys in the reply are encrypted with it). */
  requestAuthenticator: Uint8Array;
}

/** Options of {@linkcode RadiusClient}. */
export interface RadiusClientOptions {
  /** Servers in failover order (at least one). */
  servers: readonly RadiusServer[];
  /** Local address to send from (RouterOS `src-address`). */
  srcAddress?: string;
  /** Sends per server before failing over (default 3). */
  attempts?: number;
  /** NAS-Identifier and NAS-IP-Address sent in every request. */
  nas: NasIdentity;
  /** Time source for retransmit timeouts. */
  clock: Clock;
  /** Where socket errors, failed sends and ignored replies are logged. */
  logger: Logger;
  /** Told each request's type, result and latency (metrics). */
  observer?: RadiusObserver;
}

/** A RADIUS client over UDP. */
export class RadiusClient {
  readonly #o: RadiusClientOptions;
  readonly #tx: RadiusTransactions;
  readonly #waiters = new Map<
    number,
    { resolve: (r: RadiusReply) => void; reject: (e: Error) => void }
  >();
  #socket: Socket | undefined;
  #ready: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #isClosed = false;

  /** Creates the client; the socket opens on the first request. */
  constructor(options: RadiusClientOptions) {
    this.#o = options;
    this.#tx = new RadiusTransactions({
      servers: options.servers,
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
      randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    });
  }

  /** The NAS identity requests carry. */
  get nas(): NasIdentity {
    return this.#o.nas;
  }

  #open(): Promise<void> {
    if (this.#ready !== undefined) return this.#ready;
    const family = isIPv6(this.#o.servers[0]?.address ?? "") ? "udp6" : "udp4";
    const socket = createSocket(family);
    this.#socket = socket;
    socket.on("message", (msg, rinfo) => {
      this.#apply(this.#tx.receive(rinfo.address, rinfo.port, new Uint8Array(msg)));
    });
    socket.on("error", (e) => this.#o.logger.warn(`radius socket: ${e.message}`));
    this.#ready = new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(
        { port: 0, ...(this.#o.srcAddress ? { address: this.#o.srcAddress } : {}) },
        () => {
          socket.off("error", reject);
          resolve();
        },
      );
    });
    return this.#ready;
  }

  #apply(events: TransactionEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case "send":
          this.#socket?.send(e.send.bytes, e.send.port, e.send.address, (err) => {
            if (err) this.#o.logger.debug(`radius send to ${e.send.address}: ${err.message}`);
          });
          break;
        case "reply": {
          const w = this.#waiters.get(e.id);
          this.#waiters.delete(e.id);
          w?.resolve({
            reply: e.reply,
            server: this.#o.servers[e.server]!,
            requestAuthenticator: e.requestAuthenticator,
          });
          break;
        }
        case "failed": {
          const w = this.#waiters.get(e.id);
          this.#waiters.delete(e.id);
          w?.reject(e.error);
          break;
        }
        case "dropped":
          this.#o.observer?.radiusInvalidReply();
          this.#o.logger.warn(`radius: ignored ${e.reason}`);
          break;
      }
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#tx.nextDeadlineMs;
    if (next === undefined || this.#isClosed) return;
    const delay = Math.max(0, next - this.#o.clock.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#apply(this.#tx.tick(this.#o.clock.now()));
    }, delay);
  }

  /**
   * Sends a request built per server and waits for its verified reply.
   *
   * @throws {ProtocolError} `TIMEOUT` when no server answers.
   */
  async request(kind: RadiusKind, build: RequestBuilder): Promise<RadiusReply> {
    if (this.#isClosed) throw new Error("Cannot send RADIUS request: the client is closed");
    await this.#open();
    return await observeRequest(
      this.#o.observer,
      this.#o.clock,
      kind,
      new Promise<RadiusReply>((resolve, reject) => {
        const { id, events } = this.#tx.start(kind, build, this.#o.clock.now());
        this.#waiters.set(id, { resolve, reject });
        this.#apply(events);
      }),
    );
  }

  /**
   * Authenticates one PPP exchange: builds the Access-Request, waits for a
   * verified reply and interprets it (MS-CHAPv2 keys included).
   */
  async authenticate(creds: RadiusCredentials, call: CallIdentity): Promise<RadiusAuthResult> {
    const method: AuthMethod = creds.method;
    try {
      const r = await this.request("auth", (server, identifier) => {
        const requestAuthenticator = crypto.getRandomValues(new Uint8Array(16));
        const attributes = accessRequestAttributes(
          creds,
          this.#o.nas,
          call,
          server.secret,
          requestAuthenticator,
        );
        const bytes = encodeAccessRequest(
          { code: RADIUS_CODE.ACCESS_REQUEST, identifier, attributes },
          requestAuthenticator,
          server.secret,
        );
        return { bytes, requestAuthenticator };
      });
      return interpretAccessReply(r.reply, method, r.server.secret, r.requestAuthenticator);
    } catch (e) {
      if (e instanceof ProtocolError) return { ok: false, error: e, replyMessages: [] };
      throw e;
    }
  }

  /**
   * Relays one EAP Response of `user` (RFC 3579) with the State of the
   * previous Access-Challenge, and interprets the verified reply. A RADIUS
   * outage is a reject with the `TIMEOUT` error.
   */
  async eapRound(
    user: string,
    eap: Uint8Array,
    state: Uint8Array | undefined,
    call: CallIdentity,
  ): Promise<EapRadiusReply> {
    try {
      const r = await this.request("auth", (server, identifier) => {
        const requestAuthenticator = crypto.getRandomValues(new Uint8Array(16));
        const attributes = eapAccessRequestAttributes(user, eap, state, this.#o.nas, call);
        const bytes = encodeAccessRequest(
          { code: RADIUS_CODE.ACCESS_REQUEST, identifier, attributes },
          requestAuthenticator,
          server.secret,
        );
        return { bytes, requestAuthenticator };
      });
      return interpretEapReply(r.reply, r.server.secret, r.requestAuthenticator);
    } catch (e) {
      if (e instanceof ProtocolError) return { kind: "reject", error: e };
      throw e;
    }
  }

  /**
   * Sends an Accounting-Request with `attributes` (Acct-Delay-Time is added
   * on retries, RFC 2866 5.2) and waits for the Accounting-Response.
   *
   * @throws {ProtocolError} When no server answers.
   */
  async account(attributes: RadiusAttribute[]): Promise<void> {
    const r = await this.request("acct", (server, identifier, attempt) => {
      const delay = Math.floor(attempt.elapsedMs / 1000);
      const bytes = encodeSignedRequest({
        code: RADIUS_CODE.ACCOUNTING_REQUEST,
        identifier,
        attributes: delay > 0
          ? [...attributes, integerAttr(ATTR.ACCT_DELAY_TIME, delay)]
          : attributes,
      }, server.secret);
      return { bytes, requestAuthenticator: bytes.slice(4, 20) };
    });
    if (r.reply.code !== RADIUS_CODE.ACCOUNTING_RESPONSE) {
      throw new ProtocolError(
        "radius",
        "UNEXPECTED_MESSAGE",
        `Cannot account: the server answered with code ${r.reply.code}`,
      );
    }
  }

  /** Fails outstanding requests and closes the socket. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const [id, w] of this.#waiters) {
      this.#tx.cancel(id);
      w.reject(new Error("Cannot finish RADIUS request: the client closed"));
    }
    this.#waiters.clear();
    this.#socket?.close();
  }
}
