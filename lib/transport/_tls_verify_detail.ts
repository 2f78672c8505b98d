/**
 * The detailed half of the client's server-certificate check, loaded by
 * `tls_client.ts` with a dynamic `import()` only when a check failed (to word
 * the precise reason: expired intermediate, untrusted issuer, the EKUs the
 * leaf has) or when CRLs are configured. It needs `@peculiar/x509`, whose
 * import costs ~350 ms of `sstp connect` start-up (bench/README.md).
 *
 * @module
 */

import * as tls from "node:tls";
import { bufferSource, x509 } from "../cert/_x509.ts";
import { checkRevocation } from "../cert/crl.ts";
import { splitPemBundle } from "../cert/pem.ts";
import { EKU_NAMES } from "../cert/inspect.ts";
import {
  certificateError,
  mapVerifyErrorCode,
  SERVER_PURPOSES,
  type TlsCertErrorCode,
} from "./tls_errors.ts";

/** Checks the leaf against the CRLs (see `DialTlsOptions.crlPem` in tls_client.ts). */
export async function verifyNotRevoked(
  socket: tls.TLSSocket,
  leaf: Uint8Array,
  caPem: string | undefined,
  crls: Uint8Array[],
): Promise<void> {
  const issuers: Uint8Array[] = caPem === undefined
    ? tls.rootCertificates.flatMap((pem) => splitPemBundle(pem).certificates)
    : splitPemBundle(caPem).certificates;
  // Chain certificates the server sent count only once the chain verified.
  if (socket.authorized) issuers.push(...peerChainDers(socket).slice(1));
  const result = await checkRevocation({ certDer: leaf, crls, issuers });
  switch (result.status) {
    case "good":
      return;
    case "revoked":
      throw certificateError(
        "TLS_CERT_REVOKED",
        `serial ${result.serialNumber}, revoked ${result.revocationDate.toISOString()}${
          result.reason === undefined ? "" : `, reason ${result.reason}`
        }`,
      );
    case "no-crl":
      throw certificateError("TLS_CERT_CRL_MISSING", `no CRL from ${result.issuer}`);
    case "crl-issuer-unknown":
      throw certificateError("TLS_CERT_CRL_ISSUER_UNKNOWN", `CRL issuer ${result.issuer}`);
    case "crl-signature-invalid":
      throw certificateError("TLS_CERT_CRL_SIGNATURE", `CRL issuer ${result.issuer}`);
    case "crl-expired":
      throw certificateError(
        "TLS_CERT_CRL_EXPIRED",
        `next update was ${result.nextUpdate.toISOString()}`,
      );
    case "crl-not-yet-valid":
      throw certificateError(
        "TLS_CERT_CRL_NOT_YET_VALID",
        `issued for ${result.thisUpdate.toISOString()}`,
      );
    default: {
      const never: never = result;
      throw new TypeError(`Cannot check revocation: unexpected result ${JSON.stringify(never)}`);
    }
  }
}

/** DERs of the certificates node:tls reports for the peer, leaf first. */
function peerChainDers(socket: tls.TLSSocket): Uint8Array[] {
  const ders: Uint8Array[] = [];
  const seen = new Set<unknown>();
  // null once the peer has closed the socket (the detail module is loaded
  // with import(), so the socket may be gone by now): then no chain.
  let cert: tls.DetailedPeerCertificate | null | undefined = socket.getPeerCertificate(true);
  while (
    cert !== null && cert !== undefined && cert.raw !== undefined && cert.raw !== null &&
    !seen.has(cert)
  ) {
    seen.add(cert);
    if (cert.raw.byteLength > 0) ders.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return ders;
}

/** A classified certificate problem: code and the detail that helps. */
export type CertProblem = [TlsCertErrorCode, string | undefined];

/**
 * Picks the precise reason for a chain failure: rustls reports most of them
 * as UNABLE_TO_VERIFY_LEAF_SIGNATURE, so the dates and purpose of the leaf
 * and the dates of the CA certificates the server sent are checked here.
 */
export function classifyChain(
  socket: tls.TLSSocket,
  leaf: Uint8Array,
  reportedCode: string | undefined,
): CertProblem {
  const mapped = mapVerifyErrorCode(reportedCode);
  if (mapped === "TLS_CERT_SELF_SIGNED") return [mapped, undefined];
  const problem = leafProblem(leaf);
  if (problem !== undefined) return problem;
  const chain = peerChainDers(socket).slice(1).map((der) => parseCertificate(der));
  for (const cert of chain) {
    if (cert === undefined) continue;
    const dates = dateProblem(cert, `CA ${cert.subject} `);
    if (dates !== undefined) return dates;
  }
  if (mapped === "TLS_CERT_UNKNOWN_ISSUER") {
    const top = chain.at(-1) ?? parseCertificate(leaf);
    return [mapped, top === undefined ? undefined : `issuer ${top.issuer} is not trusted`];
  }
  return [mapped, undefined];
}

function parseCertificate(der: Uint8Array): x509.X509Certificate | undefined {
  try {
    return new x509.X509Certificate(bufferSource(der));
  } catch {
    return undefined;
  }
}

function dateProblem(cert: x509.X509Certificate, who: string): CertProblem | undefined {
  const now = Date.now();
  if (now > cert.notAfter.getTime()) {
    return ["TLS_CERT_EXPIRED", `${who}expired ${cert.notAfter.toISOString()}`];
  }
  if (now < cert.notBefore.getTime()) {
    return ["TLS_CERT_NOT_YET_VALID", `${who}valid from ${cert.notBefore.toISOString()}`];
  }
  return undefined;
}

/** Dates and purpose of the leaf itself. */
export function leafProblem(leaf: Uint8Array): CertProblem | undefined {
  const cert = parseCertificate(leaf);
  if (cert === undefined) return ["TLS_CERT_INVALID", "the leaf does not parse"];
  const dates = dateProblem(cert, "");
  if (dates !== undefined) return dates;
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku !== null && !eku.usages.some((usage) => SERVER_PURPOSES.has(String(usage)))) {
    return [
      "TLS_CERT_PURPOSE",
      `extended key usage ${
        Array.from(eku.usages, (u) => EKU_NAMES[String(u)] ?? String(u)).join(", ")
      } lacks serverAuth`,
    ];
  }
  return undefined;
}
