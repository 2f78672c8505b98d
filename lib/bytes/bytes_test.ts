import assert from "node:assert/strict";
import { ByteReader } from "./byte_reader.ts";
import { ByteWriter } from "./byte_writer.ts";
import { concatBytes, fromHex, timingSafeEqual, toHex } from "./hex.ts";
import { ProtocolError } from "../errors.ts";

Deno.test("ByteReader reads big-endian fields and throws TRUNCATED past the end", () => {
  const r = new ByteReader(fromHex("01 0203 04050607 08"), "sstp", "test packet");
  assert.equal(r.u8(), 1);
  assert.equal(r.u16(), 0x0203);
  assert.equal(r.u32(), 0x04050607);
  assert.equal(r.remaining, 1);
  assert.throws(() => r.u16("length"), (e: unknown) => {
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.code, "TRUNCATED");
    assert.match(e.message, /Cannot decode test packet: length needs 2 bytes/);
    return true;
  });
});

Deno.test("ByteWriter grows and back-patches", () => {
  const w = new ByteWriter(2);
  w.u8(0x10).u8(1);
  const at = w.length;
  w.u16(0).u32(0xdeadbeef).bytes(new Uint8Array([9])).zeros(2);
  w.patchU16(at, w.length);
  assert.equal(toHex(w.finish()), "1001000bdeadbeef090000");
  assert.throws(() => w.patchU16(20, 1), RangeError);
});

Deno.test("fromHex() ignores comments and rejects odd digits", () => {
  assert.deepEqual(fromHex("0a # ten\n 0b"), new Uint8Array([10, 11]));
  assert.throws(() => fromHex("abc"), TypeError);
  assert.equal(toHex(new Uint8Array([1, 255]), " "), "01 ff");
});

Deno.test("timingSafeEqual() and concatBytes()", () => {
  assert.ok(timingSafeEqual(fromHex("0102"), fromHex("0102")));
  assert.ok(!timingSafeEqual(fromHex("0102"), fromHex("0103")));
  assert.ok(!timingSafeEqual(fromHex("01"), fromHex("0102")));
  assert.deepEqual(concatBytes(fromHex("01"), fromHex("0203")), fromHex("010203"));
});
