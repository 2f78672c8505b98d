/**
 * The CHAP exchange (RFC 1994 4) as two pure state machines, one per role,
 * with the hash algorithm plugged in: CHAP with MD5 (`chap_md5.ts`),
 * MS-CHAPv1 (`mschap_v1.ts`) and MS-CHAPv2 (`mschap_v2.ts`).
 *
 * Authenticator flow:
 * 1. `start()` picks an Identifier and a random challenge, sends Challenge
 *    and starts the restart timer.
 * 2. Each `timeout()` resends the same Challenge (pppd does the same), up to
 *    `maxChallenges` in all, then fails with `TIMEOUT`.
 * 3. A Response with the current Identifier is checked by the algorithm;
 *    Success or Failure is sent and the result is set. Responses with another
 *    Identifier are discarded (RFC 1994 4.1).
 * 4. A retransmitted Response (the peer lost our reply) gets the same reply.
 *
 * Peer flow:
 * 1. `start()` starts a wait timer; nothing is sent until a Challenge comes.
 * 2. A Challenge is answered; a retransmission of the same Challenge gets the
 *    very same Response (same peer challenge for MS-CHAPv2).
 * 3. Success or Failure with the Identifier of our Response ends the
 *    exchange; MS-CHAPv2 checks the authenticator response in Success.
 * 4. The wait timer expiring before that fails with `TIMEOUT`.
 *
 * Malformed packets are discarded: `receive()` never throws on peer input.
 * Re-authentication in the Network phase is not supported: after the
 * result, only retransmissions are answered.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { timingSafeEqual } from "../../bytes/hex.ts";
import type {
  AuthAuthenticator,
  AuthOutput,
  AuthPeer,
  AuthResult,
  RandomBytes,
} from "./auth_types.ts";
import { AUTH_PROTOCOL } from "./auth_method.ts";
import {
  CHAP_CODE,
  type ChapPacket,
  type ChapValuePacket,
  decodeChapPacket,
  encodeChapPacket,
} from "./chap_packet.ts";
import { chapFailureError } from "./mschap_failure.ts";

/** Restart timer for Challenges, ms (RFC 1661 4.6 Restart Timer default). */
export const CHAP_RESTART_MS = 3000;
/** Challenges sent before giving up (RFC 1661 4.6 Max-Configure default). */
export const CHAP_MAX_CHALLENGES = 10;
/** How long a peer waits for a Challenge, or for the reply to its Response, ms. */
export const CHAP_PEER_WAIT_MS = 30_000;

/** What a peer-side algorithm remembers to check the Success message. */
export interface ChapPeerAnswer {
  /** The Response Value. */
  value: Uint8Array;
  /**
   * Checks the Success message; MS-CHAPv2 verifies the authenticator
   * response here and derives the HLAK.
   */
  checkSuccess(message: string): AuthResult;
}

/** The peer side of one CHAP algorithm. */
export interface ChapPeerAlgorithm {
  /** Label for messages: "CHAP-MD5", "MS-CHAP", "MS-CHAPv2". */
  readonly label: string;
  /** Name to put in Responses (the user name). */
  readonly name: string;
  /**
   * Computes the Response to a Challenge.
   *
   * @returns The answer, or a `ProtocolError` if the Challenge cannot be answered.
   */
  respond(identifier: number, challenge: Uint8Array): ChapPeerAnswer | ProtocolError;
}

/** What an authenticator-side algorithm decided about one Response. */
export type ChapVerdict =
  | { ok: true; user: string; hlak: Uint8Array; message: string }
  | { ok: false; message: string; error: ProtocolError };

/** The authenticator side of one CHAP algorithm. */
export interface ChapAuthenticatorAlgorithm {
  /** Label for messages: "CHAP-MD5", "MS-CHAP", "MS-CHAPv2". */
  readonly label: string;
  /** Length of the random challenge: 16, or 8 for MS-CHAPv1. */
  readonly challengeLength: number;
  /**
   * Checks a Response in constant time. `message` is the text for the
   * Success or Failure packet.
   */
  verify(identifier: number, challenge: Uint8Array, response: ChapValuePacket): ChapVerdict;
}

