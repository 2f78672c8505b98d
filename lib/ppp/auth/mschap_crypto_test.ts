import assert from "node:assert/strict";
import {
  challengeHash,
  challengeResponse,
  checkAuthenticatorResponse,
  encodeUtf16Le,
  generateAuthenticatorResponse,
  generateAuthenticatorResponseFromHash,
  generateNtResponse,
  hashNtPasswordHash,
  ntChallengeResponse,
  ntPasswordHash,
  stripDomain,
} from "./mschap_crypto.ts";
import { fromHex, toHex } from "../../bytes/hex.ts";

// RFC 2759 9.2 "Example of Generated Response", every value verbatim.
const RFC2759 = {
  userName: "User", // 55 73 65 72
  password: "clientPass", // 63 00 6C 00 69 00 65 00 6E 00 74 00 50 00 61 00 73 00 73 00
  passwordUnicode: fromHex("63 00 6C 00 69 00 65 00 6E 00 74 00 50 00 61 00 73 00 73 00"),
  authenticatorChallenge: fromHex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28"),
  peerChallenge: fromHex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E"),
  challenge: fromHex("D0 2E 43 86 BC E9 12 26"),
  ntResponse: fromHex("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"),
  passwordHash: fromHex("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"),
  passwordHashHash: fromHex("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"),
  authenticatorResponse: "S=407A5589115FD0D6209F510FE9C04566932CDA56",
};

// RFC 2433 B.2 (MS-CHAPv1 with an NT hash): password "MyPw".
const RFC2433 = {
  password: "MyPw",
  challenge: fromHex("10 2D B5 DF 08 5D 30 41"),
  passwordHash: fromHex("FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC"),
  ntResponse: fromHex("4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61"),
};

Deno.test("encodeUtf16Le() matches the RFC 2759 9.2 Unicode password", () => {
  assert.deepStrictEqual(encodeUtf16Le(RFC2759.password), RFC2759.passwordUnicode);
  assert.deepStrictEqual(encodeUtf16Le("é€"), fromHex("e9 00 ac 20"));
});

Deno.test("ntPasswordHash() and hashNtPasswordHash() match RFC 2759 9.2", () => {
  assert.deepStrictEqual(ntPasswordHash(RFC2759.password), RFC2759.passwordHash);
  assert.deepStrictEqual(hashNtPasswordHash(RFC2759.passwordHash), RFC2759.passwordHashHash);
});

Deno.test("challengeHash() matches RFC 2759 9.2", () => {
  const got = challengeHash(RFC2759.peerChallenge, RFC2759.authenticatorChallenge, "User");
  assert.deepStrictEqual(got, RFC2759.challenge);
});

Deno.test("challengeHash() leaves out a DOMAIN\\ prefix but keeps @realm", () => {
  const a = RFC2759.authenticatorChallenge;
  const p = RFC2759.peerChallenge;
  assert.deepStrictEqual(challengeHash(p, a, "ACME\\User"), RFC2759.challenge);
  assert.notDeepStrictEqual(challengeHash(p, a, "User@hub"), RFC2759.challenge);
  assert.equal(stripDomain("A\\B\\c"), "c");
  assert.equal(stripDomain("plain"), "plain");
});

Deno.test("challengeResponse() and generateNtResponse() match RFC 2759 9.2", () => {
  assert.deepStrictEqual(
    challengeResponse(RFC2759.challenge, RFC2759.passwordHash),
    RFC2759.ntResponse,
  );
  assert.deepStrictEqual(
    generateNtResponse(
      RFC2759.authenticatorChallenge,
      RFC2759.peerChallenge,
      RFC2759.userName,
      RFC2759.password,
    ),
    RFC2759.ntResponse,
  );
});

Deno.test("challengeResponse() rejects wrong lengths", () => {
  assert.throws(() => challengeResponse(new Uint8Array(16), RFC2759.passwordHash), RangeError);
  assert.throws(() => challengeResponse(RFC2759.challenge, new Uint8Array(15)), RangeError);
});

Deno.test("generateAuthenticatorResponse() matches RFC 2759 9.2", () => {
  const args = [
    RFC2759.ntResponse,
    RFC2759.peerChallenge,
    RFC2759.authenticatorChallenge,
    RFC2759.userName,
  ] as const;
  assert.equal(
    generateAuthenticatorResponse(RFC2759.password, ...args),
    RFC2759.authenticatorResponse,
  );
  assert.equal(
    generateAuthenticatorResponseFromHash(RFC2759.passwordHash, ...args),
    RFC2759.authenticatorResponse,
  );
});

Deno.test("checkAuthenticatorResponse() accepts only the right response", () => {
  const check = (received: string, password = RFC2759.password) =>
    checkAuthenticatorResponse(
      password,
      RFC2759.ntResponse,
      RFC2759.peerChallenge,
      RFC2759.authenticatorChallenge,
      RFC2759.userName,
      received,
    );
  assert.equal(check(RFC2759.authenticatorResponse), true);
  assert.equal(check(RFC2759.authenticatorResponse.toLowerCase().replace("s=", "S=")), true);
  assert.equal(check(RFC2759.authenticatorResponse, "wrong"), false);
  assert.equal(check("S=407A5589115FD0D6209F510FE9C04566932CDA57"), false);
  assert.equal(check("S=407A5589115FD0D6209F510FE9C04566932CDA5"), false);
  assert.equal(check("X=407A5589115FD0D6209F510FE9C04566932CDA56"), false);
  assert.equal(check(""), false);
});

Deno.test("ntChallengeResponse() matches RFC 2433 B.2", () => {
  assert.deepStrictEqual(ntPasswordHash(RFC2433.password), RFC2433.passwordHash);
  assert.deepStrictEqual(
    ntChallengeResponse(RFC2433.challenge, RFC2433.password),
    RFC2433.ntResponse,
  );
  assert.equal(toHex(RFC2433.ntResponse).length, 48);
});
