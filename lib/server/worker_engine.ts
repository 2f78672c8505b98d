/**
 * What `tls-engine: openssl-worker` on `sstp serve` cannot do yet, so that
 * the server refuses to start with it instead of running without a check
 * the configuration asked for: the PROXY protocol and TLS offload (neither
 * listener hands a raw OpenSSL socket to a Worker), and `interface-mode:
 * shared` (a Worker reads a session's own TUN device; shared-mode ports
 * have none). Client certificates
 * (`verify-client-certificate`) are verified by the engine's OpenSSL.
 *
 * @module
 */
import type { SstpServerConfig } from "../config/server_config.ts";

/** The settings of `s` the openssl-worker engine does not support (empty: none). */
export function openSslWorkerUnsupported(
  s:
    & Pick<SstpServerConfig, "tls" | "proxyProtocol">
    & Partial<Pick<SstpServerConfig, "interfaceMode">>,
): string[] {
  const out: string[] = [];
  if (!s.tls) out.push("tls: no (TLS offload)");
  if (s.proxyProtocol !== "no") out.push(`proxy-protocol: ${s.proxyProtocol}`);
  if (s.interfaceMode === "shared") out.push("interface-mode: shared");
  return out;
}
