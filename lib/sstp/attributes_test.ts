import assert from "node:assert/strict";
import { protocolErrorCode } from "../../test/helpers/protocol_error.ts";
import {
  buildCryptoBinding,
  buildCryptoBindingRequest,
  buildEncapsulatedProtocolId,
  buildRawAttribute,
  buildStatusInfo,
  patternBytes,
} from "../../test/helpers/sstp_builders.ts";
import { decodeSstpAttribute, encodeSstpAttribute, type SstpAttribute } from "./attributes.ts";

const NONCE = patternBytes(32, 0x40);
const SHA1 = patternBytes(20, 0x80);
const MAC = patternBytes(20, 0xc0);
const pad = (b: Uint8Array) => {
  const out = new Uint8Array(32);
  out.set(b);
  return out;
};

const ROWS: [string, Uint8Array, SstpAttribute][] = [
  ["Encapsulated Protocol ID", buildEncapsulatedProtocolId(1), {
    kind: "encapsulatedProtocolId",
    protocolId: 1,
  }],
  [
    "Status Info without value",
    buildStatusInfo(0, 6),
    { kind: "statusInfo", attribId: 0, status: 6, attribValue: new Uint8Array() },
  ],
  [
    "Status Info with 64-byte value",
    buildStatusInfo(1, 4, [...patternBytes(64)]),
    { kind: "statusInfo", attribId: 1, status: 4, attribValue: patternBytes(64) },
  ],
  [
    "Crypto Binding Request",
    buildCryptoBindingRequest(3, NONCE),
    { kind: "cryptoBindingRequest", hashProtocolBitmask: 3, nonce: NONCE },
  ],
  [
    "Crypto Binding (SHA1, padded)",
    buildCryptoBinding(1, NONCE, SHA1, MAC),
    {
      kind: "cryptoBinding",
      hashProtocol: 1,
      nonce: NONCE,
      certHash: pad(SHA1),
      compoundMac: pad(MAC),
    },
  ],
  ["unknown attribute", buildRawAttribute(0x09, [1, 2, 3]), {
    kind: "unknown",
    attributeId: 9,
    value: new Uint8Array([1, 2, 3]),
  }],
];

for (const [name, bytes, attribute] of ROWS) {
  Deno.test(`decodeSstpAttribute() decodes and re-encodes ${name}`, () => {
    assert.deepEqual(decodeSstpAttribute(bytes), attribute);
    assert.deepEqual(encodeSstpAttribute(attribute), bytes);
  });
}

Deno.test("decodeSstpAttribute() ignores the Reserved byte, R bits and Reserved1 bytes", () => {
  const bytes = buildCryptoBindingRequest(2, NONCE);
  bytes[0] = 0xff;
  bytes[2] = (bytes[2] ?? 0) | 0xf0;
  bytes[4] = 0xaa;
  bytes[6] = 0x55;
  assert.deepEqual(decodeSstpAttribute(bytes), {
    kind: "cryptoBindingRequest",
    hashProtocolBitmask: 2,
    nonce: NONCE,
  });
});

Deno.test("decodeSstpAttribute() requires the exact length of each known attribute", () => {
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(buildRawAttribute(1, [0, 1, 0]))),
    "BAD_ATTRIBUTE",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(buildRawAttribute(1, [0]))),
    "BAD_ATTRIBUTE",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(buildRawAttribute(2, [0, 0, 0, 0, 0, 0, 0]))),
    "BAD_ATTRIBUTE",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(buildStatusInfo(0, 0, [...patternBytes(65)]))),
    "BAD_ATTRIBUTE",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(buildRawAttribute(3, [...patternBytes(99)]))),
    "BAD_ATTRIBUTE",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(buildRawAttribute(4, [...patternBytes(35)]))),
    "BAD_ATTRIBUTE",
  );
});

Deno.test("decodeSstpAttribute() rejects a length below 4, past the end, or with bytes after it", () => {
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(new Uint8Array([0, 1, 0, 3]))),
    "BAD_LENGTH",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(new Uint8Array([0, 1, 0, 6, 0]))),
    "TRUNCATED",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(new Uint8Array([0, 1, 0]))),
    "TRUNCATED",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpAttribute(new Uint8Array([0, 9, 0, 4, 0]))),
    "BAD_LENGTH",
  );
});

Deno.test("decodeSstpAttribute() copies values so they do not alias the input", () => {
  const bytes = buildCryptoBindingRequest(2, NONCE);
  const a = decodeSstpAttribute(bytes);
  bytes.fill(0);
  assert.deepEqual(a, { kind: "cryptoBindingRequest", hashProtocolBitmask: 2, nonce: NONCE });
});

Deno.test("encodeSstpAttribute() throws RangeError for fields that do not fit", () => {
  assert.throws(
    () =>
      encodeSstpAttribute({
        kind: "cryptoBindingRequest",
        hashProtocolBitmask: 3,
        nonce: new Uint8Array(31),
      }),
    RangeError,
  );
  assert.throws(
    () => encodeSstpAttribute({ kind: "encapsulatedProtocolId", protocolId: 0x10000 }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeSstpAttribute({
        kind: "statusInfo",
        attribId: 0,
        status: -1,
        attribValue: new Uint8Array(),
      }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeSstpAttribute({
        kind: "statusInfo",
        attribId: 0,
        status: 0,
        attribValue: new Uint8Array(65),
      }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeSstpAttribute({
        kind: "cryptoBinding",
        hashProtocol: 2,
        nonce: NONCE,
        certHash: SHA1,
        compoundMac: pad(MAC),
      }),
    RangeError,
  );
  assert.throws(
    () => encodeSstpAttribute({ kind: "unknown", attributeId: 256, value: new Uint8Array() }),
    RangeError,
  );
});
