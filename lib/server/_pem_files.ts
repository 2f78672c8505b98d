/**
 * The server's PEM files: the configured certificate, key and client CA
 * with the startup checks of `loadServerCertificate`, and the split of a
 * zero-config bundle into chain and key (RouterOS `certificate`: the key
 * may sit in the same file).
 *
 * @module
 */
import { permissionWarning } from "./file_mode.ts";
import { encodePem, splitPemBundle } from "../cert/pem.ts";
import { loadServerCertificate } from "../cert/server_certificate.ts";
import { certificateFingerprint, formatFingerprint } from "../cert/fingerprint.ts";
import type { SstpServerConfig } from "../config/server_config.ts";

/** Chain (leaf first) and key of a bundle; `keyPem` is undefined when it holds none. */
export function splitCertificateAndKey(text: string): { certPem: string; keyPem?: string } {
  const bundle = splitPemBundle(text);
  if (bundle.certificates.length === 0) {
    throw new TypeError("Cannot use certificate: the PEM text holds no CERTIFICATE block");
  }
  const certPem = bundle.certificates.map((der) => encodePem("CERTIFICATE", der)).join("");
  const key = bundle.privateKeys[0];
  return key === undefined ? { certPem } : { certPem, keyPem: encodePem(key.label, key.der) };
}

/** The server's TLS material as `sstp serve` uses it. */
export interface ServerTlsFiles {
  /** Chain, leaf first. */
  certPem: string;
  /** The leaf's private key, PEM. */
  keyPem: string;
  /** CA bundle for `verify-client-certificate`. */
  caPem?: string;
  /** `sha256:HEX` of the leaf, for log lines. */
  fingerprint: string;
  /** Startup warnings (expiry, host names, key type, self-signed, ...). */
  warnings: string[];
}

/**
 * Loads `certificate`, `certificate-key` and `ca` of the `sstp-server`
 * section (paths relative to `configFile`) with the checks of
 * {@linkcode loadServerCertificate}: the host names checked are
 * `host-name`, else the `listen` addresses other than the wildcards.
 *
 * @throws {TypeError} for an RSA key under 472 bits, a key that does not
 *   match, no key at all (exit 64 in `sstp serve`).
 * @throws {Deno.errors.NotFound} and other read errors.
 */
export async function loadServerTlsFiles(
  configFile: string,
  s: SstpServerConfig,
): Promise<ServerTlsFiles> {
  if (!s.tls) return await loadCertificateHashFrom(configFile, s.certificateHashFrom ?? "");
  const hostNames = s.hostName ?? s.listen.filter((a) => a !== "0.0.0.0" && a !== "::");
  const cert = await loadServerCertificate(
    relativeTo(configFile, s.certificate ?? ""),
    s.certificateKey === undefined ? undefined : relativeTo(configFile, s.certificateKey),
    { hostNames },
  );
  const files: ServerTlsFiles = {
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    fingerprint: formatFingerprint(certificateFingerprint(cert.leafDer), "sha256"),
    warnings: [...cert.warnings],
  };
  // The private key sits in certificate-key, or after the certificate.
  const keyFile = relativeTo(configFile, s.certificateKey ?? s.certificate ?? "");
  const exposed = permissionWarning(keyFile, (await Deno.stat(keyFile)).mode, "a private key");
  if (exposed !== undefined) files.warnings.push(exposed);
  if (s.ca !== undefined) {
    const caPem = await Deno.readTextFile(relativeTo(configFile, s.ca));
    if (splitPemBundle(caPem).certificates.length === 0) {
      throw new TypeError(`Cannot use ca ${s.ca}: the file holds no CERTIFICATE block`);
    }
    files.caPem = caPem;
  }
  return files;
}

/**
 * `tls: no`: the load balancer's certificate from `certificate-hash-from`
 * (leaf first), whose hashes the crypto binding is checked against. A
 * private key in the file (HAProxy's `crt` files hold one) is not read; the
 * result's `keyPem` is empty.
 *
 * @throws {TypeError} when the file holds no certificate (exit 64 in `sstp serve`).
 * @throws {Deno.errors.NotFound} and other read errors.
 */
export async function loadCertificateHashFrom(
  configFile: string,
  path: string,
): Promise<ServerTlsFiles> {
  const text = await Deno.readTextFile(relativeTo(configFile, path));
  const bundle = splitPemBundle(text);
  const leaf = bundle.certificates[0];
  if (leaf === undefined) {
    throw new TypeError(
      `Cannot use certificate-hash-from ${path}: the file holds no CERTIFICATE block`,
    );
  }
  return {
    certPem: bundle.certificates.map((der) => encodePem("CERTIFICATE", der)).join(""),
    keyPem: "",
    fingerprint: formatFingerprint(certificateFingerprint(leaf), "sha256"),
    warnings: [],
  };
}

/** `path` relative to the directory of `file` unless absolute. */
export function relativeTo(file: string, path: string): string {
  if (path.startsWith("/")) return path;
  const slash = file.lastIndexOf("/");
  return slash < 0 ? path : `${file.slice(0, slash)}/${path}`;
}
