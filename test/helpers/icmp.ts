/**
 * IPv4 ICMP echo packets for tests (wireguard-go `tuntest.Ping` analogue).
 *
 * @module
 */

function checksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ip4(a: string): number[] {
  return a.split(".").map(Number);
}

/** Builds an IPv4 ICMP echo request (type 8) or reply (type 0). */
export function buildIcmpEcho(
  src: string,
  dst: string,
  opts: { id?: number; seq?: number; payload?: Uint8Array; reply?: boolean } = {},
): Uint8Array {
  const payload = opts.payload ?? new TextEncoder().encode("sstp-test-ping");
  const p = new Uint8Array(20 + 8 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(4, 0x1234);
  p[8] = 64;
  p[9] = 1; // ICMP
  p.set(ip4(src), 12);
  p.set(ip4(dst), 16);
  v.setUint16(10, checksum(p, 0, 20));
  p[20] = opts.reply ? 0 : 8;
  v.setUint16(24, opts.id ?? 1);
  v.setUint16(26, opts.seq ?? 1);
  p.set(payload, 28);
  v.setUint16(22, checksum(p, 20, p.length));
  return p;
}

/** Parses the addresses and ICMP type of an IPv4 ICMP packet, or null. */
export function parseIcmp(
  p: Uint8Array,
): { src: string; dst: string; type: number; id: number; seq: number } | null {
  if (p.length < 28 || (p[0] ?? 0) >> 4 !== 4 || p[9] !== 1) return null;
  const ihl = ((p[0] ?? 0) & 0xf) * 4;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return {
    src: Array.from(p.subarray(12, 16)).join("."),
    dst: Array.from(p.subarray(16, 20)).join("."),
    type: p[ihl] ?? -1,
    id: v.getUint16(ihl + 4),
    seq: v.getUint16(ihl + 6),
  };
}
