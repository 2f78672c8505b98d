import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CHAP_CODE,
  type ChapPacket,
  decodeChapPacket,
  describeChapPacket,
  encodeChapPacket,
} from "./chap_packet.ts";
import { fromHex } from "../../bytes/hex.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";

Deno.test("encodeChapPacket() writes a Challenge field by field", () => {
  const got = encodeChapPacket({
    code: CHAP_CODE.CHALLENGE,
    identifier: 0x2a,
    value: fromHex("00112233"),
    name: "srv",
  });
  assert.deepStrictEqual(
    got,
    fromHex(`
      01        # code: Challenge
      2a        # identifier
      00 0c     # length 12
      04        # value-size
      00112233  # value
      737276    # name "srv"
    `),
  );
});

Deno.test("decodeChapPacket() reads Success and Failure messages", () => {
  assert.deepStrictEqual(decodeChapPacket(fromHex("03 05 00 06 4f 4b")), {
    code: CHAP_CODE.SUCCESS,
    identifier: 5,
    message: "OK",
  });
  assert.deepStrictEqual(decodeChapPacket(fromHex("04 05 00 04")), {
    code: CHAP_CODE.FAILURE,
    identifier: 5,
    message: "",
  });
});

Deno.test("decodeChapPacket() ignores padding past Length", () => {
  const p = decodeChapPacket(fromHex("02 01 00 07 01 aa 62  ff ff ff"));
  assert.deepStrictEqual(p, {
    code: CHAP_CODE.RESPONSE,
    identifier: 1,
    value: fromHex("aa"),
    name: "b",
  });
});

Deno.test("decodeChapPacket() throws ProtocolError on bad input", () => {
  const cases: [string, string][] = [
    ["01 01 00", ERROR_CODE.TRUNCATED],
    ["01 01 00 03", ERROR_CODE.BAD_LENGTH],
    ["01 01 00 09 01 aa", ERROR_CODE.TRUNCATED],
    ["01 01 00 06 05 aa", ERROR_CODE.TRUNCATED], // value-size past the end
    ["01 01 00 04", ERROR_CODE.TRUNCATED], // no value-size
    ["05 01 00 04", ERROR_CODE.BAD_VALUE],
  ];
  for (const [hex, code] of cases) {
    assert.throws(
      () => decodeChapPacket(fromHex(hex)),
      (e: unknown) => e instanceof ProtocolError && e.code === code && e.layer === "chap",
      hex,
    );
  }
});

Deno.test("encodeChapPacket() rejects a value longer than 255 bytes", () => {
  assert.throws(
    () => encodeChapPacket({ code: 1, identifier: 1, value: new Uint8Array(256), name: "" }),
    RangeError,
  );
});

Deno.test("describeChapPacket() shows challenges and redacts responses", () => {
  assert.equal(
    describeChapPacket({ code: 1, identifier: 0x10, value: fromHex("0a0b"), name: "srv" }),
    'CHAP Challenge id=0x10 <0a0b> name="srv"',
  );
  assert.equal(
    describeChapPacket({ code: 2, identifier: 1, value: new Uint8Array(49), name: "u" }),
    'CHAP Response id=0x1 <redacted len=49> name="u"',
  );
  assert.equal(
    describeChapPacket({ code: 4, identifier: 1, message: "E=691\n" }),
    'CHAP Failure id=0x1 "E=691\\x0a"',
  );
});

const packetArb: fc.Arbitrary<ChapPacket> = fc.oneof(
  fc.record({
    code: fc.constantFrom(CHAP_CODE.CHALLENGE, CHAP_CODE.RESPONSE),
    identifier: fc.integer({ min: 0, max: 255 }),
    value: fc.uint8Array({ maxLength: 255 }),
    name: fc.string({ maxLength: 64 }),
  }),
  fc.record({
    code: fc.constantFrom(CHAP_CODE.SUCCESS, CHAP_CODE.FAILURE),
    identifier: fc.integer({ min: 0, max: 255 }),
    message: fc.string({ maxLength: 128 }),
  }),
);

Deno.test("decodeChapPacket() inverts encodeChapPacket()", () => {
  fc.assert(
    fc.property(packetArb, (p) => {
      // Lone surrogates do not survive UTF-8; compare with what the wire can carry.
      const wire = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s));
      const want = "name" in p ? { ...p, name: wire(p.name) } : { ...p, message: wire(p.message) };
      assert.deepStrictEqual(decodeChapPacket(encodeChapPacket(p)), want);
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeChapPacket() throws only ProtocolError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      try {
        decodeChapPacket(bytes);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }),
    { numRuns: 1000 },
  );
});
