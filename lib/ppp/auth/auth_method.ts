/**
 * Mapping between RouterOS authentication method names and the LCP
 * Authentication-Protocol option (RFC 1661 6.2; RFC 1994 3; RFC 2433 2;
 * RFC 2759 2; RFC 3748 7.1: EAP is 0xc227 with no data, the EAP method is
 * chosen inside EAP).
 *
 * ```
 *  0                   1                   2
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type=3    |    Length     |  Authentication-Protocol
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Algorithm (CHAP only)
 * ```
 *
 * @module
 */
import type { AuthMethod } from "./auth_types.ts";

/** PPP protocol numbers of the authentication protocols. */
export const AUTH_PROTOCOL = {
  /** RFC 1334 2.2 */
  PAP: 0xc023,
  /** RFC 1994 3 */
  CHAP: 0xc223,
  /** RFC 3748 (EAP; we run EAP-MSCHAPv2 in it) */
  EAP: 0xc227,
} as const;

/** CHAP Algorithm octet values. */
export const CHAP_ALGORITHM = {
  /** RFC 1994 3: CHAP with MD5 */
  MD5: 0x05,
  /** RFC 2433 2: MS-CHAP (v1) */
  MSCHAP1: 0x80,
  /** RFC 2759 2: MS-CHAP-V2 */
  MSCHAP2: 0x81,
} as const;

/**
 * Encodes the option *data* (after type and length) that asks for `method`.
 *
 * @example
 * ```ts
 * import { encodeAuthProtocolOption } from "./auth_method.ts";
 * const d = encodeAuthProtocolOption("mschap2");
 * if (d.join(",") !== "194,35,129") throw new Error();
 * ```
 */
export function encodeAuthProtocolOption(method: AuthMethod): Uint8Array {
  switch (method) {
    case "pap":
      return new Uint8Array([0xc0, 0x23]);
    case "chap":
      return new Uint8Array([0xc2, 0x23, CHAP_ALGORITHM.MD5]);
    case "mschap1":
      return new Uint8Array([0xc2, 0x23, CHAP_ALGORITHM.MSCHAP1]);
    case "mschap2":
      return new Uint8Array([0xc2, 0x23, CHAP_ALGORITHM.MSCHAP2]);
    case "eap-mschap2":
      return new Uint8Array([0xc2, 0x27]);
  }
}

/**
 * Decodes Authentication-Protocol option data into a method, or `undefined`
 * for anything we do not implement (SPAP, unknown CHAP algorithms, malformed
 * lengths). EAP decodes to `eap-mschap2`, the one EAP method we run; which
 * method EAP carries is settled inside EAP (a Legacy Nak asks for type 26).
 */
export function decodeAuthProtocolOption(data: Uint8Array): AuthMethod | undefined {
  if (data.length < 2) return undefined;
  const protocol = ((data[0] ?? 0) << 8) | (data[1] ?? 0);
  if (protocol === AUTH_PROTOCOL.PAP) return data.length === 2 ? "pap" : undefined;
  if (protocol === AUTH_PROTOCOL.EAP) return data.length === 2 ? "eap-mschap2" : undefined;
  if (protocol !== AUTH_PROTOCOL.CHAP || data.length !== 3) return undefined;
  switch (data[2]) {
    case CHAP_ALGORITHM.MD5:
      return "chap";
    case CHAP_ALGORITHM.MSCHAP1:
      return "mschap1";
    case CHAP_ALGORITHM.MSCHAP2:
      return "mschap2";
    default:
      return undefined;
  }
}

/** The PPP protocol number that carries `method`'s packets. */
export function authMethodProtocol(method: AuthMethod): number {
  if (method === "pap") return AUTH_PROTOCOL.PAP;
  return method === "eap-mschap2" ? AUTH_PROTOCOL.EAP : AUTH_PROTOCOL.CHAP;
}
