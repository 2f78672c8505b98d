import assert from "node:assert/strict";
import {
  checkNegotiatedCipher,
  DEFAULT_TLS_POLICY,
  describeNegotiated,
  nodeTlsPolicyOptions,
  type TlsPolicy,
  tlsPolicyProblems,
} from "./tls_policy.ts";

const policy = (p: Partial<TlsPolicy>): TlsPolicy => ({ ...DEFAULT_TLS_POLICY, ...p });
const GCM256 = { name: "ECDHE-RSA-AES256-GCM-SHA384", version: "TLSv1.2" };
const CHACHA13 = { name: "TLS_CHACHA20_POLY1305_SHA256", version: "TLSv1.3" };
const STATIC_RSA = { name: "AES256-SHA", version: "TLSv1.2" };

Deno.test("nodeTlsPolicyOptions() maps tls-version to min/max versions", () => {
  assert.deepEqual(nodeTlsPolicyOptions(policy({})), {
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.3",
  });
  assert.deepEqual(nodeTlsPolicyOptions(policy({ tlsVersion: "only-1.2" })), {
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.2",
  });
  assert.deepEqual(nodeTlsPolicyOptions(policy({ tlsVersion: "only-1.3" })), {
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
  });
  const restricted = nodeTlsPolicyOptions(
    policy({ ciphers: ["aes256-gcm-sha384", "aes256-sha"], pfs: "required" }),
  );
  assert.equal(
    restricted.ciphers,
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA",
  );
});

Deno.test("checkNegotiatedCipher() enforces ciphers, force-aes and pfs after the handshake", () => {
  assert.equal(checkNegotiatedCipher(policy({}), CHACHA13), undefined);
  assert.match(
    checkNegotiatedCipher(policy({ forceAes: true }), CHACHA13)!,
    /not allowed.*force-aes/,
  );
  assert.equal(checkNegotiatedCipher(policy({ forceAes: true }), GCM256), undefined);
  assert.match(
    checkNegotiatedCipher(policy({ ciphers: ["chacha20-poly1305"] }), GCM256)!,
    /ECDHE-RSA-AES256-GCM-SHA384 is not allowed/,
  );
  assert.match(
    checkNegotiatedCipher(policy({ pfs: "required" }), STATIC_RSA)!,
    /no forward secrecy/,
  );
  assert.equal(checkNegotiatedCipher(policy({ pfs: "yes" }), STATIC_RSA), undefined);
  assert.match(
    checkNegotiatedCipher(policy({ ciphers: ["aes256-gcm-sha384"] }), { name: "WEIRD" })!,
    /not allowed/,
  );
  assert.equal(describeNegotiated(CHACHA13), "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256 pfs");
  assert.equal(describeNegotiated(STATIC_RSA), "TLSv1.2 AES256-SHA no-pfs");
});

Deno.test("tlsPolicyProblems() refuses policies this TLS stack cannot meet", () => {
  assert.deepEqual(tlsPolicyProblems(policy({})), []);
  assert.match(
    tlsPolicyProblems(policy({ ciphers: ["aes256-sha"] }))[0]!,
    /none of aes256-sha can be negotiated.*CBC/,
  );
  assert.match(
    tlsPolicyProblems(policy({ ciphers: ["chacha20-poly1305"], forceAes: true }))[0]!,
    /can be negotiated by this TLS stack/,
  );
  assert.equal(
    tlsPolicyProblems(policy({ ciphers: ["aes256-sha", "aes256-gcm-sha384"] })).length,
    0,
  );
  assert.match(
    tlsPolicyProblems(
      policy({ ciphers: ["aes256-sha", "aes256-gcm-sha384"], pfs: "required" }),
    )[0]!,
    /pfs: required/,
  );
});
