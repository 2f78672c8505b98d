/**
 * The MS-CHAP computations: RFC 2759 8 (MS-CHAPv2) and RFC 2433 A (MS-CHAPv1
 * NT response). Pure functions over bytes; secrets never leave them except as
 * return values.
 *
 * ```
 * PasswordHash     = MD4(UTF-16LE(Password))                        RFC 2759 8.3
 * PasswordHashHash = MD4(PasswordHash)                              RFC 2759 8.4
 * Challenge        = SHA1(PeerChallenge | AuthChallenge | User)[0..8]  8.2
 * NT-Response      = DES(Challenge, PwHash[0..7]) | DES(.., [7..14])
 *                    | DES(.., [14..16] | 00 x5)                    RFC 2759 8.5
 * Digest           = SHA1(PasswordHashHash | NT-Response | Magic1)
 * AuthResponse     = "S=" + HEX(SHA1(Digest | Challenge | Magic2))  RFC 2759 8.7
 * ```
 *
 * @module
 */
import { md4 } from "../crypto/md4.ts";
import { sha1 } from "../crypto/digest.ts";
import { desEncrypt7 } from "../crypto/des.ts";
import { concatBytes, timingSafeEqual, toHex } from "../../bytes/hex.ts";

/** RFC 2759 8.7 Magic1: "Magic server to client signing constant". */
const AUTH_MAGIC_1 = new TextEncoder().encode("Magic server to client signing constant");
/** RFC 2759 8.7 Magic2: "Pad to make it do more than one iteration". */
const AUTH_MAGIC_2 = new TextEncoder().encode("Pad to make it do more than one iteration");

/**
 * Encodes a password as UTF-16 little-endian, the "Unicode" of RFC 2759 8.3
 * (RFC 2433 A.2).
 */
export function encodeUtf16Le(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 * i] = unit & 0xff;
    out[2 * i + 1] = unit >> 8;
  }
  return out;
}

/**
 * The user name without any `DOMAIN\` prefix: RFC 2759 8.2 hashes "only the
 * user name (as presented by the peer and excluding any prepended domain
 * name)". An `@realm` suffix is kept (pppd and SoftEther do the same).
 *
 * @example
 * ```ts
 * import { stripDomain } from "./mschap_crypto.ts";
 * if (stripDomain("ACME\\bob") !== "bob" || stripDomain("bob@hub") !== "bob@hub") throw new Error();
 * ```
 */
export function stripDomain(userName: string): string {
  const i = userName.lastIndexOf("\\");
  return i < 0 ? userName : userName.slice(i + 1);
}

/**
 * RFC 2759 8.3 `NtPasswordHash`: MD4 of the UTF-16LE password (16 bytes).
 * Also RFC 2433 A.2.
 *
 * @example
 * ```ts
 * import { ntPasswordHash } from "./mschap_crypto.ts";
 * import { toHex } from "../../bytes/hex.ts";
 * if (toHex(ntPasswordHash("clientPass")) !== "44ebba8d5312b8d611474411f56989ae") throw new Error();
 * ```
 */
export function ntPasswordHash(password: string): Uint8Array {
  return md4(encodeUtf16Le(password));
}

/** RFC 2759 8.4 `HashNtPasswordHash`: MD4 of the password hash (16 bytes). */
export function hashNtPasswordHash(passwordHash: Uint8Array): Uint8Array {
  return md4(passwordHash);
}

/**
 * RFC 2759 8.2 `ChallengeHash`: the 8-byte challenge the NT response answers.
 *
 * @param peerChallenge 16 bytes from the peer.
 * @param authenticatorChallenge 16 bytes from the authenticator.
 * @param userName As sent in the Response; a `DOMAIN\` prefix is removed here.
 */
export function challengeHash(
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string,
): Uint8Array {
  const user = new TextEncoder().encode(stripDomain(userName));
  return sha1(peerChallenge, authenticatorChallenge, user).subarray(0, 8);
}

