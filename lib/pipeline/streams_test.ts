import assert from "node:assert/strict";
import { DataPlane } from "../tunnel/data_plane.ts";
import { encapsulateStream, ipPacketStream, sstpPacketStream } from "./streams.ts";
import type { SstpPacket } from "../sstp/packet.ts";

const ip4 = (n: number, fill: number) => {
  const p = new Uint8Array(n).fill(fill);
  p[0] = 0x45;
  return p;
};

Deno.test("stream stages carry IP batches through SSTP bytes in any chunking and back", async () => {
  const gate = { isIpv4Open: true, isIpv6Open: false, peerMru: 1500 };
  const plane = new DataPlane({ gate });
  const batches = [[ip4(20, 1), ip4(1500, 2)], [ip4(1501, 3)], [
    ip4(60, 4),
    new Uint8Array(40).fill(0x60),
  ]];
  const controls: SstpPacket[] = [];
  // Re-chunk the SSTP bytes into 7-byte pieces, as TCP might.
  const rechunk = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      for (let i = 0; i < chunk.length; i += 7) c.enqueue(chunk.slice(i, i + 7));
    },
  });
  const control = Uint8Array.of(0x10, 0x01, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00); // Echo Request
  const source = ReadableStream.from(batches)
    .pipeThrough(encapsulateStream(plane))
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          c.enqueue(chunk);
          c.enqueue(control);
        },
      }),
    )
    .pipeThrough(rechunk)
    .pipeThrough(sstpPacketStream())
    .pipeThrough(ipPacketStream(plane, { onControl: (p) => controls.push(p) }));
  const got: Uint8Array[] = [];
  for await (const batch of source) got.push(...batch);
  assert.deepEqual(got.map((p) => [p.length, p[1]]), [[20, 1], [1500, 2], [60, 4]]);
  assert.equal(controls.length, 2, "one Echo Request after each batch that framed something");
  assert.ok(controls.every((p) => p.kind === "control" && p.message.messageType === 8));
});
