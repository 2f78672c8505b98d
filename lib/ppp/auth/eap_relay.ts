/**
 * EAP pass-through (RFC 3579 2, RFC 3748 "pass-through authenticator"):
 * the NAS asks for the identity itself, and for a user that is not in the
 * local secrets relays the rest of the EAP conversation to a remote
 * service (RADIUS) packet by packet. Local users stay with the local
 * {@linkcode EapAuthenticator}, as RouterOS does with `use-radius`.
 *
 * Flow for a remote user:
 * 1. The local authenticator's Request/Identity goes out (`start`).
 * 2. The peer's Response/Identity names a user the local lookup does not
 *    know: a conversation with the remote service starts, and the Response
 *    is handed to it as received.
 * 3. Each answer of the service is carried out: an EAP Request is sent to
 *    the peer (and retransmitted by us, RFC 3579 2.1: the NAS owns
 *    retransmission towards the peer), the peer's Response with its
 *    Identifier goes back to the service; an accept ends with the service's
 *    EAP-Success and the HLAK from its keys, a reject with EAP-Failure.
 *
 * The PPP automaton is synchronous, so, as in `remote_auth.ts`, a pending
 * answer is polled with a short timer ({@linkcode REMOTE_POLL_MS}), bounded
 * by {@linkcode REMOTE_MAX_WAIT_MS}. Peer packets that arrive while an
 * answer is pending (retransmitted Responses) are dropped.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import type { AuthAuthenticator, AuthOutput, PasswordLookup } from "./auth_types.ts";
import { AUTH_PROTOCOL } from "./auth_method.ts";
import {
  decodeEapPacket,
  EAP_CODE,
  EAP_TYPE,
  type EapPacket,
  encodeEapPacket,
} from "./eap_packet.ts";
import { EAP_MAX_REQUESTS, EAP_RESTART_MS } from "./eap.ts";
import { findCredentials } from "./_credentials.ts";
import { decodeText } from "./_auth_header.ts";
import { REMOTE_MAX_WAIT_MS, REMOTE_POLL_MS } from "./remote_auth.ts";

/** What the remote service answered to one relayed EAP Response. */
export type RemoteEapStep =
  | {
    kind: "request";
    /** The next EAP Request for the peer, as the service sent it. */
    eap: Uint8Array;
  }
  | {
    kind: "success";
    /** 32-byte SSTP HLAK from the service's keys. */
    hlak: Uint8Array;
    /** The service's EAP-Success for the peer, when it sent one. */
    eap?: Uint8Array;
  }
  | {
    kind: "failure";
    error: ProtocolError;
    /** The service's EAP-Failure for the peer, when it sent one. */
    eap?: Uint8Array;
  };

/** One relayed conversation (it keeps the service's State between rounds). */
export interface RemoteEapConversation {
  /** Relays one EAP Response of the peer (whole packet); must settle. */
  respond(eap: Uint8Array): Promise<RemoteEapStep>;
}

/** Starts a conversation for the identity the peer gave. */
export type RemoteEap = (identity: string) => RemoteEapConversation;

/** A relayed Response and, once it has come, the service's answer. */
interface PendingAnswer {
  startedMs: number;
  /** Identifier of the relayed Response (a Success/Failure we build carries it). */
  identifier: number;
  step?: RemoteEapStep;
}

/** Options of {@linkcode EapRelayAuthenticator}. */
export interface EapRelayOptions {
  /** Local secrets: a known identity stays with the local authenticator. */
  lookupPassword: PasswordLookup;
  /** The remote service for every other identity. */
  remote: RemoteEap;
  /** Retransmission interval of relayed Requests, ms; default {@linkcode EAP_RESTART_MS}. */
  restartMs?: number;
  /** Relayed Requests sent before giving up; default {@linkcode EAP_MAX_REQUESTS}. */
  maxRequests?: number;
}

/** Local EAP authenticator first, then EAP relayed to the remote service. */
export class EapRelayAuthenticator implements AuthAuthenticator {
  /** RFC 3748 (PPP protocol 0xc227). */
  readonly protocol: number = AUTH_PROTOCOL.EAP;
  readonly #local: AuthAuthenticator;
  readonly #o: EapRelayOptions;
  /** Identifier of the local Request/Identity. */
  #identityId: number | undefined;
  #identity = "";
  #conversation: RemoteEapConversation | undefined;
  /** A relayed Response waiting for the service's answer. */
  #pending: PendingAnswer | undefined;
  /** The relayed Request outstanding towards the peer. */
  #request: { identifier: number; type: number; packet: Uint8Array; sent: number } | undefined;
  #final: { identifier: number; packet: Uint8Array } | undefined;

  /**
   * Wraps `local` (an {@linkcode EapAuthenticator}); it asks for the identity
   * and handles local users.
   */
  constructor(local: AuthAuthenticator, options: EapRelayOptions) {
    this.#local = local;
    this.#o = options;
  }

  /** Starts the local authenticator (Request/Identity) and notes its Identifier. */
  start(nowMs: number): AuthOutput {
    const out = this.#local.start(nowMs);
    const first = out.send[0];
    if (first !== undefined) this.#identityId = first[1];
    return out;
  }

