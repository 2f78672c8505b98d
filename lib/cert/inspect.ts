/**
 * A certificate summarised for people (`sstp cert show`): names, validity
 * with days left, SANs, extended key usages, key, serial and the SHA-1 and
 * SHA-256 fingerprints of the DER (the values the SSTP crypto binding
 * hashes, MS-SSTP 2.2.7).
 *
 * @module
 */

import { bufferSource, x509 } from "./_x509.ts";
import { certificateFingerprint, formatFingerprint } from "./fingerprint.ts";
import { certificateKeyInfo, formatKeyInfo, type PublicKeyInfo } from "./key_info.ts";

/** Names of the extended key usages we know (RFC 5280 4.2.1.12, MS-SSTP 3.2.4.1). */
export const EKU_NAMES: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "serverAuth",
  "1.3.6.1.5.5.7.3.2": "clientAuth",
  "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  "1.3.6.1.5.5.7.3.9": "OCSPSigning",
  "1.3.6.1.5.5.7.3.17": "ipsecIKE",
  "2.5.29.37.0": "anyExtendedKeyUsage",
};

/** Everything `sstp cert show` prints about one certificate. */
export interface CertificateSummary {
  /** Subject DN (RFC 4514). */
  subject: string;
  /** Issuer DN. */
  issuer: string;
  /** Serial number, lower-case hex without leading zeros beyond one byte. */
  serialNumber: string;
  /** Start of validity, ISO 8601. */
  notBefore: string;
  /** End of validity, ISO 8601. */
  notAfter: string;
  /** Whole days from `now` to `notAfter` (negative once expired). */
  expiresInDays: number;
  /** `"valid"`, `"expired"` or `"not yet valid"` at `now`. */
  status: "valid" | "expired" | "not yet valid";
  /** basicConstraints CA flag. */
  isCa: boolean;
  /** Subject and issuer are the same name. */
  selfIssued: boolean;
  /** SAN dNSName entries. */
  dnsNames: string[];
  /** SAN iPAddress entries. */
  ipAddresses: string[];
  /** Extended key usages by name (OID when unknown); empty when the extension is absent. */
  extendedKeyUsages: string[];
  /** Public key. */
  key: PublicKeyInfo;
  /** SHA-1 of the DER, `sha1:HEX`. */
  sha1: string;
  /** SHA-256 of the DER, `sha256:HEX`. */
  sha256: string;
}

const DAY_MS = 86_400_000;

/** Summarises a DER certificate as of `now` (milliseconds, default the wall clock). */
export function summarizeCertificate(
  certDer: Uint8Array,
  now: number = Date.now(),
): CertificateSummary {
  const cert = new x509.X509Certificate(bufferSource(certDer));
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const name of cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []) {
    if (name.type === "dns") dnsNames.push(name.value);
    if (name.type === "ip") ipAddresses.push(name.value);
  }
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const notBefore = cert.notBefore.getTime();
  const notAfter = cert.notAfter.getTime();
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    expiresInDays: Math.floor((notAfter - now) / DAY_MS),
    status: now > notAfter ? "expired" : now < notBefore ? "not yet valid" : "valid",
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    selfIssued: cert.subject === cert.issuer,
    dnsNames,
    ipAddresses,
    extendedKeyUsages: Array.from(
      eku?.usages ?? [],
      (oid) => EKU_NAMES[String(oid)] ?? String(oid),
    ),
    key: certificateKeyInfo(certDer),
    sha1: formatFingerprint(certificateFingerprint(certDer, "sha1"), "sha1"),
    sha256: formatFingerprint(certificateFingerprint(certDer, "sha256"), "sha256"),
  };
}

/** Renders a summary as aligned `name: value` lines. */
export function formatCertificateSummary(summary: CertificateSummary): string[] {
  const days = summary.expiresInDays;
  const validity = summary.status === "expired"
    ? `expired ${-days} day${-days === 1 ? "" : "s"} ago`
    : summary.status === "not yet valid"
    ? "not yet valid"
    : `expires in ${days} day${days === 1 ? "" : "s"}`;
  const sans = [
    ...summary.dnsNames.map((n) => `DNS:${n}`),
    ...summary.ipAddresses.map((n) => `IP:${n}`),
  ];
  const rows: [string, string][] = [
    ["subject", summary.subject],
    ["issuer", summary.issuer + (summary.selfIssued ? " (self-signed)" : "")],
    ["serial", summary.serialNumber],
    ["not-before", summary.notBefore],
    ["not-after", `${summary.notAfter} (${validity})`],
    ["ca", summary.isCa ? "yes" : "no"],
    ["san", sans.length > 0 ? sans.join(", ") : "(none)"],
    [
      "eku",
      summary.extendedKeyUsages.length > 0 ? summary.extendedKeyUsages.join(", ") : "(any)",
    ],
    ["key", formatKeyInfo(summary.key)],
    ["sha1", summary.sha1],
    ["sha256", summary.sha256],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`);
}
