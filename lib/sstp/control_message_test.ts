import assert from "node:assert/strict";
import { protocolErrorCode } from "../../test/helpers/protocol_error.ts";
import {
  buildControl,
  buildCryptoBinding,
  buildCryptoBindingRequest,
  buildEncapsulatedProtocolId,
  buildRawAttribute,
  buildStatusInfo,
  patternBytes,
} from "../../test/helpers/sstp_builders.ts";
import {
  decodeSstpControlMessage,
  encodeSstpControlMessage,
  findSstpMessageProblem,
  validateSstpControlMessage,
} from "./control_message.ts";
import { STATUS } from "./constants.ts";

Deno.test("decodeSstpControlMessage() checks Num Attributes against the bytes", () => {
  const two = buildControl(5, [buildStatusInfo(0, 0), buildStatusInfo(0, 0)]);
  assert.equal(decodeSstpControlMessage(two).attributes.length, 2);
  const claimsThree = two.slice();
  claimsThree[7] = 3;
  assert.equal(protocolErrorCode(() => decodeSstpControlMessage(claimsThree)), "TRUNCATED");
  const claimsOne = two.slice();
  claimsOne[7] = 1;
  assert.equal(protocolErrorCode(() => decodeSstpControlMessage(claimsOne)), "BAD_LENGTH");
});

Deno.test("decodeSstpControlMessage() rejects data packets and short bodies", () => {
  const data = buildControl(8);
  data[1] = 0;
  assert.equal(protocolErrorCode(() => decodeSstpControlMessage(data)), "BAD_VALUE");
  assert.equal(
    protocolErrorCode(() => decodeSstpControlMessage(new Uint8Array([0x10, 1, 0, 6, 0, 8]))),
    "TRUNCATED",
  );
  assert.equal(
    protocolErrorCode(() => decodeSstpControlMessage(new Uint8Array([0x10, 1]))),
    "TRUNCATED",
  );
});

Deno.test("encodeSstpControlMessage() matches the independent builder", () => {
  const nonce = patternBytes(32);
  assert.deepEqual(
    encodeSstpControlMessage({
      messageType: 2,
      attributes: [{ kind: "cryptoBindingRequest", hashProtocolBitmask: 3, nonce }],
    }),
    buildControl(2, [buildCryptoBindingRequest(3, nonce)]),
  );
  assert.throws(
    () => encodeSstpControlMessage({ messageType: 0x10000, attributes: [] }),
    RangeError,
  );
  const huge = Array.from(
    { length: 400 },
    () => ({ kind: "statusInfo" as const, attribId: 0, status: 0, attribValue: new Uint8Array() }),
  );
  assert.throws(() => encodeSstpControlMessage({ messageType: 3, attributes: huge }), RangeError);
});

const N = patternBytes(32);
const ENC = buildEncapsulatedProtocolId(1);
const CBR = buildCryptoBindingRequest(3, N);
const CB = buildCryptoBinding(2, N, patternBytes(32), patternBytes(32));
const SI = buildStatusInfo(0, 0);

/** [message type, attributes, expected Status or undefined when acceptable] (MS-SSTP 2.2.9-2.2.15). */
const RULES: [string, number, Uint8Array[], number | undefined][] = [
  ["Connect Request with one Encapsulated Protocol ID", 1, [ENC], undefined],
  ["Connect Request without attributes", 1, [], STATUS.REQUIRED_ATTRIBUTE_MISSING],
  ["Connect Request with two Encapsulated Protocol IDs", 1, [ENC, ENC], STATUS.DUPLICATE_ATTRIBUTE],
  ["Connect Request with a Status Info", 1, [ENC, SI], STATUS.ATTRIB_NOT_SUPPORTED_IN_MSG],
  ["Connect Ack with one Crypto Binding Request", 2, [CBR], undefined],
  ["Connect Ack without attributes", 2, [], STATUS.REQUIRED_ATTRIBUTE_MISSING],
  ["Connect Ack with two Crypto Binding Requests", 2, [CBR, CBR], STATUS.DUPLICATE_ATTRIBUTE],
  ["Connect Nak with two Status Info", 3, [SI, SI], undefined],
  ["Connect Nak without Status Info", 3, [], STATUS.REQUIRED_ATTRIBUTE_MISSING],
  ["Call Connected with one Crypto Binding", 4, [CB], undefined],
  ["Call Connected without Crypto Binding", 4, [], STATUS.REQUIRED_ATTRIBUTE_MISSING],
  ["Call Connected with a Crypto Binding Request", 4, [CBR], STATUS.ATTRIB_NOT_SUPPORTED_IN_MSG],
  ["Call Abort without attributes", 5, [], undefined],
  ["Call Abort with one Status Info", 5, [SI], undefined],
  ["Call Abort with two Status Info", 5, [SI, SI], STATUS.DUPLICATE_ATTRIBUTE],
  ["Call Disconnect with one Status Info", 6, [SI], undefined],
  [
    "Call Disconnect with an Encapsulated Protocol ID",
    6,
    [ENC],
    STATUS.ATTRIB_NOT_SUPPORTED_IN_MSG,
  ],
  ["Call Disconnect Ack without attributes", 7, [], undefined],
  ["Echo Request with a Status Info", 8, [SI], STATUS.ATTRIB_NOT_SUPPORTED_IN_MSG],
  ["Echo Response without attributes", 9, [], undefined],
  [
    "Echo Request with an unknown attribute",
    8,
    [buildRawAttribute(7, [])],
    STATUS.UNRECOGNIZED_ATTRIBUTE,
  ],
  ["unknown message type 0x0a", 10, [], STATUS.INVALID_FRAME_RECEIVED],
];

for (const [name, type, attributes, status] of RULES) {
  Deno.test(`validateSstpControlMessage() ${status === undefined ? "accepts" : "rejects"} ${name}`, () => {
    const message = decodeSstpControlMessage(buildControl(type, attributes));
    assert.equal(findSstpMessageProblem(message)?.status, status);
    if (status === undefined) {
      validateSstpControlMessage(message);
    } else {
      assert.equal(
        protocolErrorCode(() => validateSstpControlMessage(message)),
        status === STATUS.INVALID_FRAME_RECEIVED ? "BAD_VALUE" : "BAD_ATTRIBUTE",
      );
    }
  });
}
