import assert from "node:assert/strict";
import { BRIDGED_HEADER_BYTES, DATA_HEADER_BYTES, DataPlane } from "./data_plane.ts";
import { SstpFramer } from "../sstp/framer.ts";

const bridged = { isIpv4Open: false, isIpv6Open: false, isBridgeOpen: true, peerMru: 1600 };
const closed = { ...bridged, isBridgeOpen: false };

/** An Ethernet frame: broadcast destination, a source MAC, ARP EtherType, `n` bytes in all. */
const eth = (n = 60) => {
  const f = new Uint8Array(Math.max(n, 14));
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 1], 6);
  f.set([0x08, 0x06], 12);
  for (let i = 14; i < f.length; i++) f[i] = i & 0xff;
  return f.subarray(0, n);
};
const pdu = (flags: number, macType: number, body: Uint8Array) =>
  Uint8Array.from([0xff, 0x03, 0x00, 0x31, flags, macType, ...body]);

Deno.test("DataPlane.decapsulate: a bridged 802.3 frame → eth with the frame itself", () => {
  const f = eth();
  const r = new DataPlane({ gate: bridged }).decapsulate(pdu(0, 1, f));
  assert.ok(r.kind === "eth");
  assert.deepEqual(r.packet, f);
});

Deno.test("DataPlane.decapsulate: bridged frame with LAN ID, FCS and pads → eth without them", () => {
  const f = eth(64);
  const body = Uint8Array.from([9, 9, 9, 9, ...f, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
  const r = new DataPlane({ gate: bridged }).decapsulate(pdu(0x80 | 0x40 | 2, 1, body));
  assert.ok(r.kind === "eth");
  assert.deepEqual(r.packet, f);
});

Deno.test("DataPlane.decapsulate: a tinygram-compressed frame is padded back to 60 bytes", () => {
  const f = eth(42);
  const r = new DataPlane({ gate: bridged }).decapsulate(pdu(0x20, 1, f));
  assert.ok(r.kind === "eth");
  assert.equal(r.packet.length, 60);
  assert.deepEqual(r.packet.subarray(0, 42), f);
});

Deno.test("DataPlane.decapsulate: bridged frames are dropped or refused as they must be", () => {
  const plane = new DataPlane({ gate: bridged });
  const show = (frame: Uint8Array, p = plane) => {
    const r = p.decapsulate(frame);
    return r.kind === "drop" ? `drop ${r.reason}` : r.kind;
  };
  assert.equal(show(pdu(0, 4, eth())), "drop malformed"); // MAC type 4 (802.5)
  assert.equal(show(pdu(0, 1, eth(10))), "drop malformed"); // shorter than a header
  assert.equal(show(Uint8Array.from([0xff, 0x03, 0x00, 0x31])), "drop empty");
  assert.equal(
    show(pdu(0, 1, eth(1600)), new DataPlane({ gate: bridged, mru: 1500 })),
    "drop too-long",
  );
  // BCP not open: the frame goes to the engine, which discards or Protocol-Rejects it.
  assert.equal(show(pdu(0, 1, eth()), new DataPlane({ gate: closed })), "control");
  assert.equal(
    show(
      pdu(0, 1, eth()),
      new DataPlane({ gate: { isIpv4Open: true, isIpv6Open: true, peerMru: 1500 } }),
    ),
    "control",
  );
});

Deno.test("DataPlane.encapsulateBridged frames Ethernet frames as 0x0031 PDUs that decode back", () => {
  const plane = new DataPlane({ gate: bridged });
  const frames = [eth(60), eth(1514), eth(100)];
  const out = plane.encapsulateBridged(frames);
  assert.equal(out.packets, 3);
  assert.equal(out.dropped, 0);
  assert.equal(out.ipBytes, 60 + 1514 + 100);
  assert.equal(out.bytes.length, 60 + 1514 + 100 + 3 * (DATA_HEADER_BYTES + BRIDGED_HEADER_BYTES));
  const got: Uint8Array[] = [];
  new SstpFramer().pushEach(out.bytes, (p) => {
    assert.ok(p.kind === "data");
    assert.deepEqual([...p.data.subarray(0, 6)], [0xff, 0x03, 0x00, 0x31, 0x00, 0x01]);
    const r = plane.decapsulate(p.data);
    assert.ok(r.kind === "eth");
    got.push(r.packet.slice());
  });
  assert.deepEqual(got, frames);
});

Deno.test("DataPlane.encapsulateBridged drops frames while BCP is closed, runts and frames over the peer's MRU", () => {
  assert.deepEqual(new DataPlane({ gate: closed }).encapsulateBridged([eth()]).dropped, 1);
  const plane = new DataPlane({ gate: { ...bridged, peerMru: 1516 } });
  const out = plane.encapsulateBridged([eth(13), eth(1514), eth(1515)]);
  assert.equal(out.packets, 1);
  assert.equal(out.dropped, 2);
});
