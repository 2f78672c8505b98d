/**
 * Router Solicitation and Router Advertisement (RFC 4861 4.1, 4.2), with the
 * Prefix Information (4.6.2), MTU (4.6.4) and Recursive DNS Server (RFC 8106
 * 5.1) options: what a PPP link needs for stateless autoconfiguration.
 *
 * ```
 * RS: | type=133 | code=0 | checksum | reserved (32) | options… |
 * RA: | type=134 | code=0 | checksum | cur hop limit | M|O|rsvd |
 *     | router lifetime (16) | reachable time (32) | retrans timer (32) | options… |
 * option: | type (8) | length in units of 8 bytes (8) | data… |
 * ```
 *
 * A PPP link has no link-layer addresses, so the Source Link-Layer Address
 * option is neither sent nor required.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { IPV6_ADDRESS_LENGTH, type Ipv6Prefix, isLinkLocal } from "./address.ts";
import {
  decodeIpv6Packet,
  encodeIpv6Packet,
  type Ipv6Packet,
  NEXT_HEADER,
  verifyIpv6Checksum,
} from "./ipv6_packet.ts";

/** ICMPv6 types of Neighbor Discovery (RFC 4861 4). */
export const ICMPV6_TYPE = {
  /** RFC 4861 4.1 */
  ROUTER_SOLICITATION: 133,
  /** RFC 4861 4.2 */
  ROUTER_ADVERTISEMENT: 134,
} as const;

/** Neighbor Discovery option types. */
export const ND_OPTION = {
  /** RFC 4861 4.6.1 */
  SOURCE_LINK_LAYER_ADDRESS: 1,
  /** RFC 4861 4.6.2 */
  PREFIX_INFORMATION: 3,
  /** RFC 4861 4.6.4 */
  MTU: 5,
  /** RFC 8106 5.1 */
  RDNSS: 25,
} as const;

/** Hop limit of every Neighbor Discovery packet (RFC 4861 6.1). */
export const ND_HOP_LIMIT = 255;

/** ff02::1, all nodes (RFC 4291 2.7.1). */
export const ALL_NODES = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/** ff02::2, all routers (RFC 4291 2.7.1). */
export const ALL_ROUTERS = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

/** One Prefix Information option. */
export interface PrefixInformation {
  /** The advertised prefix. */
  prefix: Ipv6Prefix;
  /** L flag: the prefix is on-link. */
  onLink: boolean;
  /** A flag: hosts may form addresses from it (SLAAC). */
  autonomous: boolean;
  /** Seconds; 0xffffffff is infinity. */
  validLifetimeS: number;
  /** Seconds; never more than the valid lifetime. */
  preferredLifetimeS: number;
}

/** A Router Advertisement's fields and the options this project uses. */
export interface RouterAdvertisement {
  /** Hop limit hosts should use; 0 = unspecified. */
  curHopLimit: number;
  /** M flag: addresses are available by DHCPv6. */
  managed: boolean;
  /** O flag: other configuration is available by DHCPv6. */
  other: boolean;
  /** Seconds this router may be a default router; 0 = not a default router. */
  routerLifetimeS: number;
  /** Milliseconds; 0 = unspecified. */
  reachableTimeMs: number;
  /** Milliseconds; 0 = unspecified. */
  retransTimerMs: number;
  /** Prefix Information options, in order. */
  prefixes: PrefixInformation[];
  /** Link MTU, when advertised. */
  mtu?: number;
  /** Recursive DNS servers (16 bytes each) and their lifetime in seconds. */
  dns?: { servers: Uint8Array[]; lifetimeS: number };
}

/**
 * Encodes an RA's ICMPv6 message (checksum zero; {@linkcode encodeIpv6Packet}
 * fills it).
 */
