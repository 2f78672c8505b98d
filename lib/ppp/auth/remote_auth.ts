/**
 * Authentication by a remote service (RADIUS) for users that are not in
 * the local secrets: local secrets first, then the remote service, as
 * RouterOS does with `/ppp aaa use-radius`.
 *
 * {@linkcode RemoteFallbackAuthenticator} wraps the local authenticator of
 * the negotiated method and leaves it in charge of everything (Challenges,
 * their retransmission, local users). When a PAP Authenticate-Request or a
 * CHAP Response names a user the local lookup does not know, it hands the
 * credentials as received (challenge, identifier and response, or the PAP
 * password) to the injected {@linkcode RemoteAuthenticate} and answers the
 * peer once that settles.
 *
 * The PPP automaton is synchronous and driven by packets and timers, so the
 * wait is a short restart-timer poll ({@linkcode REMOTE_POLL_MS}): each
 * expiry looks at whether the verdict has arrived. No I/O happens here; the
 * remote call is bounded by its own timeouts, and by
 * {@linkcode REMOTE_MAX_WAIT_MS} as a last resort. Retransmitted
 * Requests/Responses are ignored while the verdict is pending and answered
 * with the same reply afterwards.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { toHex } from "../../bytes/hex.ts";
import type {
  AuthAuthenticator,
  AuthMethod,
  AuthOutput,
  PasswordLookup,
  RandomBytes,
} from "./auth_types.ts";
import { findCredentials } from "./_credentials.ts";
import { CHAP_CODE, decodeChapPacket, encodeChapPacket } from "./chap_packet.ts";
import { decodePapPacket, encodePapPacket, PAP_CODE } from "./pap_packet.ts";
import { peerText } from "../../peer_text.ts";

/** What the peer sent, per method, as a remote service needs it. */
export type RemoteCredentials =
  | { method: "pap"; user: string; password: Uint8Array }
  | {
    method: "chap" | "mschap1" | "mschap2";
    user: string;
    identifier: number;
    challenge: Uint8Array;
    /** The PPP Response Value as received. */
    response: Uint8Array;
  };

/** The remote service's answer. */
export type RemoteVerdict =
  | {
    ok: true;
    user: string;
    /** 32-byte SSTP HLAK (MS-CHAPv2: from the service's MPPE keys; otherwise zeros). */
    hlak: Uint8Array;
    /** MS-CHAPv2: the `S=<40 hex>` authenticator response. */
    authenticatorResponse?: string;
  }
  | {
    ok: false;
    error: ProtocolError;
    /** MS-CHAP failure text from the service (`E=691 R=0 ...`), if any. */
    msChapError?: string;
  };

/** Asks the remote service; must settle (its own timeouts bound it). */
export type RemoteAuthenticate = (credentials: RemoteCredentials) => Promise<RemoteVerdict>;

/** Poll period while a remote verdict is pending, ms. */
export const REMOTE_POLL_MS = 10;
/** Longest wait for a remote verdict before failing the login, ms. */
export const REMOTE_MAX_WAIT_MS = 60_000;

const encoder = new TextEncoder();

/** Options of {@linkcode RemoteFallbackAuthenticator}. */
export interface RemoteFallbackOptions {
  /** PAP or a CHAP method (EAP goes through `eap_relay.ts`). */
  method: Exclude<AuthMethod, "eap-mschap2">;
  /** Local secrets: a user it knows is checked locally, any other goes to `remote`. */
  lookupPassword: PasswordLookup;
  /** The remote service (RADIUS) asked about users `lookupPassword` does not know. */
  remote: RemoteAuthenticate;
  /** Not read by this class: Challenges come from the local authenticator, which has its own. */
  randomBytes: RandomBytes;
}

/** Local authenticator first, then the remote service for unknown users. */
export class RemoteFallbackAuthenticator implements AuthAuthenticator {
  readonly protocol: number;
  readonly #local: AuthAuthenticator;
  readonly #o: RemoteFallbackOptions;
  #challenge: { identifier: number; value: Uint8Array } | undefined;
  #pending: { identifier: number; startedMs: number } | undefined;
  #verdict: RemoteVerdict | undefined;
  #reply: { identifier: number; packet: Uint8Array } | undefined;
  #isRemote = false;

  /**
   * Wraps `local`: it sends the Challenge and checks known users; Responses
   * from unknown users are sent to `options.remote` instead.
   *
   * @param local The method's local authenticator, used for everything else.
   */
  constructor(local: AuthAuthenticator, options: RemoteFallbackOptions) {
    this.#local = local;
    this.#o = options;
    this.protocol = local.protocol;
  }

  /** Starts the local authenticator and remembers its Challenge. */
  start(nowMs: number): AuthOutput {
    const out = this.#local.start(nowMs);
    this.#noteChallenge(out);
    return out;
  }

