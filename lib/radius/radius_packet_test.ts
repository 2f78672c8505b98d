import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { ProtocolError } from "../errors.ts";
import {
  decodeRadiusPacket,
  encodeAccessRequest,
  encodeRadiusPacket,
  encodeResponse,
  encodeSignedRequest,
  MESSAGE_AUTHENTICATOR,
  RADIUS_CODE,
  verifyResponse,
  verifySignedRequest,
} from "./radius_packet.ts";
import { ATTR, AttributeList, integerAttr, ipv4Attr, textAttr } from "./radius_attributes.ts";
import { hideUserPassword, revealUserPassword } from "./radius_crypto.ts";
import { md5 } from "../ppp/crypto/digest.ts";

const enc = new TextEncoder();
// RFC 2865 7.1 "User Telnet to Specified Host": secret xyzzy5461, user nemo, password arctangent.
const SECRET = enc.encode("xyzzy5461");
const RFC_7_1_REQUEST = fromHex(`
  01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
  98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
  93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
  01 10 05 06 00 00 00 03`);
const RFC_7_1_ACCEPT = fromHex(`
  02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
  9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
  0e 06 c0 a8 01 03`);
// RFC 2865 7.2 "Framed User Authenticating with CHAP".
const RFC_7_2_REQUEST = fromHex(`
  01 01 00 47 2a ee 86 f0 8d 0d 55 96 9c a5 97 8e
  0d 33 67 a2 01 08 66 6c 6f 70 73 79 03 13 16 e9
  75 57 c3 16 18 58 95 f2 93 ff 63 44 07 72 75 04
  06 c0 a8 01 10 05 06 00 00 00 14 06 06 00 00 00
  02 07 06 00 00 00 01`);

Deno.test("RFC 2865 7.1: the Access-Request is rebuilt byte for byte, password hidden", () => {
  const auth = RFC_7_1_REQUEST.slice(4, 20);
  const bytes = encodeRadiusPacket({
    code: RADIUS_CODE.ACCESS_REQUEST,
    identifier: 0,
    authenticator: auth,
    attributes: [
      textAttr(ATTR.USER_NAME, "nemo"),
      { type: ATTR.USER_PASSWORD, value: hideUserPassword("arctangent", SECRET, auth) },
      ipv4Attr(ATTR.NAS_IP_ADDRESS, "192.168.1.16"),
      integerAttr(ATTR.NAS_PORT, 3),
    ],
  });
  assert.equal(toHex(bytes), toHex(RFC_7_1_REQUEST));
  const p = decodeRadiusPacket(RFC_7_1_REQUEST);
  const a = new AttributeList(p.attributes);
  assert.equal(a.text(ATTR.USER_NAME), "nemo");
  assert.equal(a.ipv4(ATTR.NAS_IP_ADDRESS), "192.168.1.16");
  assert.equal(a.integer(ATTR.NAS_PORT), 3);
  const pw = revealUserPassword(a.bytes(ATTR.USER_PASSWORD)!, SECRET, auth);
  assert.equal(new TextDecoder().decode(pw), "arctangent");
});

Deno.test("RFC 2865 7.1: the Access-Accept's Response Authenticator verifies", () => {
  const auth = RFC_7_1_REQUEST.slice(4, 20);
  const p = verifyResponse(RFC_7_1_ACCEPT, auth, SECRET, { requireMessageAuthenticator: false });
  assert.equal(p.code, RADIUS_CODE.ACCESS_ACCEPT);
  const a = new AttributeList(p.attributes);
  assert.equal(a.integer(ATTR.SERVICE_TYPE), 1);
  assert.equal(a.ipv4(14), "192.168.1.3");
  // The RFC's reply has no Message-Authenticator: refused when one is required.
  assert.throws(() => verifyResponse(RFC_7_1_ACCEPT, auth, SECRET), /no Message-Authenticator/);
  // Any flipped bit, or another secret, fails the Response Authenticator.
  const bad = RFC_7_1_ACCEPT.slice();
  bad[bad.length - 1]! ^= 1;
  assert.throws(
    () => verifyResponse(bad, auth, SECRET, { requireMessageAuthenticator: false }),
    /Response Authenticator is wrong/,
  );
  assert.throws(
    () =>
      verifyResponse(RFC_7_1_ACCEPT, auth, enc.encode("xyzzy5462"), {
        requireMessageAuthenticator: false,
      }),
    /Response Authenticator is wrong/,
  );
});

