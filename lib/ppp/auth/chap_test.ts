import assert from "node:assert/strict";
import {
  CHAP_MAX_CHALLENGES,
  CHAP_PEER_WAIT_MS,
  CHAP_RESTART_MS,
  ChapAuthenticator,
  ChapPeer,
} from "./chap.ts";
import {
  chapMd5AuthenticatorAlgorithm,
  chapMd5PeerAlgorithm,
  chapMd5Response,
} from "./chap_md5.ts";
import { CHAP_CODE, decodeChapPacket, encodeChapPacket } from "./chap_packet.ts";
import { assertGivesUp, runPair, scriptedRandom } from "./_auth_pair.ts";
import { ERROR_CODE } from "../../errors.ts";
import { fromHex, toHex } from "../../bytes/hex.ts";

const lookupPassword = (u: string) => (u === "alice" ? "secret" : undefined);

function md5Pair(password = "secret") {
  const peer = new ChapPeer(chapMd5PeerAlgorithm("alice", password));
  const authenticator = new ChapAuthenticator(chapMd5AuthenticatorAlgorithm({ lookupPassword }), {
    name: "srv",
    randomBytes: scriptedRandom(
      new Uint8Array([0x01]),
      fromHex("000102030405060708090a0b0c0d0e0f"),
    ),
  });
  return { peer, authenticator };
}

Deno.test("chapMd5Response() matches a known answer", () => {
  // Computed independently:
  //   printf '\x01secret\x00\x01...\x0f' | openssl dgst -md5
  //   printf '\x2asecret\x00\x01...\x0f' | openssl dgst -md5
  const challenge = fromHex("000102030405060708090a0b0c0d0e0f");
  assert.equal(
    toHex(chapMd5Response(0x01, "secret", challenge)),
    "740e86463bda3a4d7017d6e0fba0699d",
  );
  assert.equal(
    toHex(chapMd5Response(0x2a, "secret", challenge)),
    "03dc98c5a832692b49df73cf48fcb4e9",
  );
});

Deno.test("ChapPeer answers a Challenge with the RFC 1994 MD5 response", () => {
  const { peer, authenticator } = md5Pair();
  const run = runPair(peer, authenticator);
  assert.deepStrictEqual(
    run.sent.map((s) => s.from),
    ["authenticator", "peer", "authenticator"],
  );
  const challenge = decodeChapPacket(run.sent[0]!.packet);
  assert.deepStrictEqual(challenge, {
    code: CHAP_CODE.CHALLENGE,
    identifier: 1,
    value: fromHex("000102030405060708090a0b0c0d0e0f"),
    name: "srv",
  });
  assert.deepStrictEqual(decodeChapPacket(run.sent[1]!.packet), {
    code: CHAP_CODE.RESPONSE,
    identifier: 1,
    value: fromHex("740e86463bda3a4d7017d6e0fba0699d"),
    name: "alice",
  });
  assert.deepStrictEqual(decodeChapPacket(run.sent[2]!.packet), {
    code: CHAP_CODE.SUCCESS,
    identifier: 1,
    message: "Access granted",
  });
});

Deno.test("ChapAuthenticator retransmits the same Challenge and then gives up", () => {
  const { authenticator } = md5Pair();
  const first = authenticator.start(0);
  assert.equal(first.timerMs, CHAP_RESTART_MS);
  const sent = [...first.send];
  let now = 0;
  for (let i = 1; i < CHAP_MAX_CHALLENGES; i++) {
    now += CHAP_RESTART_MS;
    const out = authenticator.timeout(now);
    assert.equal(out.timerMs, CHAP_RESTART_MS);
    assert.equal(out.result, undefined);
    sent.push(...out.send);
  }
  assert.equal(sent.length, 10);
  for (const p of sent) assert.deepStrictEqual(p, sent[0]);
  assertGivesUp(
    authenticator,
    now + CHAP_RESTART_MS,
    CHAP_RESTART_MS,
    "Cannot authenticate peer with CHAP-MD5: no Response after 10 Challenges",
  );
});

