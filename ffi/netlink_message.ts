/**
 * rtnetlink request encoding and ACK decoding (pure: no FFI here). RFC 3549
 * and `<linux/netlink.h>`, `<linux/rtnetlink.h>`, `<linux/if_addr.h>`; all
 * integers in host order (little-endian on the supported hosts).
 *
 * ```
 * struct nlmsghdr (16)  len u32 | type u16 | flags u16 | seq u32 | pid u32
 * struct ifaddrmsg (8)  family u8 | prefixlen u8 | flags u8 | scope u8 | index u32
 * struct ifinfomsg (16) family u8 | pad u8 | type u16 | index i32 | flags u32 | change u32
 * struct rtmsg (12)     family u8 | dst_len u8 | src_len u8 | tos u8 | table u8 |
 *                       protocol u8 | scope u8 | type u8 | flags u32
 * struct rtattr (4+)    len u16 | type u16 | data, padded to 4 (RTA_ALIGN)
 * NLMSG_ERROR payload   error i32 (0 = ACK, else -errno) | the request's nlmsghdr
 * ```
 *
 * @example
 * ```ts
 * import { encodeNewAddress } from "./netlink_message.ts";
 * const msg = encodeNewAddress(1, { index: 7, local: "198.18.5.1", peer: "198.18.5.2", prefixLen: 32 });
 * if (msg.length !== 16 + 8 + 8 + 8) throw new Error();
 * ```
 *
 * IPv6 (`AF_INET6`) has its own requests ({@linkcode encodeNewAddress6},
 * {@linkcode encodeDeleteAddress6}, {@linkcode encodeNewRoute6},
 * {@linkcode encodeDeleteRoute6}): 16-byte addresses, IFA_FLAGS for `nodad`,
 * IFA_CACHEINFO for address lifetimes, and route types without a device
 * (`unreachable`, `blackhole`, `prohibit`).
 *
 * @module
 */

/** `NLMSG_ERROR = 0x2` (linux/netlink.h): an error or, with error 0, an ACK. */
export const NLMSG_ERROR = 2;
/** `NLMSG_DONE = 0x3` (linux/netlink.h). */
export const NLMSG_DONE = 3;
/** `NLM_F_REQUEST = 0x01` (linux/netlink.h). */
export const NLM_F_REQUEST = 0x01;
/** `NLM_F_ACK = 0x04` (linux/netlink.h): ask for an NLMSG_ERROR reply even on success. */
export const NLM_F_ACK = 0x04;
/** `NLM_F_REPLACE = 0x100` (linux/netlink.h). */
export const NLM_F_REPLACE = 0x100;
/** `NLM_F_EXCL = 0x200` (linux/netlink.h). */
export const NLM_F_EXCL = 0x200;
/** `NLM_F_CREATE = 0x400` (linux/netlink.h). */
export const NLM_F_CREATE = 0x400;

/** `RTM_NEWLINK = 16` (linux/rtnetlink.h). */
export const RTM_NEWLINK = 16;
/** `RTM_NEWADDR = 20` (linux/rtnetlink.h). */
export const RTM_NEWADDR = 20;
/** `RTM_DELADDR = 21` (linux/rtnetlink.h). */
export const RTM_DELADDR = 21;
/** `RTM_NEWROUTE = 24` (linux/rtnetlink.h). */
export const RTM_NEWROUTE = 24;
/** `RTM_DELROUTE = 25` (linux/rtnetlink.h). */
export const RTM_DELROUTE = 25;

/** `IFA_ADDRESS = 1` (linux/if_addr.h): the peer on point-to-point links. */
export const IFA_ADDRESS = 1;
/** `IFA_LOCAL = 2` (linux/if_addr.h): the local address. */
export const IFA_LOCAL = 2;
/** `IFLA_MTU = 4` (linux/if_link.h). */
export const IFLA_MTU = 4;
/** `RTA_DST = 1` (linux/rtnetlink.h). */
export const RTA_DST = 1;
/** `RTA_OIF = 4` (linux/rtnetlink.h). */
export const RTA_OIF = 4;
/** `RTA_GATEWAY = 5` (linux/rtnetlink.h). */
export const RTA_GATEWAY = 5;
/** `RTA_PRIORITY = 6` (linux/rtnetlink.h): the route metric. */
export const RTA_PRIORITY = 6;