Deno.test("RFC 2865 7.2: the CHAP Access-Request decodes", () => {
  const p = decodeRadiusPacket(RFC_7_2_REQUEST);
  const a = new AttributeList(p.attributes);
  assert.equal(p.identifier, 1);
  assert.equal(a.text(ATTR.USER_NAME), "flopsy");
  const chap = a.bytes(ATTR.CHAP_PASSWORD)!;
  assert.equal(chap.length, 17);
  assert.equal(chap[0], 0x16);
  assert.equal(a.integer(ATTR.NAS_PORT), 20);
  assert.equal(a.integer(ATTR.SERVICE_TYPE), 2);
  assert.equal(a.integer(ATTR.FRAMED_PROTOCOL), 1);
});

Deno.test("Access-Request carries a Message-Authenticator that a reply round-trip checks", () => {
  const auth = fromHex("00112233445566778899aabbccddeeff");
  const req = encodeAccessRequest(
    { code: RADIUS_CODE.ACCESS_REQUEST, identifier: 7, attributes: [textAttr(1, "bob")] },
    auth,
    SECRET,
  );
  const p = decodeRadiusPacket(req);
  assert.equal(p.attributes[0]?.type, MESSAGE_AUTHENTICATOR);
  assert.notEqual(toHex(p.attributes[0]!.value), "00".repeat(16));
  const reply = encodeResponse(
    { code: RADIUS_CODE.ACCESS_ACCEPT, identifier: 7, attributes: [integerAttr(27, 60)] },
    auth,
    SECRET,
  );
  const r = verifyResponse(reply, auth, SECRET);
  assert.equal(new AttributeList(r.attributes).integer(27), 60);
  // A wrong Message-Authenticator with a right Response Authenticator is refused:
  // re-sign only the outer authenticator after tampering with the HMAC.
  const tampered = reply.slice();
  tampered[22]! ^= 0xff;
  const resigned = encodeRadiusPacket({ ...decodeRadiusPacket(tampered), authenticator: auth });
  const outer = signResponseAuthenticator(resigned);
  assert.throws(() => verifyResponse(outer, auth, SECRET), /Message-Authenticator is wrong/);
});

/** Response Authenticator = MD5(packet with the request authenticator | secret). */
function signResponseAuthenticator(bytes: Uint8Array): Uint8Array {
  bytes.set(md5(bytes, SECRET), 4);
  return bytes;
}

Deno.test("signed requests (Accounting, Disconnect) verify, with and without Message-Authenticator", () => {
  for (const ma of [false, true]) {
    const bytes = encodeSignedRequest(
      {
        code: RADIUS_CODE.DISCONNECT_REQUEST,
        identifier: 3,
        attributes: [textAttr(ATTR.USER_NAME, "alice")],
      },
      SECRET,
      { messageAuthenticator: ma },
    );
    const p = verifySignedRequest(bytes, SECRET, { requireMessageAuthenticator: ma });
    assert.equal(new AttributeList(p.attributes).text(ATTR.USER_NAME), "alice");
    assert.throws(() => verifySignedRequest(bytes, enc.encode("other")), /Request Authenticator/);
  }
  const plain = encodeSignedRequest(
    { code: RADIUS_CODE.ACCOUNTING_REQUEST, identifier: 1, attributes: [] },
    SECRET,
  );
  assert.throws(
    () => verifySignedRequest(plain, SECRET, { requireMessageAuthenticator: true }),
    /no Message-Authenticator/,
  );
});

Deno.test("malformed packets are refused with a ProtocolError, never another error", () => {
  const cases: [string, Uint8Array][] = [
    ["short header", new Uint8Array(19)],
    ["length past datagram", fromHex("02 00 00 30" + "00".repeat(16))],
    ["length below 20", fromHex("02 00 00 10" + "00".repeat(16))],
    ["attribute length 1", fromHex("02 00 00 16" + "00".repeat(16) + "01 01")],
    ["attribute past end", fromHex("02 00 00 17" + "00".repeat(16) + "01 05 41")],
    ["cut attribute header", fromHex("02 00 00 15" + "00".repeat(16) + "01")],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => decodeRadiusPacket(bytes), ProtocolError, name);
  }
  // Padding after Length is ignored (RFC 2865 3).
  const padded = new Uint8Array([...RFC_7_1_ACCEPT, 0, 0, 0]);
  assert.equal(decodeRadiusPacket(padded).attributes.length, 3);
  // Random bytes never throw anything but ProtocolError.
  let seed = 12345;
  for (let i = 0; i < 2000; i++) {
    const n = 20 + (i % 60);
    const b = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      b[j] = seed >>> 24;
    }
    b[2] = 0;
    b[3] = n - (i % 3);
    try {
      decodeRadiusPacket(b);
    } catch (e) {
      assert.ok(e instanceof ProtocolError);
    }
  }
});
