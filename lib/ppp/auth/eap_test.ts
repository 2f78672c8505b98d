import assert from "node:assert/strict";
import { fromHex, toHex } from "../../bytes/hex.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import type { AuthOutput, AuthResult } from "./auth_types.ts";
import { EapAuthenticator, EapPeer } from "./eap.ts";
import {
  decodeEapMsChapV2,
  decodeEapPacket,
  EAP_CODE,
  EAP_MSCHAPV2_OPCODE,
  EAP_TYPE,
  encodeEapMsChapV2,
  encodeEapPacket,
} from "./eap_packet.ts";
import { msChapV2AuthenticatorAlgorithm, msChapV2PeerAlgorithm } from "./mschap_v2.ts";

// RFC 2759 9.2 test vectors.
const USER = "User";
const PASSWORD = "clientPass";
const AUTH_CHALLENGE = fromHex("5B5D7C7D7B3F2F3E3C2C602132262628");
const PEER_CHALLENGE = fromHex("21402324255E262A28295F2B3A337C7E");
const NT_RESPONSE = "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df";
const AUTHENTICATOR_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

function bytesFrom(source: Uint8Array) {
  return (n: number) => n === source.length ? source.slice() : new Uint8Array(n).fill(7);
}

function pair(serverPassword = PASSWORD) {
  const peer = new EapPeer(
    msChapV2PeerAlgorithm({
      user: USER,
      password: PASSWORD,
      randomBytes: bytesFrom(PEER_CHALLENGE),
    }),
    { identity: USER },
  );
  const authenticator = new EapAuthenticator(
    msChapV2AuthenticatorAlgorithm({
      lookupPassword: (u) => u === USER ? serverPassword : undefined,
      randomBytes: bytesFrom(AUTH_CHALLENGE),
    }),
    { name: "vpn", randomBytes: bytesFrom(AUTH_CHALLENGE) },
  );
  return { peer, authenticator };
}

/** Runs the exchange to completion, recording every packet. */
function run(peer: EapPeer, authenticator: EapAuthenticator) {
  const wire: { from: "peer" | "server"; bytes: Uint8Array }[] = [];
  let peerResult: AuthResult | undefined;
  let serverResult: AuthResult | undefined;
  let toPeer: Uint8Array[] = [];
  let toServer: Uint8Array[] = [];
  const take = (o: AuthOutput, from: "peer" | "server") => {
    for (const b of o.send) wire.push({ from, bytes: b });
    if (from === "peer") {
      toServer.push(...o.send);
      peerResult ??= o.result;
    } else {
      toPeer.push(...o.send);
      serverResult ??= o.result;
    }
  };
  take(peer.start(0), "peer");
  take(authenticator.start(0), "server");
  for (let round = 0; round < 20 && (toPeer.length > 0 || toServer.length > 0); round++) {
    const p = toPeer;
    const s = toServer;
    toPeer = [];
    toServer = [];
    for (const b of p) take(peer.receive(b, 0), "peer");
    for (const b of s) take(authenticator.receive(b, 0), "server");
  }
  return { wire, peerResult, serverResult };
}

Deno.test("EAP-MSCHAPv2 carries the RFC 2759 9.2 vectors and both sides agree on the HLAK", () => {
  const { peer, authenticator } = pair();
  const { wire, peerResult, serverResult } = run(peer, authenticator);
  const kinds = wire.map(({ from, bytes }) => {
    const p = decodeEapPacket(bytes);
    return `${from}:${p.code}${"type" in p ? `/${p.type}` : ""}`;
  });
  assert.deepEqual(kinds, [
    "server:1/1", // Request/Identity
    "peer:2/1", // Response/Identity
    "server:1/26", // Challenge
    "peer:2/26", // Response
    "server:1/26", // Success Request
    "peer:2/26", // Success acknowledgement
    "server:3", // EAP-Success
  ]);
  const identity = decodeEapPacket(wire[1]!.bytes);
  assert.ok("typeData" in identity);
  assert.equal(new TextDecoder().decode(identity.typeData), USER);
  const response = decodeEapPacket(wire[3]!.bytes);
  assert.ok("typeData" in response);
  const m = decodeEapMsChapV2(response.typeData, "peer");
  assert.ok("value" in m);
  assert.equal(toHex(m.value.subarray(0, 16)), toHex(PEER_CHALLENGE));
  assert.equal(toHex(m.value.subarray(24, 48)), NT_RESPONSE);
  assert.equal(m.name, USER);
  const success = decodeEapPacket(wire[4]!.bytes);
  assert.ok("typeData" in success);
  const s = decodeEapMsChapV2(success.typeData, "authenticator");
  assert.ok("message" in s);
  assert.ok(s.message.startsWith(AUTHENTICATOR_RESPONSE), s.message);
  assert.ok(peerResult?.ok && serverResult?.ok);
  assert.equal(serverResult.user, USER);
  assert.equal(toHex(peerResult.hlak), toHex(serverResult.hlak));
  assert.equal(peerResult.hlak.length, 32);
  assert.notEqual(toHex(peerResult.hlak), "00".repeat(32));
});

