/**
 * Control-protocol packets (RFC 1661 5) and their Configuration Option lists
 * (RFC 1661 6), shared by LCP, IPCP and IPV6CP.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Code      |  Identifier   |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Data ...
 * +-+-+-+-+
 *
 * Option:  | Type (1) | Length (1, includes Type and Length) | Data ... |
 * ```
 *
 * Bytes beyond Length are padding and ignored (RFC 1661 5). Option lists keep
 * unknown options and their order, so a Configure-Reject can quote them.
 *
 * @module
 */
import { ERROR_CODE, type ErrorLayer, ProtocolError } from "../errors.ts";
import { ByteReader } from "../bytes/byte_reader.ts";

/** A control-protocol packet. `data` is a view into the decoded input. */
export interface CpPacket {
  /** RFC 1661 5: Code (see `CP_CODE`). */
  code: number;
  /** RFC 1661 5: Identifier, matches requests and replies. */
  identifier: number;
  /** Everything after the 4-byte header, up to Length. */
  data: Uint8Array;
}

/** One Configuration Option (RFC 1661 6). `data` excludes Type and Length. */
export interface CpOption {
  /** Option type. */
  type: number;
  /** Option data (Length - 2 bytes). */
  data: Uint8Array;
}

/** Header length of a control-protocol packet. */
export const CP_HEADER_LENGTH = 4;

/**
 * Encodes a control-protocol packet.
 *
 * @throws {RangeError} If a field is out of range or the packet exceeds 65535 bytes.
 *
 * @example
 * ```ts
 * import { encodeCpPacket } from "./cp_packet.ts";
 * const p = encodeCpPacket({ code: 5, identifier: 2, data: new Uint8Array() });
 * if (p.join(",") !== "5,2,0,4") throw new Error();
 * ```
 */
export function encodeCpPacket(packet: CpPacket): Uint8Array {
  const length = CP_HEADER_LENGTH + packet.data.length;
  if (!isByte(packet.code) || !isByte(packet.identifier) || length > 0xffff) {
    throw new RangeError(
      `Cannot encode control packet: code ${packet.code}, identifier ${packet.identifier}, length ${length}`,
    );
  }
  const out = new Uint8Array(length);
  out[0] = packet.code;
  out[1] = packet.identifier;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  out.set(packet.data, CP_HEADER_LENGTH);
  return out;
}

/**
 * Decodes a control-protocol packet, ignoring padding beyond Length.
 *
 * @param bytes Code, Identifier, Length, Data (and optional padding).
 * @param layer Layer named in errors.
 * @throws {ProtocolError} `TRUNCATED` when shorter than Length or the header,
 * `BAD_LENGTH` when Length is below 4.
 *
 * @example
 * ```ts
 * import { decodeCpPacket } from "./cp_packet.ts";
 * const p = decodeCpPacket(new Uint8Array([9, 0, 0, 8, 0, 0, 0, 0, 0xaa]));
 * if (p.code !== 9 || p.data.length !== 4) throw new Error();
 * ```
 */
export function decodeCpPacket(bytes: Uint8Array, layer: ErrorLayer = "ppp"): CpPacket {
  const r = new ByteReader(bytes, layer, "control packet");
  const code = r.u8("code");
  const identifier = r.u8("identifier");
  const length = r.u16("length");
  if (length < CP_HEADER_LENGTH) {
    throw new ProtocolError(
      layer,
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode control packet: length ${length} is shorter than the 4-byte header`,
    );
  }
  const data = r.bytes(length - CP_HEADER_LENGTH, "data");
  return { code, identifier, data };
}

/**
 * Encodes a Configuration Option list.
 *
 * @throws {RangeError} If a type is not a byte or data exceeds 253 bytes.
 *
 * @example
 * ```ts
 * import { encodeOptions } from "./cp_packet.ts";
 * const b = encodeOptions([{ type: 1, data: new Uint8Array([0x05, 0xdc]) }, { type: 7, data: new Uint8Array() }]);
 * if (b.join(",") !== "1,4,5,220,7,2") throw new Error();
 * ```
 */
export function encodeOptions(options: readonly CpOption[]): Uint8Array {
  let length = 0;
  for (const o of options) {
    if (!isByte(o.type) || o.data.length > 0xff - 2) {
      throw new RangeError(
        `Cannot encode option ${o.type}: data of ${o.data.length} bytes exceeds 253`,
      );
    }
    length += 2 + o.data.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const o of options) {
    out[at] = o.type;
    out[at + 1] = o.data.length + 2;
    out.set(o.data, at + 2);
    at += 2 + o.data.length;
  }
  return out;
}

/**
 * Decodes a Configuration Option list, keeping order and unknown types.
 *
 * @param bytes The Data field of a Configure-Request/Ack/Nak/Reject.
 * @param layer Layer named in errors.
 * @throws {ProtocolError} `BAD_LENGTH` for an option Length below 2,
 * `TRUNCATED` for one running past the end.
 *
 * @example
 * ```ts
 * import { decodeOptions } from "./cp_packet.ts";
 * const [mru] = decodeOptions(new Uint8Array([1, 4, 5, 220]));
 * if (mru?.type !== 1 || mru.data.length !== 2) throw new Error();
 * ```
 */
export function decodeOptions(bytes: Uint8Array, layer: ErrorLayer = "ppp"): CpOption[] {
  const r = new ByteReader(bytes, layer, "option list");
  const out: CpOption[] = [];
  while (r.remaining > 0) {
    const type = r.u8("option type");
    const length = r.u8("option length");
    if (length < 2) {
      throw new ProtocolError(
        layer,
        ERROR_CODE.BAD_LENGTH,
        `Cannot decode option list: option ${type} has length ${length}, below 2`,
      );
    }
    out.push({ type, data: r.bytes(length - 2, `option ${type} data`) });
  }
  return out;
}

function isByte(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xff;
}
