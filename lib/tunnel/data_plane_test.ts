import assert from "node:assert/strict";
import {
  DATA_HEADER_BYTES,
  DataPlane,
  type Decapsulated,
  type LinkFraming,
  readPppHeader,
} from "./data_plane.ts";
import { SstpFramer } from "../sstp/framer.ts";
import type { SstpPacket } from "../sstp/packet.ts";

const ip4 = (n = 20, src = [198, 18, 0, 2]) => {
  const p = new Uint8Array(n);
  p[0] = 0x45;
  p.set(src, 12);
  return p;
};
const ip6 = (n = 40, src: number[] = []) => {
  const p = new Uint8Array(n);
  p[0] = 0x60;
  p.set(src, 8);
  return p;
};
const cat = (...parts: (number[] | Uint8Array)[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const open = { isIpv4Open: true, isIpv6Open: true, peerMru: 1500 };

const show = (r: Decapsulated) =>
  r.kind === "drop"
    ? `drop ${r.reason}`
    : r.kind === "control" || r.kind === "held"
    ? r.kind
    : `${r.kind} ${r.packet.length}`;

const ROWS: [name: string, frame: Uint8Array, gate: typeof open, expected: string][] = [
  ["IPv4, FF 03 + 2-byte protocol", cat([0xff, 0x03, 0x00, 0x21], ip4()), open, "ip4 20"],
  ["IPv4, ACFC", cat([0x00, 0x21], ip4()), open, "ip4 20"],
  ["IPv4, PFC", cat([0xff, 0x03, 0x21], ip4()), open, "ip4 20"],
  ["IPv4, ACFC + PFC", cat([0x21], ip4()), open, "ip4 20"],
  ["IPv6, FF 03", cat([0xff, 0x03, 0x00, 0x57], ip6()), open, "ip6 40"],
  ["IPv6, ACFC + PFC", cat([0x57], ip6()), open, "ip6 40"],
  ["LCP", cat([0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]), open, "control"],
  ["IPCP with ACFC", cat([0x80, 0x21, 1, 1, 0, 4]), open, "control"],
  ["FF not followed by 03", cat([0xff, 0x05, 0x00, 0x21], ip4()), open, "control"],
  ["even low protocol byte", cat([0x00, 0x20], ip4()), open, "control"],
  ["empty frame", new Uint8Array(0), open, "control"],
  ["header only", cat([0xff, 0x03]), open, "control"],
  ["IPv4 with no payload", cat([0xff, 0x03, 0x00, 0x21]), open, "drop empty"],
  ["IPv4, gate closed", cat([0x21], ip4()), { ...open, isIpv4Open: false }, "drop gate-closed"],
  ["IPv6, gate closed", cat([0x57], ip6()), { ...open, isIpv6Open: false }, "drop gate-closed"],
  ["IPv4 at our MRU", cat([0x21], ip4(1500)), open, "ip4 1500"],
  ["IPv4 over our MRU", cat([0x21], ip4(1501)), open, "drop too-long"],
];

for (const [name, frame, gate, expected] of ROWS) {
  Deno.test(`DataPlane.decapsulate: ${name} → ${expected}`, () => {
    const plane = new DataPlane({ gate, mru: 1500 });
    assert.equal(show(plane.decapsulate(frame)), expected);
  });
}

Deno.test("DataPlane.decapsulate returns a view into the frame, without a copy", () => {
  const frame = cat([0x21], ip4());
  const r = new DataPlane({ gate: open }).decapsulate(frame);
  assert.ok(r.kind === "ip4");
  assert.equal(r.packet.buffer, frame.buffer);
  assert.equal(r.packet.byteOffset, 1);
});

Deno.test("DataPlane.decapsulate drops IPv4 and IPv6 from sources allowSource refuses", () => {
  const plane = new DataPlane({
    gate: open,
    allowSource: (p) =>
      p[0]! >> 4 === 6
        ? p[8] === 0x20 && p[9] === 0x01
        : p[12] === 198 && p[13] === 18 && p[14] === 0 && p[15] === 2,
  });
  assert.equal(show(plane.decapsulate(cat([0x21], ip4(20, [198, 18, 0, 2])))), "ip4 20");
  assert.equal(show(plane.decapsulate(cat([0x21], ip4(20, [198, 18, 0, 3])))), "drop source");
  assert.equal(show(plane.decapsulate(cat([0x57], ip6(40, [0x20, 0x01])))), "ip6 40");
  assert.equal(show(plane.decapsulate(cat([0x57], ip6(40, [0x20, 0x02])))), "drop source");
});

Deno.test("DataPlane.setPolicy: the upload policer drops IP over the rate, after the source check", () => {
  const plane = new DataPlane({ gate: open });
  const asked: [bytes: number, nowMs: number][] = [];
  let budget = 60; // bytes the policer lets through
  plane.setPolicy({
    sourceCheck: { allows: (p) => p[0]! >> 4 === 6 || p[15] === 2 },
    uploadPolicer: {
      take(bytes, nowMs) {
        asked.push([bytes, nowMs]);
        if (bytes > budget) return false;
        budget -= bytes;
        return true;
      },
    },
  });
  const from2 = cat([0x21], ip4(40, [198, 18, 0, 2]));
  const spoofed = cat([0x21], ip4(40, [198, 18, 0, 3]));
  assert.equal(show(plane.decapsulate(from2, 5)), "ip4 40");
  assert.equal(show(plane.decapsulate(spoofed, 6)), "drop source", "refused before the policer");
  assert.equal(show(plane.decapsulate(from2, 7)), "drop policed", "20 bytes left of 60");
  assert.equal(show(plane.decapsulate(cat([0x57], ip6(20)), 8)), "ip6 20", "IPv6 is policed too");
  assert.equal(
    show(plane.decapsulate(cat([0x21]), 9)),
    "drop empty",
    "an empty packet is not charged",
  );
  assert.deepEqual(asked, [[40, 5], [40, 7], [20, 8]]);
});

Deno.test("DataPlane.setPolicy({}) turns the source check and the policer off", () => {
  const plane = new DataPlane({ gate: open, allowSource: () => false });
  const frame = cat([0x21], ip4(40));
  assert.equal(show(plane.decapsulate(frame)), "drop source");
  plane.setPolicy({ uploadPolicer: { take: () => false } });
  assert.equal(
    show(plane.decapsulate(frame)),
    "drop policed",
    "the source check went with the policy",
  );
  plane.setPolicy({});
  assert.equal(show(plane.decapsulate(frame)), "ip4 40");
});

Deno.test("DataPlane.encapsulate of one packet frames it like a batch of one", () => {
  const gate = { isIpv4Open: true, isIpv6Open: true, peerMru: 1500 };
  const one = new DataPlane({ gate });
  const batch = new DataPlane({ gate });
  one.setFraming({ acfc: true, pfc: true });
  batch.setFraming({ acfc: true, pfc: true });
  const a = ip4(60);
  const b = ip6(80);
  const viaBatch = batch.encapsulate([a, b]);
  const r1 = one.encapsulate([a]);
  const r2 = one.encapsulate([b]);
  assert.deepEqual(cat(r1.bytes, r2.bytes), viaBatch.bytes);
  assert.deepEqual([r1.packets, r1.ipBytes, r1.dropped], [1, 60, 0]);
  const closed = new DataPlane({ gate: { ...gate, isIpv6Open: false } }).encapsulate([b]);
  assert.deepEqual([closed.bytes.length, closed.packets, closed.dropped], [0, 0, 1]);
});

Deno.test("DataPlane.encapsulate frames a batch into one buffer and skips what may not go", () => {
  const gate = { isIpv4Open: true, isIpv6Open: false, peerMru: 100 };
  const plane = new DataPlane({ gate });
  const a = ip4(20);
  const b = ip4(101); // over the peer's MRU
  const c = ip6(40); // IPv6 gate closed
  const d = ip4(100);
  const junk = new Uint8Array(30); // not IP
  const r = plane.encapsulate([a, b, c, d, junk]);
  assert.equal(r.packets, 2);
  assert.equal(r.dropped, 3);
  assert.equal(r.ipBytes, 120);
  assert.equal(r.bytes.length, 120 + 2 * DATA_HEADER_BYTES);
  assert.deepEqual([...r.bytes.subarray(0, 8)], [0x10, 0x00, 0x00, 28, 0xff, 0x03, 0x00, 0x21]);
  assert.deepEqual([...r.bytes.subarray(28, 36)], [0x10, 0x00, 0x00, 108, 0xff, 0x03, 0x00, 0x21]);
  gate.isIpv6Open = true;
  const v6 = plane.encapsulate([c]);
  assert.deepEqual([...v6.bytes.subarray(4, 8)], [0xff, 0x03, 0x00, 0x57]);
  assert.deepEqual(plane.encapsulate([b]), {
    bytes: new Uint8Array(0),
    packets: 0,
    ipBytes: 0,
    dropped: 1,
  });
});

Deno.test("DataPlane clamps the MSS of TCP SYNs both ways once clampMssFor is called", () => {
  const syn = () => {
    const p = new Uint8Array(44);
    p.set([0x45, 0, 0, 44, 0, 0, 0, 0, 64, 6, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1]);
    p.set([0, 80, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0], 20);
    p.set([2, 4, 0x05, 0xb4], 40); // MSS 1460
    return p;
  };
  const plane = new DataPlane({ gate: open });
  const mss = (p: Uint8Array) => (p[42]! << 8) | p[43]!;
  const before = plane.decapsulate(cat([0x21], syn()));
  assert.ok(before.kind === "ip4" && mss(before.packet) === 1460, "off by default");
  plane.clampMssFor(1400);
  const inbound = plane.decapsulate(cat([0x21], syn()));
  assert.ok(inbound.kind === "ip4");
  assert.equal(mss(inbound.packet), 1360);
  const out = plane.encapsulate([syn()]);
  assert.equal(mss(out.bytes.subarray(DATA_HEADER_BYTES)), 1360);
});

Deno.test("readPppHeader reads every header form and refuses malformed ones", () => {
  assert.deepEqual(readPppHeader(Uint8Array.of(0xff, 0x03, 0xc0, 0x21)), {
    protocol: 0xc021,
    length: 4,
  });
  assert.deepEqual(readPppHeader(Uint8Array.of(0x21, 0x45)), { protocol: 0x21, length: 1 });
  assert.deepEqual(readPppHeader(Uint8Array.of(0xff, 0x03, 0x57)), { protocol: 0x57, length: 3 });
  assert.equal(readPppHeader(Uint8Array.of(0xff)), undefined);
  assert.equal(readPppHeader(Uint8Array.of(0x80)), undefined);
  assert.equal(readPppHeader(Uint8Array.of(0x80, 0x20)), undefined);
});

/** The PPP frames inside a buffer of SSTP data packets. */
function framesOf(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  new SstpFramer().pushEach(bytes, (p: SstpPacket) => {
    assert.equal(p.kind, "data");
    if (p.kind === "data") out.push(p.data.slice());
  });
  return out;
}

const HEADER_ROWS: [name: string, framing: LinkFraming, v4: number[], v6: number[]][] = [
  ["uncompressed", { acfc: false, pfc: false }, [0xff, 0x03, 0x00, 0x21], [0xff, 0x03, 0x00, 0x57]],
  ["ACFC", { acfc: true, pfc: false }, [0x00, 0x21], [0x00, 0x57]],
  ["PFC", { acfc: false, pfc: true }, [0xff, 0x03, 0x21], [0xff, 0x03, 0x57]],
  ["ACFC + PFC", { acfc: true, pfc: true }, [0x21], [0x57]],
];

for (const [name, framing, v4, v6] of HEADER_ROWS) {
  Deno.test(`DataPlane.encapsulate with ${name} writes ${v4.length}-byte PPP headers that decapsulate`, () => {
    const plane = new DataPlane({ gate: open });
    plane.setFraming(framing);
    const a = ip4(60);
    const b = ip6(80);
    const r = plane.encapsulate([a, b]);
    assert.equal(r.packets, 2);
    assert.equal(r.ipBytes, 140);
    assert.equal(r.bytes.length, 140 + 8 + v4.length + v6.length);
    const frames = framesOf(r.bytes);
    assert.deepEqual([...frames[0]!.subarray(0, v4.length)], v4);
    assert.deepEqual([...frames[1]!.subarray(0, v6.length)], v6);
    const back = new DataPlane({ gate: open });
    const d0 = back.decapsulate(frames[0]!);
    const d1 = back.decapsulate(frames[1]!);
    assert.ok(d0.kind === "ip4" && d1.kind === "ip6");
    assert.deepEqual(d0.packet, a);
    assert.deepEqual(d1.packet, b);
  });
}

const MP: LinkFraming = {
  acfc: false,
  pfc: false,
  multilink: {
    linkMtu: 1400,
    peerMrru: 1600,
    localMrru: 1600,
    sendFormat: "long",
    receiveFormat: "long",
  },
};

const numbered = (n: number) => {
  const p = ip4(n);
  for (let i = 20; i < n; i++) p[i] = i & 0xff;
  return p;
};

for (const format of ["long", "short"] as const) {
  Deno.test(`DataPlane multilink (${format} sequence numbers): a 1,500-byte packet over a 1,400 link crosses as MP fragments and is reassembled`, () => {
    const framing: LinkFraming = {
      ...MP,
      multilink: { ...MP.multilink!, sendFormat: format, receiveFormat: format },
    };
    const tx = new DataPlane({ gate: open });
    tx.setFraming(framing);
    const big = numbered(1500);
    const small = numbered(200);
    const r = tx.encapsulate([big, small]);
    assert.equal(r.packets, 2);
    assert.equal(r.ipBytes, 1700);
    const frames = framesOf(r.bytes);
    assert.equal(frames.length, 3, "two fragments and one whole packet");
    for (const f of frames.slice(0, 2)) {
      assert.deepEqual([...f.subarray(0, 4)], [0xff, 0x03, 0x00, 0x3d]);
      assert.ok(f.length - 4 <= 1400, `fragment payload ${f.length - 4} fits the link MTU`);
    }
    assert.equal(frames[0]![4]! & 0xc0, 0x80, "B on the first");
    assert.equal(frames[1]![4]! & 0xc0, 0x40, "E on the last");
    assert.deepEqual([...frames[2]!.subarray(0, 4)], [0xff, 0x03, 0x00, 0x21], "small goes whole");

    const rx = new DataPlane({ gate: open, mru: 1400 });
    rx.setFraming(framing);
    assert.equal(show(rx.decapsulate(frames[0]!, 0)), "held");
    const whole = rx.decapsulate(frames[1]!, 1);
    assert.ok(whole.kind === "ip4");
    assert.deepEqual(whole.packet, big);
    assert.equal(show(rx.decapsulate(frames[2]!, 2)), "ip4 200");
  });
}

Deno.test("DataPlane multilink drops what it cannot carry or reassemble", () => {
  const tx = new DataPlane({ gate: open });
  tx.setFraming(MP);
  assert.equal(tx.encapsulate([numbered(1601)]).dropped, 1, "over the peer's MRRU");
  const a = framesOf(tx.encapsulate([numbered(1500)]).bytes);
  const b = framesOf(tx.encapsulate([numbered(1500)]).bytes);

  const rx = new DataPlane({ gate: open });
  rx.setFraming(MP);
  // Lost fragment: the first of `a` arrives, its last is lost, `b` follows.
  assert.equal(show(rx.decapsulate(a[0]!, 0)), "held");
  assert.equal(show(rx.decapsulate(b[0]!, 1)), "drop reassembly");
  assert.equal(show(rx.decapsulate(b[1]!, 2)), "ip4 1500", "the next packet is whole again");
  assert.equal(rx.mpDrops.gap, 1);
  // A last fragment without its first.
  assert.equal(show(rx.decapsulate(a[1]!, 3)), "drop reassembly");
  assert.equal(rx.mpDrops["no-begin"], 1);
  // A stalled packet is dropped after the timeout.
  const c = framesOf(tx.encapsulate([numbered(1500)]).bytes);
  assert.equal(show(rx.decapsulate(c[0]!, 10)), "held");
  assert.equal(show(rx.decapsulate(c[1]!, 10 + 2001)), "drop reassembly");
  assert.equal(rx.mpDrops.timeout, 1);
  // Without multilink, MP is the engine's (Protocol-Reject).
  assert.equal(show(new DataPlane({ gate: open }).decapsulate(a[0]!)), "control");
});

Deno.test("DataPlane multilink hands a reassembled non-IP packet to the engine as a frame", () => {
  const rx = new DataPlane({ gate: open });
  rx.setFraming(MP);
  // One fragment with B and E carrying IPCP (0x8021) code 1 id 1 length 4.
  const frame = Uint8Array.of(0xff, 0x03, 0x00, 0x3d, 0xc0, 0, 0, 0, 0x80, 0x21, 1, 1, 0, 4);
  const r = rx.decapsulate(frame, 0);
  assert.ok(r.kind === "control");
  assert.deepEqual([...r.frame!], [0x80, 0x21, 1, 1, 0, 4]);
});
