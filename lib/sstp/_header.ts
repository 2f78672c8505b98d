/**
 * The 4-byte SSTP packet header (MS-SSTP 2.2.1), shared by the packet codec,
 * the control message codec and the framer.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Version 0x10 |  Reserved   |C|   R   |   Length (12 bits)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { SSTP_HEADER_LENGTH, SSTP_MAX_PACKET_LENGTH, SSTP_VERSION } from "./constants.ts";

/**
 * Writes a header at `offset`. Reserved and R bits are written as zero.
 *
 * @throws {RangeError} If the packet length is outside 4..4095.
 */
export function writeSstpHeader(
  target: Uint8Array,
  offset: number,
  isControl: boolean,
  packetLength: number,
): void {
  if (
    !Number.isInteger(packetLength) || packetLength < SSTP_HEADER_LENGTH ||
    packetLength > SSTP_MAX_PACKET_LENGTH
  ) {
    throw new RangeError(
      `Cannot encode SSTP packet: length ${packetLength} is outside ${SSTP_HEADER_LENGTH}..${SSTP_MAX_PACKET_LENGTH}`,
    );
  }
  if (offset < 0 || offset + SSTP_HEADER_LENGTH > target.length) {
    throw new RangeError(
      `Cannot write SSTP header at ${offset}: target has ${target.length} bytes`,
    );
  }
  target[offset] = SSTP_VERSION;
  target[offset + 1] = isControl ? 1 : 0;
  target[offset + 2] = packetLength >> 8;
  target[offset + 3] = packetLength & 0xff;
}

/**
 * Reads and checks the header at `offset` (at least 4 bytes must be there)
 * and returns the packet length. The Reserved and R bits are ignored on
 * receipt (MS-SSTP 2.2.1).
 *
 * @throws {ProtocolError} `BAD_VERSION` unless the version is 0x10,
 * `BAD_LENGTH` when the length is below the 4-byte header. Either means the
 * stream cannot be delineated (MS-SSTP 3.1.5.1).
 */
export function readSstpHeaderLength(bytes: Uint8Array, offset: number): number {
  const version = bytes[offset] ?? -1;
  if (version !== SSTP_VERSION) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_VERSION,
      `Cannot decode SSTP packet: version 0x${version.toString(16)} is not 0x10`,
    );
  }
  const length = (((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) & 0x0fff;
  if (length < SSTP_HEADER_LENGTH) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode SSTP packet: length ${length} is shorter than the 4-byte header`,
    );
  }
  return length;
}

/** True when the C bit of the header at `offset` marks a control packet (MS-SSTP 2.2.1). */
export function readSstpHeaderIsControl(bytes: Uint8Array, offset: number): boolean {
  return ((bytes[offset + 1] ?? 0) & 0x01) === 1;
}
