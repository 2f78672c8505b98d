/**
 * What a router does with a packet larger than the next link's MTU, for the
 * shared device's demultiplexer (`interface-mode: shared`), where the one
 * device has the server's `max-mtu` and a session may have negotiated less:
 *
 * - IPv4 with DF set: ICMP Destination Unreachable, code 4 "fragmentation
 *   needed and DF set", with the next-hop MTU (RFC 792, RFC 1191 4);
 * - IPv4 without DF: fragments of the MTU (RFC 791 3.2, {@linkcode fragmentIpv4}),
 *   as the kernel does for a per-session device;
 * - IPv6: ICMPv6 Packet Too Big with the MTU (RFC 4443 3.2).
 *
 * No error answers an ICMP error, a non-first fragment, or a packet to or
 * from an address that is not unicast (RFC 1122 3.2.2, RFC 1812 4.3.2.7,
 * RFC 4443 2.4 e; Packet Too Big, which e.3 would allow for a multicast
 * destination, is not sent for one either: a session's multicast routes
 * are best effort, and an error per member would be a flood).
 *
 * The error's source is the original packet's destination (the address the
 * packet could not reach, owned by the session). The kernel reads the error
 * from the device like any packet from a client, so the source must be one
 * it accepts there: a server address on the device would be a "martian
 * source" (Linux drops packets from its own addresses unless `accept_local`),
 * and the destination routes back into the device, which `rp_filter` wants.
 *
 * Pure: bytes in, bytes out.
 *
 * @module
 */
import { encodeIpv6Packet, IPV6_HEADER_LENGTH, NEXT_HEADER } from "../ipv6/ipv6_packet.ts";

/** Bytes of an IPv4 header without options. */
const IPV4_HEADER = 20;
/** Largest IPv4 ICMP error (RFC 1812 4.3.2.3: "not exceeding 576 bytes"). */
const IPV4_ERROR_MAX = 576;
/** Largest ICMPv6 error: the IPv6 minimum MTU (RFC 4443 2.4 c). */
const IPV6_ERROR_MAX = 1280;
/** Hop limit / TTL of the errors built here. */
const ERROR_TTL = 64;
/** ICMP types that are errors (RFC 792), which no error may answer. */
const ICMP4_ERRORS = new Set([3, 4, 5, 11, 12]);

/** The Internet checksum (RFC 1071) of `bytes`, added to the partial sum `initial`. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (even < bytes.length) sum += bytes[even]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** True for an IPv4 address (big-endian at `at`) that is a unicast host's. */
function ipv4Unicast(p: Uint8Array, at: number): boolean {
  const a = p[at]!;
  if (a === 0 || a === 127 || a >= 224) return false; // this-network, loopback, multicast, class E
  return true;
}

/** The IPv4 header length of `p`, or 0 when `p` is not a well-formed IPv4 packet. */
function ipv4HeaderLength(p: Uint8Array): number {
  if (p.length < IPV4_HEADER || p[0]! >> 4 !== 4) return 0;
  const hl = (p[0]! & 0x0f) * 4;
  const total = (p[2]! << 8) | p[3]!;
  return hl >= IPV4_HEADER && total >= hl && total <= p.length ? hl : 0;
}

/** True when the IPv4 packet has Don't Fragment set. */
export function ipv4DontFragment(p: Uint8Array): boolean {
  return p.length >= IPV4_HEADER && (p[6]! & 0x40) !== 0;
}

/** Writes the IPv4 header checksum of the header at the start of `p`. */
function setIpv4Checksum(p: Uint8Array, hl: number): void {
  p[10] = 0;
  p[11] = 0;
  const sum = internetChecksum(p.subarray(0, hl));
  p[10] = sum >> 8;
  p[11] = sum & 0xff;
}

/**
 * The ICMP "fragmentation needed and DF set" (type 3, code 4) answering
 * `packet` with next-hop MTU `mtu`, addressed to its source; undefined when
 * no error is due (not IPv4, a non-first fragment, an ICMP error, a source
 * or destination that is not unicast). It carries as much of `packet` as
 * fits in 576 bytes: at least its header and first 8 data bytes.
 */
