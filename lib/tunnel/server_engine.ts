/**
 * The server session engine: SSTP server machine (MS-SSTP 3.3) + PPP link in
 * the authenticator role. Pure; addresses come from an injected function so
 * pools and secrets stay outside. See {@linkcode SessionEngine}.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { CertHashes } from "../sstp/crypto_binding.ts";
import { SstpServerStateMachine } from "../sstp/server_state.ts";
import { type AddressAssignment, PppLink } from "../ppp/link.ts";
import { createAuthAuthenticator } from "../ppp/auth/create_auth.ts";
import type { AuthMethod, PasswordLookup, RandomBytes } from "../ppp/auth/auth_types.ts";
import type { RemoteAuthenticate } from "../ppp/auth/remote_auth.ts";
import type { RemoteEap } from "../ppp/auth/eap_relay.ts";
import type { ProtocolError } from "../errors.ts";
import { SessionEngine } from "./session_engine.ts";
import type { FlagOptions } from "../ppp/lcp/_flag_option.ts";
import { pickDefined } from "../ppp/_pick.ts";

/** Options of {@linkcode createServerEngine}. */
export interface ServerEngineOptions {
  /** Hashes of the certificate this connection was served with. */
  certHashes: CertHashes;
  /** Methods offered, preferred first (RouterOS `authentication`). */
  authentication: readonly AuthMethod[];
  /** Local secrets: a user's plain-text password, or undefined when unknown. */
  lookupPassword: PasswordLookup;
  /** RADIUS hook: asked about users `lookupPassword` does not know (`ppp-aaa use-radius`). */
  remoteAuthenticate?: RemoteAuthenticate;
  /** RADIUS hook for EAP (RFC 3579): relays EAP of users `lookupPassword` does not know. */
  remoteEap?: RemoteEap;
  /** Addresses for an authenticated user, or why not. */
  assignAddresses(user: string): AddressAssignment | ProtocolError;
  /** Our name in CHAP challenges. */
  serverName: string;
  /** Hello timer (RouterOS `keepalive-timeout`); null disables it. */
  helloMs: number | null;
  /** Negotiation timer override (MS-SSTP 3.3.2.1; default 60 s). */
  negotiationMs?: number;
  /** Hash protocols offered in Call Connect Ack (default 3: SHA-1 and SHA-256). */
  hashBitmask?: number;
  /** Our MRU in bytes (RouterOS `max-mru`). */
  mru?: number;
  /** Interface MTU cap in bytes (RouterOS `max-mtu`). */
  maxMtu?: number;
  /** Multilink MRRU (RouterOS `mrru`, RFC 1990); undefined: no multilink. */
  mrru?: number;
  /** LCP PFC policy (default: do not request, accept the peer's). */
  pfc?: FlagOptions;
  /** LCP ACFC policy (default: do not request, accept the peer's). */
  acfc?: FlagOptions;
  /** Deadline from authentication to link-up in ms (RouterOS-style `link-up-timeout`). */
  linkUpMs?: number;
  /** Called at once when the peer fails to authenticate (login throttling). */
  onAuthFailure?: (error: ProtocolError) => void;
  /** Run BCP and bridge Ethernet frames (RouterOS `bridge`); default false. */
  bridge?: boolean | (() => boolean);
  /**
   * Run IPV6CP (RFC 5072) when the peer offers it; default false
   * (Protocol-Reject). A function is asked once the user has authenticated
   * (per profile): false rejects IPV6CP, an object runs it.
   */
  ipv6?: boolean | (() => false | { interfaceId?: Uint8Array });
  /** A fixed Interface-Identifier to request (8 non-zero bytes); default random. */
  ipv6InterfaceId?: Uint8Array;
  /** Source of nonces, challenges and magic numbers (tests inject a seeded one). */
  randomBytes: RandomBytes;
  /** Where protocol steps and failures of this session are logged. */
  logger: Logger;
}

/** Creates a server engine for one accepted connection. */
export function createServerEngine(options: ServerEngineOptions): SessionEngine {
  const sstp = new SstpServerStateMachine({
    certHashes: options.certHashes,
    randomBytes: options.randomBytes,
    helloMs: options.helloMs,
    ...(options.negotiationMs !== undefined ? { negotiationMs: options.negotiationMs } : {}),
    ...(options.hashBitmask !== undefined ? { hashBitmask: options.hashBitmask } : {}),
  });
  const link = new PppLink({
    role: "server",
    authenticateWith: options.authentication,
    lookupPassword: options.lookupPassword,
    createAuthenticator: createAuthAuthenticator,
    ...(options.remoteAuthenticate ? { remoteAuthenticate: options.remoteAuthenticate } : {}),
    ...(options.remoteEap ? { remoteEap: options.remoteEap } : {}),
    serverName: options.serverName,
    assignAddresses: options.assignAddresses,
    randomBytes: options.randomBytes,
    logger: options.logger,
    ...(options.mru !== undefined ? { mru: options.mru } : {}),
    ...(options.bridge !== undefined ? { bridge: options.bridge } : {}),
    ...(options.ipv6 !== undefined ? { ipv6: options.ipv6 } : {}),
    ...(options.ipv6InterfaceId !== undefined ? { ipv6InterfaceId: options.ipv6InterfaceId } : {}),
    ...pickDefined(options, ["mrru", "pfc", "acfc"]),
  });
  return new SessionEngine({
    sstp,
    link,
    logger: options.logger,
    ...(options.maxMtu !== undefined ? { maxMtu: options.maxMtu } : {}),
    ...(options.linkUpMs !== undefined ? { linkUpMs: options.linkUpMs } : {}),
    ...(options.onAuthFailure !== undefined ? { onAuthFailure: options.onAuthFailure } : {}),
  });
}
