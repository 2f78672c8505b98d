import assert from "node:assert/strict";
import { createCertificateAuthority, issueCertificate } from "./ca.ts";
import {
  checkRevocation,
  createCrl,
  normalizeSerialNumber,
  parseCrls,
  summarizeCrl,
} from "./crl.ts";
import { x509 } from "./_x509.ts";
import { parseKeyType } from "./_generate.ts";

const DAY_MS = 86_400_000;
const ca = await createCertificateAuthority({ commonName: "crl CA", keyType: "ecdsa-p256" });
const leaf = await issueCertificate({
  issuer: ca,
  commonName: "leaf",
  usage: "server",
  keyType: "ecdsa-p256",
});
const serial = new x509.X509Certificate(leaf.certPem).serialNumber;

Deno.test("normalizeSerialNumber() accepts openssl's and our spellings", () => {
  const cases: [string, string][] = [
    ["0A:BC", "0abc"],
    ["abc", "0abc"],
    ["0x00ff", "00ff"], // the zero byte keeps 0xff positive
    ["00007f", "7f"],
    ["0", "00"],
    ["  1F 2E ", "1f2e"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(normalizeSerialNumber(input), expected, input);
  }
  for (const bad of ["", "xyz", "0x", "1".repeat(41)]) {
    assert.throws(() => normalizeSerialNumber(bad), TypeError, bad);
  }
});

Deno.test("checkRevocation() tells revoked, good, stale and untrusted CRLs apart", async () => {
  const thisUpdate = new Date("2030-01-01T00:00:00Z");
  const t = thisUpdate.getTime();
  const revoking = await createCrl({
    issuer: ca,
    revoked: [{ serialNumber: serial, reason: 4 }],
    thisUpdate,
    days: 7,
  });
  const clean = await createCrl({ issuer: ca, revoked: [{ serialNumber: "01" }], thisUpdate });
  const base = { certDer: leaf.certDer, issuers: [ca.certDer] };
  assert.deepEqual(await checkRevocation({ ...base, crls: [revoking.crlDer], now: t + DAY_MS }), {
    status: "revoked",
    serialNumber: serial,
    revocationDate: thisUpdate,
    reason: "superseded",
  });
  // A revocation stays a revocation after the CRL's next update.
  assert.equal(
    (await checkRevocation({ ...base, crls: [revoking.crlDer], now: t + 30 * DAY_MS })).status,
    "revoked",
  );
  assert.deepEqual(await checkRevocation({ ...base, crls: [clean.crlDer], now: t + DAY_MS }), {
    status: "good",
    crlIssuer: "CN=crl CA",
    nextUpdate: new Date(t + 30 * DAY_MS),
  });
  assert.deepEqual(await checkRevocation({ ...base, crls: [clean.crlDer], now: t + 31 * DAY_MS }), {
    status: "crl-expired",
    nextUpdate: new Date(t + 30 * DAY_MS),
  });
  assert.deepEqual(await checkRevocation({ ...base, crls: [clean.crlDer], now: t - 1 }), {
    status: "crl-not-yet-valid",
    thisUpdate,
  });
  // Any CRL of the issuer that lists the serial wins over one that does not.
  assert.equal(
    (await checkRevocation({ ...base, crls: [clean.crlDer, revoking.crlDer], now: t })).status,
    "revoked",
  );
  assert.deepEqual(
    await checkRevocation({ certDer: leaf.certDer, issuers: [], crls: [clean.crlDer], now: t }),
    { status: "crl-issuer-unknown", issuer: "CN=crl CA" },
  );
  const other = await createCertificateAuthority({ commonName: "other", keyType: "ecdsa-p256" });
  const foreign = await createCrl({ issuer: other, revoked: [{ serialNumber: serial }] });
  assert.deepEqual(await checkRevocation({ ...base, crls: [foreign.crlDer] }), {
    status: "no-crl",
    issuer: "CN=crl CA",
  });
  // Tampering with the signed part breaks the signature: revoke serial 02 instead of 01
  // (the entry is INTEGER 01 followed by the UTCTime revocation date, tag 0x17).
  const tampered = clean.crlDer.slice();
  const at = tampered.findIndex((b, i) =>
    b === 0x02 && tampered[i + 1] === 0x01 && tampered[i + 2] === 0x01 && tampered[i + 3] === 0x17
  );
  assert.ok(at > 0, "serial 01 entry present");
  tampered[at + 2] = 0x02;
  assert.deepEqual(await checkRevocation({ ...base, crls: [tampered], now: t }), {
    status: "crl-signature-invalid",
    issuer: "CN=crl CA",
  });
});

Deno.test("createCrl() checks its input; parseCrls() reads PEM and DER", async () => {
  await assert.rejects(
    createCrl({ issuer: ca, revoked: [{ serialNumber: "0a" }, { serialNumber: "0A" }] }),
    /listed twice/,
  );
  await assert.rejects(
    createCrl({ issuer: ca, revoked: [{ serialNumber: "0a", reason: 7 }] }),
    RangeError,
  );
  await assert.rejects(createCrl({ issuer: ca, revoked: [], days: 0 }), RangeError);
  await assert.rejects(createCrl({ issuer: leaf, revoked: [] }), /is not a CA/);
  const crl = await createCrl({ issuer: ca, revoked: [], crlNumber: 0x80n });
  assert.deepEqual(parseCrls(crl.crlPem + crl.crlPem).length, 2);
  assert.deepEqual(parseCrls(crl.crlDer)[0], crl.crlDer);
  assert.throws(() => parseCrls(ca.certPem), /no X509 CRL block/);
  assert.throws(() => parseCrls(new Uint8Array([1, 2, 3])), TypeError);
  const summary = summarizeCrl(crl.crlDer);
  assert.equal(summary.status, "current");
  assert.deepEqual(summary.revoked, []);
  // cRLNumber 0x80 is DER 02 02 00 80.
  assert.ok(
    crl.crlDer.some((b, i) =>
      b === 0x02 && crl.crlDer[i + 1] === 0x02 && crl.crlDer[i + 2] === 0 &&
      crl.crlDer[i + 3] === 0x80
    ),
  );
});

Deno.test("parseKeyType() takes RouterOS and OpenSSL spellings and refuses short RSA", () => {
  const cases: [string, string][] = [
    ["rsa2048", "rsa2048"],
    ["RSA:3072", "rsa3072"],
    ["4096", "rsa4096"],
    ["prime256v1", "ecdsa-p256"],
    ["secp384r1", "ecdsa-p384"],
    ["ecdsa-p384", "ecdsa-p384"],
    ["rsa1024", "rsa1024"],
  ];
  for (const [input, expected] of cases) assert.equal(parseKeyType(input), expected, input);
  assert.throws(() => parseKeyType("rsa464"), /472-bit minimum/);
  assert.throws(() => parseKeyType("rsa2050"), /multiple of 8/);
  assert.throws(() => parseKeyType("ed25519"), TypeError);
});
