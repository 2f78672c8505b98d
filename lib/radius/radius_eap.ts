/**
 * EAP over RADIUS (RFC 3579), the NAS side, pure: the Access-Request that
 * carries one EAP Response from the peer, and the meaning of the reply.
 *
 * - The EAP packet travels in EAP-Message attributes (type 79), split into
 *   values of at most 253 bytes in order (RFC 3579 3.1); the reply's
 *   EAP-Message values are joined back.
 * - User-Name is the identity of the peer's Response/Identity (2.1); the
 *   State of an Access-Challenge is echoed unchanged in the next request
 *   (RFC 2865 5.24). Message-Authenticator is on every request (the encoder
 *   adds it) and required on every reply (3.2).
 * - Access-Challenge: the EAP Request to forward to the peer.
 *   Access-Accept: the EAP-Success to forward, the MS-MPPE keys (the first
 *   32 bytes of the MSK give the SSTP HLAK) and the authorization.
 *   Access-Reject: the EAP-Failure to forward.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { concatBytes } from "../bytes/hex.ts";
import { RADIUS_CODE, type RadiusAttribute, type RadiusPacket } from "./radius_packet.ts";
import {
  ATTR,
  AttributeList,
  FRAMED_PROTOCOL_PPP,
  integerAttr,
  SERVICE_TYPE_FRAMED,
  textAttr,
} from "./radius_attributes.ts";
import {
  type CallIdentity,
  mppeHlak,
  nasAttributes,
  type NasIdentity,
  type RadiusAuthorization,
  readAuthorization,
} from "./radius_auth.ts";

/** RFC 3579 3.1: attribute type of EAP-Message. */
export const EAP_MESSAGE = 79;
/** Largest attribute value. */
const MAX_VALUE = 253;
/** Largest EAP packet carried: its 16-bit length field (RFC 3748 4). */
const MAX_EAP_LENGTH = 0xffff;

/**
 * Splits an EAP packet into EAP-Message attributes of at most 253 bytes.
 *
 * @throws {RangeError} For an empty packet or one over 65535 bytes.
 */
export function eapMessageAttributes(eap: Uint8Array): RadiusAttribute[] {
  if (eap.length === 0 || eap.length > MAX_EAP_LENGTH) {
    throw new RangeError(`Cannot relay EAP packet: ${eap.length} bytes is not 1..65535`);
  }
  const out: RadiusAttribute[] = [];
  for (let o = 0; o < eap.length; o += MAX_VALUE) {
    out.push({ type: EAP_MESSAGE, value: eap.slice(o, o + MAX_VALUE) });
  }
  return out;
}

/** The EAP packet in `attributes` (EAP-Message values joined), or undefined when there is none. */
export function joinEapMessage(attributes: readonly RadiusAttribute[]): Uint8Array | undefined {
  const parts = attributes.filter((a) => a.type === EAP_MESSAGE).map((a) => a.value);
  return parts.length === 0 ? undefined : concatBytes(...parts);
}

/**
 * The attributes of an Access-Request carrying `eap` for `user` (without the
 * Message-Authenticator, which the encoder adds).
 *
 * @param state The State of the previous Access-Challenge, echoed.
 */
export function eapAccessRequestAttributes(
  user: string,
  eap: Uint8Array,
  state: Uint8Array | undefined,
  nas: NasIdentity,
  call: CallIdentity,
): RadiusAttribute[] {
  return [
    textAttr(ATTR.USER_NAME, user),
    integerAttr(ATTR.SERVICE_TYPE, SERVICE_TYPE_FRAMED),
    integerAttr(ATTR.FRAMED_PROTOCOL, FRAMED_PROTOCOL_PPP),
    ...eapMessageAttributes(eap),
    ...(state === undefined ? [] : [{ type: ATTR.STATE, value: state }]),
    ...nasAttributes(nas, call),
  ];
}

/** What one relayed EAP round trip gave. */
export type EapRadiusReply =
  | {
    kind: "challenge";
    /** The EAP Request for the peer. */
    eap: Uint8Array;
    /** State to echo in the next Access-Request. */
    state?: Uint8Array;
  }
  | {
    kind: "accept";
    /** The EAP-Success for the peer, when sent (else the NAS builds one). */
    eap?: Uint8Array;
    /** 32-byte SSTP HLAK from the MS-MPPE keys. */
    hlak: Uint8Array;
    authorization: RadiusAuthorization;
  }
  | {
    kind: "reject";
    /** The EAP-Failure for the peer, when sent (else the NAS builds one). */
    eap?: Uint8Array;
    error: ProtocolError;
  };

const decoder = new TextDecoder();

/**
 * Reads the verified reply to an EAP Access-Request. An Accept without the
 * MPPE keys, or with a malformed known attribute, is a reject (the crypto
 * binding could not be verified); a Challenge without an EAP-Message too.
 */
export function interpretEapReply(
  reply: RadiusPacket,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
): EapRadiusReply {
  const a = new AttributeList(reply.attributes);
  const eap = joinEapMessage(reply.attributes);
  const replyMessages = a.all(ATTR.REPLY_MESSAGE).map((v) => decoder.decode(v));
  const reject = (code: typeof ERROR_CODE[keyof typeof ERROR_CODE], why: string) => ({
    kind: "reject" as const,
    ...(eap === undefined ? {} : { eap }),
    error: new ProtocolError("radius", code, why),
  });
  switch (reply.code) {
    case RADIUS_CODE.ACCESS_CHALLENGE: {
      if (eap === undefined) {
        return reject(
          ERROR_CODE.BAD_ATTRIBUTE,
          "RADIUS sent an Access-Challenge without EAP-Message",
        );
      }
      const state = a.bytes(ATTR.STATE);
      return { kind: "challenge", eap, ...(state === undefined ? {} : { state }) };
    }
    case RADIUS_CODE.ACCESS_REJECT: {
      const said = replyMessages.length > 0 ? ` ("${replyMessages.join(" ")}")` : "";
      return reject(ERROR_CODE.AUTH_FAILED, `RADIUS rejected the EAP login${said}`);
    }
    case RADIUS_CODE.ACCESS_ACCEPT: {
      let authorization: RadiusAuthorization;
      try {
        authorization = readAuthorization(a, replyMessages);
      } catch (e) {
        if (e instanceof ProtocolError) return { kind: "reject", error: e };
        throw e;
      }
      const hlak = mppeHlak(a, secret, requestAuthenticator, "an EAP");
      // Not the Accept's EAP-Success: the peer must not be told it succeeded.
      if (hlak instanceof ProtocolError) return { kind: "reject", error: hlak };
      return { kind: "accept", ...(eap === undefined ? {} : { eap }), hlak, authorization };
    }
    default:
      return reject(ERROR_CODE.UNEXPECTED_MESSAGE, `RADIUS answered with code ${reply.code}`);
  }
}
