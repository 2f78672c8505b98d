import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import {
  challengeHash,
  challengeResponse,
  hashNtPasswordHash,
  ntPasswordHash,
} from "../ppp/auth/mschap_crypto.ts";
import { getAsymmetricStartKey, getMasterKey, msChapV2Hlak } from "../ppp/auth/mppe_keys.ts";
import { decodeRadiusPacket, encodeResponse, RADIUS_CODE } from "./radius_packet.ts";
import {
  ATTR,
  AttributeList,
  integerAttr,
  ipv4Attr,
  MS_ATTR,
  textAttr,
  VENDOR,
  vendorAttr,
} from "./radius_attributes.ts";
import { decryptMppeKey, encryptMppeKey, revealUserPassword } from "./radius_crypto.ts";
import { accessRequestAttributes, interpretAccessReply } from "./radius_auth.ts";
import { verifyResponse } from "./radius_packet.ts";

const enc = new TextEncoder();
const SECRET = enc.encode("s3cret");
const REQ_AUTH = fromHex("0102030405060708090a0b0c0d0e0f10");
const NAS = { nasIdentifier: "sstp-1", nasIpAddress: "198.18.90.2" };
const CALL = { callingStationId: "198.18.7.7", acctSessionId: "00000001", nasPort: 1 };

Deno.test("MPPE key encryption round-trips and refuses bad salts and lengths (RFC 2548 2.4.2)", () => {
  const key = fromHex("000102030405060708090a0b0c0d0e0f");
  const c = encryptMppeKey(key, SECRET, REQ_AUTH, fromHex("8001"));
  assert.equal(c.length, 2 + 32);
  assert.equal(toHex(decryptMppeKey(c, SECRET, REQ_AUTH)), toHex(key));
  assert.throws(() => encryptMppeKey(key, SECRET, REQ_AUTH, fromHex("0001")), /high bit/);
  const clear = c.slice();
  clear[0] = 0x00;
  assert.throws(() => decryptMppeKey(clear, SECRET, REQ_AUTH), /high bit/);
  assert.throws(() => decryptMppeKey(c.subarray(0, 20), SECRET, REQ_AUTH), /multiple of 16/);
});

Deno.test("PAP request hides the password with the request authenticator", () => {
  const attrs = accessRequestAttributes(
    { method: "pap", user: "alice", password: enc.encode("pw") },
    NAS,
    CALL,
    SECRET,
    REQ_AUTH,
  );
  const a = new AttributeList(attrs);
  assert.equal(a.text(ATTR.USER_NAME), "alice");
  assert.equal(a.text(ATTR.CALLING_STATION_ID), "198.18.7.7");
  assert.equal(a.integer(ATTR.NAS_PORT_TYPE), 5);
  assert.equal(a.ipv4(ATTR.NAS_IP_ADDRESS), "198.18.90.2");
  const hidden = a.bytes(ATTR.USER_PASSWORD)!;
  assert.equal(hidden.length, 16);
  assert.equal(new TextDecoder().decode(revealUserPassword(hidden, SECRET, REQ_AUTH)), "pw");
});

Deno.test("MS-CHAPv1 and v2 responses are re-laid out as RFC 2548 says", () => {
  const v1 = new Uint8Array(49).map((_, i) => i);
  const a1 = new AttributeList(accessRequestAttributes(
    { method: "mschap1", user: "u", identifier: 9, challenge: new Uint8Array(8), response: v1 },
    NAS,
    CALL,
    SECRET,
    REQ_AUTH,
  ));
  const r1 = a1.vendor(VENDOR.MICROSOFT, MS_ATTR.CHAP_RESPONSE)!;
  assert.equal(r1.length, 50);
  assert.deepEqual([r1[0], r1[1], r1[2], r1[26]], [9, 48, 0, 24]);
  const v2 = new Uint8Array(49).map((_, i) => i + 1);
  const a2 = new AttributeList(accessRequestAttributes(
    { method: "mschap2", user: "u", identifier: 4, challenge: new Uint8Array(16), response: v2 },
    NAS,
    CALL,
    SECRET,
    REQ_AUTH,
  ));
  const r2 = a2.vendor(VENDOR.MICROSOFT, MS_ATTR.CHAP2_RESPONSE)!;
  assert.equal(r2.length, 50);
  assert.deepEqual([r2[0], r2[1], r2[2], r2[49]], [4, 0, 1, 48]);
  assert.equal(a2.vendor(VENDOR.MICROSOFT, MS_ATTR.CHAP_CHALLENGE)?.length, 16);
});

