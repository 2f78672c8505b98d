/**
 * Host-name matching over already-extracted certificate names (the rules are
 * described in `names.ts`). Kept free of `@peculiar/x509` so that the client's
 * connect path can match names without loading it (see `leaf_fields.ts`).
 *
 * @module
 */

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

/** True when `host` (a DNS name or an IP literal, as dialled) is named by `names`. */
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
