/**
 * What `tls-engine: openssl-worker` on `sstp serve` cannot do yet, so that
 * the server refuses to start with it instead of running without a check
 * the configuration asked for: client certificates (the Worker engine's
 * handshake does not request or verify them), the PROXY protocol and TLS
 * offload (neither listener hands a raw OpenSSL socket to a Worker).
 *
 * @module
 */
import type { SstpServerConfig } from "../config/server_config.ts";

/** The settings of `s` the openssl-worker engine does not support (empty: none). */
export function openSslWorkerUnsupported(
  s: Pick<SstpServerConfig, "tls" | "verifyClientCertificate" | "proxyProtocol">,
): string[] {
  const out: string[] = [];
  if (!s.tls) out.push("tls: no (TLS offload)");
  if (s.verifyClientCertificate) out.push("verify-client-certificate: yes");
  if (s.proxyProtocol !== "no") out.push(`proxy-protocol: ${s.proxyProtocol}`);
  return out;
}