/** `AF_INET = 2`, `AF_UNSPEC = 0` (linux/socket.h). */
const AF_INET = 2;
const AF_UNSPEC = 0;
/** `IFF_UP = 0x1` (linux/if.h). */
const IFF_UP = 0x1;
/** `RT_TABLE_MAIN = 254` (linux/rtnetlink.h). */
const RT_TABLE_MAIN = 254;
/** `RTPROT_STATIC = 4` (linux/rtnetlink.h): installed by an administrator/daemon. */
const RTPROT_STATIC = 4;
/** `RT_SCOPE_UNIVERSE = 0`, `RT_SCOPE_LINK = 253`, `RT_SCOPE_NOWHERE = 255` (linux/rtnetlink.h). */
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
/** `RTPROT_UNSPEC = 0`, `RTN_UNSPEC = 0` (linux/rtnetlink.h): match any on deletion. */
const RTPROT_UNSPEC = 0;
const RTN_UNSPEC = 0;
/** `RTN_UNICAST = 1` (linux/rtnetlink.h). */
const RTN_UNICAST = 1;

const NLMSG_HDRLEN = 16;

/** An IPv4 address on an interface (`ip addr add LOCAL [peer PEER]/LEN dev IDX`). */
export interface AddressRequest {
  /** Interface index. */
  index: number;
  /** Local address, dotted quad. */
  local: string;
  /** Point-to-point peer (IFA_ADDRESS); defaults to `local`. */
  peer?: string;
  /** Prefix length (0..32); 32 for a point-to-point peer. */
  prefixLen: number;
}

/** Link settings (`ip link set dev IDX [up|down] [mtu N]`). */
export interface LinkRequest {
  /** Interface index (`ifi_index`). */
  index: number;
  /** Set (true) or clear (false) IFF_UP; unchanged when absent. */
  up?: boolean;
  /** New MTU in bytes (`IFLA_MTU`); unchanged when absent. */
  mtu?: number;
}

/** An IPv4 route (`ip route add DST/LEN [via GW] dev IDX [metric M]`). */
export interface RouteRequest {
  /** Destination network, dotted quad. */
  dst: string;
  /** Destination prefix length (0..32; 0 is the default route). */
  prefixLen: number;
  /** Output interface index. */
  index: number;
  /** Next hop, dotted quad (`RTA_GATEWAY`); a directly connected route when absent. */
  gateway?: string;
  /** Route priority (`RTA_PRIORITY`), lower wins; the kernel's default (0) when absent. */
  metric?: number;
}

/**
 * Parses a dotted-quad IPv4 address.
 *
 * @throws {RangeError} `Cannot parse IPv4 address "x"`.
 */
export function parseIpv4(addr: string): Uint8Array {
  const parts = addr.split(".");
  const bytes = parts.map((p) => /^\d{1,3}$/.test(p) ? Number(p) : 256);
  if (bytes.length !== 4 || bytes.some((b) => b > 255)) {
    throw new RangeError(`Cannot parse IPv4 address "${addr}"`);
  }
  return Uint8Array.from(bytes);
}

class Builder {
  readonly #buf = new Uint8Array(256);
  readonly #view = new DataView(this.#buf.buffer);
  #len = NLMSG_HDRLEN;

  constructor(type: number, flags: number, seq: number) {
    this.#view.setUint16(4, type, true);
    this.#view.setUint16(6, flags, true);
    this.#view.setUint32(8, seq, true);
  }
  u8(v: number): this {
    this.#view.setUint8(this.#len, v);
    this.#len += 1;
    return this;
  }
  u16(v: number): this {
    this.#view.setUint16(this.#len, v, true);
    this.#len += 2;
    return this;
  }
  u32(v: number): this {
    this.#view.setUint32(this.#len, v, true);
    this.#len += 4;
    return this;
  }
  attr(type: number, data: Uint8Array): this {
    this.u16(4 + data.length).u16(type);
    this.#buf.set(data, this.#len);
    this.#len += (data.length + 3) & ~3; // RTA_ALIGN
    return this;
  }
  attrU32(type: number, v: number): this {
    const d = new Uint8Array(4);
    new DataView(d.buffer).setUint32(0, v, true);
    return this.attr(type, d);
  }
  finish(): Uint8Array<ArrayBuffer> {
    this.#view.setUint32(0, this.#len, true);
    return this.#buf.slice(0, this.#len);
  }
}

