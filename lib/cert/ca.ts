/**
 * A small certificate authority: create a root CA and issue server and
 * client certificates signed by it (the base of `sstp cert`).
 *
 * @module
 */

import { x509 } from "./_x509.ts";
import {
  type CertificateAndKey,
  createLeafCertificate,
  dnValue,
  type ExtendedKeyUsageName,
  generateKeyPair,
  importIssuerKey,
  type IssuerPem,
  type KeyType,
  packCertificate,
  randomSerialNumber,
  signingAlgorithm,
  validity,
  type ValidityOptions,
} from "./_generate.ts";
import { leafCertificateDer } from "./pem.ts";

export type { CertificateAndKey, ExtendedKeyUsageName, IssuerPem, KeyType, ValidityOptions };

/** Options of {@linkcode createCertificateAuthority}. */
export interface CertificateAuthorityOptions extends ValidityOptions {
  /** Subject CN of the CA. */
  commonName: string;
  /** Key type (default `"rsa2048"`). */
  keyType?: KeyType;
  /** Signing CA for an intermediate; default: self-signed root. */
  issuer?: IssuerPem;
}

/**
 * Creates a CA certificate (basicConstraints CA:TRUE, keyCertSign and
 * cRLSign), valid 3650 days by default: a self-signed root, or an
 * intermediate when `options.issuer` is given.
 */
export async function createCertificateAuthority(
  options: CertificateAuthorityOptions,
): Promise<CertificateAndKey> {
  const { notBefore, notAfter } = validity(options, 3650);
  const keys = await generateKeyPair(options.keyType ?? "rsa2048");
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const name = `CN=${dnValue(options.commonName)}`;
  const serialNumber = randomSerialNumber();
  if (options.issuer === undefined) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber,
      name,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: signingAlgorithm(keys.privateKey.algorithm),
      extensions,
    });
    return await packCertificate(cert, keys.privateKey);
  }
  const issuerCert = new x509.X509Certificate(leafCertificateDer(options.issuer.certPem));
  const signingKey = await importIssuerKey(options.issuer.keyPem, issuerCert, "CA certificate");
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: name,
    issuer: issuerCert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: signingAlgorithm(signingKey.algorithm),
    extensions,
  });
  return await packCertificate(cert, keys.privateKey);
}

/** Options of {@linkcode issueCertificate}. */
export interface IssueCertificateOptions extends ValidityOptions {
  /** The signing CA. */
  issuer: IssuerPem;
  /** Subject CN. */
  commonName: string;
  /** SAN DNS names (default: none). */
  dnsNames?: readonly string[];
  /** SAN IP addresses (default: none). */
  ipAddresses?: readonly string[];
  /** `"server"` (serverAuth) or `"client"` (clientAuth); sets the EKU. */
  usage: "server" | "client";
  /** Overrides the EKU list implied by `usage`. */
  extendedKeyUsages?: readonly ExtendedKeyUsageName[];
  /** Key type of the new certificate (default `"rsa2048"`). */
  keyType?: KeyType;
}

/**
 * Issues an end-entity certificate signed by `issuer`.
 *
 * @throws {TypeError} when the issuer PEM holds no certificate or no PKCS#8 key
 *   of that certificate, or for an empty common name or a malformed name or address.
 * @throws {RangeError} for a non-positive validity.
 */
export async function issueCertificate(
  options: IssueCertificateOptions,
): Promise<CertificateAndKey> {
  return await createLeafCertificate({
    ...options,
    dnsNames: options.dnsNames ?? [],
    ipAddresses: options.ipAddresses ?? [],
    keyType: options.keyType ?? "rsa2048",
    extendedKeyUsages: options.extendedKeyUsages ??
      (options.usage === "server" ? ["serverAuth"] : ["clientAuth"]),
  }, options.issuer);
}
