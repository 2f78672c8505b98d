/**
 * Which inbound packets the data-plane Worker hands to the main thread
 * instead of the TUN device: the session's own IPv6 code (Router
 * Advertisements, neighbour discovery, DHCPv6) runs there, beside the
 * protocol engine, and sees IPv6 packets before the device does.
 *
 * @module
 */

/** IPv6 next-header values (IANA): ICMPv6 58, UDP 17. */
const ICMPV6 = 58;
const UDP = 17;
/** Fixed IPv6 header length (RFC 8200 3). */
const IPV6_HEADER = 40;

/**
 * True for an IPv6 packet the session's IPv6 code may take: ICMPv6 Router
 * Solicitation/Advertisement, Neighbor Solicitation/Advertisement, Redirect
 * (types 133-137, RFC 4861 4) and UDP to the DHCPv6 ports 546/547 (RFC 8415
 * 7.2). Packets with extension headers before these are not recognised
 * (neighbour discovery and DHCPv6 are sent without them).
 */
export function isIpv6LinkControl(packet: Uint8Array): boolean {
  if (packet.length < IPV6_HEADER + 4 || packet[0]! >> 4 !== 6) return false;
  const next = packet[6];
  if (next === ICMPV6) {
    const type = packet[IPV6_HEADER]!;
    return type >= 133 && type <= 137;
  }
  if (next === UDP) {
    const port = (packet[IPV6_HEADER + 2]! << 8) | packet[IPV6_HEADER + 3]!;
    return port === 546 || port === 547;
  }
  return false;
}
