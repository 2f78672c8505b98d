/**
 * Certificate revocation lists (RFC 5280 5): issue one (`sstp cert crl`) and
 * check a certificate against CRLs given as files (RouterOS `crl-use`,
 * OpenSSL `-crl_check`).
 *
 * A check succeeds only with a CRL from the certificate's issuer whose
 * signature verifies against a trusted issuer certificate and that is
 * current; each other outcome has its own status so that the client can word
 * it as OpenSSL does.
 *
 * @module
 */

import { bufferSource, x509 } from "./_x509.ts";
import { type IssuerPem } from "./ca.ts";
import { importIssuerKey, signingAlgorithm } from "./_generate.ts";
import { decodePemBlocks, encodePem, leafCertificateDer } from "./pem.ts";

/** One certificate to revoke. */
export interface RevokedEntry {
  /** Serial number in hex (`0A1B…`, `0a:1b:…` or `0x0a1b…`). */
  serialNumber: string;
  /** When it was revoked (default: the CRL's `thisUpdate`). */
  revocationDate?: Date;
  /** RFC 5280 5.3.1 reason code (0-10, not 7). */
  reason?: number;
}

/** Options of {@linkcode createCrl}. */
export interface CreateCrlOptions {
  /** The CA that signs the CRL (it must be the issuer of the revoked certificates). */
  issuer: IssuerPem;
  /** Certificates to revoke (may be empty: a CRL saying nothing is revoked). */
  revoked: readonly RevokedEntry[];
  /** Issue time (default now). */
  thisUpdate?: Date;
  /** Days until `nextUpdate` (default 30). */
  days?: number;
  /** Overrides `days`. */
  nextUpdate?: Date;
  /** cRLNumber extension value (default: seconds since 1970, which only grows). */
  crlNumber?: bigint;
}

/** An issued CRL. */
export interface CrlResult {
  /** PEM `X509 CRL`. */
  crlPem: string;
  /** The DER. */
  crlDer: Uint8Array;
}

/** OID of the cRLNumber extension (RFC 5280 5.2.3). */
const ID_CE_CRL_NUMBER = "2.5.29.20";

/**
 * Normalises a serial number to lower-case hex without separators.
 *
 * @throws {TypeError} when `text` is not hex.
 */
export function normalizeSerialNumber(text: string): string {
  const hex = text.trim().replace(/^0x/i, "").replace(/[:\s]/g, "").toLowerCase();
  if (!/^[0-9a-f]{1,40}$/.test(hex)) {
    throw new TypeError(`Cannot parse serial number "${text}": expected up to 40 hex digits`);
  }
  let even = hex.length % 2 === 1 ? `0${hex}` : hex;
  // Drop redundant leading zero bytes (DER keeps one only before a byte with the top bit set).
  while (even.startsWith("00") && even.length > 2 && parseInt(even.slice(2, 3), 16) < 8) {
    even = even.slice(2);
  }
  return even;
}

/**
 * Issues a CRL signed by `issuer`, with authorityKeyIdentifier and cRLNumber
 * extensions as RFC 5280 5.2 requires of a conforming CA.
 *
 * @throws {TypeError} for a bad serial number, a duplicate or an issuer that is not a CA.
 * @throws {RangeError} for a bad validity or reason code.
 */
