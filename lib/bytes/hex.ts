/**
 * Hex helpers for fixtures and trace logs. `fromHex` tolerates whitespace and
 * `#` comments, so golden files can annotate every field.
 *
 * @module
 */

/**
 * Decodes hex, ignoring whitespace and everything from `#` to end of line.
 *
 * @example
 * ```ts
 * import { fromHex } from "./hex.ts";
 * const b = fromHex("10 01  # ver, C=1\n00 0e # len=14");
 * if (b.length !== 4 || b[3] !== 14) throw new Error();
 * ```
 */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new TypeError(
      `Cannot decode hex: "${clean.slice(0, 32)}" is not an even run of hex digits`,
    );
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Encodes bytes as lowercase hex, optionally separated. */
export function toHex(bytes: Uint8Array, separator = ""): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(separator);
}

/** Compares two byte arrays in constant time for equal lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