export function ipv4FragmentationNeeded(packet: Uint8Array, mtu: number): Uint8Array | undefined {
  const hl = ipv4HeaderLength(packet);
  if (hl === 0) return undefined;
  if ((((packet[6]! & 0x1f) << 8) | packet[7]!) !== 0) return undefined; // not the first fragment
  if (!ipv4Unicast(packet, 12) || !ipv4Unicast(packet, 16)) return undefined;
  const total = (packet[2]! << 8) | packet[3]!;
  if (packet[9] === 1 && (total < hl + 1 || ICMP4_ERRORS.has(packet[hl]!))) return undefined;
  const quoted = Math.min(total, IPV4_ERROR_MAX - IPV4_HEADER - 8);
  const out = new Uint8Array(IPV4_HEADER + 8 + quoted);
  out[0] = 0x45;
  out[1] = 0xc0; // precedence: internetwork control, as ICMP errors are sent
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  out[8] = ERROR_TTL;
  out[9] = 1; // ICMP
  out.set(packet.subarray(16, 20), 12); // from the unreachable destination
  out.set(packet.subarray(12, 16), 16); // to the sender
  setIpv4Checksum(out, IPV4_HEADER);
  const icmp = out.subarray(IPV4_HEADER);
  icmp[0] = 3;
  icmp[1] = 4;
  icmp[6] = (mtu >> 8) & 0xff; // RFC 1191 4: next-hop MTU in the low 16 bits
  icmp[7] = mtu & 0xff;
  icmp.set(packet.subarray(0, quoted), 8);
  const sum = internetChecksum(icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  return out;
}

/** The options of an IPv4 header that every fragment repeats (copied flag set, RFC 791 3.1). */
function copiedOptions(options: Uint8Array): Uint8Array {
  const kept: number[] = [];
  for (let i = 0; i < options.length;) {
    const type = options[i]!;
    if (type === 0) break; // end of option list
    if (type === 1) { // no-operation
      i++;
      continue;
    }
    const len = options[i + 1] ?? 0;
    if (len < 2 || i + len > options.length) break;
    if ((type & 0x80) !== 0) kept.push(...options.subarray(i, i + len));
    i += len;
  }
  while (kept.length % 4 !== 0) kept.push(0);
  return Uint8Array.from(kept);
}

/**
 * Fragments an IPv4 packet without DF into packets of at most `mtu` bytes
 * (RFC 791 3.2): the first keeps every option, the others those marked
 * copied; the data splits on 8-byte boundaries; offsets count from the
 * packet's own (it may be a fragment already) and the last keeps its MF.
 * Undefined when `packet` is not well-formed IPv4, has DF set, or `mtu`
 * leaves no room for 8 data bytes after the header.
 */
export function fragmentIpv4(packet: Uint8Array, mtu: number): Uint8Array[] | undefined {
  const hl = ipv4HeaderLength(packet);
  if (hl === 0 || ipv4DontFragment(packet)) return undefined;
  const total = (packet[2]! << 8) | packet[3]!;
  const options = copiedOptions(packet.subarray(IPV4_HEADER, hl));
  if (mtu - hl < 8 || mtu - IPV4_HEADER - options.length < 8) return undefined;
  const laterHeader = packet.subarray(0, IPV4_HEADER);
  const baseOffset = ((packet[6]! & 0x1f) << 8) | packet[7]!;
  const lastMore = (packet[6]! & 0x20) !== 0;
  const data = packet.subarray(hl, total);
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length;) {
    const first = at === 0;
    const headerLength = first ? hl : IPV4_HEADER + options.length;
    const room = (mtu - headerLength) & ~7;
    const chunk = Math.min(room, data.length - at);
    const more = at + chunk < data.length || lastMore;
    const f = new Uint8Array(headerLength + chunk);
    if (first) f.set(packet.subarray(0, hl));
    else {
      f.set(laterHeader);
      f.set(options, IPV4_HEADER);
      f[0] = 0x40 | (headerLength / 4);
    }
    f[2] = f.length >> 8;
    f[3] = f.length & 0xff;
    const offset = baseOffset + at / 8;
    f[6] = (more ? 0x20 : 0) | ((offset >> 8) & 0x1f);
    f[7] = offset & 0xff;
    f.set(data.subarray(at, at + chunk), headerLength);
    setIpv4Checksum(f, headerLength);
    out.push(f);
    at += chunk;
  }
  return out;
}

/** True for an IPv6 address at `at` that is multicast (ff00::/8) or unspecified (::). */
function ipv6NotUnicast(p: Uint8Array, at: number): boolean {
  if (p[at] === 0xff) return true;
  for (let i = 0; i < 16; i++) if (p[at + i] !== 0) return false;
  return true;
}

/**
 * The ICMPv6 Packet Too Big (type 2) answering `packet` with `mtu`,
 * addressed to its source; undefined when no error is due (not IPv6, a
 * multicast destination, an unspecified or multicast source, an ICMPv6
 * error right after the fixed header). It carries as much of `packet` as
 * fits in 1280 bytes (RFC 4443 3.2).
 */
export function ipv6PacketTooBig(packet: Uint8Array, mtu: number): Uint8Array | undefined {
  if (packet.length < IPV6_HEADER_LENGTH || packet[0]! >> 4 !== 6) return undefined;
  if (ipv6NotUnicast(packet, 24) || ipv6NotUnicast(packet, 8)) return undefined;
  if (packet[6] === NEXT_HEADER.ICMPV6) {
    const type = packet[IPV6_HEADER_LENGTH];
    if (type === undefined || type < 128) return undefined; // an error (RFC 4443 2.1)
  }
  const quoted = Math.min(packet.length, IPV6_ERROR_MAX - IPV6_HEADER_LENGTH - 8);
  const icmp = new Uint8Array(8 + quoted);
  icmp[0] = 2;
  new DataView(icmp.buffer).setUint32(4, mtu);
  icmp.set(packet.subarray(0, quoted), 8);
  return encodeIpv6Packet({
    source: packet.slice(24, 40),
    destination: packet.slice(8, 24),
    nextHeader: NEXT_HEADER.ICMPV6,
    hopLimit: ERROR_TTL,
    payload: icmp,
  });
}
