/**
 * Certificate fingerprints: SHA-1 and SHA-256 of the DER, the two hashes the
 * SSTP crypto binding uses (MS-SSTP 2.2.7 CertHash), and the `sha256:HEX`
 * text form used by `--server-cert-sha256`.
 *
 * Hashing is synchronous (`node:crypto`), so pure engines can call it.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Fingerprint algorithms. */
export type FingerprintAlgorithm = "sha1" | "sha256";

const LENGTH: Record<FingerprintAlgorithm, number> = { sha1: 20, sha256: 32 };

/** Returns the SHA-1 (20 bytes) or SHA-256 (32 bytes) digest of `der`. */
export function certificateFingerprint(
  der: Uint8Array,
  algorithm: FingerprintAlgorithm = "sha256",
): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(der).digest());
}

/**
 * Formats a fingerprint as `sha256:0A1B…` (upper-case hex, no separators).
 *
 * @example
 * ```ts
 * import { formatFingerprint } from "./fingerprint.ts";
 * if (formatFingerprint(new Uint8Array(20), "sha1") !== "sha1:" + "00".repeat(20)) throw new Error();
 * ```
 */
export function formatFingerprint(bytes: Uint8Array, algorithm: FingerprintAlgorithm): string {
  if (bytes.length !== LENGTH[algorithm]) {
    throw new RangeError(
      `Cannot format ${algorithm} fingerprint: length ${bytes.length} is not ${LENGTH[algorithm]}`,
    );
  }
  return `${algorithm}:${
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase()
  }`;
}

/** A parsed fingerprint. */
export interface Fingerprint {
  /** Hash the fingerprint was made with. */
  algorithm: FingerprintAlgorithm;
  /** The digest of the certificate's DER encoding. */
  bytes: Uint8Array;
}

/**
 * Parses `sha256:HEX`, `sha1:HEX` or bare hex (64 digits → SHA-256, 40 → SHA-1).
 * Colons, spaces and case in the hex part are ignored (`AB:CD:…` as
 * `openssl x509 -fingerprint` prints it).
 *
 * @throws {TypeError} when the text is not a fingerprint.
 */
export function parseFingerprint(text: string): Fingerprint {
  const match = /^\s*(?:(sha1|sha-1|sha256|sha-256)\s*[:=])?\s*([0-9a-f:\s]+?)\s*$/i.exec(text);
  const hex = match?.[2]?.replace(/[:\s]/g, "") ?? "";
  const prefix = match?.[1]?.toLowerCase().replace("-", "");
  const algorithm: FingerprintAlgorithm | undefined = prefix === "sha1" || prefix === "sha256"
    ? prefix
    : hex.length === 64
    ? "sha256"
    : hex.length === 40
    ? "sha1"
    : undefined;
  if (match === null || algorithm === undefined || hex.length !== LENGTH[algorithm] * 2) {
    throw new TypeError(
      `Cannot parse fingerprint "${text}": expected sha256:<64 hex digits> or sha1:<40 hex digits>`,
    );
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return { algorithm, bytes };
}

/** Compares two byte strings in time independent of where they differ. */
export function fingerprintsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
