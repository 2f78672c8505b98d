/**
 * PPP frame codec (RFC 1661 2, RFC 1662 3.1) as carried in SSTP data packets:
 * no flags, no FCS, no byte stuffing.
 *
 * ```
 * +----------+----------+----------+-------------+---------
 * | Address  | Control  | Protocol | Information | Padding
 * |   0xff   |   0x03   | 8/16 bits|      *      |    *
 * +----------+----------+----------+-------------+---------
 * ```
 *
 * - Address and Control are omitted when ACFC is in use (RFC 1661 6.6).
 * - The Protocol field is one byte when PFC is in use and the value fits
 *   (RFC 1661 6.5). Its first byte is even for two-byte values and odd for
 *   one-byte values, which is how a receiver tells them apart.
 * - LCP frames never use either compression (RFC 1661 6.5, 6.6).
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { PROTOCOL } from "./constants.ts";

/** A decoded PPP frame. `information` is a view into the input. */
export interface PppFrame {
  /** The Protocol field value, e.g. 0xc021 for LCP. */
  protocol: number;
  /** The Information field (and any padding). */
  information: Uint8Array;
}

/** Compression choices for {@linkcode encodePppFrame}. */
export interface PppFrameOptions {
  /** Omit FF 03 (RFC 1661 6.6); ignored for LCP. */
  acfc?: boolean;
  /** Send one-byte protocol fields where possible (RFC 1661 6.5); ignored for LCP. */
  pfc?: boolean;
}

/** Length of the uncompressed header written by {@linkcode writePppHeader}. */
export const PPP_HEADER_LENGTH = 4;

/** RFC 1661 2: the low byte is odd and the high byte is even. */
function isValidProtocol(protocol: number): boolean {
  return Number.isInteger(protocol) && protocol >= 0 && protocol <= 0xffff &&
    (protocol & 0x0001) === 1 && (protocol & 0x0100) === 0;
}

/**
 * Encodes a PPP frame.
 *
 * @param protocol Protocol field value.
 * @param information Information field.
 * @param options Compression to apply.
 * @returns A new buffer holding the frame.
 * @throws {RangeError} If `protocol` is not a valid PPP protocol number.
 *
 * @example
 * ```ts
 * import { encodePppFrame } from "./frame.ts";
 * const f = encodePppFrame(0x0021, new Uint8Array([0x45]), { acfc: true, pfc: true });
 * if (f.join(",") !== "33,69") throw new Error();
 * ```
 */
export function encodePppFrame(
  protocol: number,
  information: Uint8Array,
  options: PppFrameOptions = {},
): Uint8Array {
  if (!isValidProtocol(protocol)) {
    throw new RangeError(`Cannot encode PPP frame: 0x${protocol.toString(16)} is not a protocol`);
  }
  const out = new Uint8Array(pppHeaderLength(protocol, options) + information.length);
  out.set(information, writePppHeaderWith(out, 0, protocol, options));
  return out;
}

/**
 * Writes FF 03 and a two-byte protocol at `offset`, for framing IP packets in
 * place on the data path.
 *
 * @param target Buffer with at least 4 bytes free at `offset`.
 * @param offset Where the header starts.
 * @param protocol Protocol field value.
 * @returns The offset just past the header.
 * @throws {RangeError} If the header does not fit.
 *
 * @example
 * ```ts
 * import { writePppHeader } from "./frame.ts";
 * const buf = new Uint8Array(6);
 * if (writePppHeader(buf, 2, 0x0021) !== 6 || buf.join(",") !== "0,0,255,3,0,33") throw new Error();
 * ```
 */
export function writePppHeader(target: Uint8Array, offset: number, protocol: number): number {
  if (offset < 0 || offset + PPP_HEADER_LENGTH > target.length) {
    throw new RangeError(`Cannot write PPP header at ${offset}: buffer holds ${target.length}`);
  }
  target[offset] = 0xff;
  target[offset + 1] = 0x03;
  target[offset + 2] = protocol >> 8;
  target[offset + 3] = protocol & 0xff;
  return offset + PPP_HEADER_LENGTH;
}

