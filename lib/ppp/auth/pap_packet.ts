/**
 * PAP packet codec (RFC 1334 2.2).
 *
 * ```
 * Authenticate-Request (1):
 * |     Code      |  Identifier   |            Length             |
 * | Peer-ID Length|  Peer-Id ...  | Passwd-Length |  Password ...
 * Authenticate-Ack (2) / Authenticate-Nak (3):
 * |     Code      |  Identifier   |            Length             |
 * |  Msg-Length   |  Message ...
 * ```
 *
 * @module
 */
import { quotePeerText } from "../../peer_text.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { ByteWriter } from "../../bytes/byte_writer.ts";
import { decodeAuthHeader, decodeText, encodeAuthPacket, encodeText } from "./_auth_header.ts";

/** PAP codes (RFC 1334 2.2). */
export const PAP_CODE = {
  /** RFC 1334 2.2.1 */
  AUTHENTICATE_REQUEST: 1,
  /** RFC 1334 2.2.2 */
  AUTHENTICATE_ACK: 2,
  /** RFC 1334 2.2.2 */
  AUTHENTICATE_NAK: 3,
} as const;

/** An Authenticate-Request (RFC 1334 2.2.1). */
export interface PapRequestPacket {
  /** Authenticate-Request (1). */
  code: typeof PAP_CODE.AUTHENTICATE_REQUEST;
  /** Identifier; changes with each new request. */
  identifier: number;
  /** The user name. */
  peerId: string;
  /** The password, in clear (never log it). */
  password: string;
}

/** An Authenticate-Ack or Authenticate-Nak (RFC 1334 2.2.2). */
export interface PapReplyPacket {
  /** Authenticate-Ack (2) or Authenticate-Nak (3). */
  code: typeof PAP_CODE.AUTHENTICATE_ACK | typeof PAP_CODE.AUTHENTICATE_NAK;
  /** Identifier of the request it answers. */
  identifier: number;
  /** Message text for the user (may be empty). */
  message: string;
}

/** Any PAP packet. */
export type PapPacket = PapRequestPacket | PapReplyPacket;

function shortField(text: string, field: string): Uint8Array {
  const bytes = encodeText(text);
  if (bytes.length > 0xff) {
    throw new RangeError(
      `Cannot encode PAP packet: ${field} is ${bytes.length} bytes, at most 255`,
    );
  }
  return bytes;
}

/**
 * Encodes a PAP packet.
 *
 * @throws {RangeError} If a field is longer than 255 bytes.
 *
 * @example
 * ```ts
 * import { encodePapPacket, PAP_CODE } from "./pap_packet.ts";
 * const p = encodePapPacket({ code: PAP_CODE.AUTHENTICATE_ACK, identifier: 2, message: "" });
 * if (p.join(",") !== "2,2,0,5,0") throw new Error();
 * ```
 */
export function encodePapPacket(packet: PapPacket): Uint8Array {
  const w = new ByteWriter();
  if (packet.code === PAP_CODE.AUTHENTICATE_REQUEST) {
    const peerId = shortField(packet.peerId, "Peer-Id");
    const password = shortField(packet.password, "Password");
    w.u8(peerId.length).bytes(peerId).u8(password.length).bytes(password);
  } else {
    const message = shortField(packet.message, "Message");
    w.u8(message.length).bytes(message);
  }
  return encodeAuthPacket(packet.code, packet.identifier, w.finish());
}

/**
 * Decodes a PAP packet.
 *
 * @throws {ProtocolError} `TRUNCATED`, `BAD_LENGTH` or `BAD_VALUE` (unknown code).
 *
 * @example
 * ```ts
 * import { decodePapPacket, PAP_CODE } from "./pap_packet.ts";
 * const p = decodePapPacket(new Uint8Array([1, 1, 0, 8, 1, 0x61, 1, 0x62]));
 * if (p.code !== PAP_CODE.AUTHENTICATE_REQUEST || p.peerId !== "a") throw new Error();
 * ```
 */
export function decodePapPacket(bytes: Uint8Array): PapPacket {
  const { code, identifier, data } = decodeAuthHeader(bytes, "pap", "PAP packet");
  switch (code) {
    case PAP_CODE.AUTHENTICATE_REQUEST: {
      const peerId = decodeText(data.bytes(data.u8("Peer-ID Length"), "Peer-Id"));
      const password = decodeText(data.bytes(data.u8("Passwd-Length"), "Password"));
      return { code, identifier, peerId, password };
    }
    case PAP_CODE.AUTHENTICATE_ACK:
    case PAP_CODE.AUTHENTICATE_NAK: {
      // Some peers send an empty Data field instead of Msg-Length 0.
      if (data.remaining === 0) return { code, identifier, message: "" };
      const message = decodeText(data.bytes(data.u8("Msg-Length"), "Message"));
      return { code, identifier, message };
    }
    default:
      throw new ProtocolError(
        "pap",
        ERROR_CODE.BAD_VALUE,
        `Cannot decode PAP packet: code ${code} is not Authenticate-Request, -Ack or -Nak`,
      );
  }
}

/**
 * One-line rendering in pppd style; the password is always redacted.
 *
 * @example
 * ```ts
 * import { describePapPacket, PAP_CODE } from "./pap_packet.ts";
 * const s = describePapPacket({ code: PAP_CODE.AUTHENTICATE_REQUEST, identifier: 1, peerId: "bob", password: "x" });
 * if (s !== 'PAP AuthReq id=0x1 user="bob" password=<redacted>') throw new Error(s);
 * ```
 */
export function describePapPacket(packet: PapPacket): string {
  const id = `id=0x${packet.identifier.toString(16)}`;
  switch (packet.code) {
    case PAP_CODE.AUTHENTICATE_REQUEST:
      return `PAP AuthReq ${id} user=${quotePeerText(packet.peerId)} password=<redacted>`;
    case PAP_CODE.AUTHENTICATE_ACK:
      return `PAP AuthAck ${id} ${quotePeerText(packet.message)}`;
    case PAP_CODE.AUTHENTICATE_NAK:
      return `PAP AuthNak ${id} ${quotePeerText(packet.message)}`;
  }
}
