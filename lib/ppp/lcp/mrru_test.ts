import assert from "node:assert/strict";
import { MrruHandler, ShortSequenceHandler } from "./mrru.ts";

Deno.test("MrruHandler asks for and acks MRRU only when multilink is configured", () => {
  const off = new MrruHandler(undefined);
  assert.equal(off.request(), undefined);
  assert.equal(off.onRequest(new Uint8Array([0x06, 0x4e])).kind, "reject");
  const on = new MrruHandler(1600);
  assert.deepEqual(on.request(), new Uint8Array([0x06, 0x40]));
  assert.equal(on.onRequest(new Uint8Array([0x06, 0x4e])).kind, "ack");
  on.onAckSent(new Uint8Array([0x06, 0x4e]));
  assert.equal(on.peerMrru, 1614);
  on.onAck(new Uint8Array([0x06, 0x40]));
  assert.equal(on.localMrru, 1600);
  assert.equal(on.onRequest(new Uint8Array([0x00, 0x10])).kind, "reject", "below 128");
  on.onReject();
  assert.equal(on.request(), undefined);
  on.reset();
  assert.equal(on.localMrru, undefined);
  assert.deepEqual(on.request(), new Uint8Array([0x06, 0x40]));
  assert.throws(() => new MrruHandler(100), /outside/);
  assert.equal(on.describe(new Uint8Array([0x06, 0x40])), "mrru 1600");
});

Deno.test("ShortSequenceHandler negotiates each direction on its own", () => {
  const h = new ShortSequenceHandler(true, true);
  assert.deepEqual(h.request(), new Uint8Array());
  assert.equal(h.onRequest(new Uint8Array()).kind, "ack");
  h.onAckSent();
  assert.ok(h.peerShort && !h.localShort);
  h.onReject();
  assert.equal(h.request(), undefined);
  const off = new ShortSequenceHandler(false, true);
  assert.equal(off.request(), undefined);
  assert.equal(off.onRequest(new Uint8Array()).kind, "reject");
});
