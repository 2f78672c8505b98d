/**
 * PEM (RFC 7468) bundles: split into certificates and private keys. The leaf
 * certificate is the first certificate of a bundle (as accel-ppp's
 * `ssl-pemfile`; docs/interop.md#crypto-binding-hashes).
 *
 * @module
 */

/** One `-----BEGIN <label>-----` block of a PEM text. */
export interface PemBlock {
  /** The label, for example `CERTIFICATE` or `PRIVATE KEY`. */
  label: string;
  /** The decoded DER bytes. */
  der: Uint8Array<ArrayBuffer>;
}

/** The certificates and private keys of a PEM bundle, in file order. */
export interface PemBundle {
  /** DER of each `CERTIFICATE` block; the first one is the leaf. */
  certificates: Uint8Array<ArrayBuffer>[];
  /** Each private key block (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`). */
  privateKeys: PemBlock[];
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const PRIVATE_KEY_LABELS = new Set([
  "PRIVATE KEY",
  "RSA PRIVATE KEY",
  "EC PRIVATE KEY",
  "ENCRYPTED PRIVATE KEY",
]);

/**
 * Decodes every PEM block of `text`, ignoring text between blocks (such as
 * the `subject=` lines `openssl` writes).
 *
 * @throws {TypeError} when a block is not closed by its own label or its body is not base64.
 */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label = "", body = "", endLabel] = match;
    if (label !== endLabel) {
      throw new TypeError(
        `Cannot decode PEM: block "${label}" ends with "${endLabel}"`,
      );
    }
    const base64 = body.split(/\r?\n/).filter((line) => !line.includes(":")).join("")
      .replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
      throw new TypeError(`Cannot decode PEM: block "${label}" is not base64`);
    }
    blocks.push({ label, der: decodeBase64(base64) });
  }
  return blocks;
}

/**
 * Splits a PEM bundle into certificates and private keys.
 *
 * @example
 * ```ts
 * import { splitPemBundle } from "./pem.ts";
 * const bundle = splitPemBundle("junk\n-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n");
 * if (bundle.certificates[0]?.length !== 3) throw new Error();
 * ```
 */
export function splitPemBundle(text: string): PemBundle {
  const bundle: PemBundle = { certificates: [], privateKeys: [] };
  for (const block of decodePemBlocks(text)) {
    if (block.label === "CERTIFICATE" || block.label === "X509 CERTIFICATE") {
      bundle.certificates.push(block.der);
    } else if (PRIVATE_KEY_LABELS.has(block.label)) {
      bundle.privateKeys.push(block);
    }
  }
  return bundle;
}

/**
 * Returns the DER of the first (leaf) certificate of a PEM bundle.
 *
 * @throws {TypeError} when the text holds no certificate.
 */
export function leafCertificateDer(text: string): Uint8Array<ArrayBuffer> {
  const leaf = splitPemBundle(text).certificates[0];
  if (leaf === undefined) {
    throw new TypeError("Cannot find a certificate: the PEM text holds no CERTIFICATE block");
  }
  return leaf;
}

/** Encodes DER bytes as one PEM block with 64-character lines. */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = encodeBase64(der);
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
