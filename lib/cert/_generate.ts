/**
 * Shared pieces of certificate creation: key generation, PKCS#8 export,
 * leaf extensions and serial numbers.
 *
 * @module
 */

import { x509 } from "./_x509.ts";
import { decodePemBlocks, encodePem, leafCertificateDer } from "./pem.ts";
import { isIpAddress } from "./_ip.ts";

/**
 * Key types we create. RSA 2048 is the default: Windows SSTP clients need RSA
 * over TLS 1.2. `rsa<bits>` asks for another modulus length (at least
 * {@linkcode MIN_RSA_BITS}, a multiple of 8).
 */
export type KeyType =
  | "rsa2048"
  | "rsa3072"
  | "rsa4096"
  | "ecdsa-p256"
  | "ecdsa-p384"
  | `rsa${number}`;

/** The key types offered on the command line. */
export const KEY_TYPES: readonly KeyType[] = [
  "rsa2048",
  "rsa3072",
  "rsa4096",
  "ecdsa-p256",
  "ecdsa-p384",
];

/** Shortest RSA modulus we create or accept, in bits (RouterOS's minimum). */
export const MIN_RSA_BITS = 472;

/** RSA moduli shorter than this get a warning. */
export const RECOMMENDED_RSA_BITS = 2048;

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  /** The certificate, PEM `CERTIFICATE`. */
  certPem: string;
  /** The private key, PEM `PRIVATE KEY` (PKCS#8, unencrypted). */
  keyPem: string;
  /** The certificate DER. */
  certDer: Uint8Array;
}

/** Validity and extension overrides shared by every issuing function. */
export interface ValidityOptions {
  /** Days of validity from `notBefore` (default 825 for leaves, 3650 for CAs). */
  days?: number;
  /** Start of validity (default: now minus 5 minutes, for clock skew). */
  notBefore?: Date;
  /** End of validity (overrides `days`). */
  notAfter?: Date;
}

/**
 * WebCrypto algorithm for a key type.
 *
 * @throws {TypeError} for an unknown key type.
 * @throws {RangeError} for an RSA length under {@linkcode MIN_RSA_BITS} or not a multiple of 8.
 */
export function keyAlgorithm(keyType: KeyType): RsaHashedKeyGenParams | EcKeyGenParams {
  if (keyType === "ecdsa-p256") return { name: "ECDSA", namedCurve: "P-256" };
  if (keyType === "ecdsa-p384") return { name: "ECDSA", namedCurve: "P-384" };
  const match = /^rsa([0-9]{1,5})$/.exec(keyType);
  if (match === null) {
    throw new TypeError(
      `Cannot generate key: unknown key type "${keyType}" (use ${KEY_TYPES.join(", ")})`,
    );
  }
  const bits = Number(match[1]);
  if (bits < MIN_RSA_BITS) {
    throw new RangeError(
      `Cannot generate key: RSA ${bits} bits is shorter than the ${MIN_RSA_BITS}-bit minimum`,
    );
  }
  if (bits % 8 !== 0 || bits > 16384) {
    throw new RangeError(
      `Cannot generate key: RSA ${bits} bits must be a multiple of 8 up to 16384`,
    );
  }
  return {
    name: "RSASSA-PKCS1-v1_5",
    hash: "SHA-256",
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: bits,
  };
}

/** Signing algorithm to use with a key of `algorithm`. */
export function signingAlgorithm(algorithm: KeyAlgorithm): Algorithm | EcdsaParams {
  if (algorithm.name === "ECDSA") {
    const curve = (algorithm as EcKeyAlgorithm).namedCurve;
    return { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" } as EcdsaParams;
  }
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as Algorithm;
}

/** Generates an extractable key pair. */
export async function generateKeyPair(keyType: KeyType): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(keyAlgorithm(keyType), true, ["sign", "verify"]);
}

/** Exports a private key as PKCS#8 PEM. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

/** A positive 16-byte serial number as hex (RFC 5280 4.1.2.2: at most 20 octets, positive). */
export function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Resolves `notBefore`/`notAfter` from validity options. */
export function validity(options: ValidityOptions, defaultDays: number): {
  notBefore: Date;
  notAfter: Date;
} {
  const days = options.days ?? defaultDays;
  if (!Number.isFinite(days) || days <= 0) {
    throw new RangeError(`Cannot create certificate: days ${days} must be a positive number`);
  }
  const notBefore = options.notBefore ?? new Date(Date.now() - 5 * 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + days * 86_400_000);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new RangeError("Cannot create certificate: notAfter must be later than notBefore");
  }
  return { notBefore, notAfter };
}

