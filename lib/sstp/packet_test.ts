import assert from "node:assert/strict";
import { protocolErrorCode } from "../../test/helpers/protocol_error.ts";
import {
  buildControl,
  buildCryptoBinding,
  buildCryptoBindingRequest,
  buildData,
  buildEncapsulatedProtocolId,
  buildStatusInfo,
  readHexFixture,
  SSTP_FIXTURES,
} from "../../test/helpers/sstp_builders.ts";
import { fromHex } from "../bytes/hex.ts";
import {
  decodeSstpPacket,
  encodeSstpPacket,
  type SstpPacket,
  writeSstpDataHeader,
} from "./packet.ts";

const ACK_NONCE = fromHex("412b489aebd7ecc7d08966f26be7cd72b231a0e9210d7c91b308862b0344c435");
const CC_HASH = fromHex("7993ef314c493dace9f02d60e7e61c84b6690aafe9d7aeea92cbbe8ad599422d");
const CC_MAC = fromHex("52a68efd8cffbf52770b8f0fe8ec73716583af6d611eb6d179b3b20840985449");

/** Each fixture with the packet an independent reading of the spec expects. */
const EXPECTED: Record<string, SstpPacket> = {
  "sstp_call_connect_request.hex": {
    kind: "control",
    message: { messageType: 1, attributes: [{ kind: "encapsulatedProtocolId", protocolId: 1 }] },
  },
  "sstp_call_connect_ack.hex": {
    kind: "control",
    message: {
      messageType: 2,
      attributes: [{ kind: "cryptoBindingRequest", hashProtocolBitmask: 2, nonce: ACK_NONCE }],
    },
  },
  "sstp_call_connected.hex": {
    kind: "control",
    message: {
      messageType: 4,
      attributes: [{
        kind: "cryptoBinding",
        hashProtocol: 2,
        nonce: ACK_NONCE,
        certHash: CC_HASH,
        compoundMac: CC_MAC,
      }],
    },
  },
  "sstp_call_connect_nak.hex": {
    kind: "control",
    message: {
      messageType: 3,
      attributes: [{
        kind: "statusInfo",
        attribId: 1,
        status: 4,
        attribValue: new Uint8Array([0, 2]),
      }],
    },
  },
  "sstp_abort_status.hex": {
    kind: "control",
    message: {
      messageType: 5,
      attributes: [{ kind: "statusInfo", attribId: 0, status: 8, attribValue: new Uint8Array() }],
    },
  },
  "sstp_echo_request.hex": { kind: "control", message: { messageType: 8, attributes: [] } },
  "sstp_data.hex": {
    kind: "data",
    data: fromHex("ff03 c021 01 01 000e 01040578 05065a3c9e01"),
  },
};

for (const name of SSTP_FIXTURES) {
  Deno.test(`decodeSstpPacket() round-trips golden ${name} byte-identically`, () => {
    const bytes = readHexFixture(name);
    const packet = decodeSstpPacket(bytes);
    assert.deepEqual(encodeSstpPacket(packet), bytes);
    const expected = EXPECTED[name];
    if (expected !== undefined) assert.deepEqual(packet, expected);
  });
}

Deno.test("golden fixtures equal the independent builders' bytes", () => {
  assert.deepEqual(
    readHexFixture("sstp_call_connect_request.hex"),
    buildControl(1, [buildEncapsulatedProtocolId(1)]),
  );
  assert.deepEqual(
    readHexFixture("sstp_call_connect_ack.hex"),
    buildControl(2, [buildCryptoBindingRequest(2, ACK_NONCE)]),
  );
  assert.deepEqual(
    readHexFixture("sstp_call_connected.hex"),
    buildControl(4, [buildCryptoBinding(2, ACK_NONCE, CC_HASH, CC_MAC)]),
  );
  assert.deepEqual(
    readHexFixture("sstp_abort_status.hex"),
    buildControl(5, [buildStatusInfo(0, 8)]),
  );
  assert.deepEqual(readHexFixture("sstp_call_disconnect_ack.hex"), buildControl(7));
  assert.deepEqual(
    readHexFixture("sstp_data.hex"),
    buildData(EXPECTED["sstp_data.hex"]?.kind === "data" ? EXPECTED["sstp_data.hex"].data : []),
  );
});

Deno.test("decodeSstpPacket() ignores the reserved R bits and the 7 reserved bits", () => {
  const bytes = buildData([0xff, 0x03]);
  bytes[1] = 0xfe; // Reserved bits set, C still 0
  bytes[2] = (bytes[2] ?? 0) | 0xf0; // R bits set
  assert.deepEqual(decodeSstpPacket(bytes), { kind: "data", data: new Uint8Array([0xff, 0x03]) });
  const control = buildControl(8);
  control[1] = 0xff;
  control[2] = 0xa0;
  assert.deepEqual(decodeSstpPacket(control), {
    kind: "control",
    message: { messageType: 8, attributes: [] },
  });
});

Deno.test("decodeSstpPacket() rejects a bad version, a short length and a length mismatch", () => {
  const bad = buildData([1]);
  bad[0] = 0x11;
  assert.equal(protocolErrorCode(() => decodeSstpPacket(bad)), "BAD_VERSION");
  assert.equal(
    protocolErrorCode(() => decodeSstpPacket(new Uint8Array([0x10, 0, 0, 3]))),
    "BAD_LENGTH",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpPacket(new Uint8Array([0x10, 0, 0]))),
    "TRUNCATED",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpPacket(new Uint8Array([0x10, 0, 0, 6, 1]))),
    "BAD_LENGTH",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpPacket(new Uint8Array([0x10, 0, 0, 4, 1]))),
    "BAD_LENGTH",
  );
});

Deno.test("decodeSstpPacket() returns the data payload as a view, not a copy", () => {
  const bytes = buildData([1, 2, 3]);
  const p = decodeSstpPacket(bytes);
  assert.equal(p.kind, "data");
  if (p.kind !== "data") return;
  assert.equal(p.data.buffer, bytes.buffer);
  assert.equal(p.data.byteOffset, 4);
});

Deno.test("writeSstpDataHeader() frames a payload in place", () => {
  const buf = new Uint8Array(2 + 4 + 3);
  buf.set([9, 8, 7], 6);
  writeSstpDataHeader(buf, 2, 3);
  assert.deepEqual(buf.subarray(2), buildData([9, 8, 7]));
  assert.deepEqual(buf.subarray(0, 2), new Uint8Array(2));
  writeSstpDataHeader(new Uint8Array(4095), 0, 4091);
  assert.throws(() => writeSstpDataHeader(new Uint8Array(4096), 0, 4092), RangeError);
  assert.throws(() => writeSstpDataHeader(new Uint8Array(5), 2, 1), RangeError);
});

Deno.test("encodeSstpPacket() frames 4091 bytes and refuses 4092", () => {
  const max = encodeSstpPacket({ kind: "data", data: new Uint8Array(4091) });
  assert.deepEqual([...max.subarray(0, 4)], [0x10, 0x00, 0x0f, 0xff]);
  assert.throws(() => encodeSstpPacket({ kind: "data", data: new Uint8Array(4092) }), RangeError);
  assert.deepEqual(
    encodeSstpPacket({ kind: "data", data: new Uint8Array() }),
    new Uint8Array([0x10, 0, 0, 4]),
  );
});
