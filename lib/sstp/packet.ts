/**
 * SSTP packets (MS-SSTP 2.2.1-2.2.3): a data packet carrying one PPP frame,
 * or a control packet carrying one control message.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Version 0x10 |  Reserved   |C|   R   |   Length (12 bits)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Data (Length - 4 bytes) ...                  |
 * ```
 *
 * - Version MUST be 0x10.
 * - C is 1 for control, 0 for data.
 * - Length covers the whole packet, header included, so a packet is at most
 *   4095 bytes.
 * - The Reserved and R bits are sent as zero and MUST be ignored on receipt.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { SSTP_HEADER_LENGTH, SSTP_MAX_PAYLOAD_LENGTH } from "./constants.ts";
import {
  decodeSstpControlBody,
  encodeSstpControlMessage,
  type SstpControlMessage,
} from "./control_message.ts";
import { readSstpHeaderIsControl, readSstpHeaderLength, writeSstpHeader } from "./_header.ts";

/** One SSTP packet: data (a PPP frame) or control (MS-SSTP 2.2.1). */
export type SstpPacket =
  | { kind: "data"; data: Uint8Array }
  | { kind: "control"; message: SstpControlMessage };

/**
 * Writes the 4-byte header of a data packet whose payload of `payloadLength`
 * bytes follows at `offset + 4`, so the data path can frame in place.
 *
 * @example
 * ```ts
 * import { writeSstpDataHeader } from "./packet.ts";
 * const buf = new Uint8Array(4 + 2);
 * writeSstpDataHeader(buf, 0, 2);
 * if (buf.join(",") !== "16,0,0,6,0,0") throw new Error();
 * ```
 *
 * @throws {RangeError} If the payload exceeds 4091 bytes or `target` is too short.
 */
export function writeSstpDataHeader(
  target: Uint8Array,
  offset: number,
  payloadLength: number,
): void {
  writeSstpHeader(target, offset, false, payloadLength + SSTP_HEADER_LENGTH);
}

/**
 * Encodes one packet.
 *
 * @example
 * ```ts
 * import { encodeSstpPacket } from "./packet.ts";
 * import { toHex } from "../bytes/hex.ts";
 * const bytes = encodeSstpPacket({ kind: "data", data: new Uint8Array([0xff, 0x03]) });
 * if (toHex(bytes) !== "10000006ff03") throw new Error();
 * ```
 *
 * @throws {RangeError} If the packet would exceed 4095 bytes.
 */
export function encodeSstpPacket(packet: SstpPacket): Uint8Array {
  if (packet.kind === "control") return encodeSstpControlMessage(packet.message);
  if (packet.data.length > SSTP_MAX_PAYLOAD_LENGTH) {
    throw new RangeError(
      `Cannot encode SSTP data packet: payload of ${packet.data.length} bytes exceeds ${SSTP_MAX_PAYLOAD_LENGTH}`,
    );
  }
  const out = new Uint8Array(SSTP_HEADER_LENGTH + packet.data.length);
  writeSstpDataHeader(out, 0, packet.data.length);
  out.set(packet.data, SSTP_HEADER_LENGTH);
  return out;
}

/**
 * Decodes a packet from bytes holding exactly one packet. A data payload is
 * a view into `bytes`, not a copy.
 *
 * @example
 * ```ts
 * import { decodeSstpPacket } from "./packet.ts";
 * import { fromHex } from "../bytes/hex.ts";
 * const p = decodeSstpPacket(fromHex("10 00 00 06 ff 03"));
 * if (p.kind !== "data" || p.data.length !== 2) throw new Error();
 * ```
 *
 * @throws {ProtocolError} `TRUNCATED` below 4 bytes, `BAD_VERSION`,
 * `BAD_LENGTH` when the Length field differs from the bytes given, and any
 * control message error.
 */
export function decodeSstpPacket(bytes: Uint8Array): SstpPacket {
  if (bytes.length < SSTP_HEADER_LENGTH) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.TRUNCATED,
      `Cannot decode SSTP packet: ${bytes.length} bytes is shorter than the 4-byte header`,
    );
  }
  const length = readSstpHeaderLength(bytes, 0);
  if (length !== bytes.length) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode SSTP packet: length ${length} differs from the ${bytes.length} bytes given`,
    );
  }
  const body = bytes.subarray(SSTP_HEADER_LENGTH);
  return readSstpHeaderIsControl(bytes, 0)
    ? { kind: "control", message: decodeSstpControlBody(body) }
    : { kind: "data", data: body };
}
