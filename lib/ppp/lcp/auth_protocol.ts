/**
 * LCP Authentication-Protocol option (RFC 1661 6.2) in both directions.
 *
 * ```
 * | Type=3 | Length | Authentication-Protocol (16 bits) | Data (CHAP: Algorithm) |
 * ```
 *
 * - As *authenticator* (server) we ask for the first of `authenticatePeerWith`.
 *   On Nak we take the peer's suggestion if we allow it, else the next method
 *   we have not tried; on Reject, or when no method is left, negotiation fails.
 * - As *peer* (client) we ack a request for a method in `acceptAuth` (EAP
 *   when `eap-mschap2` is in it) and Nak anything else with our strongest
 *   method; with an empty `acceptAuth` we Configure-Reject the option.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import type { AuthMethod } from "../auth/auth_types.ts";
import { decodeAuthProtocolOption, encodeAuthProtocolOption } from "../auth/auth_method.ts";
import { LCP_OPTION, PROTOCOL, PROTOCOL_NAME } from "../constants.ts";
import { ACK, nak, type OptionHandler, type OptionVerdict, REJECT } from "../option_handler.ts";

/** Options of {@linkcode AuthProtocolHandler}. */
export interface AuthProtocolOptions {
  /** Methods we require from the peer, preferred first (server); empty: none. */
  authenticatePeerWith?: readonly AuthMethod[];
  /** Methods we agree to authenticate ourselves with, strongest first (client). */
  acceptAuth?: readonly AuthMethod[];
}

const METHOD_LABEL: Readonly<Record<AuthMethod, string>> = {
  pap: "pap",
  chap: "chap-md5",
  mschap1: "mschap",
  mschap2: "mschap-v2",
  "eap-mschap2": "eap",
};

/** Renders Authentication-Protocol data, e.g. `auth mschap-v2`, `auth eap`. */
export function describeAuthProtocol(data: Uint8Array): string {
  const method = decodeAuthProtocolOption(data);
  if (method !== undefined) return `auth ${METHOD_LABEL[method]}`;
  if (data.length < 2) return `auth <len=${data.length}>`;
  const protocol = ((data[0] ?? 0) << 8) | (data[1] ?? 0);
  const name = PROTOCOL_NAME[protocol]?.toLowerCase() ??
    `0x${protocol.toString(16).padStart(4, "0")}`;
  return data.length > 2 && protocol === PROTOCOL.CHAP
    ? `auth chap-0x${(data[2] ?? 0).toString(16)}`
    : `auth ${name}`;
}

/** The Authentication-Protocol handler. */
export class AuthProtocolHandler implements OptionHandler {
  /** Authentication-Protocol, option 3 (RFC 1661 6.2). */
  readonly type: typeof LCP_OPTION.AUTH_PROTOCOL = LCP_OPTION.AUTH_PROTOCOL;
  readonly #authenticatePeerWith: readonly AuthMethod[];
  readonly #acceptAuth: readonly AuthMethod[];
  #refused = new Set<AuthMethod>();
  #wanted: AuthMethod | undefined;
  #authAsAuthenticator: AuthMethod | undefined;
  #authAsPeer: AuthMethod | undefined;

  /** A handler that requires `authenticatePeerWith` (server) and accepts `acceptAuth` (client); both empty by default. */
  constructor(options: AuthProtocolOptions = {}) {
    this.#authenticatePeerWith = [...(options.authenticatePeerWith ?? [])];
    this.#acceptAuth = [...(options.acceptAuth ?? [])];
    this.#wanted = this.#authenticatePeerWith[0];
  }

  /** Method we use to authenticate the peer (acked by the peer); server side. */
  get authAsAuthenticator(): AuthMethod | undefined {
    return this.#authAsAuthenticator;
  }
  /** Method we authenticate ourselves with (we acked the peer's request); client side. */
  get authAsPeer(): AuthMethod | undefined {
    return this.#authAsPeer;
  }

  request(): Uint8Array | undefined {
    return this.#wanted === undefined ? undefined : encodeAuthProtocolOption(this.#wanted);
  }
  onAck(data: Uint8Array): void {
    this.#authAsAuthenticator = decodeAuthProtocolOption(data);
  }
  onNak(data: Uint8Array, requested: boolean): ProtocolError | undefined {
    if (!requested || this.#wanted === undefined) return undefined;
    this.#refused.add(this.#wanted);
    const suggested = decodeAuthProtocolOption(data);
    const isAllowed = (m: AuthMethod) =>
      this.#authenticatePeerWith.includes(m) && !this.#refused.has(m);
    this.#wanted = suggested !== undefined && isAllowed(suggested)
      ? suggested
      : this.#authenticatePeerWith.find(isAllowed);
    if (this.#wanted !== undefined) return undefined;
    return new ProtocolError(
      "lcp",
      ERROR_CODE.AUTH_NEGOTIATION_FAILED,
      `Cannot negotiate authentication: the peer refused ${[...this.#refused].join(", ")}`,
    );
  }
  onReject(): ProtocolError | undefined {
    return new ProtocolError(
      "lcp",
      ERROR_CODE.AUTH_NEGOTIATION_FAILED,
      "Cannot negotiate authentication: the peer refuses to authenticate",
    );
  }
  onRequest(data: Uint8Array): OptionVerdict {
    const strongest = this.#acceptAuth[0];
    if (strongest === undefined) return REJECT;
    const method = decodeAuthProtocolOption(data);
    // Unknown methods decode to undefined and are Nak'd; EAP is Nak'd unless eap-mschap2 is allowed.
    if (method !== undefined && this.#acceptAuth.includes(method)) return ACK;
    return nak(encodeAuthProtocolOption(strongest));
  }
  onAckSent(data: Uint8Array): void {
    this.#authAsPeer = decodeAuthProtocolOption(data);
  }
  reset(): void {
    this.#refused = new Set();
    this.#wanted = this.#authenticatePeerWith[0];
    this.#authAsAuthenticator = undefined;
    this.#authAsPeer = undefined;
  }
  describe(data: Uint8Array): string {
    return describeAuthProtocol(data);
  }
}