/** Builds the Accept a RADIUS server would send for an MS-CHAPv2 login of `password`. */
function msChapV2Accept(password: string, withKeys: boolean) {
  const authChallenge = new Uint8Array(16).fill(0x11);
  const peerChallenge = new Uint8Array(16).fill(0x22);
  const user = "alice";
  const pwHash = ntPasswordHash(password);
  const nt = challengeResponse(challengeHash(peerChallenge, authChallenge, user), pwHash);
  const master = getMasterKey(hashNtPasswordHash(pwHash), nt);
  // The NAS (server side) send and receive keys, RFC 3079 3.4.
  const sendKey = getAsymmetricStartKey(master, 16, true, true);
  const recvKey = getAsymmetricStartKey(master, 16, false, true);
  const attrs = [
    vendorAttr(VENDOR.MICROSOFT, MS_ATTR.CHAP2_SUCCESS, enc.encode("\x04S=" + "AB".repeat(20))),
    ipv4Attr(ATTR.FRAMED_IP_ADDRESS, "198.18.50.9"),
    integerAttr(ATTR.SESSION_TIMEOUT, 3600),
    integerAttr(ATTR.ACCT_INTERIM_INTERVAL, 60),
    { type: ATTR.CLASS, value: enc.encode("cls-1") },
    vendorAttr(VENDOR.MICROSOFT, MS_ATTR.PRIMARY_DNS_SERVER, fromHex("c6120101")),
    vendorAttr(VENDOR.MIKROTIK, 8, enc.encode("10M/10M")),
    { type: 200, value: enc.encode("unknown attribute, ignored") },
  ];
  if (withKeys) {
    attrs.push(
      vendorAttr(
        VENDOR.MICROSOFT,
        MS_ATTR.MPPE_SEND_KEY,
        encryptMppeKey(sendKey, SECRET, REQ_AUTH, fromHex("8a01")),
      ),
      vendorAttr(
        VENDOR.MICROSOFT,
        MS_ATTR.MPPE_RECV_KEY,
        encryptMppeKey(recvKey, SECRET, REQ_AUTH, fromHex("8a02")),
      ),
    );
  }
  const bytes = encodeResponse(
    { code: RADIUS_CODE.ACCESS_ACCEPT, identifier: 1, attributes: attrs },
    REQ_AUTH,
    SECRET,
  );
  return { bytes, expectedHlak: msChapV2Hlak("server", hashNtPasswordHash(pwHash), nt) };
}

Deno.test("MS-CHAPv2 Accept: HLAK from the MPPE keys equals the locally derived server HLAK", () => {
  const { bytes, expectedHlak } = msChapV2Accept("Passw0rd", true);
  const reply = verifyResponse(bytes, REQ_AUTH, SECRET);
  const r = interpretAccessReply(reply, "mschap2", SECRET, REQ_AUTH);
  assert.ok(r.ok);
  assert.equal(toHex(r.hlak), toHex(expectedHlak));
  assert.equal(r.authenticatorResponse, "S=" + "AB".repeat(20));
  assert.equal(r.authorization.framedIpAddress, "198.18.50.9");
  assert.equal(r.authorization.sessionTimeoutMs, 3_600_000);
  assert.equal(r.authorization.acctInterimIntervalMs, 60_000);
  assert.deepEqual(r.authorization.dns, ["198.18.1.1"]);
  assert.equal(r.authorization.rateLimit, "10M/10M");
  assert.equal(new TextDecoder().decode(r.authorization.classes[0]), "cls-1");
});

Deno.test("MS-CHAPv2 Accept without MPPE keys is refused; the same Accept for PAP needs none", () => {
  const noKeys = interpretAccessReply(
    decodeRadiusPacket(msChapV2Accept("pw", false).bytes),
    "mschap2",
    SECRET,
    REQ_AUTH,
  );
  assert.ok(!noKeys.ok);
  assert.match(noKeys.error.message, /without MS-MPPE-Send-Key/);
  // The same Accept read as PAP needs no keys: HLAK is zero.
  const pap = interpretAccessReply(
    decodeRadiusPacket(msChapV2Accept("pw", false).bytes),
    "pap",
    SECRET,
    REQ_AUTH,
  );
  assert.ok(pap.ok);
  assert.equal(toHex(pap.hlak), "00".repeat(32));
});

Deno.test("Access-Reject carries the Reply-Message and MS-CHAP-Error to the caller", () => {
  const bytes = encodeResponse(
    {
      code: RADIUS_CODE.ACCESS_REJECT,
      identifier: 1,
      attributes: [
        textAttr(ATTR.REPLY_MESSAGE, "account expired"),
        vendorAttr(VENDOR.MICROSOFT, MS_ATTR.CHAP_ERROR, enc.encode("\x01E=691 R=0 V=3")),
      ],
    },
    REQ_AUTH,
    SECRET,
  );
  const r = interpretAccessReply(decodeRadiusPacket(bytes), "mschap2", SECRET, REQ_AUTH);
  assert.ok(!r.ok);
  assert.match(r.error.message, /account expired/);
  assert.equal(r.msChapError, "E=691 R=0 V=3");
});

Deno.test("a malformed Framed-IP-Address refuses the login instead of throwing", () => {
  const bytes = encodeResponse(
    {
      code: RADIUS_CODE.ACCESS_ACCEPT,
      identifier: 1,
      attributes: [{ type: ATTR.FRAMED_IP_ADDRESS, value: new Uint8Array(3) }],
    },
    REQ_AUTH,
    SECRET,
  );
  const r = interpretAccessReply(decodeRadiusPacket(bytes), "pap", SECRET, REQ_AUTH);
  assert.ok(!r.ok);
  assert.match(r.error.message, /4 bytes/);
});