function decodeOrDiscard(packet: Uint8Array): ChapPacket | undefined {
  try {
    return decodeChapPacket(packet);
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(a, b);
}

/** An output that does nothing (a fresh object: callers may mutate it). */
function nothing(): AuthOutput {
  return { send: [] };
}

/** Options of {@linkcode ChapPeer}. */
export interface ChapPeerOptions {
  /** Wait for a Challenge or a reply, ms; default {@linkcode CHAP_PEER_WAIT_MS}. */
  waitMs?: number;
}

/** The CHAP peer (client) with a pluggable algorithm. */
export class ChapPeer implements AuthPeer {
  /** RFC 1994 3: 0xc223. */
  readonly protocol: number = AUTH_PROTOCOL.CHAP;
  readonly #algorithm: ChapPeerAlgorithm;
  readonly #waitMs: number;
  #answered: {
    identifier: number;
    challenge: Uint8Array;
    packet: Uint8Array;
    answer: ChapPeerAnswer;
  } | undefined;
  #isDone = false;

  /**
   * A CHAP peer that waits for a Challenge; `start()` arms the wait timer.
   *
   * @param algorithm Computes Responses and checks Success.
   * @param options Timer settings.
   */
  constructor(algorithm: ChapPeerAlgorithm, options: ChapPeerOptions = {}) {
    this.#algorithm = algorithm;
    this.#waitMs = options.waitMs ?? CHAP_PEER_WAIT_MS;
  }

  /** Starts waiting for a Challenge. */
  start(_nowMs: number): AuthOutput {
    if (this.#isDone) return nothing();
    return { send: [], timerMs: this.#waitMs };
  }

  /** Handles a received CHAP packet; bad packets are discarded. */
  receive(packet: Uint8Array, _nowMs: number): AuthOutput {
    const p = decodeOrDiscard(packet);
    if (p === undefined) return nothing();
    switch (p.code) {
      case CHAP_CODE.CHALLENGE:
        return this.#onChallenge(p);
      case CHAP_CODE.SUCCESS:
      case CHAP_CODE.FAILURE: {
        const a = this.#answered;
        if (this.#isDone || a === undefined || p.identifier !== a.identifier) return nothing();
        this.#isDone = true;
        const result: AuthResult = p.code === CHAP_CODE.SUCCESS
          ? a.answer.checkSuccess(p.message)
          : { ok: false, error: chapFailureError(p.message) };
        return { send: [], timerMs: null, result };
      }
      default:
        return nothing();
    }
  }

  /** RFC 1994 4.1 Challenge: answer it, or repeat our answer to a retransmission. */
  #onChallenge(p: ChapValuePacket): AuthOutput {
    const a = this.#answered;
    if (a !== undefined && a.identifier === p.identifier && sameBytes(a.challenge, p.value)) {
      return this.#isDone ? { send: [a.packet] } : { send: [a.packet], timerMs: this.#waitMs };
    }
    if (this.#isDone) return nothing();
    const answer = this.#algorithm.respond(p.identifier, p.value);
    if (answer instanceof ProtocolError) {
      this.#isDone = true;
      return { send: [], timerMs: null, result: { ok: false, error: answer } };
    }
    const out = encodeChapPacket({
      code: CHAP_CODE.RESPONSE,
      identifier: p.identifier,
      value: answer.value,
      name: this.#algorithm.name,
    });
    this.#answered = { identifier: p.identifier, challenge: p.value, packet: out, answer };
    return { send: [out], timerMs: this.#waitMs };
  }

  /** The wait timer expired. */
  timeout(_nowMs: number): AuthOutput {
    if (this.#isDone) return nothing();
    this.#isDone = true;
    const seconds = Math.round(this.#waitMs / 1000);
    const what = this.#answered === undefined ? "no Challenge" : "no Success or Failure";
    const error = new ProtocolError(
      "chap",
      ERROR_CODE.TIMEOUT,
      `Cannot authenticate with ${this.#algorithm.label}: ${what} from the server within ${seconds} s`,
    );
    return { send: [], timerMs: null, result: { ok: false, error } };
  }
}

/** Options of {@linkcode ChapAuthenticator}. */
export interface ChapAuthenticatorOptions {
  /** Our name in Challenges (the server's host name). */
  name: string;
  /** Source of the Identifier and the challenge. */
  randomBytes: RandomBytes;
  /** Restart timer, ms; default {@linkcode CHAP_RESTART_MS}. */
  restartMs?: number;
  /** Challenges before giving up; default {@linkcode CHAP_MAX_CHALLENGES}. */
  maxChallenges?: number;
}

/** The CHAP authenticator (server) with a pluggable algorithm. */
export class ChapAuthenticator implements AuthAuthenticator {
  /** RFC 1994 3: 0xc223. */
  readonly protocol: number = AUTH_PROTOCOL.CHAP;
  readonly #algorithm: ChapAuthenticatorAlgorithm;
  readonly #name: string;
  readonly #randomBytes: RandomBytes;
  readonly #restartMs: number;
  readonly #maxChallenges: number;
  #challenge: { identifier: number; value: Uint8Array; packet: Uint8Array } | undefined;
  #challengesSent = 0;
  #reply: { identifier: number; packet: Uint8Array } | undefined;
  #isDone = false;

  /**
   * A CHAP authenticator; `start()` sends the first Challenge.
   *
   * @param algorithm Checks Responses.
   * @param options Name, randomness and timer settings.
   */
  constructor(algorithm: ChapAuthenticatorAlgorithm, options: ChapAuthenticatorOptions) {
    this.#algorithm = algorithm;
    this.#name = options.name;
    this.#randomBytes = options.randomBytes;
    this.#restartMs = options.restartMs ?? CHAP_RESTART_MS;
    this.#maxChallenges = options.maxChallenges ?? CHAP_MAX_CHALLENGES;
  }

  /** RFC 1994 4.1: sends the first Challenge. */
  start(_nowMs: number): AuthOutput {
    if (this.#challenge !== undefined || this.#isDone) return nothing();
    const identifier = this.#randomBytes(1)[0] ?? 0;
    const value = this.#randomBytes(this.#algorithm.challengeLength).slice();
    const packet = encodeChapPacket({
      code: CHAP_CODE.CHALLENGE,
      identifier,
      value,
      name: this.#name,
    });
    this.#challenge = { identifier, value, packet };
    this.#challengesSent = 1;
    return { send: [packet], timerMs: this.#restartMs };
  }

  /** Handles a received CHAP packet; bad packets are discarded. */
  receive(packet: Uint8Array, _nowMs: number): AuthOutput {
    const p = decodeOrDiscard(packet);
    if (p === undefined || p.code !== CHAP_CODE.RESPONSE) return nothing();
    const reply = this.#reply;
    if (reply !== undefined) {
      // A retransmitted Response: our Success or Failure was lost.
      return p.identifier === reply.identifier ? { send: [reply.packet] } : nothing();
    }
    const c = this.#challenge;
    if (c === undefined || this.#isDone || p.identifier !== c.identifier) return nothing();
    const verdict = this.#algorithm.verify(c.identifier, c.value, p);
    const out = encodeChapPacket({
      code: verdict.ok ? CHAP_CODE.SUCCESS : CHAP_CODE.FAILURE,
      identifier: c.identifier,
      message: verdict.message,
    });
    this.#reply = { identifier: c.identifier, packet: out };
    this.#isDone = true;
    const result: AuthResult = verdict.ok
      ? { ok: true, user: verdict.user, hlak: verdict.hlak, message: verdict.message }
      : { ok: false, error: verdict.error };
    return { send: [out], timerMs: null, result };
  }

  /** The restart timer expired: resend the Challenge or give up. */
  timeout(_nowMs: number): AuthOutput {
    const c = this.#challenge;
    if (this.#isDone || c === undefined) return nothing();
    if (this.#challengesSent < this.#maxChallenges) {
      this.#challengesSent++;
      return { send: [c.packet], timerMs: this.#restartMs };
    }
    this.#isDone = true;
    const error = new ProtocolError(
      "chap",
      ERROR_CODE.TIMEOUT,
      `Cannot authenticate peer with ${this.#algorithm.label}: no Response after ${this.#challengesSent} Challenges`,
    );
    return { send: [], timerMs: null, result: { ok: false, error } };
  }
}
