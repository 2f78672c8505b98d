/**
 * EAP (RFC 3748) in PPP with one method, EAP-MSCHAPv2
 * (draft-kamath-pppext-eap-mschapv2-02), as two pure state machines. The
 * MS-CHAPv2 computations are those of plain MS-CHAPv2 (`mschap_v2.ts`).
 *
 * Authenticator flow (it alone retransmits, RFC 3748 4.3):
 * 1. `start()` sends Request/Identity.
 * 2. Response/Identity → Request/MSCHAPv2 Challenge (new Identifier).
 *    A Legacy Nak without type 26 ends with EAP-Failure.
 * 3. Response/MSCHAPv2 Response is verified → Request/MSCHAPv2 Success
 *    (`S=… M=…`) or Failure (`E=691 …`).
 * 4. The peer's one-byte acknowledgement → EAP-Success or EAP-Failure,
 *    and the result.
 * Each Request is resent on `timeout()` up to `maxRequests`; a Response
 * whose Identifier is not the outstanding Request's is discarded (4.1).
 *
 * Peer flow: answers Identity with the user name, Notification with an
 * empty Response, any other method with a Legacy Nak asking for type 26;
 * answers the Challenge; checks the authenticator response in the Success
 * Request before acknowledging it; a retransmitted Request gets the very same
 * Response (4.1); EAP-Success after our acknowledgement ends the exchange.
 *
 * HLAK for the SSTP crypto binding: MS-SSTP takes the first 32 bytes of the
 * EAP MSK; the EAP-MSCHAPv2 MSK starts with the peer's MasterSendKey and
 * MasterReceiveKey (RFC 3079 3.4), which are the bytes plain MS-CHAPv2
 * already yields in each role's order.
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
import type { ChapAuthenticatorAlgorithm, ChapPeerAlgorithm, ChapPeerAnswer } from "./chap.ts";
import { CHAP_CODE } from "./chap_packet.ts";
import { chapFailureError } from "./mschap_failure.ts";
import { encodeText } from "./_auth_header.ts";
import {
  decodeEapMsChapV2,
  decodeEapPacket,
  EAP_CODE,
  EAP_MSCHAPV2_OPCODE,
  EAP_TYPE,
  type EapPacket,
  encodeEapMsChapV2,
  encodeEapPacket,
} from "./eap_packet.ts";

/** Request retransmission interval, ms (RFC 3748 4.3 leaves it to the lower layer; PPP's 3 s). */
export const EAP_RESTART_MS = 3000;
/** Requests sent (first plus retransmissions) before giving up. */
export const EAP_MAX_REQUESTS = 10;
/** How long a peer waits for the next Request or the result, ms. */
export const EAP_PEER_WAIT_MS = 30_000;

