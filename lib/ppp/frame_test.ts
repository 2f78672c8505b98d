import assert from "node:assert/strict";
import { decodePppFrame, encodePppFrame, PPP_HEADER_LENGTH, writePppHeader } from "./frame.ts";
import { ProtocolError } from "../errors.ts";
import { buildFrame } from "../../test/helpers/ppp_builders.ts";

const INFO = [0x45, 0x00, 0x00, 0x14];

Deno.test("decodePppFrame() accepts FF 03 with a 2-byte protocol", () => {
  const f = decodePppFrame(buildFrame(0x0021, INFO));
  assert.equal(f.protocol, 0x0021);
  assert.deepEqual([...f.information], INFO);
});

Deno.test("decodePppFrame() accepts frames without FF 03 and with 1-byte protocols", () => {
  for (const ffo3 of [true, false]) {
    for (const short of [true, false]) {
      const f = decodePppFrame(buildFrame(0x0021, INFO, { ffo3, short }));
      assert.equal(f.protocol, 0x0021, `ffo3=${ffo3} short=${short}`);
      assert.deepEqual([...f.information], INFO);
    }
  }
  // sorz's captures: ff03c021… for LCP and bare 8021… for IPCP on one link.
  assert.equal(decodePppFrame(buildFrame(0x8021, [1], { ffo3: false })).protocol, 0x8021);
});

Deno.test("decodePppFrame() rejects FF without 03, even low bytes and empty input", () => {
  const code = (bytes: number[]) => {
    try {
      decodePppFrame(new Uint8Array(bytes));
    } catch (e) {
      assert.ok(e instanceof ProtocolError);
      return e.code;
    }
    return "none";
  };
  assert.equal(code([0xff, 0x02, 0xc0, 0x21]), "BAD_VALUE");
  assert.equal(code([0xc0, 0x20]), "BAD_VALUE");
  assert.equal(code([]), "TRUNCATED");
  assert.equal(code([0xff]), "TRUNCATED");
  assert.equal(code([0xff, 0x03]), "TRUNCATED");
  assert.equal(code([0xc0]), "TRUNCATED");
});

Deno.test("encodePppFrame() applies ACFC and PFC but never to LCP", () => {
  const info = new Uint8Array(INFO);
  assert.deepEqual(encodePppFrame(0x0021, info), buildFrame(0x0021, INFO));
  assert.deepEqual(
    encodePppFrame(0x0021, info, { acfc: true }),
    buildFrame(0x0021, INFO, { ffo3: false }),
  );
  assert.deepEqual(
    encodePppFrame(0x0021, info, { pfc: true }),
    buildFrame(0x0021, INFO, { short: true }),
  );
  assert.deepEqual(
    encodePppFrame(0x0021, info, { acfc: true, pfc: true }),
    buildFrame(0x0021, INFO, { ffo3: false, short: true }),
  );
  // 0x8021 does not fit one byte; LCP is never compressed (RFC 1661 6.5, 6.6).
  assert.deepEqual(encodePppFrame(0x8021, info, { pfc: true }), buildFrame(0x8021, INFO));
  assert.deepEqual(
    encodePppFrame(0xc021, info, { acfc: true, pfc: true }),
    buildFrame(0xc021, INFO),
  );
  assert.throws(() => encodePppFrame(0x0020, info), RangeError);
  assert.throws(() => encodePppFrame(0x0121, info), RangeError);
});

Deno.test("writePppHeader() frames a packet in place", () => {
  const buf = new Uint8Array(PPP_HEADER_LENGTH + INFO.length);
  buf.set(INFO, PPP_HEADER_LENGTH);
  assert.equal(writePppHeader(buf, 0, 0x0057), 4);
  assert.deepEqual(buf, buildFrame(0x0057, INFO));
  assert.throws(() => writePppHeader(new Uint8Array(3), 0, 0x21), RangeError);
});
