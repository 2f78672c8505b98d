import assert from "node:assert/strict";
import { fromHex, toHex } from "../../bytes/hex.ts";
import { ProtocolError } from "../../errors.ts";
import { decodeCpPacket, encodeCpPacket, encodeOptions } from "../cp_packet.ts";
import { Bcp, BCP_OPTION } from "./bcp.ts";
import { decodeBridgedFrame, encodeBridgedFrame, MIN_ETHERNET_FRAME } from "./bridged_frame.ts";
import type { CpAction } from "../control_protocol.ts";

const FRAME = fromHex(
  "ff ff ff ff ff ff 02 00 00 00 00 01 08 06" + // broadcast ARP header
    " 00 01 08 00 06 04 00 01 02 00 00 00 00 01 c6 12 00 01 00 00 00 00 00 00 c6 12 00 02",
);

Deno.test("encodeBridgedFrame()/decodeBridgedFrame() round-trip an Ethernet frame", () => {
  const pdu = encodeBridgedFrame(FRAME);
  assert.equal(toHex(pdu.subarray(0, 2)), "0001");
  assert.equal(toHex(decodeBridgedFrame(pdu)), toHex(FRAME));
});

Deno.test("decodeBridgedFrame() strips LAN ID, pads and FCS and undoes tinygram compression", () => {
  const withAll = new Uint8Array([
    0x80 | 0x40 | 0x20 | 0x02,
    0x01,
    9,
    9,
    9,
    9,
    ...FRAME,
    0,
    0,
    0xde,
    0xad,
    0xbe,
    0xef,
  ]);
  const out = decodeBridgedFrame(withAll);
  assert.equal(out.length, MIN_ETHERNET_FRAME);
  assert.equal(toHex(out.subarray(0, FRAME.length)), toHex(FRAME));
  assert.ok(out.subarray(FRAME.length).every((b) => b === 0));
  assert.throws(() => decodeBridgedFrame(new Uint8Array([0, 4, ...FRAME])), /MAC type 4/);
  assert.throws(
    () => decodeBridgedFrame(new Uint8Array([0x8f, 1, ...FRAME.subarray(0, 20)])),
    ProtocolError,
  );
  assert.throws(() => decodeBridgedFrame(new Uint8Array([0])), /shorter than the 2-byte header/);
});

function sent(actions: CpAction[]) {
  return actions.filter((a) => a.type === "send").map((a) =>
    decodeCpPacket(a.type === "send" ? a.packet : new Uint8Array())
  );
}

Deno.test("Bcp asks for MAC-Support 802.3, accepts tinygram and tagging, rejects the rest", () => {
  const bcp = new Bcp({});
  bcp.open(0);
  const [req] = sent(bcp.up(0));
  assert.equal(toHex(req!.data), "030301"); // MAC-Support, len 3, IEEE 802.3
  const peerReq = encodeCpPacket({
    code: 1,
    identifier: 7,
    data: encodeOptions([
      { type: BCP_OPTION.MAC_SUPPORT, data: new Uint8Array([1]) },
      { type: BCP_OPTION.TINYGRAM_COMPRESSION, data: new Uint8Array([1]) },
      { type: BCP_OPTION.SPANNING_TREE_PROTOCOL, data: new Uint8Array([1]) },
    ]),
  });
  const [rej] = sent(bcp.receive(peerReq, 0));
  assert.equal(rej!.code, 4, "Configure-Reject");
  assert.equal(toHex(rej!.data), "070301");
  const peerReq2 = encodeCpPacket({
    code: 1,
    identifier: 8,
    data: encodeOptions([
      { type: BCP_OPTION.MAC_SUPPORT, data: new Uint8Array([1]) },
      { type: BCP_OPTION.IEEE_802_TAGGED_FRAME, data: new Uint8Array([2]) },
    ]),
  });
  assert.equal(sent(bcp.receive(peerReq2, 0))[0]!.code, 2, "Configure-Ack");
  const ack = encodeCpPacket({ code: 2, identifier: req!.identifier, data: req!.data });
  const actions = bcp.receive(ack, 0);
  assert.ok(actions.some((a) => a.type === "thisLayerUp"));
  assert.equal(bcp.state, "Opened");
});
