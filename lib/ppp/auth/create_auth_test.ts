import assert from "node:assert/strict";
import { createAuthAuthenticator, createAuthPeer } from "./create_auth.ts";
import type { AuthMethod, AuthResult } from "./auth_types.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { runPair, scriptedRandom } from "./_auth_pair.ts";
import { decodeChapPacket } from "./chap_packet.ts";
import { hashNtPasswordHash, ntPasswordHash } from "./mschap_crypto.ts";
import { msChapV2Hlak } from "./mppe_keys.ts";
import { decodeMsChapV2Response } from "./mschap_v2.ts";
import { decodeEapMsChapV2, decodeEapPacket } from "./eap_packet.ts";

const SECRETS: Record<string, string> = { alice: "correct horse", bob: "hunter2" };
const lookupPassword = (user: string) => SECRETS[user];
const METHODS: readonly AuthMethod[] = ["pap", "chap", "mschap1", "mschap2"];

function pair(method: AuthMethod, user: string, password: string) {
  const peer = createAuthPeer(method, { user, password, randomBytes: scriptedRandom() });
  const authenticator = createAuthAuthenticator(method, {
    lookupPassword,
    randomBytes: scriptedRandom(),
    name: "vpn.example",
  });
  return { peer, authenticator };
}

function okResult(r: AuthResult | undefined): Extract<AuthResult, { ok: true }> {
  assert.ok(r !== undefined, "no result");
  if (!r.ok) throw r.error;
  return r;
}

function failure(r: AuthResult | undefined): ProtocolError {
  assert.ok(r !== undefined, "no result");
  assert.equal(r.ok, false);
  if (r.ok) throw new Error("unreachable");
  assert.ok(r.error instanceof ProtocolError);
  return r.error;
}

