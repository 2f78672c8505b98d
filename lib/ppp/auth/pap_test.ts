import assert from "node:assert/strict";
import {
  PAP_AUTHENTICATOR_WAIT_MS,
  PAP_MAX_REQUESTS,
  PAP_RESTART_MS,
  PapAuthenticator,
  PapPeer,
} from "./pap.ts";
import { decodePapPacket, encodePapPacket, PAP_CODE } from "./pap_packet.ts";
import { assertGivesUp, runPair } from "./_auth_pair.ts";
import { ERROR_CODE } from "../../errors.ts";

const lookupPassword = (u: string) => (u === "alice" ? "s3cret" : undefined);

Deno.test("PapPeer sends Peer-Id and Password and succeeds on Ack", () => {
  const run = runPair(
    new PapPeer({ user: "alice", password: "s3cret" }),
    new PapAuthenticator({ lookupPassword }),
  );
  assert.deepStrictEqual(decodePapPacket(run.sent[0]!.packet), {
    code: PAP_CODE.AUTHENTICATE_REQUEST,
    identifier: 1,
    peerId: "alice",
    password: "s3cret",
  });
  assert.deepStrictEqual(decodePapPacket(run.sent[1]!.packet), {
    code: PAP_CODE.AUTHENTICATE_ACK,
    identifier: 1,
    message: "Login ok",
  });
  assert.ok(run.peer?.ok && run.authenticator?.ok);
  assert.equal(run.peer.message, "Login ok");
  assert.equal(run.authenticator.user, "alice");
  assert.deepStrictEqual(run.peer.hlak, new Uint8Array(32));
});

Deno.test("PapPeer reports the Nak message as AUTH_FAILED", () => {
  const run = runPair(
    new PapPeer({ user: "alice", password: "nope" }),
    new PapAuthenticator({ lookupPassword }),
  );
  assert.ok(run.peer !== undefined && !run.peer.ok);
  assert.equal(run.peer.error.code, ERROR_CODE.AUTH_FAILED);
  assert.equal(run.peer.error.layer, "pap");
  assert.equal(
    run.peer.error.message,
    'Authentication failed: server refused the credentials (PAP Authenticate-Nak); server message: "Authentication failed"',
  );
  assert.ok(run.authenticator !== undefined && !run.authenticator.ok);
  assert.equal(run.authenticator.error.detail, "wrong password");
  assert.doesNotMatch(run.authenticator.error.message, /nope|s3cret/);
});

Deno.test("PapPeer retransmits with new Identifiers and then gives up (SoftEther sends no Nak)", () => {
  const peer = new PapPeer({ user: "alice", password: "x" });
  const ids: number[] = [];
  const first = peer.start(0);
  assert.equal(first.timerMs, PAP_RESTART_MS);
  ids.push(decodePapPacket(first.send[0]!).identifier);
  let now = 0;
  for (let i = 1; i < PAP_MAX_REQUESTS; i++) {
    now += PAP_RESTART_MS;
    const out = peer.timeout(now);
    assert.equal(out.timerMs, PAP_RESTART_MS);
    ids.push(decodePapPacket(out.send[0]!).identifier);
  }
  assert.deepStrictEqual(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assertGivesUp(
    peer,
    now + PAP_RESTART_MS,
    PAP_RESTART_MS,
    "Cannot authenticate with PAP: no reply to 10 Authenticate-Requests",
  );
});

Deno.test("PapPeer accepts an Ack to an earlier Request but not to one it never sent", () => {
  const peer = new PapPeer({ user: "alice", password: "x" });
  peer.start(0);
  peer.timeout(PAP_RESTART_MS); // identifier 2
  const ack = (identifier: number) =>
    encodePapPacket({ code: PAP_CODE.AUTHENTICATE_ACK, identifier, message: "" });
  assert.deepStrictEqual(peer.receive(ack(5), 1), { send: [] });
  const out = peer.receive(ack(1), 2);
  assert.ok(out.result?.ok);
  assert.equal(out.timerMs, null);
  assert.deepStrictEqual(peer.receive(ack(2), 3), { send: [] });
});

Deno.test("PapAuthenticator re-answers retransmitted Requests with the same decision", () => {
  for (
    const [password, code] of [["s3cret", PAP_CODE.AUTHENTICATE_ACK], [
      "bad",
      PAP_CODE.AUTHENTICATE_NAK,
    ]] as const
  ) {
    const a = new PapAuthenticator({ lookupPassword });
    a.start(0);
    const req = (identifier: number, pw: string) =>
      encodePapPacket({
        code: PAP_CODE.AUTHENTICATE_REQUEST,
        identifier,
        peerId: "alice",
        password: pw,
      });
    const first = a.receive(req(1, password), 0);
    assert.ok(first.result !== undefined);
    // Even a retransmission with other credentials gets the first decision.
    const again = a.receive(req(2, password === "bad" ? "s3cret" : "bad"), 1);
    assert.equal(again.result, undefined);
    assert.deepStrictEqual(decodePapPacket(again.send[0]!), {
      code,
      identifier: 2,
      message: code === PAP_CODE.AUTHENTICATE_ACK ? "Login ok" : "Authentication failed",
    });
  }
});

Deno.test("PapAuthenticator times out without a Request", () => {
  const a = new PapAuthenticator({ lookupPassword });
  assert.deepStrictEqual(a.start(0), { send: [], timerMs: PAP_AUTHENTICATOR_WAIT_MS });
  const out = a.timeout(PAP_AUTHENTICATOR_WAIT_MS);
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.TIMEOUT);
  assert.equal(
    out.result.error.message,
    "Cannot authenticate peer with PAP: no Authenticate-Request within 30 s",
  );
  const late = a.receive(
    encodePapPacket({
      code: PAP_CODE.AUTHENTICATE_REQUEST,
      identifier: 1,
      peerId: "alice",
      password: "s3cret",
    }),
    PAP_AUTHENTICATOR_WAIT_MS + 1,
  );
  assert.deepStrictEqual(late, { send: [] });
});

Deno.test("PapAuthenticator refuses unknown users and password prefixes", () => {
  for (
    const [user, password] of [["mallory", "s3cret"], ["alice", "s3cre"], ["alice", "s3cret "], [
      "alice",
      "",
    ]]
  ) {
    const a = new PapAuthenticator({ lookupPassword });
    a.start(0);
    const out = a.receive(
      encodePapPacket({
        code: PAP_CODE.AUTHENTICATE_REQUEST,
        identifier: 1,
        peerId: user!,
        password: password!,
      }),
      0,
    );
    assert.ok(out.result !== undefined && !out.result.ok, `${user}/${password}`);
    assert.equal(decodePapPacket(out.send[0]!).code, PAP_CODE.AUTHENTICATE_NAK);
  }
});

Deno.test("PapPeer rejects credentials longer than 255 bytes up front", () => {
  assert.throws(() => new PapPeer({ user: "u", password: "p".repeat(256) }), RangeError);
});