function checkPrefix(len: number, what: string): void {
  if (!Number.isInteger(len) || len < 0 || len > 32) {
    throw new RangeError(`Cannot encode ${what}: prefix length ${len} is outside 0..32`);
  }
}

/** Encodes RTM_NEWADDR (create, fail if it exists) with IFA_LOCAL and IFA_ADDRESS. */
export function encodeNewAddress(seq: number, req: AddressRequest): Uint8Array<ArrayBuffer> {
  checkPrefix(req.prefixLen, "address");
  return new Builder(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq)
    .u8(AF_INET).u8(req.prefixLen).u8(0).u8(RT_SCOPE_UNIVERSE).u32(req.index)
    .attr(IFA_LOCAL, parseIpv4(req.local))
    .attr(IFA_ADDRESS, parseIpv4(req.peer ?? req.local))
    .finish();
}

/** Encodes RTM_NEWLINK changing IFF_UP (when `up` is set) and IFLA_MTU. */
export function encodeSetLink(seq: number, req: LinkRequest): Uint8Array<ArrayBuffer> {
  const b = new Builder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq)
    .u8(AF_UNSPEC).u8(0).u16(0).u32(req.index)
    .u32(req.up ? IFF_UP : 0).u32(req.up === undefined ? 0 : IFF_UP); // flags, change mask
  if (req.mtu !== undefined) b.attrU32(IFLA_MTU, req.mtu);
  return b.finish();
}

/** Encodes RTM_NEWROUTE in the main table (create, fail if it exists). */
export function encodeNewRoute(seq: number, req: RouteRequest): Uint8Array<ArrayBuffer> {
  checkPrefix(req.prefixLen, "route");
  const b = new Builder(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq)
    .u8(AF_INET).u8(req.prefixLen).u8(0).u8(0)
    .u8(RT_TABLE_MAIN).u8(RTPROT_STATIC)
    .u8(req.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE).u8(RTN_UNICAST)
    .u32(0)
    .attr(RTA_DST, parseIpv4(req.dst))
    .attrU32(RTA_OIF, req.index);
  if (req.gateway !== undefined) b.attr(RTA_GATEWAY, parseIpv4(req.gateway));
  if (req.metric !== undefined) b.attrU32(RTA_PRIORITY, req.metric);
  return b.finish();
}

/**
 * Encodes RTM_DELROUTE for a main-table route, as `ip route del` does:
 * protocol, type and scope left unspecified (`RT_SCOPE_NOWHERE`), so the
 * kernel matches the route by destination, output interface, gateway and
 * metric. ESRCH answers a route that does not exist.
 */
export function encodeDeleteRoute(seq: number, req: RouteRequest): Uint8Array<ArrayBuffer> {
  checkPrefix(req.prefixLen, "route");
  const b = new Builder(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq)
    .u8(AF_INET).u8(req.prefixLen).u8(0).u8(0)
    .u8(RT_TABLE_MAIN).u8(RTPROT_UNSPEC).u8(RT_SCOPE_NOWHERE).u8(RTN_UNSPEC)
    .u32(0)
    .attr(RTA_DST, parseIpv4(req.dst))
    .attrU32(RTA_OIF, req.index);
  if (req.gateway !== undefined) b.attr(RTA_GATEWAY, parseIpv4(req.gateway));
  if (req.metric !== undefined) b.attrU32(RTA_PRIORITY, req.metric);
  return b.finish();
}

/** What one reply message says about request `seq`. */
export interface NetlinkAck {
  /** `nlmsg_seq` of the request this reply answers. */
  seq: number;
  /** 0 for success, else the positive errno. */
  errno: number;
}

/**
 * Finds the NLMSG_ERROR replies (ACKs and errors) in a datagram from the
 * kernel; other message types are skipped. Truncated trailing bytes end the
 * walk.
 */
export function decodeNetlinkAcks(datagram: Uint8Array): NetlinkAck[] {
  const v = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const out: NetlinkAck[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= datagram.length) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > datagram.length) break;
    if (v.getUint16(off + 4, true) === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4) {
      out.push({
        seq: v.getUint32(off + 8, true),
        errno: 0 - v.getInt32(off + NLMSG_HDRLEN, true),
      });
    }
    off += (len + 3) & ~3; // NLMSG_ALIGN
  }
  return out;
}