for (const method of METHODS) {
  Deno.test(`createAuthPeer("${method}") and its authenticator agree on the right password`, () => {
    const { peer, authenticator } = pair(method, "alice", "correct horse");
    assert.equal(peer.protocol, method === "pap" ? 0xc023 : 0xc223);
    assert.equal(authenticator.protocol, peer.protocol);
    const run = runPair(peer, authenticator);
    const p = okResult(run.peer);
    const a = okResult(run.authenticator);
    assert.equal(p.user, "alice");
    assert.equal(a.user, "alice");
    assert.equal(p.hlak.length, 32);
    assert.deepStrictEqual(p.hlak, a.hlak);
    if (method === "mschap2") {
      assert.notDeepStrictEqual(p.hlak, new Uint8Array(32));
    } else {
      assert.deepStrictEqual(p.hlak, new Uint8Array(32));
    }
    // No retransmissions were needed: exactly one packet each way (two for CHAP).
    assert.equal(run.sent.length, method === "pap" ? 2 : 3);
    assert.equal(run.nowMs, 0);
  });

  Deno.test(`createAuthPeer("${method}") fails on both sides with a wrong password`, () => {
    const { peer, authenticator } = pair(method, "alice", "wrong");
    const run = runPair(peer, authenticator);
    const p = failure(run.peer);
    const a = failure(run.authenticator);
    assert.equal(p.code, ERROR_CODE.AUTH_FAILED);
    assert.equal(a.code, ERROR_CODE.AUTH_FAILED);
    assert.equal(a.detail, "wrong password");
    assert.match(p.message, /^Authentication failed: server refused the credentials/);
    if (method === "mschap2") {
      assert.equal(
        p.message,
        'Authentication failed: server refused the credentials (E=691: wrong user name or password); server message: "Authentication failed"',
      );
    }
    if (method === "mschap1") {
      assert.equal(
        p.message,
        "Authentication failed: server refused the credentials (E=691: wrong user name or password)",
      );
    }
    for (const e of [p, a]) {
      assert.doesNotMatch(e.message, /wrong"|correct horse/);
      assert.equal(e.layer, method === "pap" ? "pap" : "chap");
    }
  });

  Deno.test(`createAuthAuthenticator("${method}") refuses an unknown user`, () => {
    const { peer, authenticator } = pair(method, "mallory", "correct horse");
    const run = runPair(peer, authenticator);
    assert.equal(failure(run.peer).code, ERROR_CODE.AUTH_FAILED);
    const a = failure(run.authenticator);
    assert.equal(a.code, ERROR_CODE.AUTH_FAILED);
    assert.equal(a.detail, "unknown user");
    assert.match(a.message, /"mallory"/);
  });
}

Deno.test('createAuthPeer("mschap2") HLAK equals the server\'s and the RFC 3079 derivation', () => {
  const { peer, authenticator } = pair("mschap2", "bob", "hunter2");
  const run = runPair(peer, authenticator);
  const p = okResult(run.peer);
  const a = okResult(run.authenticator);
  const response = decodeChapPacket(run.sent[1]!.packet);
  assert.ok("value" in response);
  const { ntResponse } = decodeMsChapV2Response(response.value);
  const hashHash = hashNtPasswordHash(ntPasswordHash("hunter2"));
  assert.deepStrictEqual(p.hlak, msChapV2Hlak("client", hashHash, ntResponse));
  assert.deepStrictEqual(a.hlak, msChapV2Hlak("server", hashHash, ntResponse));
  assert.deepStrictEqual(p.hlak, a.hlak);
  assert.equal(p.message, "Access granted");
});

Deno.test("createAuthAuthenticator() accepts a DOMAIN\\ prefix for every method", () => {
  for (const method of METHODS) {
    const { peer, authenticator } = pair(method, "CORP\\alice", "correct horse");
    const run = runPair(peer, authenticator);
    assert.equal(okResult(run.authenticator).user, "alice", method);
    assert.equal(okResult(run.peer).user, "CORP\\alice", method);
  }
});

Deno.test('createAuthPeer("eap-mschap2") runs EAP (0xc227) and yields the plain MS-CHAPv2 HLAK', () => {
  const { peer, authenticator } = pair("eap-mschap2", "bob", "hunter2");
  assert.equal(peer.protocol, 0xc227);
  assert.equal(authenticator.protocol, 0xc227);
  const run = runPair(peer, authenticator);
  const p = okResult(run.peer);
  const a = okResult(run.authenticator);
  assert.equal(a.user, "bob");
  // Identity, Challenge, Response, Success and its acknowledgement, then EAP-Success.
  const response = decodeEapPacket(run.sent[3]!.packet);
  assert.ok("type" in response && response.type === 26);
  const value = decodeEapMsChapV2(response.typeData, "peer");
  assert.ok("value" in value);
  const { ntResponse } = decodeMsChapV2Response(value.value);
  const hashHash = hashNtPasswordHash(ntPasswordHash("hunter2"));
  assert.deepStrictEqual(p.hlak, msChapV2Hlak("client", hashHash, ntResponse));
  assert.deepStrictEqual(a.hlak, msChapV2Hlak("server", hashHash, ntResponse));
  assert.deepStrictEqual(p.hlak, a.hlak);
  assert.notDeepStrictEqual(p.hlak, new Uint8Array(32));
});

Deno.test('createAuthAuthenticator("eap-mschap2") with RADIUS: local users pass, others are refused with the reason', () => {
  let asked = 0;
  const remote = () => {
    asked++;
    return Promise.reject(new Error("EAP must not reach the remote service"));
  };
  const make = (user: string, password: string) => ({
    peer: createAuthPeer("eap-mschap2", { user, password, randomBytes: scriptedRandom() }),
    authenticator: createAuthAuthenticator("eap-mschap2", {
      lookupPassword,
      randomBytes: scriptedRandom(),
      name: "vpn.example",
      remote,
    }),
  });
  const local = make("alice", "correct horse");
  assert.equal(okResult(runPair(local.peer, local.authenticator).authenticator).user, "alice");
  const wrong = make("alice", "nope");
  assert.equal(
    failure(runPair(wrong.peer, wrong.authenticator).authenticator).detail,
    "wrong password",
  );
  const radiusUser = make("carol", "from-radius");
  const run = runPair(radiusUser.peer, radiusUser.authenticator);
  assert.match(failure(run.peer).message, /E=691/);
  const a = failure(run.authenticator);
  assert.equal(a.code, ERROR_CODE.AUTH_FAILED);
  assert.equal(
    a.message,
    'Authentication failed: user "carol" is not in the local secrets, and eap-mschap2 is checked against local secrets only (RADIUS users need mschap2)',
  );
  assert.equal(asked, 0);
});
