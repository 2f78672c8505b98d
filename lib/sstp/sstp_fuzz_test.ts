/**
 * Property tests (fast-check): every SSTP decoder fed random or mutated bytes
 * either returns or throws ProtocolError, and decode(encode(x)) == x for
 * generated packets. Runs are bounded to keep the file well under 5 s.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../errors.ts";
import { concatBytes } from "../bytes/hex.ts";
import {
  readHexFixture,
  readHttpFixture,
  SSTP_FIXTURES,
} from "../../test/helpers/sstp_builders.ts";
import { decodeSstpAttribute, type SstpAttribute } from "./attributes.ts";
import {
  decodeSstpControlMessage,
  encodeSstpControlMessage,
  type SstpControlMessage,
} from "./control_message.ts";
import { SstpFramer } from "./framer.ts";
import { parseSstpHttpRequest, parseSstpHttpResponse } from "./http_preamble.ts";
import { decodeSstpPacket, encodeSstpPacket, type SstpPacket } from "./packet.ts";

const RUNS = { numRuns: 500, seed: 0x5eed };

/** Calls `fn`; anything thrown must be a ProtocolError. */
function onlyProtocolError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
}

const GOLDEN = [
  ...SSTP_FIXTURES.map(readHexFixture),
  readHttpFixture("http_request.txt"),
  readHttpFixture("http_response.txt"),
];

/** Random bytes, or a golden packet with a few bytes overwritten, cut or extended. */
const bytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.tuple(
    fc.constantFrom(...GOLDEN),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.integer({ min: -8, max: 8 }),
  ).map(([golden, edits, cut]) => {
    const out = golden.slice();
    for (const [at, value] of edits) out[at % out.length] = value;
    return cut < 0
      ? out.subarray(0, out.length + cut)
      : concatBytes(out, new Uint8Array(cut).fill(cut));
  }),
);

const DECODERS: [string, (b: Uint8Array) => unknown][] = [
  ["decodeSstpPacket()", decodeSstpPacket],
  ["decodeSstpControlMessage()", decodeSstpControlMessage],
  ["decodeSstpAttribute()", decodeSstpAttribute],
  ["decodeSstpAttribute() on attribute bytes", (b) => decodeSstpAttribute(b.subarray(8))],
  ["parseSstpHttpRequest()", parseSstpHttpRequest],
  ["parseSstpHttpResponse()", parseSstpHttpResponse],
  ["SstpFramer.push()", (b) => {
    const framer = new SstpFramer();
    for (let i = 0; i < 3; i++) onlyProtocolError(() => framer.push(b));
    onlyProtocolError(() => framer.push(new Uint8Array()));
  }],
];

for (const [name, decode] of DECODERS) {
  Deno.test(`${name} returns or throws ProtocolError on random and mutated bytes`, () => {
    fc.assert(fc.property(bytesArb, (b) => onlyProtocolError(() => decode(b))), RUNS);
  });
}

/** fc.record with ordinary prototypes, so deepEqual against decoded objects works. */
const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u8 = fc.integer({ min: 0, max: 255 });

const attributeArb: fc.Arbitrary<SstpAttribute> = fc.oneof(
  rec({
    kind: fc.constant("encapsulatedProtocolId" as const),
    protocolId: fc.integer({ min: 0, max: 0xffff }),
  }),
  rec({
    kind: fc.constant("statusInfo" as const),
    attribId: u8,
    status: fc.integer({ min: 0, max: 0xffffffff }),
    attribValue: fc.uint8Array({ maxLength: 64 }),
  }),
  rec({
    kind: fc.constant("cryptoBindingRequest" as const),
    hashProtocolBitmask: u8,
    nonce: bytesOf(32),
  }),
  rec({
    kind: fc.constant("cryptoBinding" as const),
    hashProtocol: u8,
    nonce: bytesOf(32),
    certHash: bytesOf(32),
    compoundMac: bytesOf(32),
  }),
  rec({
    kind: fc.constant("unknown" as const),
    attributeId: fc.integer({ min: 5, max: 255 }),
    value: fc.uint8Array({ maxLength: 40 }),
  }),
);

const messageArb: fc.Arbitrary<SstpControlMessage> = rec({
  messageType: fc.integer({ min: 0, max: 0xffff }),
  attributes: fc.array(attributeArb, { maxLength: 8 }),
});

const packetArb: fc.Arbitrary<SstpPacket> = fc.oneof(
  rec({ kind: fc.constant("data" as const), data: fc.uint8Array({ maxLength: 300 }) }),
  rec({ kind: fc.constant("control" as const), message: messageArb }),
);

Deno.test("decodeSstpControlMessage(encodeSstpControlMessage(x)) equals x for generated messages", () => {
  fc.assert(
    fc.property(
      messageArb,
      (m) => assert.deepEqual(decodeSstpControlMessage(encodeSstpControlMessage(m)), m),
    ),
    RUNS,
  );
});

Deno.test("decodeSstpPacket(encodeSstpPacket(x)) equals x, and the framer agrees for any cut", () => {
  fc.assert(
    fc.property(fc.array(packetArb, { minLength: 1, maxLength: 6 }), fc.nat(), (packets, cut) => {
      const encoded = packets.map(encodeSstpPacket);
      encoded.forEach((bytes, i) => assert.deepEqual(decodeSstpPacket(bytes), packets[i]));
      const stream = concatBytes(...encoded);
      const at = cut % (stream.length + 1);
      const framer = new SstpFramer();
      assert.deepEqual([
        ...framer.push(stream.subarray(0, at)),
        ...framer.push(stream.subarray(at)),
      ], packets);
    }),
    { ...RUNS, numRuns: 300 },
  );
});
