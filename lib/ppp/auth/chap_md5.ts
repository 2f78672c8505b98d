/**
 * CHAP with MD5 (RFC 1994 4.1): `Response = MD5(Identifier | secret | Challenge)`.
 * Derives no keys, so the HLAK is 32 zero bytes (MS-SSTP 3.2.5.2.2, 3.2.5.2.4).
 *
 * @module
 */
import { timingSafeEqual } from "../../bytes/hex.ts";
import { md5 } from "../crypto/digest.ts";
import type { PasswordLookup } from "./auth_types.ts";
import type { ChapAuthenticatorAlgorithm, ChapPeerAlgorithm, ChapVerdict } from "./chap.ts";
import type { ChapValuePacket } from "./chap_packet.ts";
import {
  chapResponseRejected,
  findCredentials,
  rejectionDetail,
  zeroHlak,
} from "./_credentials.ts";
import { encodeText } from "./_auth_header.ts";

const LABEL = "CHAP-MD5";
/** Length of our challenges (RFC 1994 leaves it open; 16 like pppd). */
export const CHAP_MD5_CHALLENGE_LENGTH = 16;

/**
 * RFC 1994 4.1: the 16-byte MD5 response.
 *
 * @example
 * ```ts
 * import { chapMd5Response } from "./chap_md5.ts";
 * import { toHex } from "../../bytes/hex.ts";
 * const challenge = Uint8Array.from({ length: 16 }, (_, i) => i);
 * if (toHex(chapMd5Response(1, "secret", challenge)) !== "740e86463bda3a4d7017d6e0fba0699d") {
 *   throw new Error();
 * }
 * ```
 */
export function chapMd5Response(
  identifier: number,
  secret: string,
  challenge: Uint8Array,
): Uint8Array {
  return md5(new Uint8Array([identifier & 0xff]), encodeText(secret), challenge);
}

/** The peer side of CHAP-MD5. */
export function chapMd5PeerAlgorithm(user: string, password: string): ChapPeerAlgorithm {
  return {
    label: LABEL,
    name: user,
    respond(identifier, challenge) {
      return {
        value: chapMd5Response(identifier, password, challenge),
        checkSuccess: (message) => ({ ok: true, user, hlak: zeroHlak(), message }),
      };
    },
  };
}

/** Options of {@linkcode chapMd5AuthenticatorAlgorithm}. */
export interface ChapMd5AuthenticatorOptions {
  /** The user's plain-text password, or undefined for an unknown user (the Response is refused). */
  lookupPassword: PasswordLookup;
  /** Success text; default "Access granted". */
  successMessage?: string;
  /** Failure text; default "Authentication failed". */
  failureMessage?: string;
}

/** The authenticator side of CHAP-MD5. */
export function chapMd5AuthenticatorAlgorithm(
  options: ChapMd5AuthenticatorOptions,
): ChapAuthenticatorAlgorithm {
  const successMessage = options.successMessage ?? "Access granted";
  const failureMessage = options.failureMessage ?? "Authentication failed";
  return {
    label: LABEL,
    challengeLength: CHAP_MD5_CHALLENGE_LENGTH,
    verify(identifier: number, challenge: Uint8Array, response: ChapValuePacket): ChapVerdict {
      const c = findCredentials(options.lookupPassword, response.name);
      const expected = chapMd5Response(identifier, c.password, challenge);
      const matches = timingSafeEqual(expected, response.value);
      if (matches && c.isKnown) {
        return { ok: true, user: c.user, hlak: zeroHlak(), message: successMessage };
      }
      const error = chapResponseRejected(LABEL, c, rejectionDetail(c));
      return { ok: false, message: failureMessage, error };
    },
  };
}