export async function createCrl(options: CreateCrlOptions): Promise<CrlResult> {
  const issuerCert = new x509.X509Certificate(leafCertificateDer(options.issuer.certPem));
  const constraints = issuerCert.getExtension(x509.BasicConstraintsExtension);
  if (constraints !== null && !constraints.ca) {
    throw new TypeError(
      `Cannot issue CRL: ${issuerCert.subject} is not a CA (basicConstraints CA:FALSE)`,
    );
  }
  const signingKey = await importIssuerKey(options.issuer.keyPem, issuerCert, "CRL");
  const thisUpdate = options.thisUpdate ?? new Date();
  const days = options.days ?? 30;
  if (!Number.isFinite(days) || days <= 0) {
    throw new RangeError(`Cannot issue CRL: days ${days} must be a positive number`);
  }
  const nextUpdate = options.nextUpdate ?? new Date(thisUpdate.getTime() + days * 86_400_000);
  if (nextUpdate.getTime() <= thisUpdate.getTime()) {
    throw new RangeError("Cannot issue CRL: nextUpdate must be later than thisUpdate");
  }
  const seen = new Set<string>();
  const entries = options.revoked.map((entry) => {
    const serialNumber = normalizeSerialNumber(entry.serialNumber);
    if (seen.has(serialNumber)) {
      throw new TypeError(`Cannot issue CRL: serial ${serialNumber} is listed twice`);
    }
    seen.add(serialNumber);
    const reason = entry.reason;
    if (
      reason !== undefined &&
      (!Number.isInteger(reason) || reason < 0 || reason > 10 || reason === 7)
    ) {
      throw new RangeError(`Cannot issue CRL: reason code ${reason} is not in RFC 5280 5.3.1`);
    }
    return {
      serialNumber,
      revocationDate: entry.revocationDate ?? thisUpdate,
      // Reason 0 (unspecified) is expressed by omitting the extension (RFC 5280 5.3.1).
      ...(reason ? { reason: reason as x509.X509CrlReason } : {}),
    };
  });
  const ski = issuerCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = ski !== null
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuerCert.subjectName,
    thisUpdate,
    nextUpdate,
    signingKey,
    signingAlgorithm: signingAlgorithm(signingKey.algorithm),
    extensions: [
      aki,
      new x509.Extension(
        ID_CE_CRL_NUMBER,
        false,
        encodeDerInteger(options.crlNumber ?? BigInt(Math.floor(thisUpdate.getTime() / 1000))),
      ),
    ],
    entries,
  });
  const crlDer = new Uint8Array(crl.rawData);
  return { crlPem: encodePem("X509 CRL", crlDer), crlDer };
}

/** DER of an INTEGER (non-negative). */
function encodeDerInteger(value: bigint): Uint8Array<ArrayBuffer> {
  if (value < 0n) throw new RangeError(`Cannot issue CRL: cRLNumber ${value} is negative`);
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 1), 16) >= 8) hex = `00${hex}`;
  const body = Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
  if (body.length > 20) throw new RangeError("Cannot issue CRL: cRLNumber exceeds 20 octets");
  return new Uint8Array([0x02, body.length, ...body]);
}

/**
 * DERs of the CRLs in a PEM text (`X509 CRL` blocks) or of a single DER CRL.
 *
 * @throws {TypeError} when the input holds no CRL or one does not parse.
 */
export function parseCrls(input: string | Uint8Array): Uint8Array<ArrayBuffer>[] {
  const ders = typeof input === "string"
    ? decodePemBlocks(input).filter((b) => b.label === "X509 CRL" || b.label === "CRL").map((b) =>
      b.der
    )
    : [bufferSource(input)];
  if (ders.length === 0) {
    throw new TypeError("Cannot read CRL: the PEM text holds no X509 CRL block");
  }
  for (const der of ders) {
    try {
      new x509.X509Crl(der);
    } catch (error) {
      throw new TypeError(`Cannot read CRL: ${error instanceof Error ? error.message : error}`, {
        cause: error,
      });
    }
  }
  return ders;
}

/** Outcome of {@linkcode checkRevocation}. */
export type RevocationStatus =
  | { status: "good"; crlIssuer: string; nextUpdate?: Date }
  | { status: "revoked"; serialNumber: string; revocationDate: Date; reason?: string }
  /** No CRL names the certificate's issuer. */
  | { status: "no-crl"; issuer: string }
  /** A CRL for the issuer exists but no trusted certificate of that issuer signed it. */
  | { status: "crl-issuer-unknown"; issuer: string }
  /** The CRL's signature does not verify with the issuer's key. */
  | { status: "crl-signature-invalid"; issuer: string }
  | { status: "crl-expired"; nextUpdate: Date }
  | { status: "crl-not-yet-valid"; thisUpdate: Date };

/** Input of {@linkcode checkRevocation}. */
export interface CheckRevocationOptions {
  /** The certificate to check. */
  certDer: Uint8Array;
  /** CRLs (DER). */
  crls: readonly Uint8Array[];
  /** Trusted certificates that may have signed the CRLs (CA bundle, verified chain). */
  issuers: readonly Uint8Array[];
  /** Time of the check, ms (default now). */
  now?: number;
}

/**
 * Checks `certDer` against the CRLs of its issuer. Every CRL naming the
 * issuer must verify and be current; the certificate is revoked when any of
 * them lists its serial number.
 */
