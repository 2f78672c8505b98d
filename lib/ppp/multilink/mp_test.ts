import assert from "node:assert/strict";
import { fromHex, toHex } from "../../bytes/hex.ts";
import { decodeMpFragment, encodeMpFragment, MpFragmenter, MpReassembler } from "./mp.ts";

Deno.test("encodeMpFragment() lays out RFC 1990 3 long and short headers", () => {
  const data = fromHex("00 21 45");
  assert.equal(
    toHex(encodeMpFragment({ begin: true, end: false, sequence: 0x123456, data }, "long")),
    "8012345600" + "2145",
  );
  assert.equal(
    toHex(encodeMpFragment({ begin: false, end: true, sequence: 0xabc, data }, "short")),
    "4abc" + "002145",
  );
  assert.deepEqual(decodeMpFragment(fromHex("c0 00 00 07 aa"), "long"), {
    begin: true,
    end: true,
    sequence: 7,
    data: fromHex("aa"),
  });
  assert.throws(
    () => decodeMpFragment(fromHex("80 00 01"), "long"),
    /shorter than the 4-byte header/,
  );
});

function packet(n: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 7 + 3) & 0xff;
  return p;
}

Deno.test("MpFragmenter and MpReassembler carry a 1,502-byte packet over a 1,400-byte link", () => {
  for (const format of ["long", "short"] as const) {
    const tx = new MpFragmenter(format);
    const rx = new MpReassembler(format, 1600);
    const p = packet(1502); // protocol field + 1,500-byte IP packet
    const fragments = tx.fragment(p, 1400);
    assert.equal(fragments.length, 2);
    assert.ok(fragments.every((f) => f.length <= 1400));
    assert.equal(rx.receive(fragments[0]!, 0).packet, undefined);
    assert.equal(toHex(rx.receive(fragments[1]!, 1).packet!), toHex(p));
    // A packet that fits is one fragment with B and E.
    const small = tx.fragment(packet(60), 1400);
    assert.equal(small.length, 1);
    assert.equal(small[0]![0]! & 0xc0, 0xc0);
    assert.equal(rx.receive(small[0]!, 2).packet?.length, 60);
  }
});

Deno.test("MpReassembler drops on gaps, missing B, oversize and timeout, then recovers", () => {
  const tx = new MpFragmenter("long");
  const rx = new MpReassembler("long", 1600, 1000);
  const [a1, , a3] = tx.fragment(packet(3000), 1100); // three fragments; the middle is lost
  assert.ok(a1 && a3);
  rx.receive(a1, 0);
  assert.equal(rx.receive(a3, 0).dropped, "gap");
  const [b1, b2] = tx.fragment(packet(1500), 1000);
  assert.deepEqual(rx.receive(b2!, 0), { dropped: "no-begin" }, "a continuation without its B");
  assert.equal(rx.receive(b1!, 0).packet, undefined);
  assert.equal(rx.expire(5000).dropped, "timeout");
  const big = new MpFragmenter("long").fragment(packet(2000), 1000);
  const rx2 = new MpReassembler("long", 1600);
  rx2.receive(big[0]!, 0);
  assert.equal(rx2.receive(big[1]!, 0).dropped, "too-long");
  assert.equal(rx2.isBuilding, false);
  const ok = tx.fragment(packet(1500), 1000);
  assert.equal(rx.receive(ok[0]!, 6000).packet, undefined);
  assert.equal(rx.receive(ok[1]!, 6000).packet?.length, 1500);
  assert.deepEqual(rx.receive(new Uint8Array([0x80]), 0), { dropped: "malformed" });
});

Deno.test("MpFragmenter wraps the sequence number at 12 bits in the short format", () => {
  const tx = new MpFragmenter("short");
  const rx = new MpReassembler("short", 1600);
  let last: Uint8Array | undefined;
  for (let i = 0; i < 4100; i++) {
    const f = tx.fragment(packet(10), 1400);
    last = rx.receive(f[0]!, i).packet;
    assert.ok(last, `packet ${i}`);
  }
  assert.equal(decodeMpFragment(tx.fragment(packet(1), 100)[0]!, "short").sequence, 4100 & 0xfff);
});