  #noteChallenge(out: AuthOutput): void {
    if (this.#o.method === "pap") return;
    for (const bytes of out.send) {
      try {
        const p = decodeChapPacket(bytes);
        if (p.code === CHAP_CODE.CHALLENGE) {
          this.#challenge = { identifier: p.identifier, value: p.value };
        }
      } catch { /* our own packet; cannot be malformed */ }
    }
  }

  /** A packet from the peer: local user, remote user, or a retransmission. */
  receive(packet: Uint8Array, nowMs: number): AuthOutput {
    if (!this.#isRemote) {
      const creds = this.#remoteCredentials(packet);
      if (creds === undefined) return this.#local.receive(packet, nowMs);
      this.#isRemote = true;
      this.#pending = {
        identifier: creds.method === "pap" ? packet[1] ?? 0 : creds.identifier,
        startedMs: nowMs,
      };
      this.#o.remote(creds).then(
        (v) => this.#verdict = v,
        (e) =>
          this.#verdict = {
            ok: false,
            error: e instanceof ProtocolError ? e : new ProtocolError(
              "auth",
              ERROR_CODE.AUTH_FAILED,
              `Cannot authenticate via RADIUS: ${e instanceof Error ? e.message : String(e)}`,
            ),
          },
      );
      return { send: [], timerMs: REMOTE_POLL_MS };
    }
    const reply = this.#reply;
    if (reply !== undefined && packet[1] === reply.identifier) return { send: [reply.packet] };
    return { send: [] };
  }

  /** The credentials to ask the remote service about, or undefined for local handling. */
  #remoteCredentials(packet: Uint8Array): RemoteCredentials | undefined {
    try {
      if (this.#o.method === "pap") {
        const p = decodePapPacket(packet);
        if (p.code !== PAP_CODE.AUTHENTICATE_REQUEST) return undefined;
        if (findCredentials(this.#o.lookupPassword, p.peerId).isKnown) return undefined;
        return { method: "pap", user: p.peerId, password: encoder.encode(p.password) };
      }
      const p = decodeChapPacket(packet);
      const c = this.#challenge;
      if (p.code !== CHAP_CODE.RESPONSE || c === undefined || p.identifier !== c.identifier) {
        return undefined;
      }
      if (findCredentials(this.#o.lookupPassword, p.name).isKnown) return undefined;
      return {
        method: this.#o.method,
        user: p.name,
        identifier: p.identifier,
        challenge: c.value,
        response: p.value,
      };
    } catch (e) {
      if (e instanceof ProtocolError) return undefined;
      throw e;
    }
  }

  /** Timer: the local authenticator's, or the poll for the remote verdict. */
  timeout(nowMs: number): AuthOutput {
    const pending = this.#pending;
    if (!this.#isRemote || pending === undefined) {
      const out = this.#local.timeout(nowMs);
      this.#noteChallenge(out);
      return out;
    }
    let verdict = this.#verdict;
    if (verdict === undefined) {
      if (nowMs - pending.startedMs < REMOTE_MAX_WAIT_MS) {
        return { send: [], timerMs: REMOTE_POLL_MS };
      }
      verdict = {
        ok: false,
        error: new ProtocolError(
          "auth",
          ERROR_CODE.TIMEOUT,
          `Cannot authenticate via RADIUS: no verdict within ${REMOTE_MAX_WAIT_MS / 1000} s`,
        ),
      };
    }
    this.#pending = undefined;
    const packet = this.#encodeReply(pending.identifier, verdict);
    this.#reply = { identifier: pending.identifier, packet };
    if (verdict.ok) {
      return {
        send: [packet],
        timerMs: null,
        result: { ok: true, user: verdict.user, hlak: verdict.hlak, message: "" },
      };
    }
    return { send: [packet], timerMs: null, result: { ok: false, error: verdict.error } };
  }

  #encodeReply(identifier: number, v: RemoteVerdict): Uint8Array {
    if (this.#o.method === "pap") {
      return encodePapPacket({
        code: v.ok ? PAP_CODE.AUTHENTICATE_ACK : PAP_CODE.AUTHENTICATE_NAK,
        identifier,
        message: v.ok ? "Login ok" : "Authentication failed",
      });
    }
    let message: string;
    if (v.ok) {
      message = this.#o.method === "mschap2"
        ? `${v.authenticatorResponse ?? ""} M=Access granted`
        : "Access granted";
    } else if (v.msChapError !== undefined && this.#o.method !== "chap") {
      message = peerText(v.msChapError, 200);
    } else if (this.#o.method === "mschap2") {
      const retry = toHex(this.#o.randomBytes(16).slice(0, 16)).toUpperCase();
      message = `E=691 R=0 C=${retry} V=3 M=Authentication failed`;
    } else {
      message = this.#o.method === "mschap1" ? "E=691 R=0" : "Authentication failed";
    }
    return encodeChapPacket({
      code: v.ok ? CHAP_CODE.SUCCESS : CHAP_CODE.FAILURE,
      identifier,
      message,
    });
  }
}
