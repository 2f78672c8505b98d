/**
 * The header shared by PAP (RFC 1334 2.2) and CHAP (RFC 1994 4) packets,
 * which is the RFC 1661 5 control-packet header:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Code      |  Identifier   |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Data ...
 * ```
 *
 * @module
 */
import { ERROR_CODE, type ErrorLayer, ProtocolError } from "../../errors.ts";
import { ByteReader } from "../../bytes/byte_reader.ts";
import { ByteWriter } from "../../bytes/byte_writer.ts";

/** A decoded header and a reader over exactly the Data field. */
export interface AuthHeader {
  /** The Code octet (meaning depends on the protocol: PAP, CHAP or EAP). */
  code: number;
  /** The Identifier octet matching replies to requests. */
  identifier: number;
  /** Reader over the Data field, bounded by the Length field. */
  data: ByteReader;
}

/**
 * Reads the header. Octets past Length are padding and ignored (RFC 1661 5).
 *
 * @throws {ProtocolError} `TRUNCATED` or `BAD_LENGTH`.
 */
export function decodeAuthHeader(bytes: Uint8Array, layer: ErrorLayer, what: string): AuthHeader {
  const r = new ByteReader(bytes, layer, what);
  const code = r.u8("Code");
  const identifier = r.u8("Identifier");
  const length = r.u16("Length");
  if (length < 4) {
    throw new ProtocolError(
      layer,
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode ${what}: Length ${length} is shorter than the 4-byte header`,
    );
  }
  if (length > bytes.length) {
    throw new ProtocolError(
      layer,
      ERROR_CODE.TRUNCATED,
      `Cannot decode ${what}: Length ${length} exceeds the ${bytes.length} bytes received`,
    );
  }
  return { code, identifier, data: new ByteReader(bytes.subarray(4, length), layer, what) };
}

/**
 * Writes a packet with the given body.
 *
 * @throws {RangeError} If the packet would exceed 65535 bytes.
 */
export function encodeAuthPacket(code: number, identifier: number, body: Uint8Array): Uint8Array {
  const length = 4 + body.length;
  if (length > 0xffff) {
    throw new RangeError(`Cannot encode packet: length ${length} exceeds 65535`);
  }
  return new ByteWriter(length).u8(code).u8(identifier & 0xff).u16(length).bytes(body).finish();
}

const DECODER = new TextDecoder("utf-8");
const ENCODER = new TextEncoder();

/** Decodes text from the wire (UTF-8, invalid sequences replaced). */
export function decodeText(bytes: Uint8Array): string {
  return DECODER.decode(bytes);
}

/** Encodes text for the wire (UTF-8). */
export function encodeText(text: string): Uint8Array {
  return ENCODER.encode(text);
}
