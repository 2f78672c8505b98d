/**
 * Independent builders for PPP test packets (pg-protocol `test-buffers`
 * style): written from RFC 1661 byte layouts and never importing the codecs
 * under test.
 *
 * @module
 */

/** An option as `[type, ...data]` bytes. */
export type RawOption = readonly [type: number, ...data: number[]];

/** Builds option TLVs: type, length (data + 2), data. */
export function buildOptions(...options: RawOption[]): number[] {
  const out: number[] = [];
  for (const [type, ...data] of options) out.push(type, data.length + 2, ...data);
  return out;
}

/** Builds a control packet: code, identifier, 16-bit length, data. */
export function buildCp(
  code: number,
  identifier: number,
  data: readonly number[] = [],
): Uint8Array {
  const length = 4 + data.length;
  return new Uint8Array([code, identifier, length >> 8, length & 0xff, ...data]);
}

/** Builds a PPP frame; `ffo3` adds FF 03, `short` sends a one-byte protocol. */
export function buildFrame(
  protocol: number,
  information: readonly number[],
  { ffo3 = true, short = false }: { ffo3?: boolean; short?: boolean } = {},
): Uint8Array {
  const header = ffo3 ? [0xff, 0x03] : [];
  const proto = short ? [protocol & 0xff] : [protocol >> 8, protocol & 0xff];
  return new Uint8Array([...header, ...proto, ...information]);
}

/** Big-endian bytes of `value` in `n` bytes. */
export function be(value: number, n: number): number[] {
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
}

export { seededRandomBytes } from "./xorshift.ts";
