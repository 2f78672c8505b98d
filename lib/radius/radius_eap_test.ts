import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { encodeResponse, RADIUS_CODE, verifyResponse } from "./radius_packet.ts";
import { ATTR, AttributeList, MS_ATTR, VENDOR, vendorAttr } from "./radius_attributes.ts";
import { encryptMppeKey } from "./radius_crypto.ts";
import {
  EAP_MESSAGE,
  eapAccessRequestAttributes,
  eapMessageAttributes,
  interpretEapReply,
  joinEapMessage,
} from "./radius_eap.ts";

const SECRET = new TextEncoder().encode("s3cret");
const REQ_AUTH = fromHex("0102030405060708090a0b0c0d0e0f10");
const NAS = { nasIdentifier: "sstp-1" };
const CALL = { callingStationId: "198.18.7.7", acctSessionId: "00000001" };

function reply(code: number, attributes: { type: number; value: Uint8Array }[]) {
  return verifyResponse(
    encodeResponse({ code, identifier: 7, attributes }, REQ_AUTH, SECRET),
    REQ_AUTH,
    SECRET,
  );
}

Deno.test("EAP-Message: split into 253-byte values in order and joined back (RFC 3579 3.1)", () => {
  const eap = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
  const parts = eapMessageAttributes(eap);
  assert.deepEqual(parts.map((p) => p.value.length), [253, 253, 94]);
  assert.ok(parts.every((p) => p.type === EAP_MESSAGE));
  assert.equal(toHex(joinEapMessage(parts)!), toHex(eap));
  assert.equal(joinEapMessage([]), undefined);
  assert.throws(() => eapMessageAttributes(new Uint8Array(0)), RangeError);

  const state = fromHex("aabbcc");
  const a = new AttributeList(eapAccessRequestAttributes("bob", eap, state, NAS, CALL));
  assert.equal(a.text(ATTR.USER_NAME), "bob");
  assert.equal(toHex(a.bytes(ATTR.STATE)!), "aabbcc");
  assert.equal(a.all(EAP_MESSAGE).length, 3);
  const first = new AttributeList(eapAccessRequestAttributes("bob", eap, undefined, NAS, CALL));
  assert.equal(first.bytes(ATTR.STATE), undefined);
});

Deno.test("EAP replies: Challenge carries Request and State; Accept needs the MPPE keys; Reject forwards EAP-Failure", () => {
  const request = fromHex("0105000a1a01050005");
  const challenge = interpretEapReply(
    reply(RADIUS_CODE.ACCESS_CHALLENGE, [
      { type: EAP_MESSAGE, value: request },
      { type: ATTR.STATE, value: fromHex("5151") },
    ]),
    SECRET,
    REQ_AUTH,
  );
  assert.deepEqual(challenge, { kind: "challenge", eap: request, state: fromHex("5151") });
  const noEap = interpretEapReply(reply(RADIUS_CODE.ACCESS_CHALLENGE, []), SECRET, REQ_AUTH);
  assert.equal(noEap.kind, "reject");

  const success = fromHex("03060004");
  const send = fromHex("00112233445566778899aabbccddeeff");
  const recv = fromHex("ffeeddccbbaa99887766554433221100");
  const accept = interpretEapReply(
    reply(RADIUS_CODE.ACCESS_ACCEPT, [
      { type: EAP_MESSAGE, value: success },
      vendorAttr(
        VENDOR.MICROSOFT,
        MS_ATTR.MPPE_SEND_KEY,
        encryptMppeKey(send, SECRET, REQ_AUTH, fromHex("8001")),
      ),
      vendorAttr(
        VENDOR.MICROSOFT,
        MS_ATTR.MPPE_RECV_KEY,
        encryptMppeKey(recv, SECRET, REQ_AUTH, fromHex("8002")),
      ),
    ]),
    SECRET,
    REQ_AUTH,
  );
  assert.equal(accept.kind, "accept");
  assert.ok(accept.kind === "accept");
  // The NAS's receive key, then its send key.
  assert.equal(toHex(accept.hlak), toHex(recv) + toHex(send));
  assert.equal(toHex(accept.eap!), toHex(success));

  const keyless = interpretEapReply(
    reply(RADIUS_CODE.ACCESS_ACCEPT, [{ type: EAP_MESSAGE, value: success }]),
    SECRET,
    REQ_AUTH,
  );
  assert.equal(keyless.kind, "reject");
  assert.ok(keyless.kind === "reject");
  // The peer must not be handed the EAP-Success of an Accept that cannot be bound.
  assert.equal(keyless.eap, undefined);
  assert.match(keyless.error.message, /crypto binding cannot be verified/);

  const failure = fromHex("04060004");
  const rejected = interpretEapReply(
    reply(RADIUS_CODE.ACCESS_REJECT, [{ type: EAP_MESSAGE, value: failure }]),
    SECRET,
    REQ_AUTH,
  );
  assert.ok(rejected.kind === "reject");
  assert.equal(toHex(rejected.eap!), toHex(failure));
  assert.match(rejected.error.message, /RADIUS rejected the EAP login/);
});
