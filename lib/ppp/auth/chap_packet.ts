/**
 * CHAP packet codec (RFC 1994 4), shared by CHAP with MD5, MS-CHAPv1
 * (RFC 2433) and MS-CHAPv2 (RFC 2759).
 *
 * ```
 * Challenge (1) / Response (2):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Code      |  Identifier   |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Value-Size   |  Value ...                 |  Name ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Success (3) / Failure (4):
 * |     Code      |  Identifier   |            Length             |
 * |  Message ...
 * ```
 *
 * @module
 */
import { quotePeerText } from "../../peer_text.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { ByteWriter } from "../../bytes/byte_writer.ts";
import { toHex } from "../../bytes/hex.ts";
import { decodeAuthHeader, decodeText, encodeAuthPacket, encodeText } from "./_auth_header.ts";

/** CHAP codes (RFC 1994 4). */
export const CHAP_CODE = {
  /** RFC 1994 4.1 */
  CHALLENGE: 1,
  /** RFC 1994 4.1 */
  RESPONSE: 2,
  /** RFC 1994 4.2 */
  SUCCESS: 3,
  /** RFC 1994 4.2 */
  FAILURE: 4,
} as const;

/** Names of {@linkcode CHAP_CODE} values, for logs. */
export const CHAP_CODE_NAME: Readonly<Record<number, string>> = {
  [CHAP_CODE.CHALLENGE]: "Challenge",
  [CHAP_CODE.RESPONSE]: "Response",
  [CHAP_CODE.SUCCESS]: "Success",
  [CHAP_CODE.FAILURE]: "Failure",
};

/** A Challenge or Response packet (RFC 1994 4.1). */
export interface ChapValuePacket {
  /** Challenge (1) or Response (2). */
  code: typeof CHAP_CODE.CHALLENGE | typeof CHAP_CODE.RESPONSE;
  /** Identifier; a Response copies its Challenge's. */
  identifier: number;
  /** The challenge or response value. */
  value: Uint8Array;
  /** The sender's name (system or user name). */
  name: string;
}

/** A Success or Failure packet (RFC 1994 4.2). */
export interface ChapMessagePacket {
  /** Success (3) or Failure (4). */
  code: typeof CHAP_CODE.SUCCESS | typeof CHAP_CODE.FAILURE;
  /** Identifier of the Response it answers. */
  identifier: number;
  /** The message text (for MS-CHAP, the `S=`/`E=` fields). */
  message: string;
}

/** Any CHAP packet. */
export type ChapPacket = ChapValuePacket | ChapMessagePacket;

/** Whether `packet` is a Challenge or a Response. */
export function isChapValuePacket(packet: ChapPacket): packet is ChapValuePacket {
  return packet.code === CHAP_CODE.CHALLENGE || packet.code === CHAP_CODE.RESPONSE;
}

/**
 * Encodes a CHAP packet.
 *
 * @throws {RangeError} If the value is longer than 255 bytes or the packet than 65535.
 *
 * @example
 * ```ts
 * import { CHAP_CODE, encodeChapPacket } from "./chap_packet.ts";
 * const p = encodeChapPacket({ code: CHAP_CODE.SUCCESS, identifier: 7, message: "OK" });
 * if (p.join(",") !== "3,7,0,6,79,75") throw new Error();
 * ```
 */
export function encodeChapPacket(packet: ChapPacket): Uint8Array {
  if (isChapValuePacket(packet)) {
    if (packet.value.length > 0xff) {
      throw new RangeError(
        `Cannot encode CHAP packet: value is ${packet.value.length} bytes, at most 255`,
      );
    }
    const body = new ByteWriter(1 + packet.value.length + packet.name.length * 3)
      .u8(packet.value.length)
      .bytes(packet.value)
      .bytes(encodeText(packet.name))
      .finish();
    return encodeAuthPacket(packet.code, packet.identifier, body);
  }
  return encodeAuthPacket(packet.code, packet.identifier, encodeText(packet.message));
}

/**
 * Decodes a CHAP packet (code, identifier, length, data).
 *
 * @throws {ProtocolError} `TRUNCATED`, `BAD_LENGTH` or `BAD_VALUE` (unknown code).
 *
 * @example
 * ```ts
 * import { CHAP_CODE, decodeChapPacket } from "./chap_packet.ts";
 * const p = decodeChapPacket(new Uint8Array([1, 9, 0, 8, 2, 0xaa, 0xbb, 0x73]));
 * if (p.code !== CHAP_CODE.CHALLENGE || p.name !== "s" || p.value.length !== 2) throw new Error();
 * ```
 */
export function decodeChapPacket(bytes: Uint8Array): ChapPacket {
  const { code, identifier, data } = decodeAuthHeader(bytes, "chap", "CHAP packet");
  switch (code) {
    case CHAP_CODE.CHALLENGE:
    case CHAP_CODE.RESPONSE: {
      const size = data.u8("Value-Size");
      const value = data.bytes(size, "Value").slice();
      return { code, identifier, value, name: decodeText(data.rest()) };
    }
    case CHAP_CODE.SUCCESS:
    case CHAP_CODE.FAILURE:
      return { code, identifier, message: decodeText(data.rest()) };
    default:
      throw new ProtocolError(
        "chap",
        ERROR_CODE.BAD_VALUE,
        `Cannot decode CHAP packet: code ${code} is not Challenge, Response, Success or Failure`,
      );
  }
}

/**
 * One-line rendering in pppd style. Challenge values are shown; Response
 * values are redacted because they are password-derived.
 *
 * @example
 * ```ts
 * import { CHAP_CODE, describeChapPacket } from "./chap_packet.ts";
 * const s = describeChapPacket({ code: CHAP_CODE.RESPONSE, identifier: 1, value: new Uint8Array(49), name: "bob" });
 * if (s !== 'CHAP Response id=0x1 <redacted len=49> name="bob"') throw new Error(s);
 * ```
 */
export function describeChapPacket(packet: ChapPacket): string {
  const head = `CHAP ${CHAP_CODE_NAME[packet.code]} id=0x${packet.identifier.toString(16)}`;
  if (!isChapValuePacket(packet)) return `${head} ${quotePeerText(packet.message)}`;
  if (packet.code === CHAP_CODE.CHALLENGE) {
    return `${head} <${toHex(packet.value)}> name=${quotePeerText(packet.name)}`;
  }
  return `${head} <redacted len=${packet.value.length}> name=${quotePeerText(packet.name)}`;
}