/** Subject alternative names from DNS names and IP literals. */
function subjectAltNames(
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
): x509.SubjectAlternativeNameExtension | undefined {
  const entries: { type: "dns" | "ip"; value: string }[] = [];
  for (const name of dnsNames) {
    if (name === "" || isIpAddress(name)) {
      throw new TypeError(`Cannot create certificate: "${name}" is not a DNS name`);
    }
    entries.push({ type: "dns", value: name });
  }
  for (const ip of ipAddresses) {
    if (!isIpAddress(ip)) {
      throw new TypeError(`Cannot create certificate: "${ip}" is not an IP address`);
    }
    entries.push({ type: "ip", value: ip });
  }
  return entries.length > 0 ? new x509.SubjectAlternativeNameExtension(entries, false) : undefined;
}

/** Extended key usage OIDs by purpose. */
export const EXTENDED_KEY_USAGE = {
  /** RFC 5280 4.2.1.12 id-kp-serverAuth */
  serverAuth: "1.3.6.1.5.5.7.3.1",
  /** RFC 5280 4.2.1.12 id-kp-clientAuth */
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** Purpose of a leaf certificate. */
export type ExtendedKeyUsageName = keyof typeof EXTENDED_KEY_USAGE;

/** Extensions of a leaf (end-entity) certificate. */
async function leafExtensions(
  publicKey: CryptoKey,
  usages: readonly ExtendedKeyUsageName[],
  san: x509.SubjectAlternativeNameExtension | undefined,
): Promise<x509.Extension[]> {
  const keyUsage = publicKey.algorithm.name === "ECDSA"
    ? x509.KeyUsageFlags.digitalSignature
    : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    new x509.ExtendedKeyUsageExtension(usages.map((u) => EXTENDED_KEY_USAGE[u]), false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (san !== undefined) extensions.push(san);
  return extensions;
}

/** The CA that signs, as PEM. */
export interface IssuerPem {
  /** CA certificate (the first certificate of the PEM is used). */
  certPem: string;
  /** CA private key, PKCS#8 PEM. */
  keyPem: string;
}

/** What {@linkcode createLeafCertificate} puts in an end-entity certificate. */
export interface LeafCertificateRequest extends ValidityOptions {
  /** Subject CN. */
  commonName: string;
  /** SAN DNS names. */
  dnsNames: readonly string[];
  /** SAN IP addresses. */
  ipAddresses: readonly string[];
  /** Key type of the new key pair. */
  keyType: KeyType;
  /** Extended key usages. */
  extendedKeyUsages: readonly ExtendedKeyUsageName[];
}

/**
 * Creates an end-entity certificate and its new key: basicConstraints
 * CA:FALSE, keyUsage (digitalSignature, plus keyEncipherment for RSA), the
 * EKUs, subject key identifier and SAN; valid 825 days unless the request says
 * otherwise. Signed by `issuer` (adding its authority key identifier), or
 * self-signed when `issuer` is undefined.
 *
 * @throws {TypeError} for an empty common name, a malformed name or address,
 *   or an issuer PEM without a certificate or with a key that is not its own.
 * @throws {RangeError} for a non-positive validity.
 */
export async function createLeafCertificate(
  request: LeafCertificateRequest,
  issuer: IssuerPem | undefined,
): Promise<CertificateAndKey> {
  // The issuer and the names are checked before the (slow) key generation.
  const signer = issuer === undefined ? undefined : await importIssuer(issuer);
  const san = subjectAltNames(request.dnsNames, request.ipAddresses);
  const { notBefore, notAfter } = validity(request, 825);
  const name = `CN=${dnValue(request.commonName)}`;
  const keys = await generateKeyPair(request.keyType);
  const extensions = await leafExtensions(keys.publicKey, request.extendedKeyUsages, san);
  if (signer === undefined) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerialNumber(),
      name,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: signingAlgorithm(keys.privateKey.algorithm),
      extensions,
    });
    return await packCertificate(cert, keys.privateKey);
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.cert.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: name,
    issuer: signer.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signingAlgorithm(signer.key.algorithm),
    extensions,
  });
  return await packCertificate(cert, keys.privateKey);
}

/** Reads a signing CA's certificate and imports its key. */
async function importIssuer(
  issuer: IssuerPem,
): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const cert = new x509.X509Certificate(leafCertificateDer(issuer.certPem));
  return { cert, key: await importIssuerKey(issuer.keyPem, cert, "certificate") };
}

/**
 * Packs a created certificate (an `x509.X509Certificate`; only its DER is
 * read) and key as PEM text plus the certificate's DER.
 */