Deno.test("ChapAuthenticator recovers from a lost Challenge and a lost Response", () => {
  for (const lose of ["authenticator", "peer"] as const) {
    const { peer, authenticator } = md5Pair();
    let dropped = false;
    const run = runPair(peer, authenticator, {
      filter: (from, p) => {
        if (from === lose && !dropped) {
          dropped = true;
          return undefined;
        }
        return p;
      },
    });
    assert.ok(run.peer?.ok, lose);
    assert.ok(run.authenticator?.ok, lose);
    assert.equal(run.nowMs, CHAP_RESTART_MS, lose);
    if (lose === "peer") {
      // The second Response, to the retransmitted Challenge, is byte-identical.
      const responses = run.sent.filter((s) => s.from === "peer");
      assert.equal(responses.length, 2);
      assert.deepStrictEqual(responses[0]!.packet, responses[1]!.packet);
    }
  }
});

Deno.test("ChapAuthenticator discards a Response with the wrong Identifier", () => {
  const { authenticator } = md5Pair();
  authenticator.start(0);
  const wrong = encodeChapPacket({
    code: CHAP_CODE.RESPONSE,
    identifier: 2,
    value: chapMd5Response(2, "secret", fromHex("000102030405060708090a0b0c0d0e0f")),
    name: "alice",
  });
  assert.deepStrictEqual(authenticator.receive(wrong, 1), { send: [] });
  const right = encodeChapPacket({
    code: CHAP_CODE.RESPONSE,
    identifier: 1,
    value: chapMd5Response(1, "secret", fromHex("000102030405060708090a0b0c0d0e0f")),
    name: "alice",
  });
  const out = authenticator.receive(right, 2);
  assert.ok(out.result?.ok);
  // A retransmitted Response gets the same Success again, with no new result.
  const again = authenticator.receive(right, 3);
  assert.deepStrictEqual(again, { send: out.send });
  // A different identifier after the decision is ignored.
  assert.deepStrictEqual(authenticator.receive(wrong, 4), { send: [] });
});

Deno.test("ChapPeer times out without a Challenge, and without a reply", () => {
  const idle = new ChapPeer(chapMd5PeerAlgorithm("alice", "secret"));
  assert.deepStrictEqual(idle.start(0), { send: [], timerMs: CHAP_PEER_WAIT_MS });
  const out = idle.timeout(CHAP_PEER_WAIT_MS);
  assert.ok(out.result !== undefined && !out.result.ok);
  assert.equal(out.result.error.code, ERROR_CODE.TIMEOUT);
  assert.equal(
    out.result.error.message,
    "Cannot authenticate with CHAP-MD5: no Challenge from the server within 30 s",
  );

  const { peer, authenticator } = md5Pair();
  const run = runPair(peer, authenticator, {
    filter: (
      from,
      p,
    ) => (from === "authenticator" && decodeChapPacket(p).code === CHAP_CODE.SUCCESS
      ? undefined
      : p),
  });
  assert.ok(run.authenticator?.ok);
  assert.ok(run.peer !== undefined && !run.peer.ok);
  assert.equal(run.peer.error.code, ERROR_CODE.TIMEOUT);
  assert.match(run.peer.error.message, /no Success or Failure from the server within 30 s/);
  assert.equal(run.nowMs, CHAP_PEER_WAIT_MS);
});

Deno.test("ChapPeer ignores Success and Failure with the wrong Identifier", () => {
  const peer = new ChapPeer(chapMd5PeerAlgorithm("alice", "secret"));
  peer.start(0);
  const challenge = encodeChapPacket({
    code: 1,
    identifier: 9,
    value: new Uint8Array(16),
    name: "s",
  });
  assert.equal(peer.receive(challenge, 0).send.length, 1);
  const success = (identifier: number) =>
    encodeChapPacket({ code: CHAP_CODE.SUCCESS, identifier, message: "hi" });
  const failure = encodeChapPacket({ code: CHAP_CODE.FAILURE, identifier: 8, message: "no" });
  assert.deepStrictEqual(peer.receive(success(8), 1), { send: [] });
  assert.deepStrictEqual(peer.receive(failure, 1), { send: [] });
  const out = peer.receive(success(9), 2);
  assert.ok(out.result?.ok);
  assert.equal(out.result.message, "hi");
  assert.equal(out.timerMs, null);
  // Afterwards: a repeated Challenge is answered identically, without a result.
  const again = peer.receive(challenge, 3);
  assert.equal(again.send.length, 1);
  assert.equal(again.result, undefined);
  assert.deepStrictEqual(peer.receive(success(9), 4), { send: [] });
});
