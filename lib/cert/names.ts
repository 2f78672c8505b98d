/**
 * Does a certificate name the host we dialled? RFC 6125 rules as RouterOS's
 * `verify-server-address-from-certificate` and browsers apply them:
 * - an IP literal matches only a SAN iPAddress entry;
 * - a DNS name matches a SAN dNSName, where `*` may stand for exactly one
 *   whole left-most label (`*.example.com` matches `a.example.com`, not
 *   `example.com` nor `a.b.example.com`);
 * - the subject CN is consulted only when the certificate has no DNS or IP
 *   SAN at all (RFC 6125; sstpc checks only the CN:
 *   docs/interop.md#server-name-checks).
 *
 * @module
 */

import { bufferSource, x509 } from "./_x509.ts";
import { parseIpAddress } from "./_ip.ts";
import { type CertificateNames, hostMatchesNames } from "./_host_match.ts";

export { type CertificateNames, hostMatchesNames };

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
