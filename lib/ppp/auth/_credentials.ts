/**
 * Helpers the authenticators share: password lookup that tolerates a
 * `DOMAIN\` prefix, the all-zero HLAK, and the dummy secret used for unknown
 * users so that they take the same code path as known ones.
 *
 * @module
 */
import type { PasswordLookup } from "./auth_types.ts";
import { stripDomain } from "./mschap_crypto.ts";
import { sha256 } from "../crypto/digest.ts";
import { encodeText } from "./_auth_header.ts";
import { timingSafeEqual } from "../../bytes/hex.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { quotePeerText } from "../../peer_text.ts";

/** HLAK length in bytes (MS-SSTP 3.2.5.2.2, 3.2.5.2.4). */
export const HLAK_LENGTH = 32;

/** The HLAK of methods that derive no keys: 32 zero bytes (MS-SSTP 3.2.5.2.2, 3.2.5.2.4). */
export function zeroHlak(): Uint8Array {
  return new Uint8Array(HLAK_LENGTH);
}

/** Stands in for the password of an unknown user; never matches a real answer. */
const DUMMY_PASSWORD = "\u0000unknown-user\u0000";

/** The outcome of a lookup: the password to check against, and whether the user exists. */
export interface Credentials {
  /** The name that matched, or the name as sent if none did. */
  user: string;
  /** The user's password, or a dummy one for an unknown user. */
  password: string;
  /** False for an unknown user: the check must fail whatever it computes. */
  isKnown: boolean;
}

/**
 * Looks up `name` as sent, then without a `DOMAIN\` prefix. An unknown user
 * gets a dummy password, so callers run the same computation either way.
 */
export function findCredentials(lookup: PasswordLookup, name: string): Credentials {
  const direct = lookup(name);
  if (direct !== undefined) return { user: name, password: direct, isKnown: true };
  const bare = stripDomain(name);
  if (bare !== name) {
    const viaBare = lookup(bare);
    if (viaBare !== undefined) return { user: bare, password: viaBare, isKnown: true };
  }
  return { user: name, password: DUMMY_PASSWORD, isKnown: false };
}

/**
 * Compares two passwords in time independent of where they differ and of
 * their lengths (both are hashed to 32 bytes first).
 */
export function passwordsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(encodeText(a)), sha256(encodeText(b)));
}

/**
 * The authenticator's error for a CHAP response that did not verify; `detail`
 * says why (malformed, wrong password, unknown user) without any secret.
 */
export function chapResponseRejected(
  label: string,
  credentials: Credentials,
  detail: string,
): ProtocolError {
  return new ProtocolError(
    "chap",
    ERROR_CODE.AUTH_FAILED,
    `Authentication failed: ${label} response for user ${
      quotePeerText(credentials.user)
    } did not verify`,
    { detail },
  );
}

/** "wrong password" for a known user, else "unknown user" (or `malformed` when given). */
export function rejectionDetail(credentials: Credentials, malformed?: string): string {
  return malformed ?? (credentials.isKnown ? "wrong password" : "unknown user");
}
