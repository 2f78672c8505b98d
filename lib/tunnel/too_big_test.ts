import assert from "node:assert/strict";
import {
  fragmentIpv4,
  internetChecksum,
  ipv4FragmentationNeeded,
  ipv6PacketTooBig,
} from "./too_big.ts";

/**
 * One's-complement sum of 16-bit words, written apart from the code under
 * test: a region whose checksum field is right sums to 0xffff.
 */
function onesSum(...parts: Uint8Array[]): number {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length + (p.length & 1), 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length + (p.length & 1);
  }
  let sum = 0;
  const view = new DataView(all.buffer);
  for (let i = 0; i < all.length; i += 2) sum += view.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** An IPv4 packet of `size` bytes, protocol UDP unless told, data a counting pattern. */
function v4(
  size: number,
  o: { df?: boolean; src?: number[]; dst?: number[]; proto?: number; frag?: number; ihl?: number } =
    {},
): Uint8Array {
  const p = new Uint8Array(size);
  const hl = (o.ihl ?? 5) * 4;
  for (let i = hl; i < size; i++) p[i] = i & 0xff;
  p[0] = 0x40 | (hl / 4);
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = (o.df ? 0x40 : 0) | ((o.frag ?? 0) >> 8);
  p[7] = (o.frag ?? 0) & 0xff;
  p[8] = 63;
  p[9] = o.proto ?? 17;
  p.set(o.src ?? [198, 18, 0, 1], 12);
  p.set(o.dst ?? [198, 19, 0, 2], 16);
  const sum = internetChecksum(p.subarray(0, hl));
  p[10] = sum >> 8;
  p[11] = sum & 0xff;
  return p;
}

