/**
 * PAP (RFC 1334 2) as two pure state machines.
 *
 * Peer flow:
 * 1. `start()` sends Authenticate-Request (Peer-Id, Password) and starts the
 *    restart timer.
 * 2. Each `timeout()` sends it again with a new Identifier (RFC 1334 2.2.1),
 *    up to `maxRequests` in all, then fails with `TIMEOUT`. SoftEther ends
 *    the link instead of sending a Nak, so the link usually ends first.
 * 3. Ack (to any Request we sent) ends with success, Nak with `AUTH_FAILED`.
 *
 * Authenticator flow:
 * 1. `start()` starts a wait timer; its expiry fails with `TIMEOUT`.
 * 2. The first Request is checked (password compared in constant time,
 *    unknown users take the same path) and answered with Ack or Nak.
 * 3. Later Requests (retransmissions) get the same decision again, with
 *    their own Identifier.
 *
 * Malformed packets are discarded: `receive()` never throws on peer input.
 *
 * @module
 */
import { quotePeerText } from "../../peer_text.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import type { AuthAuthenticator, AuthOutput, AuthPeer, PasswordLookup } from "./auth_types.ts";
import { AUTH_PROTOCOL } from "./auth_method.ts";
import { decodePapPacket, encodePapPacket, PAP_CODE, type PapPacket } from "./pap_packet.ts";
import { findCredentials, passwordsEqual, zeroHlak } from "./_credentials.ts";

/** Restart timer for Authenticate-Requests, ms (RFC 1661 4.6 default). */
export const PAP_RESTART_MS = 3000;
/** Authenticate-Requests sent before giving up (RFC 1661 4.6 Max-Configure). */
export const PAP_MAX_REQUESTS = 10;
/** How long the authenticator waits for an Authenticate-Request, ms. */
export const PAP_AUTHENTICATOR_WAIT_MS = 30_000;

