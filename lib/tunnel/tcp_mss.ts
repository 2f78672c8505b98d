/**
 * TCP MSS clamping on tunnel traffic (RouterOS `change-tcp-mss`;
 * docs/interop.md#mtu-and-mss): a SYN whose MSS option would make segments larger than the tunnel
 * MTU gets its MSS lowered, so TCP through the tunnel never depends on PMTU
 * discovery (which ICMP filters often break).
 *
 * Pure and allocation-free: the packet is changed in place and the TCP
 * checksum updated incrementally (RFC 1624 eqn. 3). Non-SYN packets cost a
 * few byte reads.
 *
 * @module
 */

const TCP = 6;
const SYN = 0x02;
const MSS_KIND = 2;

function u16(p: Uint8Array, o: number): number {
  return ((p[o] ?? 0) << 8) | (p[o + 1] ?? 0);
}

/** Offset of the TCP header of an unfragmented IPv4/IPv6 TCP packet, or -1. */
function tcpOffset(p: Uint8Array): number {
  const version = (p[0] ?? 0) >> 4;
  if (version === 4) {
    const ihl = ((p[0] ?? 0) & 0x0f) * 4;
    // Protocol TCP, fragment offset 0 (only the first fragment has the header).
    if (ihl < 20 || p[9] !== TCP || (u16(p, 6) & 0x1fff) !== 0) return -1;
    return ihl;
  }
  if (version === 6) return p[6] === TCP ? 40 : -1; // no extension headers
  return -1;
}

/**
 * Lowers the MSS option of a TCP SYN in `p` to at most `maxMss`.
 *
 * @returns true when the packet was changed.
 *
 * @example
 * ```ts
 * import { clampTcpMss } from "./tcp_mss.ts";
 * const notTcp = new Uint8Array(28);
 * notTcp[0] = 0x45; notTcp[9] = 17;
 * if (clampTcpMss(notTcp, 1360)) throw new Error();
 * ```
 */
export function clampTcpMss(p: Uint8Array, maxMss: number): boolean {
  const t = tcpOffset(p);
  if (t < 0 || p.length < t + 20 || ((p[t + 13] ?? 0) & SYN) === 0) return false;
  const end = Math.min(p.length, t + ((p[t + 12] ?? 0) >> 4) * 4);
  let o = t + 20;
  while (o < end) {
    const kind = p[o] ?? 0;
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    const len = p[o + 1] ?? 0;
    if (len < 2 || o + len > end) break;
    if (kind === MSS_KIND && len === 4) {
      const old = u16(p, o + 2);
      if (old <= maxMss) return false;
      p[o + 2] = maxMss >> 8;
      p[o + 3] = maxMss & 0xff;
      // RFC 1624: HC' = ~(~HC + ~m + m'), with the MSS at an even offset from
      // the TCP header start (options are 16-bit aligned here: o - t is even
      // when preceded by NOPs in pairs; handle odd alignment by swapping bytes).
      const aligned = (o + 2 - t) % 2 === 0;
      const m = aligned ? old : ((old & 0xff) << 8) | (old >> 8);
      const m2 = aligned ? maxMss : ((maxMss & 0xff) << 8) | (maxMss >> 8);
      let sum = (~u16(p, t + 16) & 0xffff) + (~m & 0xffff) + m2;
      sum = (sum & 0xffff) + (sum >>> 16);
      sum = (sum & 0xffff) + (sum >>> 16);
      const hc = ~sum & 0xffff;
      p[t + 16] = hc >> 8;
      p[t + 17] = hc & 0xff;
      return true;
    }
    o += len;
  }
  return false;
}

/** The MSS that fits `mtu` for the packet's IP version (40 or 60 bytes of headers). */
export function mssForMtu(mtu: number, ipVersion: 4 | 6): number {
  return mtu - (ipVersion === 4 ? 40 : 60);
}
