import assert from "node:assert/strict";
import { chapFailureError, decodeMsChapFailure, MSCHAP_ERROR } from "./mschap_failure.ts";
import { ERROR_CODE } from "../../errors.ts";
import { fromHex } from "../../bytes/hex.ts";

Deno.test("chapFailureError() names every RFC 2759 error code", () => {
  const table: [number, string][] = [
    [646, "restricted logon hours"],
    [647, "account disabled"],
    [648, "password expired"],
    [649, "no dial-in permission"],
    [691, "wrong user name or password"],
    [709, "error changing password"],
    [999, "unknown error code"],
  ];
  for (const [code, text] of table) {
    const e = chapFailureError(`E=${code} R=0 V=3`);
    assert.equal(e.layer, "chap");
    assert.equal(e.code, ERROR_CODE.AUTH_FAILED);
    assert.equal(
      e.message,
      `Authentication failed: server refused the credentials (E=${code}: ${text})`,
    );
  }
  assert.equal(MSCHAP_ERROR.AUTHENTICATION_FAILURE, 691);
});

Deno.test("chapFailureError() appends the server's M= text", () => {
  assert.equal(
    chapFailureError("E=648 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=Your password has expired")
      .message,
    'Authentication failed: server refused the credentials (E=648: password expired); server message: "Your password has expired"',
  );
});

Deno.test("chapFailureError() handles SoftEther's and CHAP-MD5's forms", () => {
  // SoftEther: no M= part.
  assert.equal(
    chapFailureError("E=691 R=0 C=7F3A0C1D2E3F40516273849506A7B8C9 V=3").message,
    "Authentication failed: server refused the credentials (E=691: wrong user name or password)",
  );
  // CHAP-MD5 (RFC 1994): free text.
  assert.equal(
    chapFailureError("Access denied").message,
    'Authentication failed: server refused the credentials; server message: "Access denied"',
  );
  assert.equal(
    chapFailureError("").message,
    "Authentication failed: server refused the credentials",
  );
});

Deno.test("decodeMsChapFailure() reads every field", () => {
  assert.deepStrictEqual(
    decodeMsChapFailure("E=691 R=1 C=00112233445566778899AABBCCDDEEFF V=3 M=try again later"),
    {
      error: 691,
      isRetryAllowed: true,
      challenge: fromHex("00112233445566778899AABBCCDDEEFF"),
      version: 3,
      message: "try again later",
    },
  );
  // MS-CHAPv1 (RFC 2433 6) with only E and R.
  assert.deepStrictEqual(decodeMsChapFailure("E=691 R=0"), {
    error: 691,
    isRetryAllowed: false,
    challenge: undefined,
    version: undefined,
    message: undefined,
  });
});

Deno.test("decodeMsChapFailure() leaves malformed fields undefined", () => {
  const f = decodeMsChapFailure("E=abc R=7 C=XYZ V= M=");
  assert.equal(f.error, undefined);
  assert.equal(f.isRetryAllowed, undefined);
  assert.equal(f.challenge, undefined);
  assert.equal(f.version, undefined);
  assert.equal(f.message, "");
});

Deno.test("chapFailureError() keeps control characters out of the message", () => {
  const e = chapFailureError("E=691 M=line1\nline2\u001b[31m");
  assert.ok(!e.message.includes("\n") && !e.message.includes("\u001b"));
  assert.equal(e.message.split("server message: ")[1], '"line1\\x0aline2\\x1b[31m"');
});
