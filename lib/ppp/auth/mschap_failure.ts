/**
 * The MS-CHAP Failure message (RFC 2433 6, RFC 2759 6) and the error the peer
 * reports for any CHAP Failure.
 *
 * ```
 * E=eeeeeeeeee R=r C=cccccccccccccccccccccccccccccccc V=vvvvvvvvvv M=<msg>
 * ```
 *
 * `M=` runs to the end of the message and may contain spaces. Servers differ:
 * SoftEther sends `E=691 R=0 C=<hex> V=3` with no `M=`; CHAP-MD5 servers send
 * free text.
 *
 * @module
 */
import { quotePeerText } from "../../peer_text.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { fromHex } from "../../bytes/hex.ts";

/** MS-CHAP failure codes (RFC 2433 6; RFC 2759 6). */
export const MSCHAP_ERROR = {
  /** RFC 2759 6: ERROR_RESTRICTED_LOGON_HOURS */
  RESTRICTED_LOGON_HOURS: 646,
  /** RFC 2759 6: ERROR_ACCT_DISABLED */
  ACCT_DISABLED: 647,
  /** RFC 2759 6: ERROR_PASSWD_EXPIRED */
  PASSWD_EXPIRED: 648,
  /** RFC 2759 6: ERROR_NO_DIALIN_PERMISSION */
  NO_DIALIN_PERMISSION: 649,
  /** RFC 2759 6: ERROR_AUTHENTICATION_FAILURE */
  AUTHENTICATION_FAILURE: 691,
  /** RFC 2759 6: ERROR_CHANGING_PASSWORD */
  CHANGING_PASSWORD: 709,
} as const;

/** Human text for each {@linkcode MSCHAP_ERROR} code. */
export const MSCHAP_ERROR_TEXT: Readonly<Record<number, string>> = {
  [MSCHAP_ERROR.RESTRICTED_LOGON_HOURS]: "restricted logon hours",
  [MSCHAP_ERROR.ACCT_DISABLED]: "account disabled",
  [MSCHAP_ERROR.PASSWD_EXPIRED]: "password expired",
  [MSCHAP_ERROR.NO_DIALIN_PERMISSION]: "no dial-in permission",
  [MSCHAP_ERROR.AUTHENTICATION_FAILURE]: "wrong user name or password",
  [MSCHAP_ERROR.CHANGING_PASSWORD]: "error changing password",
};

/** The fields of a Failure message; absent ones are `undefined`. */
export interface MsChapFailure {
  /** `E=`: the error code. */
  error: number | undefined;
  /** `R=`: whether a retry is allowed. */
  isRetryAllowed: boolean | undefined;
  /** `C=`: a new challenge for the retry (16 bytes for v2, 8 for v1). */
  challenge: Uint8Array | undefined;
  /** `V=`: the password-change protocol version. */
  version: number | undefined;
  /** `M=`: free text, or the whole message when it has no fields at all. */
  message: string | undefined;
}

/**
 * Decodes the text of a Failure message. Never throws: unparseable fields are
 * left `undefined`, and text with no `E=` field is returned as `message`.
 *
 * @example
 * ```ts
 * import { decodeMsChapFailure } from "./mschap_failure.ts";
 * const f = decodeMsChapFailure("E=691 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=Bad password");
 * if (f.error !== 691 || f.isRetryAllowed !== false || f.message !== "Bad password") throw new Error();
 * ```
 */
export function decodeMsChapFailure(text: string): MsChapFailure {
  const out: MsChapFailure = {
    error: undefined,
    isRetryAllowed: undefined,
    challenge: undefined,
    version: undefined,
    message: undefined,
  };
  const m = /(?:^|\s)M=/.exec(text);
  const fields = m === null ? text : text.slice(0, m.index);
  if (m !== null) out.message = text.slice(m.index + m[0].length);
  for (const token of fields.trim().split(/\s+/)) {
    const [key, value] = [token.slice(0, 2), token.slice(2)];
    if (key === "E=" && /^\d{1,10}$/.test(value)) out.error = Number(value);
    else if (key === "R=" && /^[01]$/.test(value)) out.isRetryAllowed = value === "1";
    else if (key === "V=" && /^\d{1,10}$/.test(value)) out.version = Number(value);
    else if (key === "C=" && /^(?:[0-9a-fA-F]{2})+$/.test(value)) out.challenge = fromHex(value);
  }
  if (out.error === undefined && out.message === undefined && text.trim() !== "") {
    out.message = text;
  }
  return out;
}

/**
 * The error a peer reports when the authenticator sends Failure.
 *
 * @param text The Failure message.
 * @returns A `ProtocolError` with layer `chap` and code `AUTH_FAILED`.
 *
 * @example
 * ```ts
 * import { chapFailureError } from "./mschap_failure.ts";
 * const e = chapFailureError("E=691 R=0 C=00 V=3");
 * if (e.message !== "Authentication failed: server refused the credentials (E=691: wrong user name or password)") {
 *   throw new Error(e.message);
 * }
 * ```
 */
export function chapFailureError(text: string): ProtocolError {
  const f = decodeMsChapFailure(text);
  let message = "Authentication failed: server refused the credentials";
  if (f.error !== undefined) {
    message += ` (E=${f.error}: ${MSCHAP_ERROR_TEXT[f.error] ?? "unknown error code"})`;
  }
  if (f.message !== undefined && f.message.trim() !== "") {
    message += `; server message: ${quotePeerText(f.message.trim())}`;
  }
  return new ProtocolError("chap", ERROR_CODE.AUTH_FAILED, message);
}
