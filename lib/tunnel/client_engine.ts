/**
 * The client session engine: SSTP client machine (MS-SSTP 3.2) + PPP link in
 * the peer role. Pure; see {@linkcode SessionEngine}.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { CertHashes } from "../sstp/crypto_binding.ts";
import { SstpClientStateMachine } from "../sstp/client_state.ts";
import { PppLink } from "../ppp/link.ts";
import type { AuthMethod, RandomBytes } from "../ppp/auth/auth_types.ts";
import { SessionEngine } from "./session_engine.ts";
import type { FlagOptions } from "../ppp/lcp/_flag_option.ts";
import { pickDefined } from "../ppp/_pick.ts";

/** Options of {@linkcode createClientEngine}. */
export interface ClientEngineOptions {
  /** Hashes of the server leaf certificate of THIS TLS connection. */
  certHashes: CertHashes;
  /** User name to authenticate as. */
  user: string;
  /** Plain-text password (never logged). */
  password: string;
  /** Allowed methods (RouterOS `authentication`). */
  authentication: readonly AuthMethod[];
  /** Hello timer (RouterOS `keepalive-timeout`); null disables it. */
  helloMs: number | null;
  /** Our MRU (RouterOS `max-mru`). */
  mru?: number;
  /** Interface MTU cap (RouterOS `max-mtu`). */
  maxMtu?: number;
  /** Multilink MRRU (RouterOS `mrru`, RFC 1990); undefined: no multilink. */
  mrru?: number;
  /** LCP PFC policy (default: do not request, accept the peer's). */
  pfc?: FlagOptions;
  /** LCP ACFC policy (default: do not request, accept the peer's). */
  acfc?: FlagOptions;
  /** Ask for DNS servers (default true). */
  requestDns?: boolean;
  /** The server's IP address: an IPCP address equal to it is refused. */
  serverAddress?: string;
  /** Run BCP and bridge Ethernet frames (RouterOS `bridge`); default false. */
  bridge?: boolean | (() => boolean);
  /** Run IPV6CP (RFC 5072) when the peer offers it; default false (Protocol-Reject). */
  ipv6?: boolean;
  /** A fixed Interface-Identifier to request (8 non-zero bytes); default random. */
  ipv6InterfaceId?: Uint8Array;
  /** Source of nonces, challenges and magic numbers (tests inject a seeded one). */
  randomBytes: RandomBytes;
  /** Where protocol steps and failures of this session are logged. */
  logger: Logger;
}

/**
 * Creates a client engine.
 *
 * @example
 * ```ts
 * import { createClientEngine } from "./client_engine.ts";
 * import { NOOP_LOGGER } from "../log.ts";
 * const engine = createClientEngine({
 *   certHashes: { sha1: new Uint8Array(20), sha256: new Uint8Array(32) },
 *   user: "u", password: "p", authentication: ["mschap2"], helloMs: 60_000,
 *   randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)), logger: NOOP_LOGGER,
 * });
 * const actions = engine.handle({ type: "start" }, 0);
 * if (actions[0]?.type !== "send") throw new Error();
 * ```
 */
export function createClientEngine(options: ClientEngineOptions): SessionEngine {
  const sstp = new SstpClientStateMachine({
    certHashes: options.certHashes,
    helloMs: options.helloMs,
  });
  const link = new PppLink({
    role: "client",
    user: options.user,
    password: options.password,
    acceptAuth: options.authentication,
    requestDns: options.requestDns ?? true,
    randomBytes: options.randomBytes,
    logger: options.logger,
    ...(options.mru !== undefined ? { mru: options.mru } : {}),
    ...(options.bridge !== undefined ? { bridge: options.bridge } : {}),
    ...(options.ipv6 ? { ipv6: true } : {}),
    ...(options.ipv6InterfaceId !== undefined ? { ipv6InterfaceId: options.ipv6InterfaceId } : {}),
    ...pickDefined(options, ["mrru", "pfc", "acfc"]),
  });
  return new SessionEngine({
    sstp,
    link,
    logger: options.logger,
    ...(options.maxMtu !== undefined ? { maxMtu: options.maxMtu } : {}),
    ...(options.serverAddress !== undefined ? { serverAddress: options.serverAddress } : {}),
  });
}
