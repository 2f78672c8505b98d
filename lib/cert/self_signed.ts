/**
 * A self-signed server certificate for the zero-config server: RSA 2048 by
 * default (Windows SSTP clients need RSA over TLS 1.2:
 * docs/interop.md#tls-versions-and-key-types),
 * serverAuth EKU and SAN DNS/IP entries (Windows matches the dialled name).
 *
 * @module
 */

import {
  type CertificateAndKey,
  createLeafCertificate,
  type ExtendedKeyUsageName,
  type KeyType,
  type ValidityOptions,
} from "./_generate.ts";

export type { CertificateAndKey, KeyType };

/** Options of {@linkcode createSelfSignedServerCertificate}. */
export interface SelfSignedServerCertificateOptions extends ValidityOptions {
  /** Subject CN. */
  commonName: string;
  /** SAN DNS names (default: `[commonName]` when it is not an IP literal). */
  dnsNames?: readonly string[];
  /** SAN IP addresses. */
  ipAddresses?: readonly string[];
  /** Key type (default `"rsa2048"`). */
  keyType?: KeyType;
  /** Extended key usages (default `["serverAuth"]`). */
  extendedKeyUsages?: readonly ExtendedKeyUsageName[];
}

/**
 * Creates a self-signed end-entity server certificate and its PKCS#8 key.
 *
 * @throws {TypeError} for an empty common name or a malformed name or address.
 * @throws {RangeError} for a non-positive validity.
 */
export async function createSelfSignedServerCertificate(
  options: SelfSignedServerCertificateOptions,
): Promise<CertificateAndKey> {
  const dnsNames = options.dnsNames ??
    (/^[0-9.:]+$/.test(options.commonName) ? [] : [options.commonName]);
  return await createLeafCertificate({
    ...options,
    dnsNames,
    ipAddresses: options.ipAddresses ?? [],
    keyType: options.keyType ?? "rsa2048",
    extendedKeyUsages: options.extendedKeyUsages ?? ["serverAuth"],
  }, undefined);
}
