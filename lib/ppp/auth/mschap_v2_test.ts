import assert from "node:assert/strict";
import { ChapAuthenticator, ChapPeer } from "./chap.ts";
import {
  decodeMsChapV2Response,
  decodeMsChapV2Success,
  encodeMsChapV2Response,
  msChapV2AuthenticatorAlgorithm,
  msChapV2PeerAlgorithm,
} from "./mschap_v2.ts";
import { CHAP_CODE, decodeChapPacket, encodeChapPacket } from "./chap_packet.ts";
import { runPair, scriptedRandom } from "./_auth_pair.ts";
import { getAsymmetricStartKey } from "./mppe_keys.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { concatBytes, fromHex } from "../../bytes/hex.ts";

// RFC 2759 9.2 and RFC 3079 3.5.3.
const AUTH_CHALLENGE = fromHex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
const PEER_CHALLENGE = fromHex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");
const NT_RESPONSE = fromHex(
  "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF",
);
const AUTH_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
const MASTER_KEY = fromHex("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31");
const SEND_START_KEY_128 = fromHex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");

function rfcPair(password = "clientPass") {
  const peer = new ChapPeer(
    msChapV2PeerAlgorithm({ user: "User", password, randomBytes: scriptedRandom(PEER_CHALLENGE) }),
  );
  const authenticator = new ChapAuthenticator(
    msChapV2AuthenticatorAlgorithm({
      lookupPassword: (u) => (u === "User" ? "clientPass" : undefined),
      randomBytes: scriptedRandom(),
    }),
    { name: "vpn", randomBytes: scriptedRandom(new Uint8Array([0x33]), AUTH_CHALLENGE) },
  );
  return { peer, authenticator };
}

function challengePacket(identifier = 0x33): Uint8Array {
  return encodeChapPacket({
    code: CHAP_CODE.CHALLENGE,
    identifier,
    value: AUTH_CHALLENGE,
    name: "vpn",
  });
}

function rfcPeer(): ChapPeer {
  const peer = new ChapPeer(
    msChapV2PeerAlgorithm({
      user: "User",
      password: "clientPass",
      randomBytes: scriptedRandom(PEER_CHALLENGE),
    }),
  );
  peer.start(0);
  peer.receive(challengePacket(), 0);
  return peer;
}

function success(message: string): Uint8Array {
  return encodeChapPacket({ code: CHAP_CODE.SUCCESS, identifier: 0x33, message });
}

Deno.test("MS-CHAPv2 exchange reproduces the RFC 2759 9.2 values on the wire", () => {
  const { peer, authenticator } = rfcPair();
  const run = runPair(peer, authenticator);
  const response = decodeChapPacket(run.sent[1]!.packet);
  assert.deepStrictEqual(response, {
    code: CHAP_CODE.RESPONSE,
    identifier: 0x33,
    value: concatBytes(PEER_CHALLENGE, new Uint8Array(8), NT_RESPONSE, new Uint8Array([0])),
    name: "User",
  });
  assert.deepStrictEqual(decodeChapPacket(run.sent[2]!.packet), {
    code: CHAP_CODE.SUCCESS,
    identifier: 0x33,
    message: `${AUTH_RESPONSE} M=Access granted`,
  });
  assert.ok(run.peer?.ok && run.authenticator?.ok);
  // HLAK (MS-SSTP 3.2.5.2.2, 3.2.5.2.4): client MasterSendKey | MasterReceiveKey, and the
  // client's receive key is RFC 3079's SendStartKey128 (the server's send key).
  const clientSend = getAsymmetricStartKey(MASTER_KEY, 16, true, false);
  assert.deepStrictEqual(run.peer.hlak, concatBytes(clientSend, SEND_START_KEY_128));
  assert.deepStrictEqual(run.authenticator.hlak, run.peer.hlak);
  assert.equal(run.peer.user, "User");
  assert.equal(run.peer.message, "Access granted");
});

Deno.test("MS-CHAPv2 peer fails with AUTH_SERVER_INVALID on a tampered authenticator response", () => {
  const { peer, authenticator } = rfcPair();
  const run = runPair(peer, authenticator, {
    filter: (from, p) => {
      const d = decodeChapPacket(p);
      if (from !== "authenticator" || d.code !== CHAP_CODE.SUCCESS) return p;
      return success(d.message.replace("S=407A", "S=407B"));
    },
  });
  assert.ok(run.authenticator?.ok);
  assert.ok(run.peer !== undefined && !run.peer.ok);
  assert.equal(run.peer.error.code, ERROR_CODE.AUTH_SERVER_INVALID);
  assert.equal(run.peer.error.layer, "chap");
  assert.match(run.peer.error.message, /authenticator response does not match/);
});

Deno.test("MS-CHAPv2 peer accepts Success with or without M= (SoftEther sends none)", () => {
  for (
    const message of [
      AUTH_RESPONSE,
      `${AUTH_RESPONSE} M=Welcome home`,
      AUTH_RESPONSE.toLowerCase().replace("s=", "S="),
    ]
  ) {
    const out = rfcPeer().receive(success(message), 1);
    assert.ok(out.result?.ok, message);
    assert.equal(out.result.message, message.includes("M=") ? "Welcome home" : "");
    assert.equal(out.result.hlak.length, 32);
  }
});

Deno.test("MS-CHAPv2 peer rejects a Success without a valid S= field", () => {
  for (
    const message of [
      "",
      "M=Welcome",
      "S=407A5589115FD0D6209F510FE9C04566932CDA5",
      "S=407A5589115FD0D6209F510FE9C04566932CDA56X",
    ]
  ) {
    const out = rfcPeer().receive(success(message), 1);
    assert.ok(out.result !== undefined && !out.result.ok, message);
    assert.equal(out.result.error.code, ERROR_CODE.AUTH_SERVER_INVALID, message);
  }
});

