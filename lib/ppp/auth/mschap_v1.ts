/**
 * MS-CHAPv1 (RFC 2433) over the generic CHAP exchange.
 *
 * Response Value (49 bytes, RFC 2433 3):
 * ```
 * LM-Response (24)  all zero: we never send the LAN Manager response
 * NT-Response (24)  NtChallengeResponse(Challenge, password), RFC 2433 A.5
 * Flags (1)         1 = use the NT-Response
 * ```
 * The challenge is 8 bytes. Derives no SSTP keys: the HLAK is 32 zero bytes.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { concatBytes, timingSafeEqual } from "../../bytes/hex.ts";
import type { PasswordLookup } from "./auth_types.ts";
import type { ChapAuthenticatorAlgorithm, ChapPeerAlgorithm, ChapVerdict } from "./chap.ts";
import type { ChapValuePacket } from "./chap_packet.ts";
import { ntChallengeResponse } from "./mschap_crypto.ts";
import {
  chapResponseRejected,
  findCredentials,
  rejectionDetail,
  zeroHlak,
} from "./_credentials.ts";

const LABEL = "MS-CHAP";
/** RFC 2433 2: the MS-CHAPv1 challenge is 8 bytes. */
export const MSCHAP_V1_CHALLENGE_LENGTH = 8;
/** RFC 2433 3: Response Value length. */
export const MSCHAP_V1_RESPONSE_LENGTH = 49;

/**
 * Builds the 49-byte MS-CHAPv1 Response Value (LM part zeroed, use-NT flag set).
 *
 * @throws {RangeError} If `challenge` is not 8 bytes.
 */
export function encodeMsChapV1Response(challenge: Uint8Array, password: string): Uint8Array {
  return concatBytes(
    new Uint8Array(24),
    ntChallengeResponse(challenge, password),
    new Uint8Array([1]),
  );
}

/** The peer side of MS-CHAPv1. */
export function msChapV1PeerAlgorithm(user: string, password: string): ChapPeerAlgorithm {
  return {
    label: LABEL,
    name: user,
    respond(_identifier, challenge) {
      if (challenge.length !== MSCHAP_V1_CHALLENGE_LENGTH) {
        return new ProtocolError(
          "chap",
          ERROR_CODE.BAD_VALUE,
          `Cannot answer MS-CHAP Challenge: value is ${challenge.length} bytes, expected 8`,
        );
      }
      return {
        value: encodeMsChapV1Response(challenge, password),
        checkSuccess: (message) => ({ ok: true, user, hlak: zeroHlak(), message }),
      };
    },
  };
}

/** Options of {@linkcode msChapV1AuthenticatorAlgorithm}. */
export interface MsChapV1AuthenticatorOptions {
  /** The user's plain-text password, or undefined for an unknown user (the Response is refused). */
  lookupPassword: PasswordLookup;
  /** Success text; default "Access granted". */
  successMessage?: string;
}

/** The authenticator side of MS-CHAPv1. */
export function msChapV1AuthenticatorAlgorithm(
  options: MsChapV1AuthenticatorOptions,
): ChapAuthenticatorAlgorithm {
  const successMessage = options.successMessage ?? "Access granted";
  return {
    label: LABEL,
    challengeLength: MSCHAP_V1_CHALLENGE_LENGTH,
    verify(_identifier: number, challenge: Uint8Array, response: ChapValuePacket): ChapVerdict {
      const c = findCredentials(options.lookupPassword, response.name);
      const expected = ntChallengeResponse(challenge, c.password);
      const v = response.value;
      const isWellFormed = v.length === MSCHAP_V1_RESPONSE_LENGTH && v[48] === 1;
      const matches = isWellFormed && timingSafeEqual(expected, v.subarray(24, 48));
      if (matches && c.isKnown) {
        return { ok: true, user: c.user, hlak: zeroHlak(), message: successMessage };
      }
      const detail = rejectionDetail(
        c,
        isWellFormed ? undefined : "malformed response (or LM-only)",
      );
      const error = chapResponseRejected(LABEL, c, detail);
      // RFC 2433 6: "E=691 R=0": authentication failure, no retry.
      return { ok: false, message: "E=691 R=0", error };
    },
  };
}