export function encodeRouterAdvertisement(ra: RouterAdvertisement): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(16);
  const hv = new DataView(head.buffer);
  head[0] = ICMPV6_TYPE.ROUTER_ADVERTISEMENT;
  head[4] = ra.curHopLimit;
  head[5] = (ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0);
  hv.setUint16(6, ra.routerLifetimeS);
  hv.setUint32(8, ra.reachableTimeMs);
  hv.setUint32(12, ra.retransTimerMs);
  parts.push(head);
  if (ra.mtu !== undefined) {
    const o = new Uint8Array(8);
    o[0] = ND_OPTION.MTU;
    o[1] = 1;
    new DataView(o.buffer).setUint32(4, ra.mtu);
    parts.push(o);
  }
  for (const p of ra.prefixes) {
    const o = new Uint8Array(32);
    const v = new DataView(o.buffer);
    o[0] = ND_OPTION.PREFIX_INFORMATION;
    o[1] = 4;
    o[2] = p.prefix.length;
    o[3] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
    v.setUint32(4, p.validLifetimeS);
    v.setUint32(8, p.preferredLifetimeS);
    o.set(p.prefix.address, 16);
    parts.push(o);
  }
  if (ra.dns && ra.dns.servers.length > 0) {
    const o = new Uint8Array(8 + 16 * ra.dns.servers.length);
    o[0] = ND_OPTION.RDNSS;
    o[1] = 1 + 2 * ra.dns.servers.length;
    new DataView(o.buffer).setUint32(4, ra.dns.lifetimeS);
    ra.dns.servers.forEach((s, i) => o.set(s, 8 + 16 * i));
    parts.push(o);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Encodes a Router Solicitation's ICMPv6 message (no options). */
export function encodeRouterSolicitation(): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = ICMPV6_TYPE.ROUTER_SOLICITATION;
  return out;
}

/**
 * A whole RA packet from a link-local `source` to `destination` (ff02::1 for
 * unsolicited ones), hop limit 255 as RFC 4861 6.1.2 requires of receivers.
 */
export function buildRouterAdvertisementPacket(
  source: Uint8Array,
  destination: Uint8Array,
  ra: RouterAdvertisement,
): Uint8Array {
  return encodeIpv6Packet({
    source,
    destination,
    nextHeader: NEXT_HEADER.ICMPV6,
    hopLimit: ND_HOP_LIMIT,
    payload: encodeRouterAdvertisement(ra),
  });
}

/** A whole RS packet from `source` (link-local or ::) to ff02::2. */
export function buildRouterSolicitationPacket(source: Uint8Array): Uint8Array {
  return encodeIpv6Packet({
    source,
    destination: ALL_ROUTERS,
    nextHeader: NEXT_HEADER.ICMPV6,
    hopLimit: ND_HOP_LIMIT,
    payload: encodeRouterSolicitation(),
  });
}

function ndError(message: string): ProtocolError {
  return new ProtocolError("ipv6", ERROR_CODE.BAD_VALUE, message);
}

/** Splits the options area; every option must have a non-zero length (RFC 4861 6.1). */
function splitOptions(bytes: Uint8Array, what: string): { type: number; data: Uint8Array }[] {
  const out: { type: number; data: Uint8Array }[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw ndError(`Cannot decode ${what}: option header truncated`);
    const type = bytes[at] ?? 0;
    const length = (bytes[at + 1] ?? 0) * 8;
    if (length === 0) throw ndError(`Cannot decode ${what}: option ${type} has length 0`);
    if (at + length > bytes.length) {
      throw new ProtocolError(
        "ipv6",
        ERROR_CODE.TRUNCATED,
        `Cannot decode ${what}: option ${type} of ${length} bytes runs past the end`,
      );
    }
    out.push({ type, data: bytes.subarray(at, at + length) });
    at += length;
  }
  return out;
}

/** What kind of ND message a packet is, or undefined when it is none. */
export function ndMessageType(packet: Ipv6Packet): number | undefined {
  if (packet.nextHeader !== NEXT_HEADER.ICMPV6 || packet.payload.length < 1) return undefined;
  const type = packet.payload[0];
  return type === ICMPV6_TYPE.ROUTER_ADVERTISEMENT || type === ICMPV6_TYPE.ROUTER_SOLICITATION
    ? type
    : undefined;
}

