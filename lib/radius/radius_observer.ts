/**
 * What the RADIUS client and the Dynamic Authorization listener tell an
 * observer (the server's metrics), and the small helpers that classify a
 * request's outcome, so the UDP shells need one call each.
 *
 * Types: `access` (Access-Request), `accounting` (Accounting-Request),
 * `coa` (CoA-Request, RFC 5176) and `disconnect` (Disconnect-Request).
 * Results: `accept`, `reject`, `challenge` (Access-Challenge), `response`
 * (Accounting-Response), `bad_reply` (a verified reply with a code that
 * does not answer the request), `timeout` (no server answered),
 * `error` (the request could not be sent); for the incoming requests `ack`,
 * `nak` and `dropped` (unverifiable, or from an unknown address).
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { RADIUS_CODE } from "./radius_packet.ts";
import type { RadiusKind } from "./radius_transactions.ts";

/** The kind of RADIUS request, as a metrics label. */
export type RadiusRequestType = "access" | "accounting" | "coa" | "disconnect";

/** How a RADIUS request ended, as a metrics label (see the module documentation). */
export type RadiusResult =
  | "accept"
  | "reject"
  | "challenge"
  | "response"
  | "bad_reply"
  | "timeout"
  | "error"
  | "ack"
  | "nak"
  | "dropped";

/** Receives RADIUS outcomes; cheap, must not throw. */
export interface RadiusObserver {
  /**
   * One request ended. `seconds`: from the first send to the verified reply
   * (retransmissions and failover included), for requests that got one.
   */
  radiusRequest(type: RadiusRequestType, result: RadiusResult, seconds?: number): void;
  /** A reply datagram was dropped: malformed, unknown identifier, or a bad authenticator. */
  radiusInvalidReply(): void;
}

function replyResult(kind: RadiusKind, code: number): RadiusResult {
  if (kind === "acct") return code === RADIUS_CODE.ACCOUNTING_RESPONSE ? "response" : "bad_reply";
  switch (code) {
    case RADIUS_CODE.ACCESS_ACCEPT:
      return "accept";
    case RADIUS_CODE.ACCESS_REJECT:
      return "reject";
    case RADIUS_CODE.ACCESS_CHALLENGE:
      return "challenge";
    default:
      return "bad_reply";
  }
}

/**
 * Reports the outcome of `request` (a client request of `kind` started now)
 * to `observer` and passes the promise's result through unchanged.
 */
export function observeRequest<T extends { reply: { code: number } }>(
  observer: RadiusObserver | undefined,
  clock: Clock,
  kind: RadiusKind,
  request: Promise<T>,
): Promise<T> {
  if (observer === undefined) return request;
  const type: RadiusRequestType = kind === "auth" ? "access" : "accounting";
  const startMs = clock.now();
  return request.then(
    (r) => {
      observer.radiusRequest(
        type,
        replyResult(kind, r.reply.code),
        (clock.now() - startMs) / 1000,
      );
      return r;
    },
    (e) => {
      const timedOut = e instanceof ProtocolError && e.code === ERROR_CODE.TIMEOUT;
      observer.radiusRequest(type, timedOut ? "timeout" : "error");
      throw e;
    },
  );
}

/**
 * Reports one Disconnect- or CoA-Request: `reply` is the ACK/NAK datagram
 * sent, or undefined when the request was dropped.
 */
export function observeIncoming(
  observer: RadiusObserver | undefined,
  request: Uint8Array,
  reply: Uint8Array | undefined,
): void {
  if (observer === undefined) return;
  const type: RadiusRequestType = request[0] === RADIUS_CODE.DISCONNECT_REQUEST
    ? "disconnect"
    : "coa";
  const code = reply?.[0];
  const result: RadiusResult = code === undefined
    ? "dropped"
    : code === RADIUS_CODE.DISCONNECT_ACK || code === RADIUS_CODE.COA_ACK
    ? "ack"
    : "nak";
  observer.radiusRequest(type, result);
}
