import assert from "node:assert/strict";
import { readHexFixture } from "../../test/helpers/sstp_builders.ts";
import { describeSstpPacket } from "./describe.ts";
import { decodeSstpPacket } from "./packet.ts";

const ROWS: [string, string][] = [
  ["sstp_call_connect_request.hex", "SSTP CallConnectRequest <encap-proto ppp>"],
  [
    "sstp_call_connect_ack.hex",
    "SSTP CallConnectAck <crypto-binding-req hash=sha256 nonce=412b489a…>",
  ],
  [
    "sstp_call_connect_ack_sha1.hex",
    "SSTP CallConnectAck <crypto-binding-req hash=sha1 nonce=0f1a2d58…>",
  ],
  [
    "sstp_call_connected.hex",
    "SSTP CallConnected <crypto-binding hash=sha256 nonce=412b489a… cert=7993ef31… mac=<redacted len=32>>",
  ],
  [
    "sstp_call_connect_nak.hex",
    "SSTP CallConnectNak <status attrib=ENCAPSULATED_PROTOCOL_ID status=VALUE_NOT_SUPPORTED value=0002>",
  ],
  ["sstp_abort_status.hex", "SSTP CallAbort <status attrib=NO_ERROR status=NEGOTIATION_TIMEOUT>"],
  ["sstp_call_disconnect_ack.hex", "SSTP CallDisconnectAck"],
  ["sstp_echo_request.hex", "SSTP EchoRequest"],
  ["sstp_data.hex", "SSTP Data len=18"],
];

for (const [fixture, line] of ROWS) {
  Deno.test(`describeSstpPacket() renders ${fixture}`, () => {
    assert.equal(describeSstpPacket(decodeSstpPacket(readHexFixture(fixture))), line);
  });
}

Deno.test("describeSstpPacket() never prints the Compound MAC", () => {
  const line = describeSstpPacket(decodeSstpPacket(readHexFixture("sstp_call_connected.hex")));
  assert.ok(!line.includes("52a68efd"));
});

Deno.test("describeSstpPacket() names unknown types, attributes and statuses by number", () => {
  const line = describeSstpPacket({
    kind: "control",
    message: {
      messageType: 0x42,
      attributes: [
        { kind: "unknown", attributeId: 9, value: new Uint8Array(3) },
        { kind: "statusInfo", attribId: 7, status: 0x99, attribValue: new Uint8Array() },
        { kind: "encapsulatedProtocolId", protocolId: 2 },
        { kind: "cryptoBindingRequest", hashProtocolBitmask: 0, nonce: new Uint8Array(32) },
      ],
    },
  });
  assert.equal(
    line,
    "SSTP Unknown(0x0042) <attr 0x09 len=3> <status attrib=0x07 status=0x00000099> <encap-proto 0x0002> " +
      "<crypto-binding-req hash=none nonce=00000000…>",
  );
});
