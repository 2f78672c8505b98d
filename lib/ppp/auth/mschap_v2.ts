/**
 * MS-CHAPv2 (RFC 2759) over the generic CHAP exchange, with the HLAK for
 * the SSTP crypto binding (RFC 3079 3.4, MS-SSTP 3.2.5.2.2, 3.2.5.2.4).
 *
 * Response Value (49 bytes, RFC 2759 4):
 * ```
 * Peer-Challenge (16)  random, from the injected randomBytes
 * Reserved (8)         zero
 * NT-Response (24)     GenerateNTResponse, RFC 2759 8.1
 * Flags (1)            zero
 * ```
 * Success message (RFC 2759 5): `S=<40 uppercase hex> M=<text>`; SoftEther
 * sends no ` M=` part, so it is optional on receipt.
 * Failure message (RFC 2759 6): `E=691 R=0 C=<32 hex> V=3 M=<text>`.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { concatBytes, timingSafeEqual, toHex } from "../../bytes/hex.ts";
import type { AuthResult, PasswordLookup, RandomBytes } from "./auth_types.ts";
import type { ChapAuthenticatorAlgorithm, ChapPeerAlgorithm, ChapVerdict } from "./chap.ts";
import type { ChapValuePacket } from "./chap_packet.ts";
import {
  challengeHash,
  challengeResponse,
  generateAuthenticatorResponseFromHash,
  hashNtPasswordHash,
  ntPasswordHash,
} from "./mschap_crypto.ts";
import { msChapV2Hlak } from "./mppe_keys.ts";
import { encodeText } from "./_auth_header.ts";
import { chapResponseRejected, findCredentials, rejectionDetail } from "./_credentials.ts";

const LABEL = "MS-CHAPv2";
/** RFC 2759 3: the authenticator challenge is 16 bytes. */
export const MSCHAP_V2_CHALLENGE_LENGTH = 16;
/** RFC 2759 4: Response Value length. */
export const MSCHAP_V2_RESPONSE_LENGTH = 49;

/** The fields of an MS-CHAPv2 Response Value (RFC 2759 4). */
export interface MsChapV2Response {
  /** The peer's 16-byte random Peer-Challenge. */
  peerChallenge: Uint8Array;
  /** The 24-byte NT-Response. */
  ntResponse: Uint8Array;
  /**
   * The Flags octet: RFC 2759 4 says it MUST be zero. Sent as zero; the
   * authenticator refuses a Response whose Flags are not zero.
   */
  flags: number;
}

/**
 * Encodes the 49-byte Response Value.
 *
 * @throws {RangeError} If a field has the wrong length.
 */
export function encodeMsChapV2Response(r: MsChapV2Response): Uint8Array {
  if (r.peerChallenge.length !== 16 || r.ntResponse.length !== 24) {
    throw new RangeError(
      "Cannot encode MS-CHAPv2 response: peer challenge must be 16 bytes and NT-Response 24",
    );
  }
  return concatBytes(
    r.peerChallenge,
    new Uint8Array(8),
    r.ntResponse,
    new Uint8Array([r.flags & 0xff]),
  );
}

/**
 * Decodes the 49-byte Response Value; the Reserved field is ignored.
 *
 * @throws {ProtocolError} `BAD_LENGTH` if it is not 49 bytes.
 */
