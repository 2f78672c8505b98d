/**
 * What `tls-engine: openssl-worker` on `sstp serve` cannot do yet, so that
 * the server refuses to start with it instead of running without a check
 * the configuration asked for: the PROXY protocol and TLS offload (neither
 * listener hands a raw OpenSSL socket to a Worker). Client certificates
 * (`verify-client-certificate`) are verified by the engine's OpenSSL.
 *
 * @module
 */
import type { SstpServerConfig } from "../config/server_config.ts";

/** The settings of `s` the openssl-worker engine does not support (empty: none). */
export function openSslWorkerUnsupported(
  s: Pick<SstpServerConfig, "tls" | "proxyProtocol">,
): string[] {
  const out: string[] = [];
  if (!s.tls) out.push("tls: no (TLS offload)");
  if (s.proxyProtocol !== "no") out.push(`proxy-protocol: ${s.proxyProtocol}`);
  return out;
}
