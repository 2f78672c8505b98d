/**
 * IPv6 packets carrying ICMPv6 or UDP, as the tunnel's own IPv6 control
 * traffic needs them (Router Advertisements and DHCPv6 replies built by the
 * server, Router Solicitations and DHCPv6 requests built by the client).
 *
 * ```
 * RFC 8200 3:  | ver=6 (4) | traffic class (8) | flow label (20) |
 *              | payload length (16) | next header (8) | hop limit (8) |
 *              | source address (128) | destination address (128) |
 * ```
 *
 * The checksum of ICMPv6 (RFC 4443 2.3) and UDP (RFC 8200 8.1) covers a
 * pseudo-header of source, destination, upper-layer length and next header.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { IPV6_ADDRESS_LENGTH } from "./address.ts";

/** Bytes in the fixed IPv6 header. */
export const IPV6_HEADER_LENGTH = 40;

/** Next Header values used here (IANA protocol numbers). */
export const NEXT_HEADER = {
  /** UDP (RFC 768). */
  UDP: 17,
  /** ICMPv6 (RFC 4443). */
  ICMPV6: 58,
} as const;

/** A decoded IPv6 packet without extension headers. */
export interface Ipv6Packet {
  /** Source address (16 bytes). */
  source: Uint8Array;
  /** Destination address (16 bytes). */
  destination: Uint8Array;
  /** Next Header: the upper-layer protocol. */
  nextHeader: number;
  /** Hop limit. */
  hopLimit: number;
  /** The upper-layer payload (a view into the packet). */
  payload: Uint8Array;
}

/** UDP inside IPv6. */
export interface Udp6Datagram {
  /** UDP source port. */
  sourcePort: number;
  /** UDP destination port. */
  destinationPort: number;
  /** Bytes after the UDP header. */
  payload: Uint8Array;
}

/** The Internet checksum over the IPv6 pseudo-header and `upper`. */
export function ipv6UpperLayerChecksum(
  source: Uint8Array,
  destination: Uint8Array,
  nextHeader: number,
  upper: Uint8Array,
): number {
  let sum = 0;
  const add = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i += 2) {
      sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
    }
  };
  add(source);
  add(destination);
  sum += (upper.length >>> 16) + (upper.length & 0xffff) + nextHeader;
  add(upper);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Builds an IPv6 packet around `upper`, filling the ICMPv6 or UDP checksum
 * (the field at offset 2 or 6 of `upper`, which must hold zero).
 */
export function encodeIpv6Packet(
  packet: Omit<Ipv6Packet, "payload"> & { payload: Uint8Array },
): Uint8Array {
  const { source, destination, nextHeader, hopLimit, payload } = packet;
  if (source.length !== IPV6_ADDRESS_LENGTH || destination.length !== IPV6_ADDRESS_LENGTH) {
    throw new RangeError("Cannot encode IPv6 packet: addresses must be 16 bytes");
  }
  if (payload.length > 0xffff) {
    throw new RangeError(`Cannot encode IPv6 packet: payload of ${payload.length} bytes`);
  }
  const out = new Uint8Array(IPV6_HEADER_LENGTH + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x60000000);
  view.setUint16(4, payload.length);
  out[6] = nextHeader;
  out[7] = hopLimit;
  out.set(source, 8);
  out.set(destination, 24);
  out.set(payload, IPV6_HEADER_LENGTH);
  const checksumAt = nextHeader === NEXT_HEADER.ICMPV6
    ? 2
    : nextHeader === NEXT_HEADER.UDP
    ? 6
    : -1;
  if (checksumAt >= 0) {
    const upper = out.subarray(IPV6_HEADER_LENGTH);
    upper[checksumAt] = 0;
    upper[checksumAt + 1] = 0;
    const sum = ipv6UpperLayerChecksum(source, destination, nextHeader, upper);
    // A computed UDP checksum of zero is sent as 0xffff (RFC 8200 8.1).
    view.setUint16(IPV6_HEADER_LENGTH + checksumAt, sum === 0 && checksumAt === 6 ? 0xffff : sum);
  }
  return out;
}

/**
 * Decodes the fixed header of an IPv6 packet. Extension headers are not
 * walked: the control messages handled here never carry them.
 *
 * @throws {ProtocolError} TRUNCATED / BAD_VERSION / BAD_LENGTH
 */
export function decodeIpv6Packet(bytes: Uint8Array): Ipv6Packet {
  if (bytes.length < IPV6_HEADER_LENGTH) {
    throw new ProtocolError(
      "ipv6",
      ERROR_CODE.TRUNCATED,
      `Cannot decode IPv6 packet: ${bytes.length} bytes is shorter than the 40-byte header`,
    );
  }
  if ((bytes[0] ?? 0) >> 4 !== 6) {
    throw new ProtocolError(
      "ipv6",
      ERROR_CODE.BAD_VERSION,
      `Cannot decode IPv6 packet: version ${(bytes[0] ?? 0) >> 4} is not 6`,
    );
  }
  const length = ((bytes[4] ?? 0) << 8) | (bytes[5] ?? 0);
  if (IPV6_HEADER_LENGTH + length > bytes.length) {
    throw new ProtocolError(
      "ipv6",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode IPv6 packet: payload length ${length} exceeds the ${
        bytes.length - IPV6_HEADER_LENGTH
      } bytes present`,
    );
  }
  return {
    source: bytes.subarray(8, 24),
    destination: bytes.subarray(24, 40),
    nextHeader: bytes[6] ?? 0,
    hopLimit: bytes[7] ?? 0,
    payload: bytes.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + length),
  };
}

/** True when the upper-layer checksum of a decoded packet verifies. */
export function verifyIpv6Checksum(packet: Ipv6Packet): boolean {
  return ipv6UpperLayerChecksum(
    packet.source,
    packet.destination,
    packet.nextHeader,
    packet.payload,
  ) === 0;
}

/** Builds the 8-byte UDP header plus payload (checksum left zero). */
export function encodeUdp(datagram: Udp6Datagram): Uint8Array {
  const out = new Uint8Array(8 + datagram.payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, datagram.sourcePort);
  view.setUint16(2, datagram.destinationPort);
  view.setUint16(4, out.length);
  out.set(datagram.payload, 8);
  return out;
}

/**
 * Decodes a UDP header.
 *
 * @throws {ProtocolError} TRUNCATED / BAD_LENGTH
 */
export function decodeUdp(bytes: Uint8Array): Udp6Datagram {
  if (bytes.length < 8) {
    throw new ProtocolError(
      "ipv6",
      ERROR_CODE.TRUNCATED,
      `Cannot decode UDP datagram: ${bytes.length} bytes is shorter than the 8-byte header`,
    );
  }
  const length = ((bytes[4] ?? 0) << 8) | (bytes[5] ?? 0);
  if (length < 8 || length > bytes.length) {
    throw new ProtocolError(
      "ipv6",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode UDP datagram: length ${length} does not fit the ${bytes.length} bytes present`,
    );
  }
  return {
    sourcePort: ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0),
    destinationPort: ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0),
    payload: bytes.subarray(8, length),
  };
}
