import assert from "node:assert/strict";
import { ChapAuthenticator, ChapPeer } from "./chap.ts";
import {
  encodeMsChapV1Response,
  msChapV1AuthenticatorAlgorithm,
  msChapV1PeerAlgorithm,
} from "./mschap_v1.ts";
import { CHAP_CODE, decodeChapPacket, encodeChapPacket } from "./chap_packet.ts";
import { runPair, scriptedRandom } from "./_auth_pair.ts";
import { ERROR_CODE } from "../../errors.ts";
import { concatBytes, fromHex } from "../../bytes/hex.ts";

// RFC 2433 B.2.
const CHALLENGE = fromHex("10 2D B5 DF 08 5D 30 41");
const NT_RESPONSE = fromHex(
  "4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61",
);

function v1Authenticator() {
  return new ChapAuthenticator(
    msChapV1AuthenticatorAlgorithm({ lookupPassword: (u) => (u === "User" ? "MyPw" : undefined) }),
    { name: "vpn", randomBytes: scriptedRandom(new Uint8Array([7]), CHALLENGE) },
  );
}

Deno.test("encodeMsChapV1Response() zeroes the LM part and sets the use-NT flag", () => {
  assert.deepStrictEqual(
    encodeMsChapV1Response(CHALLENGE, "MyPw"),
    concatBytes(new Uint8Array(24), NT_RESPONSE, new Uint8Array([1])),
  );
});

Deno.test("MS-CHAPv1 exchange carries the RFC 2433 B.2 NT response", () => {
  const peer = new ChapPeer(msChapV1PeerAlgorithm("User", "MyPw"));
  const run = runPair(peer, v1Authenticator());
  const challenge = decodeChapPacket(run.sent[0]!.packet);
  assert.ok("value" in challenge);
  assert.deepStrictEqual(challenge.value, CHALLENGE);
  const response = decodeChapPacket(run.sent[1]!.packet);
  assert.ok("value" in response);
  assert.deepStrictEqual(response.value.subarray(24, 48), NT_RESPONSE);
  assert.ok(run.peer?.ok && run.authenticator?.ok);
  assert.deepStrictEqual(run.peer.hlak, new Uint8Array(32));
});

Deno.test("MS-CHAPv1 authenticator refuses an LM-only Response", () => {
  const a = v1Authenticator();
  a.start(0);
  const value = concatBytes(new Uint8Array(24), NT_RESPONSE, new Uint8Array([0]));
  const out = a.receive(
    encodeChapPacket({ code: CHAP_CODE.RESPONSE, identifier: 7, value, name: "User" }),
    0,
  );
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.AUTH_FAILED);
  assert.deepStrictEqual(decodeChapPacket(out.send[0]!), {
    code: CHAP_CODE.FAILURE,
    identifier: 7,
    message: "E=691 R=0",
  });
});

Deno.test("MS-CHAPv1 peer fails on a Challenge that is not 8 bytes", () => {
  const peer = new ChapPeer(msChapV1PeerAlgorithm("User", "MyPw"));
  const out = peer.receive(
    encodeChapPacket({ code: 1, identifier: 1, value: new Uint8Array(16), name: "" }),
    0,
  );
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.BAD_VALUE);
});
