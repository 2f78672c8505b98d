/**
 * Splits a PEM bundle into the certificate chain and the private key, the
 * two texts `listenTls` takes (RouterOS `certificate`: the key may sit in
 * the same file).
 *
 * @module
 */
import { encodePem, splitPemBundle } from "../cert/pem.ts";

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