/**
 * Length of the PPP header {@linkcode writePppHeaderWith} writes for
 * `protocol` under `options` (2 to 4 bytes; LCP is never compressed).
 *
 * @example
 * ```ts
 * import { pppHeaderLength } from "./frame.ts";
 * if (pppHeaderLength(0x0021, { acfc: true, pfc: true }) !== 1) throw new Error();
 * ```
 */
export function pppHeaderLength(protocol: number, options: PppFrameOptions): number {
  const c = compression(protocol, options);
  return (c.acfc ? 0 : 2) + (c.pfc ? 1 : 2);
}

/** Which compressions apply to `protocol`: none for LCP, PFC only below 0x100. */
function compression(protocol: number, options: PppFrameOptions): { acfc: boolean; pfc: boolean } {
  const isLcp = protocol === PROTOCOL.LCP;
  return {
    acfc: options.acfc === true && !isLcp,
    pfc: options.pfc === true && !isLcp && protocol < 0x100,
  };
}

/**
 * Writes a PPP header compressed as `options` allow (RFC 1661 6.5, 6.6) at
 * `offset`, for framing packets in place on the data path.
 *
 * @returns The offset just past the header.
 * @throws {RangeError} If the header does not fit.
 *
 * @example
 * ```ts
 * import { writePppHeaderWith } from "./frame.ts";
 * const buf = new Uint8Array(2);
 * if (writePppHeaderWith(buf, 1, 0x0021, { acfc: true, pfc: true }) !== 2 || buf[1] !== 0x21) {
 *   throw new Error();
 * }
 * ```
 */
export function writePppHeaderWith(
  target: Uint8Array,
  offset: number,
  protocol: number,
  options: PppFrameOptions,
): number {
  const length = pppHeaderLength(protocol, options);
  if (offset < 0 || offset + length > target.length) {
    throw new RangeError(`Cannot write PPP header at ${offset}: buffer holds ${target.length}`);
  }
  const c = compression(protocol, options);
  let o = offset;
  if (!c.acfc) {
    target[o++] = 0xff;
    target[o++] = 0x03;
  }
  if (!c.pfc) target[o++] = protocol >> 8;
  target[o++] = protocol & 0xff;
  return o;
}

/**
 * Decodes a PPP frame with or without FF 03 and with a one- or two-byte
 * protocol field.
 *
 * @param bytes The frame.
 * @returns The protocol and a view of the information field.
 * @throws {ProtocolError} `TRUNCATED` when no protocol field fits; `BAD_VALUE`
 * for FF without 03 or a two-byte protocol whose low byte is even.
 *
 * @example
 * ```ts
 * import { decodePppFrame } from "./frame.ts";
 * const { protocol, information } = decodePppFrame(new Uint8Array([0xff, 0x03, 0xc0, 0x21, 9]));
 * if (protocol !== 0xc021 || information.length !== 1) throw new Error();
 * ```
 */
export function decodePppFrame(bytes: Uint8Array): PppFrame {
  let o = 0;
  if (bytes[0] === 0xff) {
    if (bytes.length < 2) throw truncated(bytes.length);
    if (bytes[1] !== 0x03) {
      throw new ProtocolError(
        "ppp",
        ERROR_CODE.BAD_VALUE,
        `Cannot decode PPP frame: address 0xff is followed by control 0x${
          hex2(bytes[1])
        }, not 0x03`,
      );
    }
    o = 2;
  }
  const first = bytes[o];
  if (first === undefined) throw truncated(bytes.length);
  if ((first & 1) === 1) {
    return { protocol: first, information: bytes.subarray(o + 1) };
  }
  const second = bytes[o + 1];
  if (second === undefined) throw truncated(bytes.length);
  if ((second & 1) === 0) {
    throw new ProtocolError(
      "ppp",
      ERROR_CODE.BAD_VALUE,
      `Cannot decode PPP frame: protocol 0x${hex2(first)}${hex2(second)} has an even low byte`,
    );
  }
  return { protocol: (first << 8) | second, information: bytes.subarray(o + 2) };
}

function truncated(length: number): ProtocolError {
  return new ProtocolError(
    "ppp",
    ERROR_CODE.TRUNCATED,
    `Cannot decode PPP frame: ${length} bytes hold no protocol field`,
  );
}

function hex2(v: number | undefined): string {
  return (v ?? 0).toString(16).padStart(2, "0");
}
