import assert from "node:assert/strict";
import { runRemotePair } from "../../../test/helpers/remote_auth_pair.ts";
import { ProtocolError } from "../../errors.ts";
import { toHex } from "../../bytes/hex.ts";
import type { AuthOutput } from "./auth_types.ts";
import { EapAuthenticator, EapPeer } from "./eap.ts";
import { EapRelayAuthenticator, type RemoteEap, type RemoteEapStep } from "./eap_relay.ts";
import { msChapV2AuthenticatorAlgorithm, msChapV2PeerAlgorithm } from "./mschap_v2.ts";
import { decodeEapPacket, EAP_CODE } from "./eap_packet.ts";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/**
 * A stand-in EAP server (what FreeRADIUS does behind RADIUS): a full
 * EapAuthenticator with its own user, fed the relayed Responses.
 */
function fakeEapServer(user: string, password: string, firstId?: number) {
  const identities: string[] = [];
  const relayed: Uint8Array[] = [];
  const remote: RemoteEap = (identity) => {
    identities.push(identity);
    const server = new EapAuthenticator(
      msChapV2AuthenticatorAlgorithm({
        lookupPassword: (u) => u === user ? password : undefined,
        randomBytes: random,
      }),
      { name: "radius", randomBytes: firstId === undefined ? random : withFirstId(firstId) },
    );
    let started = false;
    return {
      respond(eap): Promise<RemoteEapStep> {
        relayed.push(eap);
        let out: AuthOutput;
        if (!started) {
          // The NAS already asked for the identity: skip the server's own Request/Identity
          // by feeding it the peer's Response with the identifier it chose.
          started = true;
          const first = server.start(0).send[0]!;
          const response = eap.slice();
          response[1] = first[1]!;
          out = server.receive(response, 0);
        } else out = server.receive(eap, 0);
        const packet = out.send[0];
        if (out.result?.ok) return Promise.resolve({ kind: "success", hlak: out.result.hlak });
        if (out.result !== undefined) {
          return Promise.resolve({
            kind: "failure",
            error: out.result.error,
            ...(packet === undefined ? {} : { eap: packet }),
          });
        }
        return Promise.resolve({ kind: "request", eap: packet! });
      },
    };
  };
  return { remote, identities, relayed };
}

/** Random bytes whose one-byte draws (EAP's first Identifier) are `id`. */
function withFirstId(id: number) {
  return (n: number) => n === 1 ? Uint8Array.of(id) : random(n);
}

function relay(remote: RemoteEap, local: Record<string, string> = {}, firstId?: number) {
  const lookupPassword = (u: string) => local[u];
  const localAuth = new EapAuthenticator(
    msChapV2AuthenticatorAlgorithm({ lookupPassword, randomBytes: random }),
    { name: "sstp", randomBytes: firstId === undefined ? random : withFirstId(firstId) },
  );
  return new EapRelayAuthenticator(localAuth, { lookupPassword, remote, restartMs: 100 });
}

function peer(user: string, password: string) {
  return new EapPeer(msChapV2PeerAlgorithm({ user, password, randomBytes: random }), {
    identity: user,
  });
}

Deno.test("EAP relay: a user unknown locally runs EAP-MSCHAPv2 with the remote server; HLAKs match", async () => {
  const server = fakeEapServer("rad-user", "rad-pw");
  const { authResult, peerResult } = await runRemotePair(
    peer("rad-user", "rad-pw"),
    relay(server.remote),
  );
  assert.ok(authResult?.ok && peerResult?.ok, JSON.stringify({ authResult, peerResult }));
  assert.equal(authResult.user, "rad-user");
  // Both ends derive the same key material; the binding then verifies.
  assert.equal(toHex(authResult.hlak), toHex(peerResult.hlak));
  assert.notEqual(toHex(authResult.hlak), "00".repeat(32));
  assert.deepEqual(server.identities, ["rad-user"]);
  // Identity, MS-CHAPv2 Response, Success acknowledgement.
  assert.equal(server.relayed.length, 3);
});

Deno.test("EAP relay: the remote rejection reaches the peer as EAP-Failure; a local user never leaves", async () => {
  const server = fakeEapServer("rad-user", "rad-pw");
  const wrong = await runRemotePair(peer("rad-user", "nope"), relay(server.remote));
  assert.equal(wrong.authResult?.ok, false);
  assert.equal(wrong.peerResult?.ok, false);

  const local = fakeEapServer("x", "y");
  const run = await runRemotePair(
    peer("alice", "alice pw"),
    relay(local.remote, { alice: "alice pw" }),
  );
  assert.ok(run.authResult?.ok && run.peerResult?.ok);
  assert.deepEqual(local.identities, []);
});

Deno.test("EAP relay: a service error fails the login; relayed Requests are retransmitted, then EAP-Failure", async () => {
  const requests: Uint8Array[] = [];
  const auth = relay(() => ({
    respond: () => Promise.reject(new Error("socket closed")),
  }));
  const broken = await runRemotePair(peer("rad-user", "pw"), auth);
  assert.equal(broken.authResult?.ok, false);
  assert.ok(!broken.authResult!.ok && /socket closed/.test(broken.authResult!.error.message));

  // Retransmission: a relayed Request the peer does not answer is resent, then the login fails.
  const silent = relay(() => ({
    respond: () => {
      const req = new Uint8Array([EAP_CODE.REQUEST, 9, 0, 6, 2, 0]);
      requests.push(req);
      return Promise.resolve({ kind: "request" as const, eap: req });
    },
  }));
  let now = 0;
  const out: AuthOutput[] = [silent.start(now)];
  const identity = new Uint8Array([
    EAP_CODE.RESPONSE,
    out[0]!.send[0]![1]!,
    0,
    8,
    1,
    0x62,
    0x6f,
    0x62,
  ]);
  out.push(silent.receive(identity, now));
  for (let i = 0; i < 30 && out.at(-1)?.result === undefined; i++) {
    await new Promise((r) => setTimeout(r, 0));
    now += out.at(-1)?.timerMs ?? 100;
    out.push(silent.timeout(now));
  }
  const sentRequests = out.flatMap((o) => o.send).filter((p) =>
    p[0] === EAP_CODE.REQUEST && p[1] === 9
  );
  assert.equal(sentRequests.length, 10);
  const last = out.at(-1)!;
  assert.ok(last.result !== undefined && !last.result.ok);
  assert.match(
    (last.result as { error: ProtocolError }).error.message,
    /no Response after 10 Requests/,
  );
  assert.equal(decodeEapPacket(last.send[0]!).code, EAP_CODE.FAILURE);
});

Deno.test("EAP relay: a late duplicate Identity Response whose Identifier the server's Request reuses is not relayed", async () => {
  // Our Request/Identity has Identifier 10 and is retransmitted (the harness fires every timer at
  // once), so the peer answers it twice. The server's first Identifier is 9, so its
  // MS-CHAPv2 Challenge carries 10 too: the second Identity Response looks like the
  // answer to the Challenge unless its Type is checked (RFC 3748 4.1).
  for (const [ours, theirs] of [[10, 9], [0, 255], [200, 100]] as const) {
    const server = fakeEapServer("rad-user", "rad-pw", theirs);
    const { authResult, peerResult } = await runRemotePair(
      peer("rad-user", "rad-pw"),
      relay(server.remote, {}, ours),
    );
    assert.ok(authResult?.ok && peerResult?.ok, JSON.stringify({ ours, authResult, peerResult }));
    assert.equal(toHex(authResult.hlak), toHex(peerResult.hlak));
  }
});