Deno.test("EAP-MSCHAPv2 with a wrong password ends in EAP-Failure on both sides", () => {
  const { peer, authenticator } = pair("otherPass");
  const { wire, peerResult, serverResult } = run(peer, authenticator);
  assert.equal(decodeEapPacket(wire.at(-1)!.bytes).code, EAP_CODE.FAILURE);
  assert.ok(peerResult && !peerResult.ok && serverResult && !serverResult.ok);
  assert.equal(peerResult.error.code, ERROR_CODE.AUTH_FAILED);
  assert.match(peerResult.error.message, /E=691/);
  assert.equal(serverResult.error.code, ERROR_CODE.AUTH_FAILED);
});

Deno.test("EapPeer Naks another method with type 26 and repeats its Response to a retransmission", () => {
  const { peer } = pair();
  peer.start(0);
  const tls = encodeEapPacket({
    code: EAP_CODE.REQUEST,
    identifier: 5,
    type: 13,
    typeData: new Uint8Array([0x20]),
  });
  const nak = decodeEapPacket(peer.receive(tls, 0).send[0]!);
  assert.deepEqual(nak, {
    code: EAP_CODE.RESPONSE,
    identifier: 5,
    type: EAP_TYPE.NAK,
    typeData: new Uint8Array([26]),
  });
  const challenge = encodeEapPacket({
    code: EAP_CODE.REQUEST,
    identifier: 6,
    type: EAP_TYPE.MSCHAPV2,
    typeData: encodeEapMsChapV2({
      opCode: EAP_MSCHAPV2_OPCODE.CHALLENGE,
      msChapV2Id: 6,
      value: AUTH_CHALLENGE,
      name: "vpn",
    }),
  });
  const first = peer.receive(challenge, 0).send[0]!;
  const again = peer.receive(challenge, 0).send[0]!;
  assert.equal(toHex(again), toHex(first));
});

Deno.test("EapPeer does not trust an EAP-Success before the authenticator response", () => {
  const { peer } = pair();
  peer.start(0);
  const out = peer.receive(encodeEapPacket({ code: EAP_CODE.SUCCESS, identifier: 1 }), 0);
  assert.ok(out.result && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.AUTH_SERVER_INVALID);
});

Deno.test("EapAuthenticator fails on a Nak without EAP-MSCHAPv2, retransmits, then times out", () => {
  const { authenticator } = pair();
  const request = authenticator.start(0).send[0]!;
  const id = decodeEapPacket(request).identifier;
  assert.equal(toHex(authenticator.timeout(0).send[0]!), toHex(request));
  const identity = encodeEapPacket({
    code: EAP_CODE.RESPONSE,
    identifier: id,
    type: EAP_TYPE.IDENTITY,
    typeData: new TextEncoder().encode(USER),
  });
  const challenge = authenticator.receive(identity, 0).send[0]!;
  const cid = decodeEapPacket(challenge).identifier;
  const stale = encodeEapPacket({
    code: EAP_CODE.RESPONSE,
    identifier: (cid + 9) & 0xff,
    type: EAP_TYPE.NAK,
    typeData: new Uint8Array([13]),
  });
  assert.equal(authenticator.receive(stale, 0).send.length, 0, "wrong Identifier is discarded");
  const nak = encodeEapPacket({
    code: EAP_CODE.RESPONSE,
    identifier: cid,
    type: EAP_TYPE.NAK,
    typeData: new Uint8Array([13]),
  });
  const out = authenticator.receive(nak, 0);
  assert.equal(decodeEapPacket(out.send[0]!).code, EAP_CODE.FAILURE);
  assert.ok(out.result && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.AUTH_NEGOTIATION_FAILED);

  const lonely = pair().authenticator;
  lonely.start(0);
  let last: AuthOutput = { send: [] };
  for (let i = 0; i < 20 && last.result === undefined; i++) last = lonely.timeout(0);
  assert.ok(last.result && !last.result.ok && last.result.error.code === ERROR_CODE.TIMEOUT);
});

Deno.test("EAP: malformed packets are discarded by both roles and decoders throw only ProtocolError", () => {
  const { peer, authenticator } = pair();
  peer.start(0);
  authenticator.start(0);
  const bad = [
    new Uint8Array([]),
    new Uint8Array([1, 1, 0]),
    new Uint8Array([1, 1, 0, 3]),
    new Uint8Array([9, 1, 0, 4]),
    new Uint8Array([1, 1, 0, 200, 26]),
    fromHex("01 02 00 0a 1a 01 02 00 05 ff"), // Value-Size past the end
    fromHex("01 02 00 06 1a 63"), // unknown OpCode
    fromHex("02 02 00 06 1a 01"),
  ];
  for (const b of bad) {
    assert.equal(peer.receive(b, 0).result, undefined, toHex(b));
    assert.equal(authenticator.receive(b, 0).send.length, 0, toHex(b));
    for (const f of [() => decodeEapPacket(b), () => decodeEapMsChapV2(b.subarray(5), "peer")]) {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }
  }
});