function validateNd(packet: Ipv6Packet, minLength: number, what: string): void {
  if (packet.hopLimit !== ND_HOP_LIMIT) {
    throw ndError(`Cannot accept ${what}: hop limit ${packet.hopLimit} is not 255`);
  }
  if ((packet.payload[1] ?? 0) !== 0) {
    throw ndError(`Cannot accept ${what}: ICMPv6 code ${packet.payload[1]} is not 0`);
  }
  if (packet.payload.length < minLength) {
    throw new ProtocolError(
      "ipv6",
      ERROR_CODE.TRUNCATED,
      `Cannot accept ${what}: ${packet.payload.length} bytes is shorter than ${minLength}`,
    );
  }
  if (!verifyIpv6Checksum(packet)) throw ndError(`Cannot accept ${what}: bad ICMPv6 checksum`);
}

/**
 * Validates a received RA as a host must (RFC 4861 6.1.2: link-local
 * source, hop limit 255, code 0, checksum, length ≥ 16, non-zero option
 * lengths) and decodes it. Unknown options are skipped (RFC 4861 4.6).
 *
 * @throws {ProtocolError} when the packet must be discarded
 */
export function decodeRouterAdvertisement(packet: Ipv6Packet): RouterAdvertisement {
  const what = "Router Advertisement";
  if (!isLinkLocal(packet.source)) {
    throw ndError(`Cannot accept ${what}: source is not link-local`);
  }
  validateNd(packet, 16, what);
  const p = packet.payload;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const ra: RouterAdvertisement = {
    curHopLimit: p[4] ?? 0,
    managed: ((p[5] ?? 0) & 0x80) !== 0,
    other: ((p[5] ?? 0) & 0x40) !== 0,
    routerLifetimeS: v.getUint16(6),
    reachableTimeMs: v.getUint32(8),
    retransTimerMs: v.getUint32(12),
    prefixes: [],
  };
  for (const { type, data } of splitOptions(p.subarray(16), what)) {
    const ov = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (type === ND_OPTION.PREFIX_INFORMATION) {
      if (data.length !== 32) {
        throw ndError(`Cannot accept ${what}: prefix option of ${data.length} bytes`);
      }
      const length = data[2] ?? 0;
      if (length > 128) throw ndError(`Cannot accept ${what}: prefix length ${length}`);
      ra.prefixes.push({
        prefix: { address: data.slice(16, 32), length },
        onLink: ((data[3] ?? 0) & 0x80) !== 0,
        autonomous: ((data[3] ?? 0) & 0x40) !== 0,
        validLifetimeS: ov.getUint32(4),
        preferredLifetimeS: ov.getUint32(8),
      });
    } else if (type === ND_OPTION.MTU && data.length === 8) {
      ra.mtu = ov.getUint32(4);
    } else if (type === ND_OPTION.RDNSS && data.length >= 24 && (data.length - 8) % 16 === 0) {
      const servers: Uint8Array[] = [];
      for (let at = 8; at < data.length; at += IPV6_ADDRESS_LENGTH) {
        servers.push(data.slice(at, at + IPV6_ADDRESS_LENGTH));
      }
      ra.dns = { servers, lifetimeS: ov.getUint32(4) };
    }
  }
  return ra;
}

/**
 * Validates a received RS as a router must (RFC 4861 6.1.1: hop limit 255,
 * code 0, checksum, length ≥ 8, non-zero option lengths).
 *
 * @throws {ProtocolError} when the packet must be discarded
 */
export function validateRouterSolicitation(packet: Ipv6Packet): void {
  const what = "Router Solicitation";
  validateNd(packet, 8, what);
  splitOptions(packet.payload.subarray(8), what);
}

/** Decodes an IPv6 packet and returns it when it is an RS or RA, else undefined. */
export function decodeNdPacket(bytes: Uint8Array): Ipv6Packet | undefined {
  const packet = decodeIpv6Packet(bytes);
  return ndMessageType(packet) === undefined ? undefined : packet;
}