/**
 * RFC 2759 8.5 `ChallengeResponse` (RFC 2433 A.5): three DES encryptions of
 * the 8-byte challenge under the zero-padded 21-byte password hash.
 *
 * @param challenge 8 bytes.
 * @param passwordHash 16 bytes.
 * @returns The 24-byte response.
 * @throws {RangeError} On wrong lengths.
 */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  if (challenge.length !== 8) {
    throw new RangeError(
      `Cannot compute challenge response: challenge is ${challenge.length} bytes, expected 8`,
    );
  }
  if (passwordHash.length !== 16) {
    throw new RangeError(
      `Cannot compute challenge response: hash is ${passwordHash.length} bytes, expected 16`,
    );
  }
  const z = new Uint8Array(21);
  z.set(passwordHash);
  return concatBytes(
    desEncrypt7(challenge, z.subarray(0, 7)),
    desEncrypt7(challenge, z.subarray(7, 14)),
    desEncrypt7(challenge, z.subarray(14, 21)),
  );
}

/**
 * RFC 2759 8.1 `GenerateNTResponse`: the 24-byte NT-Response of MS-CHAPv2.
 *
 * @example
 * ```ts
 * import { generateNtResponse } from "./mschap_crypto.ts";
 * import { fromHex, toHex } from "../../bytes/hex.ts";
 * const r = generateNtResponse(
 *   fromHex("5B5D7C7D7B3F2F3E3C2C602132262628"),
 *   fromHex("21402324255E262A28295F2B3A337C7E"),
 *   "User",
 *   "clientPass",
 * );
 * if (toHex(r) !== "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df") throw new Error();
 * ```
 */
export function generateNtResponse(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  userName: string,
  password: string,
): Uint8Array {
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  return challengeResponse(challenge, ntPasswordHash(password));
}

/**
 * RFC 2759 8.7 `GenerateAuthenticatorResponse`, from the password hash:
 * `"S="` and 40 uppercase hex digits.
 */
export function generateAuthenticatorResponseFromHash(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string,
): string {
  const digest = sha1(hashNtPasswordHash(passwordHash), ntResponse, AUTH_MAGIC_1);
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  return "S=" + toHex(sha1(digest, challenge, AUTH_MAGIC_2)).toUpperCase();
}

/**
 * RFC 2759 8.7 `GenerateAuthenticatorResponse`: `"S="` and 40 uppercase hex
 * digits, proving the authenticator knows the password too.
 *
 * @example
 * ```ts
 * import { generateAuthenticatorResponse } from "./mschap_crypto.ts";
 * import { fromHex } from "../../bytes/hex.ts";
 * const s = generateAuthenticatorResponse(
 *   "clientPass",
 *   fromHex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"),
 *   fromHex("21402324255E262A28295F2B3A337C7E"),
 *   fromHex("5B5D7C7D7B3F2F3E3C2C602132262628"),
 *   "User",
 * );
 * if (s !== "S=407A5589115FD0D6209F510FE9C04566932CDA56") throw new Error();
 * ```
 */
export function generateAuthenticatorResponse(
  password: string,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string,
): string {
  return generateAuthenticatorResponseFromHash(
    ntPasswordHash(password),
    ntResponse,
    peerChallenge,
    authenticatorChallenge,
    userName,
  );
}

/**
 * RFC 2759 8.8 `CheckAuthenticatorResponse`, compared in constant time.
 * Hex case in `receivedResponse` is not significant.
 *
 * @param receivedResponse The 42-character `S=...` value from the Success message.
 * @returns Whether it matches the expected response.
 */
export function checkAuthenticatorResponse(
  password: string,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string,
  receivedResponse: string,
): boolean {
  const expected = generateAuthenticatorResponse(
    password,
    ntResponse,
    peerChallenge,
    authenticatorChallenge,
    userName,
  );
  if (!receivedResponse.startsWith("S=")) return false;
  const encoder = new TextEncoder();
  return timingSafeEqual(
    encoder.encode(expected),
    encoder.encode("S=" + receivedResponse.slice(2).toUpperCase()),
  );
}

/**
 * RFC 2433 A.5 `NtChallengeResponse`: the 24-byte MS-CHAPv1 NT response to
 * the authenticator's 8-byte challenge.
 *
 * @example
 * ```ts
 * import { ntChallengeResponse } from "./mschap_crypto.ts";
 * import { fromHex, toHex } from "../../bytes/hex.ts";
 * const r = ntChallengeResponse(fromHex("102DB5DF085D3041"), "MyPw");
 * if (toHex(r) !== "4e9d3c8f9cfd385d5bf4d3246791956ca4c351ab409a3d61") throw new Error();
 * ```
 */
export function ntChallengeResponse(challenge: Uint8Array, password: string): Uint8Array {
  return challengeResponse(challenge, ntPasswordHash(password));
}