/** Convenience: the single ACK for `seq` in a datagram, or undefined. */
export function decodeNetlinkAck(datagram: Uint8Array, seq: number): NetlinkAck | undefined {
  return decodeNetlinkAcks(datagram).find((a) => a.seq === seq);
}

/** `AF_INET6 = 10` (linux/socket.h). */
const AF_INET6 = 10;
/** `IFA_CACHEINFO = 6` (linux/if_addr.h): preferred and valid lifetimes. */
export const IFA_CACHEINFO = 6;
/** `IFA_FLAGS = 8` (linux/if_addr.h): the 32-bit address flags. */
export const IFA_FLAGS = 8;
/** `IFA_F_NODAD = 0x02` (linux/if_addr.h): no duplicate address detection. */
export const IFA_F_NODAD = 0x02;
/** `RTN_BLACKHOLE = 6`, `RTN_UNREACHABLE = 7`, `RTN_PROHIBIT = 8` (linux/rtnetlink.h). */
export const ROUTE_TYPE_NUMBER = {
  unicast: RTN_UNICAST,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
} as const;
/** 0xffffffff: an infinite lifetime (`forever`). */
const INFINITE_LIFETIME = 0xffffffff;

/** An IPv6 address on an interface (`ip -6 addr add|replace ADDR/LEN dev IDX …`). */
export interface Address6Request {
  /** Interface index. */
  index: number;
  /** The address, IPv6 text. */
  address: string;
  /** Prefix length (0..128). */
  prefixLen: number;
  /** `nodad`: usable at once, no duplicate address detection. */
  nodad?: boolean;
  /** `replace`: update an existing address (its lifetimes) instead of failing with EEXIST. */
  replace?: boolean;
  /** `valid_lft` in seconds (absent: forever). */
  validLifetimeS?: number;
  /** `preferred_lft` in seconds (absent: forever). */
  preferredLifetimeS?: number;
}

/** An IPv6 route (`ip -6 route add [TYPE] DST/LEN [via GW] [dev IDX] [metric M]`). */
export interface Route6Request {
  /** Destination network, IPv6 text. */
  dst: string;
  /** Destination prefix length (0..128). */
  prefixLen: number;
  /** Output interface index; absent for `unreachable`, `blackhole`, `prohibit`. */
  index?: number;
  /** Route type (default unicast, which needs `index`). */
  type?: keyof typeof ROUTE_TYPE_NUMBER;
  /** Next hop, IPv6 text. */
  gateway?: string;
  /** Route priority (`RTA_PRIORITY`); the kernel's default for IPv6 (1024) when absent. */
  metric?: number;
}

/**
 * Parses IPv6 text (hex groups, one `::`; no embedded IPv4). Kept here, not
 * taken from lib/ipv6, so main.ts's start-up import of rtnetlink pulls in
 * no lib module.
 *
 * @throws {RangeError} `Cannot parse IPv6 address "x"`.
 */
