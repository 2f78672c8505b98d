/**
 * The contract between the PPP link (Authenticate phase, RFC 1661 3.5) and
 * the authentication protocols: PAP (RFC 1334), CHAP-MD5 (RFC 1994),
 * MS-CHAPv1 (RFC 2433), MS-CHAPv2 (RFC 2759) and EAP (RFC 3748) carrying
 * EAP-MSCHAPv2. Each protocol is a pure
 * state machine in two roles: the *peer* (client, proves its identity) and the
 * *authenticator* (server, checks it).
 *
 * The link feeds it the information field of received PAP/CHAP frames (the
 * bytes after the PPP protocol field: code, id, length, data) and carries out
 * the returned {@linkcode AuthOutput}.
 *
 * @module
 */
import type { ProtocolError } from "../../errors.ts";

/**
 * RouterOS `authentication` method names, plus `eap-mschap2`: EAP (PPP
 * protocol 0xc227) with EAP-MSCHAPv2 inside, as Windows RRAS asks for.
 */
export type AuthMethod = "pap" | "chap" | "mschap1" | "mschap2" | "eap-mschap2";

/**
 * All methods, strongest first (the preference order). `eap-mschap2` runs
 * the same MS-CHAPv2 computation inside EAP and yields the same keys; it
 * comes after plain `mschap2`, which every SSTP peer speaks, so a side that
 * allows both asks for (and suggests) plain MS-CHAPv2.
 */
export const AUTH_METHODS_STRONGEST_FIRST: readonly AuthMethod[] = [
  "mschap2",
  "eap-mschap2",
  "mschap1",
  "chap",
  "pap",
];

/**
 * The client's default `authentication`: every method except `eap-mschap2`,
 * which is opt-in. SoftEther asks for EAP first and, once the client acks
 * it, starts EAP-TLS; answering that with a Nak for EAP-MSCHAPv2 makes it
 * Protocol-Reject EAP and renegotiate LCP towards MS-CHAPv2, after which it
 * never sends the Challenge (measured against SoftEther 4.x). Naking EAP in
 * LCP, as Windows does by default, gets MS-CHAPv2 straight away. Servers
 * that require EAP (an EAP-only Windows RRAS) need `eap-mschap2` listed.
 */
export const DEFAULT_CLIENT_AUTH_METHODS: readonly AuthMethod[] = AUTH_METHODS_STRONGEST_FIRST
  .filter((m) => m !== "eap-mschap2");

/** What an authentication exchange asks the link to do. */
export interface AuthOutput {
  /** Packets (code|id|length|data) to send with this protocol number. */
  send: Uint8Array[];
  /**
   * Restart timer: a number starts (or restarts) it with that many ms, `null`
   * stops it, `undefined` leaves it alone. On expiry call `timeout()`.
   */
  timerMs?: number | null;
  /** Set once, when the exchange has finished. */
  result?: AuthResult;
}

/** How an exchange ended. */
export type AuthResult =
  | {
    ok: true;
    /** Authenticated user name (authenticator) or our own (peer). */
    user: string;
    /**
     * Higher-Layer Authentication Key for the SSTP crypto binding
     * (MS-SSTP 3.2.5.2.2, 3.2.5.2.4), 32 bytes, already in this role's order:
     * MS-CHAPv2 client = MasterSendKey|MasterReceiveKey, server = the reverse
     * (RFC 3079 3.4 master keys); EAP-MSCHAPv2: the first 32 bytes of the
     * MSK, which are the same bytes; PAP, CHAP, MS-CHAPv1: 32 zero bytes.
     */
    hlak: Uint8Array;
    /** Message text from the Success packet, if any. */
    message: string;
  }
  | { ok: false; error: ProtocolError };

/** The peer role (client side). */
export interface AuthPeer {
  /** PPP protocol number: 0xc023 (PAP), 0xc223 (CHAP and MS-CHAP) or 0xc227 (EAP). */
  readonly protocol: number;
  /** Called when the Authenticate phase begins. PAP sends its request here. */
  start(nowMs: number): AuthOutput;
  /** A received packet of this protocol (code|id|length|data). */
  receive(packet: Uint8Array, nowMs: number): AuthOutput;
  /** The restart timer expired. */
  timeout(nowMs: number): AuthOutput;
}

/** Looks up a user's password (plain text, as RouterOS `/ppp secret` holds). */
export type PasswordLookup = (user: string) => string | undefined;

/** The authenticator role (server side). */
export interface AuthAuthenticator {
  /** PPP protocol number: 0xc023 (PAP), 0xc223 (CHAP and MS-CHAP) or 0xc227 (EAP). */
  readonly protocol: number;
  /** Called when the Authenticate phase begins. CHAP sends its challenge here. */
  start(nowMs: number): AuthOutput;
  /** A received packet of this protocol (code|id|length|data). */
  receive(packet: Uint8Array, nowMs: number): AuthOutput;
  /** The restart timer expired. */
  timeout(nowMs: number): AuthOutput;
}

/** Injected randomness so tests are deterministic. */
export type RandomBytes = (n: number) => Uint8Array;
