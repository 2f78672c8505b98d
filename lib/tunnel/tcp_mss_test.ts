import assert from "node:assert/strict";
import { clampTcpMss, mssForMtu } from "./tcp_mss.ts";

/** Full TCP checksum over the pseudo-header, computed from scratch (the reference). */
function tcpChecksum(p: Uint8Array, v6: boolean): number {
  const t = v6 ? 40 : ((p[0]! & 0xf) * 4);
  const len = p.length - t;
  const words: number[] = [];
  const addBytes = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) words.push((b[i]! << 8) | (b[i + 1] ?? 0));
  };
  if (v6) {
    addBytes(p.subarray(8, 40));
    words.push(len >>> 16, len & 0xffff, 0, 6);
  } else {
    addBytes(p.subarray(12, 20));
    words.push(6, len);
  }
  const seg = p.slice(t);
  seg[16] = 0;
  seg[17] = 0;
  addBytes(seg);
  let sum = 0;
  for (const w of words) sum += w;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function synPacket(options: number[], v6 = false, flags = 0x02): Uint8Array {
  const ipLen = v6 ? 40 : 20;
  const tcpLen = 20 + options.length;
  const p = new Uint8Array(ipLen + tcpLen);
  if (v6) {
    p[0] = 0x60;
    p[4] = tcpLen >> 8;
    p[5] = tcpLen & 0xff;
    p[6] = 6;
    p[7] = 64;
    p.set([0x20, 0x01, 0x0d, 0xb8], 8);
    p[23] = 1;
    p.set([0x20, 0x01, 0x0d, 0xb8], 24);
    p[39] = 2;
  } else {
    p[0] = 0x45;
    p[2] = p.length >> 8;
    p[3] = p.length & 0xff;
    p[8] = 64;
    p[9] = 6;
    p.set([198, 18, 7, 2, 198, 18, 7, 1], 12);
  }
  const t = ipLen;
  p.set([0xc3, 0x50, 0x00, 0x50], t); // ports 50000 -> 80
  p[t + 12] = (tcpLen / 4) << 4;
  p[t + 13] = flags;
  p[t + 14] = 0xff;
  p[t + 15] = 0xff;
  p.set(options, t + 20);
  const c = tcpChecksum(p, v6);
  p[t + 16] = c >> 8;
  p[t + 17] = c & 0xff;
  return p;
}

function mssOf(p: Uint8Array, at: number): number {
  return (p[at]! << 8) | p[at + 1]!;
}

Deno.test("clampTcpMss() lowers an IPv4 SYN's MSS and keeps the checksum valid", () => {
  const p = synPacket([2, 4, 0x05, 0xb4, 1, 1, 4, 2]); // MSS 1460, NOP NOP, SACK-permitted
  assert.equal(clampTcpMss(p, 1360), true);
  assert.equal(mssOf(p, 20 + 22), 1360);
  assert.equal(mssOf(p, 20 + 16), tcpChecksum(p, false));
});

Deno.test("clampTcpMss() handles an MSS option at an odd offset", () => {
  const p = synPacket([1, 2, 4, 0x05, 0xb4, 1, 1, 1]); // NOP, MSS at odd offset
  assert.equal(clampTcpMss(p, 1000), true);
  assert.equal(mssOf(p, 20 + 23), 1000);
  assert.equal(mssOf(p, 20 + 16), tcpChecksum(p, false));
});

Deno.test("clampTcpMss() lowers an IPv6 SYN's MSS", () => {
  const p = synPacket([2, 4, 0x05, 0xa0, 0, 0, 0, 0], true);
  assert.equal(clampTcpMss(p, mssForMtu(1400, 6)), true);
  assert.equal(mssOf(p, 40 + 22), 1340);
  assert.equal(mssOf(p, 40 + 16), tcpChecksum(p, true));
});

Deno.test("clampTcpMss() leaves small MSS, non-SYN, non-TCP and fragments alone", () => {
  const small = synPacket([2, 4, 0x04, 0x00, 0, 0, 0, 0]);
  assert.equal(clampTcpMss(small, 1360), false);
  const ack = synPacket([2, 4, 0x05, 0xb4, 0, 0, 0, 0], false, 0x10);
  assert.equal(clampTcpMss(ack, 1360), false);
  const frag = synPacket([2, 4, 0x05, 0xb4, 0, 0, 0, 0]);
  frag[6] = 0x00;
  frag[7] = 0x10; // fragment offset 16
  assert.equal(clampTcpMss(frag, 1360), false);
  const udp = synPacket([2, 4, 0x05, 0xb4, 0, 0, 0, 0]);
  udp[9] = 17;
  assert.equal(clampTcpMss(udp, 1360), false);
  const truncated = synPacket([2, 4, 0x05, 0xb4]).subarray(0, 30);
  assert.equal(clampTcpMss(truncated, 1360), false);
});

Deno.test("clampTcpMss() never throws on random bytes", () => {
  let s = 7;
  for (let i = 0; i < 2000; i++) {
    const p = new Uint8Array(1 + (i % 80));
    for (let j = 0; j < p.length; j++) {
      s = (s * 1103515245 + 12345) >>> 0;
      p[j] = s >>> 24;
    }
    clampTcpMss(p, 1200);
  }
});
