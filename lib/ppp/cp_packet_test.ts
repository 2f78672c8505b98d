import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CpOption,
  decodeCpPacket,
  decodeOptions,
  encodeCpPacket,
  encodeOptions,
} from "./cp_packet.ts";
import { ProtocolError } from "../errors.ts";
import { buildCp, buildOptions } from "../../test/helpers/ppp_builders.ts";

function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `threw ${e}`);
    return e.code;
  }
  return "none";
}

Deno.test("decodeCpPacket() ignores padding beyond Length (RFC 1661 5)", () => {
  const bytes = new Uint8Array([...buildCp(9, 3, [0, 0, 0, 0]), 0xee, 0xee]);
  const p = decodeCpPacket(bytes);
  assert.equal(p.code, 9);
  assert.equal(p.identifier, 3);
  assert.deepEqual([...p.data], [0, 0, 0, 0]);
});

Deno.test("decodeCpPacket() throws TRUNCATED below Length and BAD_LENGTH below 4", () => {
  assert.equal(
    errorCode(() => decodeCpPacket(buildCp(1, 1, [1, 4, 5]).subarray(0, 6))),
    "TRUNCATED",
  );
  assert.equal(errorCode(() => decodeCpPacket(new Uint8Array([1, 1, 0]))), "TRUNCATED");
  assert.equal(errorCode(() => decodeCpPacket(new Uint8Array([1, 1, 0, 3]))), "BAD_LENGTH");
});

Deno.test("encodeCpPacket() matches the independent builder", () => {
  const data = new Uint8Array(buildOptions([1, 0x05, 0xdc], [7]));
  assert.deepEqual(
    encodeCpPacket({ code: 1, identifier: 0x2a, data }),
    buildCp(1, 0x2a, [...data]),
  );
  assert.throws(() => encodeCpPacket({ code: 256, identifier: 0, data }), RangeError);
});

Deno.test("decodeOptions() keeps unknown options and their order", () => {
  const raw = buildOptions([0x11, 0x06, 0x4e], [1, 0x05, 0xdc], [0xfe], [13, 6]);
  const options = decodeOptions(new Uint8Array(raw));
  assert.deepEqual(options.map((o) => o.type), [0x11, 1, 0xfe, 13]);
  assert.deepEqual(encodeOptions(options), new Uint8Array(raw));
  assert.equal(errorCode(() => decodeOptions(new Uint8Array([1, 1]))), "BAD_LENGTH");
  assert.equal(errorCode(() => decodeOptions(new Uint8Array([1, 4, 5]))), "TRUNCATED");
  assert.equal(errorCode(() => decodeOptions(new Uint8Array([1]))), "TRUNCATED");
  assert.throws(() => encodeOptions([{ type: 1, data: new Uint8Array(254) }]), RangeError);
});

/** Naive reference walker (wireguard-go SlowRouter style): index arithmetic only. */
function naiveWalk(bytes: Uint8Array): { type: number; data: number[] }[] | "error" {
  const out: { type: number; data: number[] }[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (i + 1 >= bytes.length) return "error";
    const len = bytes[i + 1] as number;
    if (len < 2 || i + len > bytes.length) return "error";
    out.push({ type: bytes[i] as number, data: Array.from(bytes.slice(i + 2, i + len)) });
    i += len;
  }
  return out;
}

Deno.test("decodeOptions() agrees with a naive TLV walker on random bytes", () => {
  const option = fc.record({ type: fc.nat(255), data: fc.uint8Array({ maxLength: 20 }) });
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.array(option, { maxLength: 8 }).map((list) => encodeOptions(list as CpOption[])),
    fc.tuple(fc.array(option, { maxLength: 6 }), fc.nat(60)).map(([list, cut]) =>
      encodeOptions(list as CpOption[]).subarray(0, cut)
    ),
  );
  fc.assert(
    fc.property(input, (bytes) => {
      const expected = naiveWalk(bytes);
      let actual: { type: number; data: number[] }[] | "error";
      try {
        actual = decodeOptions(bytes).map((o) => ({ type: o.type, data: Array.from(o.data) }));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        actual = "error";
      }
      assert.deepEqual(actual, expected);
      if (actual !== "error") assert.deepEqual(encodeOptions(decodeOptions(bytes)), bytes);
    }),
    { numRuns: 500 },
  );
});