export async function packCertificate(
  cert: { readonly rawData: ArrayBuffer },
  privateKey: CryptoKey,
): Promise<CertificateAndKey> {
  const certDer = new Uint8Array(cert.rawData);
  return {
    certPem: encodePem("CERTIFICATE", certDer),
    keyPem: await exportPrivateKeyPem(privateKey),
    certDer,
  };
}

/** Escapes a value for an RFC 4514 distinguished name string. */
export function dnValue(value: string): string {
  if (value === "") throw new TypeError("Cannot create certificate: commonName must not be empty");
  return value.replace(/([,+"\\<>;=])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ");
}

/**
 * What {@linkcode importIssuerKey} reads of the CA certificate (an
 * `x509.X509Certificate` fits): its subject for messages and its public key.
 */
export interface IssuerCertificate {
  /** Subject distinguished name, as text. */
  readonly subject: string;
  /** The certificate's public key. */
  readonly publicKey: {
    /** Its WebCrypto algorithm (name, and curve for ECDSA). */
    readonly algorithm: Algorithm;
    /** Imports it as a WebCrypto key with `usages`. */
    export(
      algorithm: EcKeyImportParams | RsaHashedImportParams,
      usages: KeyUsage[],
    ): Promise<CryptoKey>;
  };
}

/**
 * Imports the PKCS#8 signing key of a CA for `issuerCert`'s algorithm: ECDSA
 * on the certificate's curve, else RSASSA-PKCS1-v1_5 with SHA-256. The key
 * must sign what the certificate's public key verifies.
 *
 * @throws {TypeError} when `keyPem` holds no unencrypted PKCS#8 key or the key is not the CA's.
 */
export async function importIssuerKey(
  keyPem: string,
  issuerCert: IssuerCertificate,
  what: string,
): Promise<CryptoKey> {
  const block = decodePemBlocks(keyPem).find((b) => b.label === "PRIVATE KEY");
  if (block === undefined) {
    throw new TypeError(
      `Cannot issue ${what}: the CA key must be an unencrypted PKCS#8 PRIVATE KEY` +
        " (convert with: openssl pkcs8 -topk8 -nocrypt -in KEY)",
    );
  }
  const algorithm = issuerCert.publicKey.algorithm;
  const importAlgorithm = algorithm.name === "ECDSA"
    ? { name: "ECDSA", namedCurve: (algorithm as EcKeyAlgorithm).namedCurve }
    : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("pkcs8", block.der, importAlgorithm, true, ["sign"]);
  } catch (error) {
    throw new TypeError(
      `Cannot issue ${what}: the CA key does not fit the CA certificate's ${algorithm.name} key`,
      { cause: error },
    );
  }
  // A key that is not the CA's would produce certificates nobody can verify.
  const probe = new TextEncoder().encode("sstp issuer key check");
  const signature = await crypto.subtle.sign(signingAlgorithm(key.algorithm), key, probe);
  const publicKey = await issuerCert.publicKey.export(importAlgorithm, ["verify"]);
  if (!await crypto.subtle.verify(signingAlgorithm(key.algorithm), publicKey, signature, probe)) {
    throw new TypeError(
      `Cannot issue ${what}: the CA key does not belong to ${issuerCert.subject}`,
    );
  }
  return key;
}

const KEY_TYPE_ALIASES: Record<string, KeyType> = {
  "ec": "ecdsa-p256",
  "ecdsa": "ecdsa-p256",
  "p256": "ecdsa-p256",
  "p-256": "ecdsa-p256",
  "prime256v1": "ecdsa-p256",
  "secp256r1": "ecdsa-p256",
  "p384": "ecdsa-p384",
  "p-384": "ecdsa-p384",
  "secp384r1": "ecdsa-p384",
  "rsa": "rsa2048",
};

/**
 * Parses a key type as typed on the command line: `rsa2048`, `rsa:3072`,
 * `4096` (RouterOS `key-size`), `ecdsa-p256`, `prime256v1`, `secp384r1`, ...
 *
 * @throws {TypeError} for an unknown key type.
 * @throws {RangeError} for an RSA length under {@linkcode MIN_RSA_BITS}.
 */
export function parseKeyType(text: string): KeyType {
  const lower = text.trim().toLowerCase();
  const alias = KEY_TYPE_ALIASES[lower];
  const rsa = /^(?:rsa[:-]?)?([0-9]{1,5})$/.exec(lower);
  const keyType: KeyType = alias ??
    (rsa !== null ? `rsa${Number(rsa[1])}` : (lower as KeyType));
  keyAlgorithm(keyType); // validates
  return keyType;
}