export async function checkRevocation(options: CheckRevocationOptions): Promise<RevocationStatus> {
  const cert = new x509.X509Certificate(bufferSource(options.certDer));
  const now = options.now ?? Date.now();
  const issuerDer = cert.issuerName.toArrayBuffer();
  const sameName = (name: x509.Name) => bytesEqual(name.toArrayBuffer(), issuerDer);
  const crls = options.crls.map((der) => new x509.X509Crl(bufferSource(der))).filter((crl) =>
    sameName(crl.issuerName)
  );
  if (crls.length === 0) return { status: "no-crl", issuer: cert.issuer };
  const issuers = options.issuers.map((der) => new x509.X509Certificate(bufferSource(der)))
    .filter((candidate) => sameName(candidate.subjectName));
  if (issuers.length === 0) return { status: "crl-issuer-unknown", issuer: cert.issuer };
  let good: RevocationStatus | undefined;
  for (const crl of crls) {
    let verified = false;
    for (const issuer of issuers) {
      if (await crl.verify({ publicKey: issuer }).catch(() => false)) {
        verified = true;
        break;
      }
    }
    if (!verified) return { status: "crl-signature-invalid", issuer: crl.issuer };
    const entry = crl.findRevoked(cert);
    if (entry !== null) {
      const reason = entry.reason;
      return {
        status: "revoked",
        serialNumber: cert.serialNumber,
        revocationDate: entry.revocationDate,
        ...(reason === undefined ? {} : { reason: x509.X509CrlReason[reason] ?? String(reason) }),
      };
    }
    if (crl.thisUpdate.getTime() > now) {
      return { status: "crl-not-yet-valid", thisUpdate: crl.thisUpdate };
    }
    const nextUpdate = crl.nextUpdate;
    if (nextUpdate !== undefined && nextUpdate.getTime() < now) {
      return { status: "crl-expired", nextUpdate };
    }
    good ??= {
      status: "good",
      crlIssuer: crl.issuer,
      ...(nextUpdate === undefined ? {} : { nextUpdate }),
    };
  }
  return good ?? { status: "no-crl", issuer: cert.issuer };
}

function bytesEqual(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.every((v, i) => v === y[i]);
}

/** A CRL summarised for `sstp cert show`. */
export interface CrlSummary {
  /** Issuer DN. */
  issuer: string;
  /** Issue time, ISO 8601. */
  thisUpdate: string;
  /** Next issue time, ISO 8601, when given. */
  nextUpdate?: string;
  /** `"current"`, `"expired"` or `"not yet valid"` at `now`. */
  status: "current" | "expired" | "not yet valid";
  /** Revoked certificates. */
  revoked: { serialNumber: string; revocationDate: string; reason?: string }[];
}

/** Summarises a DER CRL as of `now` (ms, default the wall clock). */
export function summarizeCrl(crlDer: Uint8Array, now: number = Date.now()): CrlSummary {
  const crl = new x509.X509Crl(bufferSource(crlDer));
  const next = crl.nextUpdate;
  return {
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate.toISOString(),
    ...(next === undefined ? {} : { nextUpdate: next.toISOString() }),
    status: crl.thisUpdate.getTime() > now
      ? "not yet valid"
      : next !== undefined && next.getTime() < now
      ? "expired"
      : "current",
    revoked: crl.entries.map((entry) => {
      const reason = entry.reason;
      return {
        serialNumber: entry.serialNumber,
        revocationDate: entry.revocationDate.toISOString(),
        ...(reason === undefined ? {} : { reason: x509.X509CrlReason[reason] ?? String(reason) }),
      };
    }),
  };
}

/** Renders a CRL summary as `name: value` lines. */
export function formatCrlSummary(summary: CrlSummary): string[] {
  const lines = [
    `crl-issuer   ${summary.issuer}`,
    `this-update  ${summary.thisUpdate}`,
    `next-update  ${summary.nextUpdate ?? "(none)"} (${summary.status})`,
    `revoked      ${summary.revoked.length}`,
  ];
  for (const entry of summary.revoked) {
    lines.push(
      `  ${entry.serialNumber}  ${entry.revocationDate}${entry.reason ? `  ${entry.reason}` : ""}`,
    );
  }
  return lines;
}
