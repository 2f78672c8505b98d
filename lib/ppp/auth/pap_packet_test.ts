import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodePapPacket,
  describePapPacket,
  encodePapPacket,
  PAP_CODE,
  type PapPacket,
} from "./pap_packet.ts";
import { fromHex } from "../../bytes/hex.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";

Deno.test("encodePapPacket() writes an Authenticate-Request field by field", () => {
  const got = encodePapPacket({
    code: PAP_CODE.AUTHENTICATE_REQUEST,
    identifier: 7,
    peerId: "bob",
    password: "pw",
  });
  assert.deepStrictEqual(
    got,
    fromHex(`
      01       # code: Authenticate-Request
      07       # identifier
      00 0b    # length 11
      03 626f62  # peer-id "bob"
      02 7077    # password "pw"
    `),
  );
});

Deno.test("decodePapPacket() reads Ack and Nak, with or without Msg-Length", () => {
  assert.deepStrictEqual(decodePapPacket(fromHex("02 01 00 07 02 6f 6b")), {
    code: PAP_CODE.AUTHENTICATE_ACK,
    identifier: 1,
    message: "ok",
  });
  assert.deepStrictEqual(decodePapPacket(fromHex("03 09 00 04")), {
    code: PAP_CODE.AUTHENTICATE_NAK,
    identifier: 9,
    message: "",
  });
});

Deno.test("decodePapPacket() throws ProtocolError on bad input", () => {
  const cases: [string, string][] = [
    ["01 01", ERROR_CODE.TRUNCATED],
    ["01 01 00 02", ERROR_CODE.BAD_LENGTH],
    ["01 01 00 06 05 61", ERROR_CODE.TRUNCATED],
    ["01 01 00 06 01 61", ERROR_CODE.TRUNCATED], // no Passwd-Length
    ["02 01 00 06 09 61", ERROR_CODE.TRUNCATED],
    ["04 01 00 04", ERROR_CODE.BAD_VALUE],
  ];
  for (const [hex, code] of cases) {
    assert.throws(
      () => decodePapPacket(fromHex(hex)),
      (e: unknown) => e instanceof ProtocolError && e.code === code && e.layer === "pap",
      hex,
    );
  }
});

Deno.test("encodePapPacket() rejects fields longer than 255 bytes", () => {
  assert.throws(
    () => encodePapPacket({ code: 1, identifier: 1, peerId: "x".repeat(256), password: "" }),
    RangeError,
  );
});

Deno.test("describePapPacket() never shows the password", () => {
  const s = describePapPacket({ code: 1, identifier: 1, peerId: "bob", password: "s3cret" });
  assert.doesNotMatch(s, /s3cret/);
  assert.equal(
    describePapPacket({ code: 3, identifier: 2, message: "no" }),
    'PAP AuthNak id=0x2 "no"',
  );
});

const ascii = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "a"));
const packetArb: fc.Arbitrary<PapPacket> = fc.oneof(
  fc.record({
    code: fc.constant(PAP_CODE.AUTHENTICATE_REQUEST),
    identifier: fc.integer({ min: 0, max: 255 }),
    peerId: ascii,
    password: ascii,
  }),
  fc.record({
    code: fc.constantFrom(PAP_CODE.AUTHENTICATE_ACK, PAP_CODE.AUTHENTICATE_NAK),
    identifier: fc.integer({ min: 0, max: 255 }),
    message: ascii,
  }),
);

Deno.test("decodePapPacket() inverts encodePapPacket()", () => {
  fc.assert(
    fc.property(
      packetArb,
      (p) => assert.deepStrictEqual(decodePapPacket(encodePapPacket(p)), { ...p }),
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodePapPacket() throws only ProtocolError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      try {
        decodePapPacket(bytes);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }),
    { numRuns: 1000 },
  );
});
