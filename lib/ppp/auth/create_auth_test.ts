import assert from "node:assert/strict";
import { createAuthAuthenticator, createAuthPeer } from "./create_auth.ts";
import type { AuthMethod, AuthResult } from "./auth_types.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { runPair, scriptedRandom } from "./_auth_pair.ts";
import { decodeChapPacket } from "./chap_packet.ts";
import { hashNtPasswordHash, ntPasswordHash } from "./mschap_crypto.ts";
import { msChapV2Hlak } from "./mppe_keys.ts";
import { decodeMsChapV2Response } from "./mschap_v2.ts";

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