  /** A packet from the peer. */
  receive(bytes: Uint8Array, nowMs: number): AuthOutput {
    if (this.#conversation === undefined) {
      const identity = this.#remoteIdentity(bytes);
      if (identity === undefined) return this.#local.receive(bytes, nowMs);
      this.#identity = identity;
      this.#conversation = this.#o.remote(identity);
      return this.#relay(bytes, nowMs);
    }
    const p = decode(bytes);
    if (p === undefined || p.code !== EAP_CODE.RESPONSE) return { send: [] };
    const final = this.#final;
    if (final !== undefined) {
      return p.identifier === final.identifier ? { send: [final.packet] } : { send: [] };
    }
    const request = this.#request;
    if (
      this.#pending !== undefined || request === undefined ||
      p.identifier !== request.identifier || !answersType(p, request.type)
    ) {
      // RFC 3748 4.1: only a Response to the outstanding Request counts, and its Type is the
      // Request's or a Nak. A late duplicate of an earlier Response (say, the Identity answered
      // twice after a retransmission) can carry the same Identifier as a new Request when the
      // server's Identifiers wrap onto ours; relaying it would hand the server a Response it
      // never asked for.
      return { send: [] };
    }
    this.#request = undefined;
    return this.#relay(bytes, nowMs);
  }

  /** The identity of a Response/Identity to relay, or undefined for local handling. */
  #remoteIdentity(bytes: Uint8Array): string | undefined {
    const p = decode(bytes);
    if (
      p === undefined || !("type" in p) || p.code !== EAP_CODE.RESPONSE ||
      p.type !== EAP_TYPE.IDENTITY || p.identifier !== this.#identityId
    ) {
      return undefined;
    }
    const identity = decodeText(p.typeData);
    return findCredentials(this.#o.lookupPassword, identity).isKnown ? undefined : identity;
  }

  #relay(bytes: Uint8Array, nowMs: number): AuthOutput {
    const pending: PendingAnswer = {
      startedMs: nowMs,
      identifier: bytes[1] ?? 0,
    };
    this.#pending = pending;
    this.#conversation!.respond(bytes.slice()).then(
      (step) => pending.step = step,
      (e) =>
        pending.step = {
          kind: "failure",
          error: e instanceof ProtocolError ? e : new ProtocolError(
            "auth",
            ERROR_CODE.AUTH_FAILED,
            `Cannot authenticate via RADIUS: ${e instanceof Error ? e.message : String(e)}`,
          ),
        },
    );
    return { send: [], timerMs: REMOTE_POLL_MS };
  }

  /** Timer: the local authenticator's, the poll for an answer, or a retransmission. */
  timeout(nowMs: number): AuthOutput {
    if (this.#conversation === undefined) return this.#local.timeout(nowMs);
    if (this.#final !== undefined) return { send: [] };
    const pending = this.#pending;
    if (pending !== undefined) {
      let step = pending.step;
      if (step === undefined) {
        if (nowMs - pending.startedMs < REMOTE_MAX_WAIT_MS) {
          return { send: [], timerMs: REMOTE_POLL_MS };
        }
        step = {
          kind: "failure",
          error: new ProtocolError(
            "auth",
            ERROR_CODE.TIMEOUT,
            `Cannot authenticate via RADIUS: no answer within ${REMOTE_MAX_WAIT_MS / 1000} s`,
          ),
        };
      }
      this.#pending = undefined;
      return this.#carryOut(step, pending.identifier);
    }
    const request = this.#request;
    if (request === undefined) return { send: [] };
    if (request.sent < (this.#o.maxRequests ?? EAP_MAX_REQUESTS)) {
      request.sent++;
      return { send: [request.packet], timerMs: this.#o.restartMs ?? EAP_RESTART_MS };
    }
    return this.#end(
      request.identifier,
      {
        kind: "failure",
        error: new ProtocolError(
          "eap",
          ERROR_CODE.TIMEOUT,
          `Cannot authenticate peer with EAP relayed to RADIUS: no Response after ${request.sent} Requests`,
        ),
      },
    );
  }

  #carryOut(step: RemoteEapStep, responseId: number): AuthOutput {
    if (step.kind !== "request") return this.#end(responseId, step);
    const p = decode(step.eap);
    if (p === undefined || p.code !== EAP_CODE.REQUEST) {
      return this.#end(responseId, {
        kind: "failure",
        error: new ProtocolError(
          "radius",
          ERROR_CODE.BAD_VALUE,
          "Cannot relay EAP: RADIUS sent an EAP-Message that is not an EAP Request",
        ),
      });
    }
    this.#request = { identifier: p.identifier, type: p.type, packet: step.eap, sent: 1 };
    return { send: [step.eap], timerMs: this.#o.restartMs ?? EAP_RESTART_MS };
  }

  /** Sends the service's EAP-Success/Failure (or our own) and reports the result. */
  #end(responseId: number, step: Exclude<RemoteEapStep, { kind: "request" }>): AuthOutput {
    const code = step.kind === "success" ? EAP_CODE.SUCCESS : EAP_CODE.FAILURE;
    const theirs = step.eap === undefined ? undefined : decode(step.eap);
    // RFC 3748 4.2: Success and Failure carry the Identifier of the Response they answer.
    const packet = theirs?.code === code
      ? step.eap!
      : encodeEapPacket({ code, identifier: responseId });
    this.#final = { identifier: packet[1] ?? responseId, packet };
    return {
      send: [packet],
      timerMs: null,
      result: step.kind === "success"
        ? { ok: true, user: this.#identity, hlak: step.hlak, message: "" }
        : { ok: false, error: step.error },
    };
  }
}

/** Whether a Response's Type answers a Request of `requestType` (its own Type, or a Nak). */
function answersType(p: EapPacket, requestType: number): boolean {
  if (!("type" in p)) return false;
  return p.type === requestType || p.type === EAP_TYPE.NAK || p.type === EAP_TYPE.EXPANDED;
}

function decode(bytes: Uint8Array): EapPacket | undefined {
  try {
    return decodeEapPacket(bytes);
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}
