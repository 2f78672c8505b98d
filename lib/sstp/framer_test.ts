import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { concatBytes } from "../bytes/hex.ts";
import {
  buildControl,
  buildData,
  buildRawAttribute,
  readHexFixture,
  seededRandom,
  SSTP_FIXTURES,
} from "../../test/helpers/sstp_builders.ts";
import { SstpFramer } from "./framer.ts";
import { decodeSstpPacket, type SstpPacket } from "./packet.ts";

/** The differential reference: concatenate everything, then slice by each Length field. */
function naiveSplit(stream: Uint8Array): SstpPacket[] {
  const out: SstpPacket[] = [];
  let i = 0;
  while (i + 4 <= stream.length) {
    const length = (((stream[i + 2] ?? 0) << 8) | (stream[i + 3] ?? 0)) & 0x0fff;
    if (i + length > stream.length) break;
    out.push(decodeSstpPacket(stream.slice(i, i + length)));
    i += length;
  }
  return out;
}

function feed(chunks: Uint8Array[]): SstpPacket[] {
  const framer = new SstpFramer();
  return chunks.flatMap((c) => framer.push(c));
}

const STREAM = concatBytes(
  ...SSTP_FIXTURES.map(readHexFixture),
  buildData(new Uint8Array(4091).fill(7)), // the largest packet
  buildData([]), // an empty data packet
);
const REFERENCE = naiveSplit(STREAM);

Deno.test("SstpFramer agrees with the naive reference on all fixtures in one chunk", () => {
  assert.equal(REFERENCE.length, SSTP_FIXTURES.length + 2);
  assert.deepEqual(feed([STREAM]), REFERENCE);
});

Deno.test("SstpFramer gives identical packets at every split point [0,i)+[i,n)", () => {
  for (let i = 0; i <= STREAM.length; i++) {
    assert.deepEqual(feed([STREAM.subarray(0, i), STREAM.subarray(i)]), REFERENCE, `split at ${i}`);
  }
});

Deno.test("SstpFramer gives identical packets for seeded random chunkings", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = seededRandom(seed);
    const chunks: Uint8Array[] = [];
    const maxChunk = seed % 3 === 0 ? 8 : seed % 3 === 1 ? 200 : 5000;
    for (let i = 0; i < STREAM.length;) {
      const n = Math.floor(random() * maxChunk);
      chunks.push(STREAM.subarray(i, i + n));
      i += n;
    }
    assert.deepEqual(feed(chunks), REFERENCE, `seed ${seed}`);
  }
});

Deno.test("SstpFramer feeds byte by byte and buffers only the partial tail", () => {
  const framer = new SstpFramer();
  const out: SstpPacket[] = [];
  for (let i = 0; i < STREAM.length; i++) {
    framer.pushEach(STREAM.subarray(i, i + 1), (p) => out.push(p));
    assert.ok(framer.bufferedLength < 4095);
  }
  assert.deepEqual(out, REFERENCE);
  assert.equal(framer.bufferedLength, 0);
});

Deno.test("SstpFramer hands out data payloads as views into a chunk holding whole packets", () => {
  const chunk = concatBytes(buildData([1, 2]), buildData([3, 4, 5]));
  const packets = new SstpFramer().push(chunk);
  assert.equal(packets.length, 2);
  for (const p of packets) {
    assert.equal(p.kind, "data");
    if (p.kind === "data") assert.equal(p.data.buffer, chunk.buffer);
  }
  const [, second] = packets;
  assert.ok(second?.kind === "data" && second.data.byteOffset === 10);
});

Deno.test("SstpFramer throws BAD_VERSION and BAD_LENGTH and stays failed", () => {
  const bad = buildData([1]);
  bad[0] = 0x20;
  const framer = new SstpFramer();
  assert.deepEqual(framer.push(buildData([9])), [{ kind: "data", data: new Uint8Array([9]) }]);
  assert.throws(
    () => framer.push(bad),
    (e) => e instanceof ProtocolError && e.code === "BAD_VERSION",
  );
  assert.throws(
    () => framer.push(buildData([1])),
    (e) => e instanceof ProtocolError && e.code === "BAD_VERSION",
  );
  const short = new SstpFramer();
  short.push(new Uint8Array([0x10, 0x00]));
  assert.throws(
    () => short.push(new Uint8Array([0x00, 0x02])),
    (e) => e instanceof ProtocolError && e.code === "BAD_LENGTH",
  );
});

Deno.test("SstpFramer skips a malformed control message and resumes after it", () => {
  // Num Attributes says 1 but no attribute follows: delineated, yet undecodable.
  const broken = buildControl(8);
  broken[7] = 1;
  const stream = concatBytes(buildData([1]), broken, buildData([2]), buildControl(9));
  for (let i = 0; i <= stream.length; i++) {
    const framer = new SstpFramer();
    const out: SstpPacket[] = [];
    const errors: string[] = [];
    for (const chunk of [stream.subarray(0, i), stream.subarray(i), new Uint8Array()]) {
      try {
        framer.pushEach(chunk, (p) => out.push(p));
      } catch (e) {
        assert.ok(e instanceof ProtocolError);
        errors.push(e.code);
      }
    }
    assert.deepEqual(errors, ["TRUNCATED"], `split ${i}`);
    assert.deepEqual(out, [
      { kind: "data", data: new Uint8Array([1]) },
      { kind: "data", data: new Uint8Array([2]) },
      { kind: "control", message: { messageType: 9, attributes: [] } },
    ], `split ${i}`);
  }
});

Deno.test("SstpFramer decodes control messages with unknown attributes without throwing", () => {
  const packets = new SstpFramer().push(buildControl(8, [buildRawAttribute(0x42, [1])]));
  assert.deepEqual(packets, [{
    kind: "control",
    message: {
      messageType: 8,
      attributes: [{ kind: "unknown", attributeId: 0x42, value: new Uint8Array([1]) }],
    },
  }]);
});