function decodeOrDiscard(bytes: Uint8Array): EapPacket | undefined {
  try {
    return decodeEapPacket(bytes);
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}

function eapError(code: typeof ERROR_CODE[keyof typeof ERROR_CODE], message: string) {
  return new ProtocolError("eap", code, message);
}

/** Options of {@linkcode EapPeer}. */
export interface EapPeerOptions {
  /** The identity sent in Response/Identity (the user name). */
  identity: string;
  /** Wait for a Request or the result, ms; default {@linkcode EAP_PEER_WAIT_MS}. */
  waitMs?: number;
}

/** The EAP peer (client) offering EAP-MSCHAPv2. */
export class EapPeer implements AuthPeer {
  /** RFC 3748 (PPP protocol 0xc227). */
  readonly protocol: number = AUTH_PROTOCOL.EAP;
  readonly #algorithm: ChapPeerAlgorithm;
  readonly #identity: string;
  readonly #waitMs: number;
  #last: { identifier: number; request: Uint8Array; response: Uint8Array } | undefined;
  #answer: ChapPeerAnswer | undefined;
  #success: AuthResult | undefined;
  #isDone = false;

  /**
   * Creates the peer.
   *
   * @param algorithm MS-CHAPv2 peer computations (`msChapV2PeerAlgorithm`).
   * @param options Identity and timer.
   */
  constructor(algorithm: ChapPeerAlgorithm, options: EapPeerOptions) {
    this.#algorithm = algorithm;
    this.#identity = options.identity;
    this.#waitMs = options.waitMs ?? EAP_PEER_WAIT_MS;
  }

  /** Starts waiting for the first Request. */
  start(_nowMs: number): AuthOutput {
    return this.#isDone ? { send: [] } : { send: [], timerMs: this.#waitMs };
  }

  /** Handles a received EAP packet; malformed ones are discarded. */
  receive(bytes: Uint8Array, _nowMs: number): AuthOutput {
    if (this.#isDone) return { send: [] };
    const p = decodeOrDiscard(bytes);
    if (p === undefined) return { send: [] };
    if (!("type" in p)) return this.#onResult(p.code);
    if (p.code !== EAP_CODE.REQUEST) return { send: [] };
    const last = this.#last;
    if (last && last.identifier === p.identifier && timingSafeEqual(last.request, bytes)) {
      return { send: [last.response], timerMs: this.#waitMs }; // RFC 3748 4.1 retransmission
    }
    const reply = this.#answerRequest(p.identifier, p.type, p.typeData);
    if (reply === undefined) return { send: [] };
    if (reply instanceof ProtocolError) return this.#fail(reply);
    const response = encodeEapPacket({
      code: EAP_CODE.RESPONSE,
      identifier: p.identifier,
      type: reply.type,
      typeData: reply.typeData,
    });
    this.#last = { identifier: p.identifier, request: bytes.slice(), response };
    return { send: [response], timerMs: this.#waitMs };
  }

  #answerRequest(
    _identifier: number,
    type: number,
    typeData: Uint8Array,
  ): { type: number; typeData: Uint8Array } | ProtocolError | undefined {
    switch (type) {
      case EAP_TYPE.IDENTITY:
        return { type, typeData: encodeText(this.#identity) };
      case EAP_TYPE.NOTIFICATION:
        return { type, typeData: new Uint8Array() };
      case EAP_TYPE.MSCHAPV2:
        return this.#onMsChapV2(typeData);
      default:
        // RFC 3748 5.3.1: propose the one method we have.
        return { type: EAP_TYPE.NAK, typeData: new Uint8Array([EAP_TYPE.MSCHAPV2]) };
    }
  }

  /** Answers an EAP-MSCHAPv2 Request; a malformed one is discarded (undefined). */
  #onMsChapV2(
    typeData: Uint8Array,
  ): { type: number; typeData: Uint8Array } | ProtocolError | undefined {
    let m;
    try {
      m = decodeEapMsChapV2(typeData, "authenticator");
    } catch (e) {
      if (e instanceof ProtocolError) return undefined;
      throw e;
    }
    const reply = (typeData: Uint8Array) => ({ type: EAP_TYPE.MSCHAPV2, typeData });
    if ("value" in m && m.opCode === EAP_MSCHAPV2_OPCODE.CHALLENGE) {
      const answer = this.#algorithm.respond(m.msChapV2Id, m.value);
      if (answer instanceof ProtocolError) return answer;
      this.#answer = answer;
      return reply(encodeEapMsChapV2({
        opCode: EAP_MSCHAPV2_OPCODE.RESPONSE,
        msChapV2Id: m.msChapV2Id,
        value: answer.value,
        name: this.#algorithm.name,
      }));
    }
    if ("message" in m && m.opCode === EAP_MSCHAPV2_OPCODE.SUCCESS) {
      if (this.#answer === undefined) {
        return eapError(
          ERROR_CODE.UNEXPECTED_MESSAGE,
          "Cannot authenticate with EAP-MSCHAPv2: Success before any Challenge",
        );
      }
      const checked = this.#answer.checkSuccess(m.message);
      if (!checked.ok) return checked.error;
      this.#success = checked;
      return reply(encodeEapMsChapV2({ opCode: EAP_MSCHAPV2_OPCODE.SUCCESS, ack: true }));
    }
    if ("message" in m && m.opCode === EAP_MSCHAPV2_OPCODE.FAILURE) {
      this.#success = { ok: false, error: chapFailureError(m.message) };
      return reply(encodeEapMsChapV2({ opCode: EAP_MSCHAPV2_OPCODE.FAILURE, ack: true }));
    }
    return eapError(
      ERROR_CODE.UNEXPECTED_MESSAGE,
      `Cannot authenticate with EAP-MSCHAPv2: unexpected OpCode ${m.opCode}`,
    );
  }

  #onResult(code: number): AuthOutput {
    if (code === EAP_CODE.SUCCESS && this.#success?.ok) {
      this.#isDone = true;
      return { send: [], timerMs: null, result: this.#success };
    }
    if (code === EAP_CODE.SUCCESS) {
      // RFC 3748 4.2: a Success before the method finished is not trusted.
      return this.#fail(
        eapError(
          ERROR_CODE.AUTH_SERVER_INVALID,
          "Cannot authenticate the server: EAP Success arrived before the MS-CHAPv2 authenticator response was verified",
        ),
      );
    }
    if (this.#success && !this.#success.ok) return this.#fail(this.#success.error);
    return this.#fail(
      new ProtocolError(
        "eap",
        ERROR_CODE.AUTH_FAILED,
        "Authentication failed: server sent EAP Failure",
      ),
    );
  }

  #fail(error: ProtocolError): AuthOutput {
    this.#isDone = true;
    return { send: [], timerMs: null, result: { ok: false, error } };
  }

  /** The wait timer expired. */
  timeout(_nowMs: number): AuthOutput {
    if (this.#isDone) return { send: [] };
    const seconds = Math.round(this.#waitMs / 1000);
    return this.#fail(
      eapError(
        ERROR_CODE.TIMEOUT,
        `Cannot authenticate with EAP-MSCHAPv2: no Request or result from the server within ${seconds} s`,
      ),
    );
  }
}

/** Options of {@linkcode EapAuthenticator}. */
export interface EapAuthenticatorOptions {
  /** Our name in the MS-CHAPv2 Challenge (the server's host name). */
  name: string;
  /** Source of Identifiers and the challenge. */
  randomBytes: RandomBytes;
  /** Retransmission interval, ms; default {@linkcode EAP_RESTART_MS}. */
  restartMs?: number;
  /** Requests before giving up; default {@linkcode EAP_MAX_REQUESTS}. */
  maxRequests?: number;
}

type Stage = "identity" | "challenge" | "success" | "failure" | "done";

/** The EAP authenticator (server) running EAP-MSCHAPv2. */
export class EapAuthenticator implements AuthAuthenticator {
  /** RFC 3748 (PPP protocol 0xc227). */
  readonly protocol: number = AUTH_PROTOCOL.EAP;
  readonly #algorithm: ChapAuthenticatorAlgorithm;
  readonly #o: EapAuthenticatorOptions;
  #stage: Stage = "identity";
  #identifier = 0;
  #request: Uint8Array | undefined;
  #sent = 0;
  #challenge: Uint8Array | undefined;
  #verdict: AuthResult | undefined;
  #final: { identifier: number; packet: Uint8Array } | undefined;

  /**
   * Creates the authenticator.
   *
   * @param algorithm MS-CHAPv2 verification (`msChapV2AuthenticatorAlgorithm`).
   * @param options Name, randomness and timers.
   */
  constructor(algorithm: ChapAuthenticatorAlgorithm, options: EapAuthenticatorOptions) {
    this.#algorithm = algorithm;
    this.#o = options;
  }

  /** Sends Request/Identity. */
  start(_nowMs: number): AuthOutput {
    if (this.#request !== undefined || this.#stage === "done") return { send: [] };
    this.#identifier = this.#o.randomBytes(1)[0] ?? 0;
    return this.#sendRequest(EAP_TYPE.IDENTITY, new Uint8Array());
  }

  #sendRequest(type: number, typeData: Uint8Array): AuthOutput {
    this.#request = encodeEapPacket({
      code: EAP_CODE.REQUEST,
      identifier: this.#identifier,
      type,
      typeData,
    });
    this.#sent = 1;
    return { send: [this.#request], timerMs: this.#o.restartMs ?? EAP_RESTART_MS };
  }

  #next(type: number, typeData: Uint8Array): AuthOutput {
    this.#identifier = (this.#identifier + 1) & 0xff;
    return this.#sendRequest(type, typeData);
  }

  /** Handles a received EAP packet; malformed or stale ones are discarded. */
  receive(bytes: Uint8Array, _nowMs: number): AuthOutput {
    const p = decodeOrDiscard(bytes);
    if (p === undefined || !("type" in p) || p.code !== EAP_CODE.RESPONSE) return { send: [] };
    const final = this.#final;
    if (final) return p.identifier === final.identifier ? { send: [final.packet] } : { send: [] };
    if (p.identifier !== this.#identifier || this.#stage === "done") return { send: [] };
    if (p.type === EAP_TYPE.NAK) {
      return p.typeData.includes(EAP_TYPE.MSCHAPV2) && this.#stage === "challenge"
        ? { send: [] }
        : this.#end(false, {
          ok: false,
          error: new ProtocolError(
            "eap",
            ERROR_CODE.AUTH_NEGOTIATION_FAILED,
            `Authentication failed: the peer refused EAP-MSCHAPv2 (it asked for EAP types ${
              [...p.typeData].join(", ") || "none"
            })`,
          ),
        });
    }
    switch (this.#stage) {
      case "identity":
        if (p.type !== EAP_TYPE.IDENTITY) return { send: [] };
        return this.#sendChallenge();
      case "challenge":
        return p.type === EAP_TYPE.MSCHAPV2 ? this.#onResponse(p.typeData) : { send: [] };
      case "success":
      case "failure": {
        if (p.type !== EAP_TYPE.MSCHAPV2) return { send: [] };
        let m;
        try {
          m = decodeEapMsChapV2(p.typeData, "peer");
        } catch {
          return { send: [] };
        }
        const wanted = this.#stage === "success"
          ? EAP_MSCHAPV2_OPCODE.SUCCESS
          : EAP_MSCHAPV2_OPCODE.FAILURE;
        if (!("ack" in m) || m.opCode !== wanted) return { send: [] };
        return this.#end(this.#stage === "success", this.#verdict!);
      }
    }
    return { send: [] };
  }

  #sendChallenge(): AuthOutput {
    this.#stage = "challenge";
    this.#challenge = this.#o.randomBytes(this.#algorithm.challengeLength).slice();
    const identifier = (this.#identifier + 1) & 0xff;
    return this.#next(
      EAP_TYPE.MSCHAPV2,
      encodeEapMsChapV2({
        opCode: EAP_MSCHAPV2_OPCODE.CHALLENGE,
        msChapV2Id: identifier,
        value: this.#challenge,
        name: this.#o.name,
      }),
    );
  }

  #onResponse(typeData: Uint8Array): AuthOutput {
    let m;
    try {
      m = decodeEapMsChapV2(typeData, "peer");
    } catch {
      return { send: [] };
    }
    if (!("value" in m) || m.opCode !== EAP_MSCHAPV2_OPCODE.RESPONSE) return { send: [] };
    const verdict = this.#algorithm.verify(this.#identifier, this.#challenge!, {
      code: CHAP_CODE.RESPONSE,
      identifier: this.#identifier,
      value: m.value,
      name: m.name,
    });
    this.#verdict = verdict.ok
      ? { ok: true, user: verdict.user, hlak: verdict.hlak, message: verdict.message }
      : { ok: false, error: verdict.error };
    this.#stage = verdict.ok ? "success" : "failure";
    const msChapV2Id = (this.#identifier + 1) & 0xff;
    return this.#next(
      EAP_TYPE.MSCHAPV2,
      encodeEapMsChapV2({
        opCode: verdict.ok ? EAP_MSCHAPV2_OPCODE.SUCCESS : EAP_MSCHAPV2_OPCODE.FAILURE,
        msChapV2Id,
        message: verdict.message,
      }),
    );
  }

  #end(success: boolean, result: AuthResult): AuthOutput {
    this.#stage = "done";
    const packet = encodeEapPacket({
      code: success ? EAP_CODE.SUCCESS : EAP_CODE.FAILURE,
      identifier: this.#identifier,
    });
    this.#final = { identifier: this.#identifier, packet };
    return { send: [packet], timerMs: null, result };
  }

  /** Resends the outstanding Request, or gives up. */
  timeout(_nowMs: number): AuthOutput {
    if (this.#stage === "done" || this.#request === undefined) return { send: [] };
    if (this.#sent < (this.#o.maxRequests ?? EAP_MAX_REQUESTS)) {
      this.#sent++;
      return { send: [this.#request], timerMs: this.#o.restartMs ?? EAP_RESTART_MS };
    }
    return this.#end(false, {
      ok: false,
      error: new ProtocolError(
        "eap",
        ERROR_CODE.TIMEOUT,
        `Cannot authenticate peer with EAP-MSCHAPv2: no Response after ${this.#sent} Requests`,
      ),
    });
  }
}