function decodeOrDiscard(packet: Uint8Array): PapPacket | undefined {
  try {
    return decodePapPacket(packet);
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}

/** Options of {@linkcode PapPeer}. */
export interface PapPeerOptions {
  /** Peer-ID to send (at most 255 bytes as UTF-8). */
  user: string;
  /** Password to send, in clear (at most 255 bytes as UTF-8). */
  password: string;
  /** Restart timer, ms; default {@linkcode PAP_RESTART_MS}. */
  restartMs?: number;
  /** Requests before giving up; default {@linkcode PAP_MAX_REQUESTS}. */
  maxRequests?: number;
}

/** The PAP peer (client). */
export class PapPeer implements AuthPeer {
  /** RFC 1334 2: 0xc023. */
  readonly protocol: number = AUTH_PROTOCOL.PAP;
  readonly #user: string;
  readonly #password: string;
  readonly #restartMs: number;
  readonly #maxRequests: number;
  readonly #sentIdentifiers = new Set<number>();
  #nextIdentifier = 1;
  #isStarted = false;
  #isDone = false;

  /**
   * A PAP peer; `start()` sends the first Authenticate-Request.
   *
   * @param options Credentials and timer settings.
   * @throws {RangeError} If the user name or password exceeds 255 bytes.
   */
  constructor(options: PapPeerOptions) {
    this.#user = options.user;
    this.#password = options.password;
    this.#restartMs = options.restartMs ?? PAP_RESTART_MS;
    this.#maxRequests = options.maxRequests ?? PAP_MAX_REQUESTS;
    // Fail on the caller's mistake now rather than mid-negotiation.
    encodePapPacket({
      code: PAP_CODE.AUTHENTICATE_REQUEST,
      identifier: 0,
      peerId: this.#user,
      password: this.#password,
    });
  }

  #sendRequest(): AuthOutput {
    const identifier = this.#nextIdentifier;
    this.#nextIdentifier = (identifier + 1) & 0xff;
    this.#sentIdentifiers.add(identifier);
    const packet = encodePapPacket({
      code: PAP_CODE.AUTHENTICATE_REQUEST,
      identifier,
      peerId: this.#user,
      password: this.#password,
    });
    return { send: [packet], timerMs: this.#restartMs };
  }

  /** RFC 1334 2.2.1: sends the first Authenticate-Request. */
  start(_nowMs: number): AuthOutput {
    if (this.#isStarted || this.#isDone) return { send: [] };
    this.#isStarted = true;
    return this.#sendRequest();
  }

  /** Handles Authenticate-Ack / -Nak; everything else is discarded. */
  receive(packet: Uint8Array, _nowMs: number): AuthOutput {
    const p = decodeOrDiscard(packet);
    if (
      p === undefined || this.#isDone || p.code === PAP_CODE.AUTHENTICATE_REQUEST ||
      !this.#sentIdentifiers.has(p.identifier)
    ) {
      return { send: [] };
    }
    this.#isDone = true;
    if (p.code === PAP_CODE.AUTHENTICATE_ACK) {
      return {
        send: [],
        timerMs: null,
        result: { ok: true, user: this.#user, hlak: zeroHlak(), message: p.message },
      };
    }
    let message = "Authentication failed: server refused the credentials (PAP Authenticate-Nak)";
    if (p.message.trim() !== "") {
      message += `; server message: ${quotePeerText(p.message.trim())}`;
    }
    const error = new ProtocolError("pap", ERROR_CODE.AUTH_FAILED, message);
    return { send: [], timerMs: null, result: { ok: false, error } };
  }

  /** The restart timer expired: resend or give up. */
  timeout(_nowMs: number): AuthOutput {
    if (this.#isDone || !this.#isStarted) return { send: [] };
    if (this.#sentIdentifiers.size < this.#maxRequests) return this.#sendRequest();
    this.#isDone = true;
    const error = new ProtocolError(
      "pap",
      ERROR_CODE.TIMEOUT,
      `Cannot authenticate with PAP: no reply to ${this.#sentIdentifiers.size} Authenticate-Requests`,
    );
    return { send: [], timerMs: null, result: { ok: false, error } };
  }
}

/** Options of {@linkcode PapAuthenticator}. */
export interface PapAuthenticatorOptions {
  /** The user's plain-text password, or undefined for an unknown user (the request is Nak'ed). */
  lookupPassword: PasswordLookup;
  /** Wait for the Request, ms; default {@linkcode PAP_AUTHENTICATOR_WAIT_MS}. */
  waitMs?: number;
  /** Ack message; default "Login ok". */
  ackMessage?: string;
  /** Nak message; default "Authentication failed". */
  nakMessage?: string;
}

/** The PAP authenticator (server). */
export class PapAuthenticator implements AuthAuthenticator {
  /** RFC 1334 2: 0xc023. */
  readonly protocol: number = AUTH_PROTOCOL.PAP;
  readonly #lookup: PasswordLookup;
  readonly #waitMs: number;
  readonly #ackMessage: string;
  readonly #nakMessage: string;
  #decision: { isAck: boolean } | undefined;
  #isDone = false;

  /**
   * A PAP authenticator; it waits for the peer's Authenticate-Request.
   *
   * @param options Password lookup, timer and message settings.
   */
  constructor(options: PapAuthenticatorOptions) {
    this.#lookup = options.lookupPassword;
    this.#waitMs = options.waitMs ?? PAP_AUTHENTICATOR_WAIT_MS;
    this.#ackMessage = options.ackMessage ?? "Login ok";
    this.#nakMessage = options.nakMessage ?? "Authentication failed";
  }

  /** Starts waiting for the peer's Authenticate-Request. */
  start(_nowMs: number): AuthOutput {
    if (this.#isDone) return { send: [] };
    return { send: [], timerMs: this.#waitMs };
  }

  #reply(identifier: number, isAck: boolean): Uint8Array {
    return encodePapPacket({
      code: isAck ? PAP_CODE.AUTHENTICATE_ACK : PAP_CODE.AUTHENTICATE_NAK,
      identifier,
      message: isAck ? this.#ackMessage : this.#nakMessage,
    });
  }

  /** RFC 1334 2.2.1 Authenticate-Request: check it, or repeat the decision. */
  receive(packet: Uint8Array, _nowMs: number): AuthOutput {
    const p = decodeOrDiscard(packet);
    if (p === undefined || p.code !== PAP_CODE.AUTHENTICATE_REQUEST) return { send: [] };
    if (this.#decision !== undefined) {
      return { send: [this.#reply(p.identifier, this.#decision.isAck)] };
    }
    if (this.#isDone) return { send: [] };
    const c = findCredentials(this.#lookup, p.peerId);
    const isAck = passwordsEqual(p.password, c.password) && c.isKnown;
    this.#decision = { isAck };
    this.#isDone = true;
    const send = [this.#reply(p.identifier, isAck)];
    if (isAck) {
      return {
        send,
        timerMs: null,
        result: { ok: true, user: c.user, hlak: zeroHlak(), message: this.#ackMessage },
      };
    }
    const error = new ProtocolError(
      "pap",
      ERROR_CODE.AUTH_FAILED,
      `Authentication failed: PAP password for user ${quotePeerText(c.user)} did not verify`,
      { detail: c.isKnown ? "wrong password" : "unknown user" },
    );
    return { send, timerMs: null, result: { ok: false, error } };
  }

  /** The wait timer expired without a Request. */
  timeout(_nowMs: number): AuthOutput {
    if (this.#isDone) return { send: [] };
    this.#isDone = true;
    const error = new ProtocolError(
      "pap",
      ERROR_CODE.TIMEOUT,
      `Cannot authenticate peer with PAP: no Authenticate-Request within ${
        Math.round(this.#waitMs / 1000)
      } s`,
    );
    return { send: [], timerMs: null, result: { ok: false, error } };
  }
}
