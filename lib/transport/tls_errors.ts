/**
 * Certificate verification failures, worded as RouterOS and OpenSSL word
 * them, with a stable `TLS_CERT_*` code in `ProtocolError.detail`.
 *
 * node:tls in Deno 2.9.6 (rustls underneath) reports almost every chain
 * failure as `UNABLE_TO_VERIFY_LEAF_SIGNATURE` (measured: expired, not yet
 * valid, clientAuth-only EKU and unknown issuer all give that code), so the
 * client classifies the leaf itself (dates, EKU) before falling back to the
 * library's code.
 *
 * @module
 */

import { ERROR_CODE, ProtocolError } from "../errors.ts";

/** Certificate failure codes carried in `ProtocolError.detail`. */
export const TLS_CERT_ERROR = {
  TLS_CERT_EXPIRED: "certificate has expired",
  TLS_CERT_NOT_YET_VALID: "certificate is not yet valid",
  TLS_CERT_SELF_SIGNED: "self signed certificate in chain",
  TLS_CERT_UNKNOWN_ISSUER: "unable to get issuer certificate locally",
  TLS_CERT_PURPOSE: "invalid certificate purpose",
  TLS_CERT_IP_MISMATCH: "server's IP address does not match certificate",
  TLS_CERT_NAME_MISMATCH: "server's name does not match certificate",
  TLS_CERT_FINGERPRINT_MISMATCH: "server certificate does not match the pinned SHA-256 fingerprint",
  TLS_CERT_MISSING: "server sent no certificate",
  TLS_CERT_INVALID: "certificate verify failed",
  TLS_CERT_REVOKED: "certificate revoked",
  TLS_CERT_CRL_MISSING: "unable to get certificate CRL",
  TLS_CERT_CRL_ISSUER_UNKNOWN: "unable to get CRL issuer certificate",
  TLS_CERT_CRL_SIGNATURE: "CRL signature failure",
  TLS_CERT_CRL_EXPIRED: "CRL has expired",
  TLS_CERT_CRL_NOT_YET_VALID: "CRL is not yet valid",
} as const;

/** One key of {@linkcode TLS_CERT_ERROR}. */
export type TlsCertErrorCode = keyof typeof TLS_CERT_ERROR;

/**
 * Builds the error for a rejected server certificate:
 * `Cannot verify server certificate: certificate has expired`, layer `tls`,
 * code `AUTH_FAILED` (we rejected the peer's credentials), detail the
 * `TLS_CERT_*` code.
 */
export function certificateError(
  code: TlsCertErrorCode,
  extra?: string,
  cause?: unknown,
): ProtocolError {
  const message = `Cannot verify server certificate: ${TLS_CERT_ERROR[code]}${
    extra ? ` (${extra})` : ""
  }`;
  return new ProtocolError("tls", ERROR_CODE.AUTH_FAILED, message, {
    detail: code,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Maps an OpenSSL-style verify code (as node:tls reports it) to ours. */
export function mapVerifyErrorCode(code: string | undefined): TlsCertErrorCode {
  switch (code) {
    case "CERT_HAS_EXPIRED":
      return "TLS_CERT_EXPIRED";
    case "CERT_NOT_YET_VALID":
      return "TLS_CERT_NOT_YET_VALID";
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
      return "TLS_CERT_SELF_SIGNED";
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return "TLS_CERT_UNKNOWN_ISSUER";
    case "INVALID_PURPOSE":
      return "TLS_CERT_PURPOSE";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
    case "HOSTNAME_MISMATCH":
      return "TLS_CERT_NAME_MISMATCH";
    case "IP_ADDRESS_MISMATCH":
      return "TLS_CERT_IP_MISMATCH";
    case "CERT_REVOKED":
      return "TLS_CERT_REVOKED";
    case "UNABLE_TO_GET_CRL":
      return "TLS_CERT_CRL_MISSING";
    case "UNABLE_TO_GET_CRL_ISSUER":
      return "TLS_CERT_CRL_ISSUER_UNKNOWN";
    case "CRL_SIGNATURE_FAILURE":
      return "TLS_CERT_CRL_SIGNATURE";
    case "CRL_HAS_EXPIRED":
      return "TLS_CERT_CRL_EXPIRED";
    case "CRL_NOT_YET_VALID":
      return "TLS_CERT_CRL_NOT_YET_VALID";
    default:
      return "TLS_CERT_INVALID";
  }
}

/** EKU OIDs acceptable for a TLS server (MS-SSTP 3.2.4.1; RFC 5280 4.2.1.12). */
export const SERVER_PURPOSES: ReadonlySet<string> = new Set(["1.3.6.1.5.5.7.3.1", "2.5.29.37.0"]);
