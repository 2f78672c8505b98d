/**
 * Does a certificate name the host we dialled? RFC 6125 rules as RouterOS's
 * `verify-server-address-from-certificate` and browsers apply them:
 * - an IP literal matches only a SAN iPAddress entry;
 * - a DNS name matches a SAN dNSName, where `*` may stand for exactly one
 *   whole left-most label (`*.example.com` matches `a.example.com`, not
 *   `example.com` nor `a.b.example.com`);
 * - the subject CN is consulted only when the certificate has no DNS or IP
 *   SAN at all (sstpc checks only the CN; NOTES.md 4.2 item 9).
 *
 * @module
 */

import { bufferSource, x509 } from "./_x509.ts";
import { parseIpAddress } from "./_ip.ts";

/** The names a certificate is issued for. */
export interface CertificateNames {
  /** SAN dNSName entries, lower-case. */
  dnsNames: string[];
  /** SAN iPAddress entries, as 4 or 16 bytes. */
  ipAddresses: Uint8Array[];
  /** Subject commonName values. */
  commonNames: string[];
}

/** Reads the SAN DNS and IP entries and the subject CN of a DER certificate. */
export function certificateNames(certDer: Uint8Array): CertificateNames {
  const cert = new x509.X509Certificate(bufferSource(certDer));
  const names: CertificateNames = { dnsNames: [], ipAddresses: [], commonNames: [] };
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  for (const name of san?.names.items ?? []) {
    if (name.type === "dns") names.dnsNames.push(name.value.toLowerCase());
    if (name.type === "ip") {
      const bytes = parseIpAddress(name.value);
      if (bytes !== undefined) names.ipAddresses.push(bytes);
    }
  }
  names.commonNames = cert.subjectName.getField("CN");
  return names;
}

/**
 * True when `host` (a DNS name or an IP literal, as dialled) is named by the
 * certificate.
 *
 * @example
 * ```ts
 * import { hostMatchesNames } from "./names.ts";
 * const names = { dnsNames: ["*.vpn.example"], ipAddresses: [], commonNames: [] };
 * if (!hostMatchesNames(names, "gw.vpn.example")) throw new Error();
 * if (hostMatchesNames(names, "vpn.example")) throw new Error();
 * ```
 */
export function certificateMatchesHost(certDer: Uint8Array, host: string): boolean {
  return hostMatchesNames(certificateNames(certDer), host);
}

/** {@linkcode certificateMatchesHost} over already-extracted names. */
export function hostMatchesNames(names: CertificateNames, host: string): boolean {
  const ip = parseIpAddress(host);
  const hasSan = names.dnsNames.length > 0 || names.ipAddresses.length > 0;
  if (ip !== undefined) {
    if (hasSan) return names.ipAddresses.some((entry) => bytesEqual(entry, ip));
    return names.commonNames.some((cn) => {
      const cnIp = parseIpAddress(cn);
      return cnIp !== undefined && bytesEqual(cnIp, ip);
    });
  }
  const wanted = host.toLowerCase().replace(/\.$/, "");
  if (wanted === "") return false;
  const candidates = hasSan ? names.dnsNames : names.commonNames.map((cn) => cn.toLowerCase());
  return candidates.some((pattern) => dnsNameMatches(pattern.replace(/\.$/, ""), wanted));
}

function dnsNameMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === host;
  const suffix = pattern.slice(1); // ".example.com"
  // The wildcard stands for one whole label and needs at least two labels after it.
  if (suffix.split(".").length < 3) return false;
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, host.length - suffix.length);
  return label.length > 0 && !label.includes(".");
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
