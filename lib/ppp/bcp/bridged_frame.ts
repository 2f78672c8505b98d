/**
 * Bridged LAN traffic in PPP (RFC 3518 4.3.1, PPP protocol 0x0031): an
 * Ethernet frame behind a two-byte header.
 *
 * ```
 * | F | I | Z | 0 | Pads (4) | MAC Type (8) | [LAN ID (32) if I] | frame … | [pads] | [LAN FCS if F] |
 *   F: the LAN FCS is present     I: a LAN Identification field is present
 *   Z: IEEE 802.3 Tinygram-Compression: zero padding to the minimum size was removed
 *   Pads: pad octets at the end (for PPP links with framing alignment)
 *   MAC Type 1: IEEE 802.3/Ethernet with canonical addresses
 * ```
 *
 * We send frames without FCS, LAN ID, padding or tinygram compression, and
 * accept all of those from the peer.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";

/** PPP protocol numbers of BCP (RFC 3518 4). */
export const BCP_PROTOCOL = {
  /** Bridged PDUs. */
  BRIDGED: 0x0031,
  /** The Bridging Control Protocol. */
  BCP: 0x8031,
} as const;

/** MAC Type 1: IEEE 802.3/Ethernet with canonical addresses (RFC 3518 6). */
export const MAC_TYPE_ETHERNET = 1;
/** Smallest Ethernet frame without FCS (IEEE 802.3: 64 bytes with it). */
export const MIN_ETHERNET_FRAME = 60;

/** Encodes an Ethernet frame (destination MAC onwards, no FCS) as a bridged PDU. */
export function encodeBridgedFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + frame.length);
  out[1] = MAC_TYPE_ETHERNET;
  out.set(frame, 2);
  return out;
}

function bad(
  message: string,
  code: typeof ERROR_CODE[keyof typeof ERROR_CODE] = ERROR_CODE.BAD_VALUE,
) {
  return new ProtocolError("ppp", code, `Cannot decode bridged frame: ${message}`);
}

/**
 * Decodes a bridged PDU into an Ethernet frame without FCS.
 *
 * @throws {ProtocolError} for a MAC type other than 802.3 or a frame
 * shorter than its header, pads and FCS claim
 */
export function decodeBridgedFrame(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 2) {
    throw bad(`${bytes.length} bytes is shorter than the 2-byte header`, ERROR_CODE.TRUNCATED);
  }
  const flags = bytes[0] ?? 0;
  const macType = bytes[1] ?? 0;
  if (macType !== MAC_TYPE_ETHERNET) throw bad(`MAC type ${macType} is not IEEE 802.3 (1)`);
  const start = 2 + ((flags & 0x40) !== 0 ? 4 : 0);
  const trailer = (flags & 0x0f) + ((flags & 0x80) !== 0 ? 4 : 0);
  const end = bytes.length - trailer;
  if (end - start < 14) {
    throw bad(
      `${end - start} bytes of frame is shorter than an Ethernet header`,
      ERROR_CODE.TRUNCATED,
    );
  }
  const frame = bytes.subarray(start, end);
  if ((flags & 0x20) !== 0 && frame.length < MIN_ETHERNET_FRAME) {
    const padded = new Uint8Array(MIN_ETHERNET_FRAME);
    padded.set(frame);
    return padded;
  }
  return frame;
}