export function decodeMsChapV2Response(value: Uint8Array): MsChapV2Response {
  if (value.length !== MSCHAP_V2_RESPONSE_LENGTH) {
    throw new ProtocolError(
      "chap",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode MS-CHAPv2 response: value is ${value.length} bytes, expected 49`,
    );
  }
  return {
    peerChallenge: value.slice(0, 16),
    ntResponse: value.slice(24, 48),
    flags: value[48] ?? 0,
  };
}

/**
 * Splits a Success message into its `S=` authenticator response and its
 * optional `M=` text. Returns `undefined` when there is no well-formed
 * `S=<40 hex>` at the start.
 *
 * @example
 * ```ts
 * import { decodeMsChapV2Success } from "./mschap_v2.ts";
 * const s = decodeMsChapV2Success("S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome");
 * if (s?.message !== "Welcome" || s.authenticatorResponse.length !== 42) throw new Error();
 * ```
 */
export function decodeMsChapV2Success(
  text: string,
): { authenticatorResponse: string; message: string } | undefined {
  const m = /^S=([0-9A-Fa-f]{40})(?:\s+M=([\s\S]*)|\s*)$/.exec(text);
  if (m === null) return undefined;
  return { authenticatorResponse: `S=${m[1]?.toUpperCase()}`, message: m[2] ?? "" };
}

/** Options of {@linkcode msChapV2PeerAlgorithm}. */
export interface MsChapV2PeerOptions {
  /** User name sent as the Response's Name. */
  user: string;
  /** Plain-text password the NT-Response and the Authenticator Response check derive from. */
  password: string;
  /** Source of the 16-byte peer challenge. */
  randomBytes: RandomBytes;
}

/** The peer side of MS-CHAPv2. */
export function msChapV2PeerAlgorithm(options: MsChapV2PeerOptions): ChapPeerAlgorithm {
  const { user } = options;
  const passwordHash = ntPasswordHash(options.password);
  return {
    label: LABEL,
    name: user,
    respond(_identifier, authenticatorChallenge) {
      if (authenticatorChallenge.length !== MSCHAP_V2_CHALLENGE_LENGTH) {
        return new ProtocolError(
          "chap",
          ERROR_CODE.BAD_VALUE,
          `Cannot answer MS-CHAPv2 Challenge: value is ${authenticatorChallenge.length} bytes, expected 16`,
        );
      }
      const peerChallenge = options.randomBytes(16).slice(0, 16);
      const ntResponse = challengeResponse(
        challengeHash(peerChallenge, authenticatorChallenge, user),
        passwordHash,
      );
      const expected = generateAuthenticatorResponseFromHash(
        passwordHash,
        ntResponse,
        peerChallenge,
        authenticatorChallenge,
        user,
      );
      return {
        value: encodeMsChapV2Response({ peerChallenge, ntResponse, flags: 0 }),
        checkSuccess(message: string): AuthResult {
          const s = decodeMsChapV2Success(message);
          if (s === undefined) {
            const error = new ProtocolError(
              "chap",
              ERROR_CODE.AUTH_SERVER_INVALID,
              "Cannot authenticate the server: MS-CHAPv2 Success message has no valid S=<40 hex digits> field",
            );
            return { ok: false, error };
          }
          if (!timingSafeEqual(encodeText(expected), encodeText(s.authenticatorResponse))) {
            const error = new ProtocolError(
              "chap",
              ERROR_CODE.AUTH_SERVER_INVALID,
              "Cannot authenticate the server: MS-CHAPv2 authenticator response does not match (the server does not know the password)",
            );
            return { ok: false, error };
          }
          const hlak = msChapV2Hlak("client", hashNtPasswordHash(passwordHash), ntResponse);
          return { ok: true, user, hlak, message: s.message };
        },
      };
    },
  };
}

/** Options of {@linkcode msChapV2AuthenticatorAlgorithm}. */
export interface MsChapV2AuthenticatorOptions {
  /** The user's plain-text password, or undefined for an unknown user (the Response is refused). */
  lookupPassword: PasswordLookup;
  /** Source of the new challenge in the Failure message's `C=` field. */
  randomBytes: RandomBytes;
  /** `M=` text of Success; default "Access granted". */
  successMessage?: string;
  /** `M=` text of Failure; default "Authentication failed". */
  failureMessage?: string;
}

/** The authenticator side of MS-CHAPv2. */
export function msChapV2AuthenticatorAlgorithm(
  options: MsChapV2AuthenticatorOptions,
): ChapAuthenticatorAlgorithm {
  const successText = options.successMessage ?? "Access granted";
  const failureText = options.failureMessage ?? "Authentication failed";
  return {
    label: LABEL,
    challengeLength: MSCHAP_V2_CHALLENGE_LENGTH,
    verify(_identifier: number, challenge: Uint8Array, response: ChapValuePacket): ChapVerdict {
      const c = findCredentials(options.lookupPassword, response.name);
      const isRightLength = response.value.length === MSCHAP_V2_RESPONSE_LENGTH;
      // A malformed value still runs the computation, on zeros.
      const r = isRightLength
        ? decodeMsChapV2Response(response.value)
        : { peerChallenge: new Uint8Array(16), ntResponse: new Uint8Array(24), flags: 0 };
      // RFC 2759 4: Flags "MUST be zero". Windows, sstpc/pppd, SoftEther and
      // RouterOS send zero; a peer that sets them speaks something else, and
      // accepting it would hide that until a later extension gave the bits a
      // meaning. Refused like a malformed value, with its own detail.
      const malformed = !isRightLength
        ? "malformed response"
        : r.flags !== 0
        ? `malformed response: Flags are 0x${
          r.flags.toString(16).padStart(2, "0")
        }, RFC 2759 4 requires zero`
        : undefined;
      const isWellFormed = malformed === undefined;
      const passwordHash = ntPasswordHash(c.password);
      // The ChallengeHash uses the name as sent (minus DOMAIN\), not the lookup key.
      const expected = challengeResponse(
        challengeHash(r.peerChallenge, challenge, response.name),
        passwordHash,
      );
      const matches = timingSafeEqual(expected, r.ntResponse);
      if (matches && c.isKnown && isWellFormed) {
        const s = generateAuthenticatorResponseFromHash(
          passwordHash,
          r.ntResponse,
          r.peerChallenge,
          challenge,
          response.name,
        );
        const hlak = msChapV2Hlak("server", hashNtPasswordHash(passwordHash), r.ntResponse);
        return { ok: true, user: c.user, hlak, message: `${s} M=${successText}` };
      }
      const detail = rejectionDetail(c, malformed);
      const error = chapResponseRejected(LABEL, c, detail);
      const retryChallenge = toHex(options.randomBytes(16).slice(0, 16)).toUpperCase();
      // RFC 2759 6: E=691 authentication failure, R=0 no retry, V=3.
      return { ok: false, message: `E=691 R=0 C=${retryChallenge} V=3 M=${failureText}`, error };
    },
  };
}
