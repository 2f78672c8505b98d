import assert from "node:assert/strict";
import { runRemotePair } from "../../../test/helpers/remote_auth_pair.ts";
import { toHex } from "../../bytes/hex.ts";
import { ProtocolError } from "../../errors.ts";
import { createAuthAuthenticator, createAuthPeer } from "./create_auth.ts";
import {
  challengeHash,
  challengeResponse,
  generateAuthenticatorResponseFromHash,
  hashNtPasswordHash,
  ntPasswordHash,
} from "./mschap_crypto.ts";
import { msChapV2Hlak } from "./mppe_keys.ts";
import { decodeMsChapV2Response } from "./mschap_v2.ts";
import { REMOTE_POLL_MS, type RemoteCredentials, type RemoteVerdict } from "./remote_auth.ts";

let seed = 1;
const randomBytes = (n: number) =>
  new Uint8Array(n).map(() => (seed = (seed * 75 + 74) % 65537) & 0xff);

/** A fake RADIUS that knows one user and computes what a real one would. */
function fakeRemote(user: string, password: string) {
  const asked: RemoteCredentials[] = [];
  const remote = (c: RemoteCredentials): Promise<RemoteVerdict> => {
    asked.push(c);
    if (c.user !== user) {
      return Promise.resolve({
        ok: false,
        error: new ProtocolError("radius", "AUTH_FAILED", "RADIUS rejected the login"),
      });
    }
    if (c.method === "mschap2") {
      const r = decodeMsChapV2Response(c.response);
      const h = ntPasswordHash(password);
      const nt = challengeResponse(challengeHash(r.peerChallenge, c.challenge, c.user), h);
      if (toHex(nt) !== toHex(r.ntResponse)) {
        return Promise.resolve({
          ok: false,
          error: new ProtocolError("radius", "AUTH_FAILED", "RADIUS rejected the login"),
          msChapError: "E=691 R=0 C=00000000000000000000000000000000 V=3 M=rejected",
        });
      }
      return Promise.resolve({
        ok: true,
        user: c.user,
        hlak: msChapV2Hlak("server", hashNtPasswordHash(h), nt),
        authenticatorResponse: generateAuthenticatorResponseFromHash(
          h,
          nt,
          r.peerChallenge,
          c.challenge,
          c.user,
        ),
      });
    }
    const ok = c.method === "pap" && new TextDecoder().decode(c.password) === password;
    return Promise.resolve(
      ok ? { ok: true, user: c.user, hlak: new Uint8Array(32) } : {
        ok: false,
        error: new ProtocolError("radius", "AUTH_FAILED", "RADIUS rejected the login"),
      },
    );
  };
  return { remote, asked };
}

Deno.test("MS-CHAPv2 via the remote service: the peer verifies S=, both HLAKs match", async () => {
  const { remote, asked } = fakeRemote("rad-user", "rad-pw");
  const auth = createAuthAuthenticator("mschap2", {
    lookupPassword: (u) => u === "local" ? "local-pw" : undefined,
    randomBytes,
    name: "sstp",
    remote,
  });
  const peer = createAuthPeer("mschap2", { user: "rad-user", password: "rad-pw", randomBytes });
  const { authResult, peerResult, now } = await runRemotePair(peer, auth);
  assert.ok(authResult?.ok && peerResult?.ok, JSON.stringify([authResult, peerResult]));
  assert.equal(authResult.user, "rad-user");
  assert.equal(toHex(authResult.hlak), toHex(peerResult.hlak));
  assert.notEqual(toHex(authResult.hlak), "00".repeat(32));
  assert.equal(asked.length, 1);
  assert.equal(now % REMOTE_POLL_MS, 0);
});

Deno.test("a local secret is checked locally and never sent to the remote service", async () => {
  const { remote, asked } = fakeRemote("rad-user", "rad-pw");
  const auth = createAuthAuthenticator("mschap2", {
    lookupPassword: (u) => u === "local" ? "local-pw" : undefined,
    randomBytes,
    name: "sstp",
    remote,
  });
  const peer = createAuthPeer("mschap2", { user: "local", password: "local-pw", randomBytes });
  const { authResult, peerResult } = await runRemotePair(peer, auth);
  assert.ok(authResult?.ok && peerResult?.ok);
  assert.equal(asked.length, 0);
  // A wrong password for a local user fails locally: no fallback to RADIUS.
  const peer2 = createAuthPeer("mschap2", { user: "local", password: "nope", randomBytes });
  const auth2 = createAuthAuthenticator("mschap2", {
    lookupPassword: (u) => u === "local" ? "local-pw" : undefined,
    randomBytes,
    name: "sstp",
    remote,
  });
  const r2 = await runRemotePair(peer2, auth2);
  assert.ok(r2.authResult && !r2.authResult.ok);
  assert.equal(asked.length, 0);
});

Deno.test("remote rejections reach the peer as PAP Nak / MS-CHAPv2 Failure", async () => {
  const { remote } = fakeRemote("rad-user", "rad-pw");
  for (const method of ["pap", "mschap2"] as const) {
    const auth = createAuthAuthenticator(method, {
      lookupPassword: () => undefined,
      randomBytes,
      name: "sstp",
      remote,
    });
    const peer = createAuthPeer(method, { user: "rad-user", password: "wrong", randomBytes });
    const { authResult, peerResult } = await runRemotePair(peer, auth);
    assert.ok(authResult && !authResult.ok, method);
    assert.match(authResult.error.message, /RADIUS rejected/);
    assert.ok(peerResult && !peerResult.ok, method);
  }
  const pap = createAuthAuthenticator("pap", {
    lookupPassword: () => undefined,
    randomBytes,
    name: "sstp",
    remote,
  });
  const ok = await runRemotePair(
    createAuthPeer("pap", { user: "rad-user", password: "rad-pw", randomBytes }),
    pap,
  );
  assert.ok(ok.authResult?.ok && ok.peerResult?.ok);
});

Deno.test("a remote service that throws fails the login with its message", async () => {
  const auth = createAuthAuthenticator("pap", {
    lookupPassword: () => undefined,
    randomBytes,
    name: "sstp",
    remote: () => Promise.reject(new Error("socket closed")),
  });
  const { authResult } = await runRemotePair(
    createAuthPeer("pap", { user: "x", password: "y", randomBytes }),
    auth,
  );
  assert.ok(authResult && !authResult.ok);
  assert.match(authResult.error.message, /Cannot authenticate via RADIUS: socket closed/);
});
