import assert from "node:assert/strict";
import { describeCpPacket } from "./describe.ts";
import { MruHandler } from "./lcp/mru.ts";
import { PfcHandler } from "./lcp/pfc.ts";
import { be, buildCp, buildOptions } from "../../test/helpers/ppp_builders.ts";

const ASCII = (s: string) => [...new TextEncoder().encode(s)];

Deno.test("describeCpPacket() renders LCP options in pppd style", () => {
  const req = buildCp(
    1,
    1,
    buildOptions([1, ...be(1500, 2)], [5, ...be(0x5a3c9e01, 4)], [3, 0xc2, 0x23, 0x81]),
  );
  assert.equal(
    describeCpPacket(0xc021, req),
    "LCP ConfReq id=0x1 <mru 1500> <magic 0x5a3c9e01> <auth mschap-v2>",
  );
  assert.equal(
    describeCpPacket(
      0xc021,
      buildCp(1, 2, buildOptions([3, 0xc0, 0x23], [3, 0xc2, 0x23, 5], [3, 0xc2, 0x23, 0x80])),
    ),
    "LCP ConfReq id=0x2 <auth pap> <auth chap-md5> <auth mschap>",
  );
  assert.equal(
    describeCpPacket(
      0xc021,
      buildCp(4, 3, buildOptions([2, 0, 0, 0, 0], [0x11, 6, 0x4e], [7], [8])),
    ),
    "LCP ConfRej id=0x3 <asyncmap 0x0> <mrru 1614> <pcomp> <accomp>",
  );
  assert.equal(
    describeCpPacket(0xc021, buildCp(9, 0, [0, 0, 0, 0])),
    "LCP EchoReq id=0x0 magic=0x0",
  );
  assert.equal(
    describeCpPacket(0xc021, buildCp(8, 3, [0x80, 0xfd, 1])),
    "LCP ProtRej id=0x3 proto=0x80fd",
  );
  assert.equal(
    describeCpPacket(0xc021, buildCp(5, 4, ASCII("User request"))),
    'LCP TermReq id=0x4 "User request"',
  );
  assert.equal(
    describeCpPacket(0xc021, buildCp(7, 5, [0x20, 1, 0, 4])),
    "LCP CodeRej id=0x5 code=0x20",
  );
  assert.equal(describeCpPacket(0xc021, buildCp(0x20, 6)), "LCP code=0x20 id=0x6 len=0");
});

Deno.test("describeCpPacket() renders IPCP and IPV6CP options", () => {
  const nak = buildCp(
    3,
    2,
    buildOptions([3, 198, 18, 1, 10], [129, 198, 18, 1, 1], [130, 1, 2, 3, 4], [2, 0, 0x2d]),
  );
  assert.equal(
    describeCpPacket(0x8021, nak),
    "IPCP ConfNak id=0x2 <addr 198.18.1.10> <ms-dns1 198.18.1.1> <ms-wins1 1.2.3.4> <compress 0x2d>",
  );
  assert.equal(
    describeCpPacket(0x8057, buildCp(1, 1, buildOptions([1, 0, 0, 0, 0, 0, 0, 0, 1]))),
    "IPV6CP ConfReq id=0x1 <addr fe80::0:0:0:1>",
  );
});

Deno.test("describeCpPacket() summarises PAP and CHAP without secrets", () => {
  const pap = buildCp(1, 1, [4, ...ASCII("user"), 6, ...ASCII("secret")]);
  const papLine = describeCpPacket(0xc023, pap);
  assert.equal(papLine, 'PAP AuthReq id=0x1 user="user" password=<redacted len=6>');
  assert.doesNotMatch(papLine, /secret/);
  const response = buildCp(2, 1, [49, ...new Array(49).fill(0x41), ...ASCII("user")]);
  assert.equal(
    describeCpPacket(0xc223, response),
    'CHAP Response id=0x1 <redacted len=49>, name = "user"',
  );
  const challenge = buildCp(1, 1, [2, 0xab, 0xcd, ...ASCII("srv")]);
  assert.equal(describeCpPacket(0xc223, challenge), 'CHAP Challenge id=0x1 <abcd>, name = "srv"');
  const success = buildCp(3, 1, ASCII(`S=${"A".repeat(40)}`));
  assert.equal(describeCpPacket(0xc223, success), 'CHAP Success id=0x1 "S=<redacted len=40>"');
  assert.equal(
    describeCpPacket(0xc223, buildCp(4, 1, ASCII("E=691 R=0"))),
    'CHAP Failure id=0x1 "E=691 R=0"',
  );
});

Deno.test("describeCpPacket() never throws on malformed input", () => {
  assert.equal(describeCpPacket(0xc021, new Uint8Array([1, 1, 0])), "LCP <malformed len=3>");
  assert.equal(
    describeCpPacket(0xc021, buildCp(1, 1, [1, 9])),
    "LCP ConfReq id=0x1 <malformed options len=2>",
  );
  assert.equal(describeCpPacket(0x1234, buildCp(1, 1)), "proto=0x1234 ConfReq id=0x1 len=0");
  assert.equal(
    describeCpPacket(0xc023, buildCp(1, 1, [200])),
    'PAP AuthReq id=0x1 user="" password=<redacted len=0>',
  );
});

Deno.test("describeCpPacket() renders negotiated options with the handlers' describe()", () => {
  // A malformed flag option keeps the generic rendering.
  assert.equal(
    describeCpPacket(0xc021, buildCp(1, 1, buildOptions([7, 0], [1, 5]))),
    "LCP ConfReq id=0x1 <opt 0x7 len=3> <mru <len=1>>",
  );
  assert.equal(new PfcHandler().describe(new Uint8Array([0])), "opt 0x7 len=3");
  assert.equal(new PfcHandler().describe(new Uint8Array()), "pcomp");
  assert.equal(new MruHandler().describe(new Uint8Array([5])), "mru <len=1>");
});