Deno.test("MS-CHAPv2 peer turns SoftEther's Failure into a clear error", () => {
  const peer = rfcPeer();
  const failure = encodeChapPacket({
    code: CHAP_CODE.FAILURE,
    identifier: 0x33,
    message: "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3",
  });
  const out = peer.receive(failure, 1);
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.AUTH_FAILED);
  assert.equal(
    out.result.error.message,
    "Authentication failed: server refused the credentials (E=691: wrong user name or password)",
  );
});

Deno.test("MS-CHAPv2 peer answers a retransmitted Challenge with the same Response", () => {
  let calls = 0;
  const random = scriptedRandom(PEER_CHALLENGE);
  const peer = new ChapPeer(msChapV2PeerAlgorithm({
    user: "User",
    password: "clientPass",
    randomBytes: (n) => {
      calls++;
      return random(n);
    },
  }));
  peer.start(0);
  const first = peer.receive(challengePacket(), 0);
  const second = peer.receive(challengePacket(), 3000);
  assert.equal(calls, 1);
  assert.deepStrictEqual(second.send, first.send);
  // A new Challenge (new Identifier) is a new exchange, with a new peer challenge.
  const third = peer.receive(challengePacket(0x34), 6000);
  assert.equal(calls, 2);
  assert.notDeepStrictEqual(third.send, first.send);
});

Deno.test("MS-CHAPv2 peer fails on a Challenge that is not 16 bytes", () => {
  const peer = new ChapPeer(
    msChapV2PeerAlgorithm({ user: "u", password: "p", randomBytes: scriptedRandom() }),
  );
  peer.start(0);
  const out = peer.receive(
    encodeChapPacket({ code: 1, identifier: 1, value: new Uint8Array(8), name: "" }),
    0,
  );
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.BAD_VALUE);
  assert.deepStrictEqual(out.send, []);
});

Deno.test("MS-CHAPv2 authenticator sends E=691 R=0 C=<32 hex> V=3 on a wrong password", () => {
  const { peer, authenticator } = rfcPair("wrong");
  const run = runPair(peer, authenticator);
  const failure = decodeChapPacket(run.sent[2]!.packet);
  assert.equal(failure.code, CHAP_CODE.FAILURE);
  assert.ok("message" in failure);
  assert.match(failure.message, /^E=691 R=0 C=[0-9A-F]{32} V=3 M=Authentication failed$/);
  assert.ok(run.authenticator !== undefined && !run.authenticator.ok);
  assert.equal(run.authenticator.error.detail, "wrong password");
});

Deno.test("MS-CHAPv2 authenticator refuses a malformed Response value", () => {
  const { authenticator } = rfcPair();
  authenticator.start(0);
  const out = authenticator.receive(
    encodeChapPacket({
      code: CHAP_CODE.RESPONSE,
      identifier: 0x33,
      value: new Uint8Array(48),
      name: "User",
    }),
    1,
  );
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.detail, "malformed response");
  assert.equal(decodeChapPacket(out.send[0]!).code, CHAP_CODE.FAILURE);
});

Deno.test("encodeMsChapV2Response() and decodeMsChapV2Response() round-trip", () => {
  const r = { peerChallenge: PEER_CHALLENGE, ntResponse: NT_RESPONSE, flags: 0 };
  assert.deepStrictEqual(decodeMsChapV2Response(encodeMsChapV2Response(r)), r);
  assert.throws(() => decodeMsChapV2Response(new Uint8Array(50)), ProtocolError);
  assert.throws(() => encodeMsChapV2Response({ ...r, ntResponse: new Uint8Array(23) }), RangeError);
});

Deno.test("decodeMsChapV2Success() splits S= and M=", () => {
  assert.deepStrictEqual(decodeMsChapV2Success(`${AUTH_RESPONSE} M=a b  c`), {
    authenticatorResponse: AUTH_RESPONSE,
    message: "a b  c",
  });
  assert.deepStrictEqual(decodeMsChapV2Success(AUTH_RESPONSE), {
    authenticatorResponse: AUTH_RESPONSE,
    message: "",
  });
  assert.equal(decodeMsChapV2Success(`x${AUTH_RESPONSE}`), undefined);
});

Deno.test("MS-CHAPv2 authenticator refuses a Response whose Flags are not zero (RFC 2759 4)", () => {
  // The RFC 2759 9.2 Response, correct in every other byte: only the Flags differ.
  const value = encodeMsChapV2Response({
    peerChallenge: PEER_CHALLENGE,
    ntResponse: NT_RESPONSE,
    flags: 0x01,
  });
  const { authenticator } = rfcPair();
  authenticator.start(0);
  const out = authenticator.receive(
    encodeChapPacket({ code: CHAP_CODE.RESPONSE, identifier: 0x33, value, name: "User" }),
    1,
  );
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.AUTH_FAILED);
  assert.equal(
    out.result.error.detail,
    "malformed response: Flags are 0x01, RFC 2759 4 requires zero",
  );
  assert.equal(decodeChapPacket(out.send[0]!).code, CHAP_CODE.FAILURE);
  // The same Response with Flags zero is accepted.
  const ok = rfcPair().authenticator;
  ok.start(0);
  const accepted = ok.receive(
    encodeChapPacket({
      code: CHAP_CODE.RESPONSE,
      identifier: 0x33,
      value: encodeMsChapV2Response({
        peerChallenge: PEER_CHALLENGE,
        ntResponse: NT_RESPONSE,
        flags: 0,
      }),
      name: "User",
    }),
    1,
  );
  assert.ok(accepted.result?.ok, "flags zero verifies");
});