export function parseIpv6Text(addr: string): Uint8Array {
  const bad = () => new RangeError(`Cannot parse IPv6 address "${addr}"`);
  const halves = addr.split("::");
  if (halves.length > 2) throw bad();
  const groups = (h: string) => h === "" ? [] : h.split(":");
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw bad();
  const all: string[] = [
    ...head,
    ...new Array<string>(halves.length === 2 ? missing : 0).fill("0"),
    ...tail,
  ];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function ipv6Bytes(text: string, what: string): Uint8Array {
  try {
    return parseIpv6Text(text);
  } catch {
    throw new RangeError(`Cannot encode ${what}: "${text}" is not an IPv6 address`);
  }
}

function checkPrefix6(len: number, what: string): void {
  if (!Number.isInteger(len) || len < 0 || len > 128) {
    throw new RangeError(`Cannot encode ${what}: prefix length ${len} is outside 0..128`);
  }
}

/** fe80::/10 gets link scope, as `ip` gives it (the kernel derives IPv6 scopes itself). */
function addressScope6(bytes: Uint8Array): number {
  return bytes[0] === 0xfe && ((bytes[1] ?? 0) & 0xc0) === 0x80 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
}

/**
 * Encodes RTM_NEWADDR for IPv6, as `ip -6 addr add|replace`: IFA_LOCAL,
 * IFA_FLAGS (with the low byte in `ifa_flags` too, for older kernels) and,
 * when a lifetime is given, IFA_CACHEINFO (preferred, valid, 0, 0).
 */
export function encodeNewAddress6(seq: number, req: Address6Request): Uint8Array<ArrayBuffer> {
  checkPrefix6(req.prefixLen, "address");
  const address = ipv6Bytes(req.address, "address");
  const flags = req.nodad ? IFA_F_NODAD : 0;
  const how = req.replace ? NLM_F_REPLACE : NLM_F_EXCL;
  const b = new Builder(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | how, seq)
    .u8(AF_INET6).u8(req.prefixLen).u8(flags & 0xff).u8(addressScope6(address)).u32(req.index)
    .attr(IFA_LOCAL, address)
    .attrU32(IFA_FLAGS, flags);
  if (req.validLifetimeS !== undefined || req.preferredLifetimeS !== undefined) {
    const valid = req.validLifetimeS ?? INFINITE_LIFETIME;
    const preferred = Math.min(req.preferredLifetimeS ?? INFINITE_LIFETIME, valid);
    const info = new Uint8Array(16);
    const v = new DataView(info.buffer);
    v.setUint32(0, preferred, true);
    v.setUint32(4, valid, true);
    b.attr(IFA_CACHEINFO, info);
  }
  return b.finish();
}

/** Encodes RTM_DELADDR for an IPv6 address (ESRCH/EADDRNOTAVAIL when it is not there). */
export function encodeDeleteAddress6(
  seq: number,
  req: Pick<Address6Request, "index" | "address" | "prefixLen">,
): Uint8Array<ArrayBuffer> {
  checkPrefix6(req.prefixLen, "address");
  const address = ipv6Bytes(req.address, "address");
  return new Builder(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq)
    .u8(AF_INET6).u8(req.prefixLen).u8(0).u8(addressScope6(address)).u32(req.index)
    .attr(IFA_LOCAL, address)
    .finish();
}

function route6(type: number, flags: number, seq: number, req: Route6Request, del: boolean) {
  checkPrefix6(req.prefixLen, "route");
  const kind = req.type ?? "unicast";
  const unicast = kind === "unicast";
  if (unicast && req.index === undefined && req.gateway === undefined) {
    throw new RangeError("Cannot encode route: a unicast route needs a device or a gateway");
  }
  if (!unicast && (req.index !== undefined || req.gateway !== undefined)) {
    throw new RangeError(`Cannot encode route: a ${kind} route has no device or gateway`);
  }
  const scope = del
    ? RT_SCOPE_NOWHERE
    : unicast && req.gateway === undefined
    ? RT_SCOPE_LINK
    : RT_SCOPE_UNIVERSE;
  const b = new Builder(type, flags, seq)
    .u8(AF_INET6).u8(req.prefixLen).u8(0).u8(0)
    .u8(RT_TABLE_MAIN).u8(del ? RTPROT_UNSPEC : RTPROT_STATIC).u8(scope)
    .u8(del && unicast ? RTN_UNSPEC : ROUTE_TYPE_NUMBER[kind])
    .u32(0)
    .attr(RTA_DST, ipv6Bytes(req.dst, "route destination"));
  if (req.index !== undefined) b.attrU32(RTA_OIF, req.index);
  if (req.gateway !== undefined) b.attr(RTA_GATEWAY, ipv6Bytes(req.gateway, "gateway"));
  if (req.metric !== undefined) b.attrU32(RTA_PRIORITY, req.metric);
  return b.finish();
}

/** Encodes RTM_NEWROUTE for IPv6 in the main table (create, fail if it exists). */
export function encodeNewRoute6(seq: number, req: Route6Request): Uint8Array<ArrayBuffer> {
  const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  return route6(RTM_NEWROUTE, flags, seq, req, false);
}

/**
 * Encodes RTM_DELROUTE for an IPv6 main-table route, as `ip -6 route del`:
 * protocol and scope unspecified; the type is kept for `unreachable` and the
 * like (the kernel matches it), unspecified for unicast. ESRCH answers a
 * route that does not exist.
 */
export function encodeDeleteRoute6(seq: number, req: Route6Request): Uint8Array<ArrayBuffer> {
  return route6(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, req, true);
}
