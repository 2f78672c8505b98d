/**
 * Test support: the real client stack (client engine and runner) over an
 * in-memory transport and TUN, for server tests that log in without sockets.
 *
 * @module
 */
import { createClientEngine } from "../../lib/tunnel/client_engine.ts";
import { TunnelRunner } from "../../lib/pipeline/runner.ts";
import { certHashes } from "../../lib/sstp/crypto_binding.ts";
import { systemClock } from "../../lib/clock.ts";
import { NOOP_LOGGER } from "../../lib/log.ts";
import type { AuthMethod } from "../../lib/ppp/auth/auth_types.ts";
import type { MemoryTun } from "./memory_tun.ts";
import { seededRandomBytes } from "./xorshift.ts";

/** Who logs in, and against which server certificate. */
export interface MemoryClientOptions {
  /** The server certificate (DER) the crypto binding hashes. */
  cert: Uint8Array;
  /** User name. */
  user: string;
  /** Password. */
  password: string;
  /** Authentication method; default mschap2. */
  method?: AuthMethod;
  /** Seed of the client's random bytes (nonces, challenges). */
  seed: number;
  /** Negotiates IPV6CP too (its IPv6 packets, RAs included, go to `tun`). */
  ipv6?: boolean;
}

/** A client runner that writes its link's packets to `tun` once the link is up. */
export function memoryClient(
  transport: ConstructorParameters<typeof TunnelRunner>[0]["transport"],
  tun: MemoryTun,
  o: MemoryClientOptions,
): TunnelRunner {
  return new TunnelRunner({
    engine: createClientEngine({
      certHashes: certHashes(o.cert),
      user: o.user,
      password: o.password,
      authentication: [o.method ?? "mschap2"],
      helloMs: 60_000,
      randomBytes: seededRandomBytes(o.seed),
      logger: NOOP_LOGGER,
      ...(o.ipv6 ? { ipv6: true } : {}),
    }),
    transport,
    clock: systemClock,
    logger: NOOP_LOGGER,
    onLinkUp: () => Promise.resolve(tun),
  });
}
