/**
 * Load the server's certificate chain and key (PEM) and say what will go
 * wrong with clients before they try: the RSA length check, expiry within
 * 30 days, host names the certificate does not cover, a missing serverAuth
 * EKU, ECDSA (Windows 10 SSTP clients need RSA over TLS 1.2:
 * docs/interop.md#tls-versions-and-key-types) and self-signed certificates
 * that Windows accepts only once imported as a trusted root
 * (docs/interop.md#windows-certificate-rules).
 *
 * The leaf, the first certificate of the file, is what the crypto binding
 * hashes (item 11).
 *
 * @module
 */

import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { bufferSource, x509 } from "./_x509.ts";
import { encodePem, type PemBlock, splitPemBundle } from "./pem.ts";
import { certificateKeyInfo, formatKeyInfo, keyStrength } from "./key_info.ts";
import { certificateMatchesHost } from "./names.ts";

/** A loaded server certificate. */
export interface ServerCertificate {
  /** The chain as PEM, leaf first (give it to `listenTls` as `certPem`). */
  certPem: string;
  /** The private key as PEM (`keyPem` of `listenTls`). */
  keyPem: string;
  /** DER of the leaf: hash this for the crypto binding. */
  leafDer: Uint8Array<ArrayBuffer>;
  /** Each certificate of the chain as PEM, leaf first. */
  chainPems: string[];
  /** Problems that do not stop the server; log them at startup. */
  warnings: string[];
}

/** Options of {@linkcode parseServerCertificate} and {@linkcode loadServerCertificate}. */
export interface ServerCertificateOptions {
  /** Names and addresses clients dial; a warning names each one the certificate does not cover. */
  hostNames?: readonly string[];
  /** Warn when the certificate expires within this many days (default 30). */
  expiryWarningDays?: number;
  /** Time of the checks, ms (default now). */
  now?: number;
}

const DAY_MS = 86_400_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const ANY_EKU = "2.5.29.37.0";

/**
 * Checks a certificate chain and key given as PEM text. `keyText` may be
 * omitted when `certText` holds the key too.
 *
 * @param source Names the files in error messages.
 * @throws {TypeError} when there is no certificate or key, the key is
 *   encrypted or does not match the leaf, or the key is too short.
 */