/** An IPv6 packet of `size` bytes (UDP unless told) from 2001:2::1 to `dst`. */
function v6(size: number, o: { dst?: number[]; next?: number; type?: number } = {}): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x60;
  p[4] = (size - 40) >> 8;
  p[5] = (size - 40) & 0xff;
  p[6] = o.next ?? 17;
  p[7] = 64;
  p.set([0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  p.set(o.dst ?? [0x20, 0x01, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
  if (o.type !== undefined) p[40] = o.type;
  return p;
}

Deno.test("internetChecksum: RFC 1071 example and odd lengths", () => {
  // RFC 1071 4.1: the words 0001 f203 f4f5 f6f7 sum to 0xddf2, checksum 0x220d.
  assert.equal(
    internetChecksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
    0x220d,
  );
  assert.equal(
    internetChecksum(Uint8Array.from([0x01])),
    ~0x0100 & 0xffff,
    "odd byte padded with zero",
  );
});

Deno.test("ipv4FragmentationNeeded: type 3 code 4, next-hop MTU, header and data quoted, both checksums right", () => {
  const original = v4(1400, { df: true });
  const e = ipv4FragmentationNeeded(original, 1300)!;
  assert.ok(e !== undefined);
  assert.equal(e[0], 0x45);
  assert.equal((e[2]! << 8) | e[3]!, e.length);
  assert.equal(e.length, 576, "as much as fits in 576 bytes (RFC 1812 4.3.2.3)");
  assert.equal(e[9], 1, "ICMP");
  assert.deepEqual([...e.subarray(12, 16)], [198, 19, 0, 2], "from the unreachable destination");
  assert.deepEqual([...e.subarray(16, 20)], [198, 18, 0, 1], "to the sender");
  assert.equal(onesSum(e.subarray(0, 20)), 0xffff, "IPv4 header checksum");
  const icmp = e.subarray(20);
  assert.equal(onesSum(icmp), 0xffff, "ICMP checksum");
  assert.deepEqual([icmp[0], icmp[1]], [3, 4]);
  assert.deepEqual([icmp[4], icmp[5]], [0, 0], "unused");
  assert.equal((icmp[6]! << 8) | icmp[7]!, 1300, "RFC 1191: next-hop MTU");
  assert.deepEqual(icmp.subarray(8), original.subarray(0, 548), "original header and data");
});

Deno.test("ipv4FragmentationNeeded: a short packet is quoted whole (at least header + 8 bytes)", () => {
  const original = v4(60, { df: true });
  const e = ipv4FragmentationNeeded(original, 40)!;
  assert.equal(e.length, 20 + 8 + 60);
  assert.deepEqual(e.subarray(28), original);
  assert.equal(onesSum(e.subarray(20)), 0xffff);
});

Deno.test("ipv4FragmentationNeeded: no error for what RFC 1122 / RFC 1812 exclude", () => {
  const cases: [string, Uint8Array][] = [
    ["a non-first fragment", v4(1400, { df: true, frag: 185 })],
    ["an ICMP error (dest unreachable)", v4(1400, { df: true, proto: 1 }).fill(3, 20, 21)],
    ["a multicast destination", v4(1400, { df: true, dst: [224, 0, 0, 9] })],
    ["a broadcast destination", v4(1400, { df: true, dst: [255, 255, 255, 255] })],
    ["a source 0.0.0.0", v4(1400, { df: true, src: [0, 0, 0, 0] })],
    ["a loopback source", v4(1400, { df: true, src: [127, 0, 0, 1] })],
    ["a truncated packet", v4(1400, { df: true }).subarray(0, 100)],
    ["IPv6", v6(1400)],
  ];
  for (const [name, p] of cases) assert.equal(ipv4FragmentationNeeded(p, 1300), undefined, name);
  const echo = v4(1400, { df: true, proto: 1 });
  echo[20] = 8;
  assert.ok(ipv4FragmentationNeeded(echo, 1300) !== undefined, "an echo request is answered");
});

/** Reassembles fragments (offset order) and checks each header. */
function reassemble(fragments: Uint8Array[], mtu: number): Uint8Array {
  const data: number[] = [];
  for (const [i, f] of fragments.entries()) {
    assert.ok(f.length <= mtu, `fragment ${i} of ${f.length} fits ${mtu}`);
    const hl = (f[0]! & 0x0f) * 4;
    assert.equal(onesSum(f.subarray(0, hl)), 0xffff, `fragment ${i} header checksum`);
    assert.equal((f[2]! << 8) | f[3]!, f.length);
    const offset = (((f[6]! & 0x1f) << 8) | f[7]!) * 8;
    assert.equal(offset, data.length, `fragment ${i} offset`);
    assert.equal((f[6]! & 0x20) !== 0, i < fragments.length - 1, `fragment ${i} MF`);
    if (i < fragments.length - 1) assert.equal((f.length - hl) % 8, 0);
    data.push(...f.subarray(hl));
  }
  return Uint8Array.from(data);
}

Deno.test("fragmentIpv4: DF unset, MTU+1 and far over: fragments that fit and reassemble", () => {
  for (const [size, mtu] of [[1301, 1300], [1400, 1300], [4000, 576], [1500, 68]]) {
    const p = v4(size!);
    const fragments = fragmentIpv4(p, mtu!)!;
    assert.ok(fragments.length >= 2, `${size} over ${mtu}`);
    assert.deepEqual(reassemble(fragments, mtu!), p.subarray(20), `${size} over ${mtu}`);
    assert.deepEqual(fragments[0]!.subarray(4, 6), p.subarray(4, 6), "same identification");
  }
});

Deno.test("fragmentIpv4: only copied options repeat; DF set or no room is refused", () => {
  const p = v4(1000, { ihl: 8 });
  // Options: NOP, record route (7, not copied, 7 bytes), security (130, copied, 3 bytes) + EOL.
  p.set([1, 7, 7, 4, 0, 0, 0, 0, 130, 3, 9, 0], 20);
  const sum = internetChecksum(p.subarray(0, 32).map((b, i) => (i === 10 || i === 11 ? 0 : b)));
  p[10] = sum >> 8;
  p[11] = sum & 0xff;
  const fragments = fragmentIpv4(p, 500)!;
  assert.equal((fragments[0]![0]! & 0x0f) * 4, 32, "the first keeps every option");
  assert.equal((fragments[1]![0]! & 0x0f) * 4, 24, "the others the copied one, padded");
  assert.deepEqual([...fragments[1]!.subarray(20, 24)], [130, 3, 9, 0]);
  assert.deepEqual(reassemble(fragments, 500), p.subarray(32));
  assert.equal(fragmentIpv4(v4(1000, { df: true }), 500), undefined, "DF set");
  assert.equal(fragmentIpv4(v4(1000), 27), undefined, "no room for 8 bytes");
});

Deno.test("fragmentIpv4: a fragment with MF set keeps it on its last piece and its offset", () => {
  const p = v4(1000, { frag: 100 });
  p[6] = p[6]! | 0x20;
  const fragments = fragmentIpv4(p, 600)!;
  assert.equal(((fragments[0]![6]! & 0x1f) << 8) | fragments[0]![7]!, 100);
  assert.ok(fragments.every((f) => (f[6]! & 0x20) !== 0), "MF stays on every piece");
});

Deno.test("ipv6PacketTooBig: type 2, the MTU, up to 1280 bytes, checksum over the pseudo-header", () => {
  for (const [size, quoted] of [[1400, 1232], [1281, 1232], [200, 200]]) {
    const original = v6(size!);
    const e = ipv6PacketTooBig(original, 1280)!;
    assert.equal(e.length, 48 + quoted!, `${size}`);
    assert.ok(e.length <= 1280);
    assert.equal(e[6], 58);
    assert.deepEqual(
      e.subarray(8, 24),
      original.subarray(24, 40),
      "from the unreachable destination",
    );
    assert.deepEqual(e.subarray(24, 40), original.subarray(8, 24), "to the sender");
    const icmp = e.subarray(40);
    const pseudo = new Uint8Array(40);
    pseudo.set(e.subarray(8, 40));
    new DataView(pseudo.buffer).setUint32(32, icmp.length);
    pseudo[39] = 58;
    assert.equal(onesSum(pseudo, icmp), 0xffff, "ICMPv6 checksum with the pseudo-header");
    assert.deepEqual([icmp[0], icmp[1]], [2, 0]);
    assert.equal(new DataView(icmp.buffer, icmp.byteOffset).getUint32(4), 1280);
    assert.deepEqual(icmp.subarray(8), original.subarray(0, quoted));
  }
});

Deno.test("ipv6PacketTooBig: never for multicast, unspecified source or an ICMPv6 error", () => {
  assert.equal(
    ipv6PacketTooBig(v6(1400, { dst: [0xff, 0x02, ...new Array(13).fill(0), 1] }), 1300),
    undefined,
  );
  const unspecified = v6(1400);
  unspecified.fill(0, 8, 24);
  assert.equal(ipv6PacketTooBig(unspecified, 1300), undefined);
  assert.equal(
    ipv6PacketTooBig(v6(1400, { next: 58, type: 1 }), 1300),
    undefined,
    "dest unreachable",
  );
  assert.ok(
    ipv6PacketTooBig(v6(1400, { next: 58, type: 128 }), 1300) !== undefined,
    "echo request",
  );
  assert.equal(ipv6PacketTooBig(v4(1400), 1300), undefined);
});