export function parseServerCertificate(
  certText: string,
  keyText: string | undefined,
  options: ServerCertificateOptions = {},
  source = "server certificate",
): ServerCertificate {
  const fail = (reason: string, cause?: unknown): never => {
    throw new TypeError(
      `Cannot load ${source}: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  };
  const bundle = splitPemBundle(certText);
  if (bundle.certificates.length === 0) fail("no CERTIFICATE block found");
  const keys = keyText === undefined ? bundle.privateKeys : splitPemBundle(keyText).privateKeys;
  const leafDer = bundle.certificates[0] as Uint8Array<ArrayBuffer>;
  const keyBlock = pickKey(keys, leafDer, fail);

  const warnings: string[] = [];
  const keyInfo = certificateKeyInfo(leafDer);
  const strength = keyStrength(keyInfo);
  if (strength.refuse !== undefined) fail(strength.refuse);
  warnings.push(...strength.warnings);
  if (keyInfo.type !== "RSA") {
    warnings.push(
      `${formatKeyInfo(keyInfo)} key: Windows 10 SSTP clients need an RSA certificate over TLS 1.2`,
    );
  }

  const leaf = new x509.X509Certificate(bufferSource(leafDer));
  const now = options.now ?? Date.now();
  const daysLeft = Math.floor((leaf.notAfter.getTime() - now) / DAY_MS);
  if (leaf.notAfter.getTime() < now) {
    warnings.push(
      `certificate has expired (${leaf.notAfter.toISOString()}): clients will refuse it`,
    );
  } else if (leaf.notBefore.getTime() > now) {
    warnings.push(
      `certificate is not yet valid (until ${leaf.notBefore.toISOString()}): clients will refuse it`,
    );
  } else if (daysLeft < (options.expiryWarningDays ?? 30)) {
    warnings.push(
      `certificate expires in ${daysLeft} day${
        daysLeft === 1 ? "" : "s"
      } (${leaf.notAfter.toISOString()})`,
    );
  }
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku !== null && !eku.usages.some((u) => String(u) === SERVER_AUTH || String(u) === ANY_EKU)) {
    warnings.push(
      "certificate lacks the serverAuth extended key usage: Windows and RouterOS clients refuse it",
    );
  }
  for (const host of options.hostNames ?? []) {
    if (!certificateMatchesHost(leafDer, host)) {
      warnings.push(`certificate is not valid for "${host}": clients dialling it will refuse it`);
    }
  }
  if (leaf.subject === leaf.issuer && bundle.certificates.length === 1) {
    warnings.push(
      "certificate is self-signed: clients must trust it explicitly (Windows: import it into " +
        "the Local Computer Trusted Root store) or pin its SHA-256 fingerprint",
    );
  }
  const chain = bundle.certificates.map((der) => new x509.X509Certificate(der));
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as x509.X509Certificate;
    const parent = chain[i + 1] as x509.X509Certificate;
    if (child.issuer !== parent.subject) {
      warnings.push(
        `chain certificate ${i + 2} (${parent.subject}) is not the issuer of certificate ${
          i + 1
        } (${child.issuer}): put the chain in order, leaf first`,
      );
    }
  }

  const chainPems = bundle.certificates.map((der) => encodePem("CERTIFICATE", der));
  return {
    certPem: chainPems.join(""),
    keyPem: encodePem(keyBlock.label, keyBlock.der),
    leafDer,
    chainPems,
    warnings,
  };
}

function pickKey(
  keys: readonly PemBlock[],
  leafDer: Uint8Array,
  fail: (reason: string, cause?: unknown) => never,
): PemBlock {
  if (keys.length === 0) fail("no private key found");
  const leafSpki = new X509Certificate(leafDer).publicKey.export({ type: "spki", format: "der" });
  let lastError: unknown;
  for (const key of keys) {
    if (key.label === "ENCRYPTED PRIVATE KEY") {
      fail("the private key is encrypted; decrypt it with: openssl pkey -in KEY -out KEY.plain");
    }
    try {
      const spki = createPublicKey(createPrivateKey(encodePem(key.label, key.der)))
        .export({ type: "spki", format: "der" });
      if (bytesEqual(spki, leafSpki)) return key;
    } catch (error) {
      lastError = error;
    }
  }
  return fail(
    "the private key does not belong to the certificate (the first one in the file)",
    lastError,
  );
}

/** Key file names tried beside `certPath` when it holds no key. */
export function keyPathCandidates(certPath: string): string[] {
  const stem = certPath.replace(/\.(pem|crt|cer|cert)$/i, "");
  return [`${stem}.key`, `${stem}-key.pem`, `${stem}.key.pem`, `${stem}_key.pem`];
}

/**
 * Reads and checks the server certificate. The key comes from `keyPath`,
 * else from `certPath` itself, else from the first of
 * {@linkcode keyPathCandidates} that exists.
 *
 * @throws {Deno.errors.NotFound} when a named file is missing.
 * @throws {TypeError} as {@linkcode parseServerCertificate}.
 */
export async function loadServerCertificate(
  certPath: string,
  keyPath?: string,
  options: ServerCertificateOptions = {},
): Promise<ServerCertificate> {
  const certText = await Deno.readTextFile(certPath);
  if (keyPath !== undefined) {
    return parseServerCertificate(
      certText,
      await Deno.readTextFile(keyPath),
      options,
      `${certPath} with key ${keyPath}`,
    );
  }
  if (splitPemBundle(certText).privateKeys.length > 0) {
    return parseServerCertificate(certText, undefined, options, certPath);
  }
  for (const candidate of keyPathCandidates(certPath)) {
    let keyText: string;
    try {
      keyText = await Deno.readTextFile(candidate);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    return parseServerCertificate(certText, keyText, options, `${certPath} with key ${candidate}`);
  }
  throw new TypeError(
    `Cannot load ${certPath}: no private key in the file nor beside it (tried ${
      keyPathCandidates(certPath).join(", ")
    }); give the key file explicitly`,
  );
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
