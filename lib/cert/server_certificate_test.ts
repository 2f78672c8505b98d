import assert from "node:assert/strict";
import { createCertificateAuthority, issueCertificate } from "./ca.ts";
import { createSelfSignedServerCertificate } from "./self_signed.ts";
import {
  keyPathCandidates,
  loadServerCertificate,
  parseServerCertificate,
} from "./server_certificate.ts";
import { certificateKeyInfo, keyStrength } from "./key_info.ts";
import { summarizeCertificate } from "./inspect.ts";

const DAY_MS = 86_400_000;
const root = await createCertificateAuthority({ commonName: "root", keyType: "ecdsa-p256" });
const rsaServer = await issueCertificate({
  issuer: root,
  commonName: "vpn.test",
  usage: "server",
  dnsNames: ["vpn.test"],
  ipAddresses: ["192.0.2.1"],
});

Deno.test("parseServerCertificate() loads a clean RSA chain without warnings, leaf first", () => {
  const loaded = parseServerCertificate(
    `junk before\n${rsaServer.certPem}${root.certPem}`,
    rsaServer.keyPem,
    { hostNames: ["vpn.test", "192.0.2.1"] },
  );
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(loaded.leafDer, rsaServer.certDer);
  assert.deepEqual(loaded.chainPems, [rsaServer.certPem, root.certPem]);
  assert.equal(loaded.certPem, rsaServer.certPem + root.certPem);
  assert.equal(loaded.keyPem, rsaServer.keyPem);
});

Deno.test("parseServerCertificate() warns about expiry, host names, ECDSA, self-signed, EKU and chain order", async () => {
  const now = Date.now();
  const soon = await issueCertificate({
    issuer: root,
    commonName: "vpn.test",
    usage: "client",
    keyType: "ecdsa-p256",
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 10.5 * DAY_MS),
  });
  const loaded = parseServerCertificate(
    root.certPem + soon.certPem, // wrong order: the CA first would make the CA the leaf
    soon.keyPem + root.keyPem,
    { hostNames: ["vpn.test", "other.test"], now },
  );
  // The CA came first, so the CA is the leaf and its key was picked.
  assert.equal(loaded.keyPem, root.keyPem);
  const inOrder = parseServerCertificate(soon.certPem + root.certPem, soon.keyPem, {
    hostNames: ["vpn.test", "other.test", "10.9.9.9"],
    now,
  });
  assert.deepEqual(inOrder.warnings, [
    "ECDSA P-256 key: Windows 10 SSTP clients need an RSA certificate over TLS 1.2",
    // The certificate keeps whole seconds.
    `certificate expires in 10 days (${
      new Date(Math.floor((now + 10.5 * DAY_MS) / 1000) * 1000).toISOString()
    })`,
    "certificate lacks the serverAuth extended key usage: Windows and RouterOS clients refuse it",
    'certificate is not valid for "other.test": clients dialling it will refuse it',
    'certificate is not valid for "10.9.9.9": clients dialling it will refuse it',
  ]);
  assert.ok(
    loaded.warnings.some((w) => /chain certificate 2 \(CN=vpn\.test\) is not the issuer/.test(w)),
    loaded.warnings.join("\n"),
  );
  const selfSigned = await createSelfSignedServerCertificate({ commonName: "gw.test" });
  const warned = parseServerCertificate(selfSigned.certPem + selfSigned.keyPem, undefined, {
    now: now + 900 * DAY_MS,
  });
  assert.deepEqual(warned.warnings.map((w) => w.split(" (")[0]?.split(":")[0]), [
    "certificate has expired",
    "certificate is self-signed",
  ]);
});

Deno.test("parseServerCertificate() refuses missing, foreign, encrypted and too short keys", async () => {
  assert.throws(() => parseServerCertificate("", rsaServer.keyPem), /no CERTIFICATE block/);
  assert.throws(() => parseServerCertificate(rsaServer.certPem, undefined), /no private key/);
  assert.throws(
    () => parseServerCertificate(rsaServer.certPem, root.keyPem, {}, "s.pem"),
    /^TypeError: Cannot load s\.pem: the private key does not belong to the certificate/,
  );
  assert.throws(
    () =>
      parseServerCertificate(
        rsaServer.certPem,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAQID\n-----END ENCRYPTED PRIVATE KEY-----\n",
      ),
    /encrypted/,
  );
  // RSA 512 (openssl's own minimum) loads with a warning.
  const dir = await Deno.makeTempDir({ prefix: "sstp_server_cert_" });
  try {
    const output = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:512",
        "-nodes",
        "-keyout",
        "weak.key",
        "-out",
        "weak.pem",
        "-days",
        "60",
        "-subj",
        "/CN=weak.test",
      ],
      cwd: dir,
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const weak = await loadServerCertificate(`${dir}/weak.pem`);
    assert.ok(weak.warnings.includes("RSA key of 512 bits is weak: use at least 2048 bits"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keyStrength() refuses RSA under 472 bits and warns under 2048", () => {
  assert.match(keyStrength({ type: "RSA", bits: 471 }).refuse ?? "", /472-bit minimum/);
  assert.deepEqual(keyStrength({ type: "RSA", bits: 472 }).warnings.length, 1);
  assert.deepEqual(keyStrength({ type: "RSA", bits: 2048 }), { warnings: [] });
  assert.deepEqual(keyStrength({ type: "ECDSA", bits: 256, curve: "P-256" }), { warnings: [] });
  assert.match(keyStrength({ type: "DSA", bits: 0 }).refuse ?? "", /DSA is not supported/);
  assert.deepEqual(certificateKeyInfo(rsaServer.certDer), { type: "RSA", bits: 2048 });
  assert.deepEqual(certificateKeyInfo(root.certDer), { type: "ECDSA", bits: 256, curve: "P-256" });
});

Deno.test("loadServerCertificate() finds the key in the file, beside it or where told", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp_server_cert_" });
  try {
    await Deno.writeTextFile(`${dir}/both.pem`, rsaServer.certPem + rsaServer.keyPem);
    await Deno.writeTextFile(`${dir}/a.crt`, rsaServer.certPem);
    await Deno.writeTextFile(`${dir}/a-key.pem`, rsaServer.keyPem);
    await Deno.writeTextFile(`${dir}/b.pem`, rsaServer.certPem);
    await Deno.writeTextFile(`${dir}/elsewhere`, rsaServer.keyPem);
    for (const [cert, key] of [["both.pem"], ["a.crt"], ["b.pem", "elsewhere"]]) {
      const loaded = await loadServerCertificate(
        `${dir}/${cert}`,
        key === undefined ? undefined : `${dir}/${key}`,
      );
      assert.deepEqual(loaded.leafDer, rsaServer.certDer, cert);
      assert.equal(loaded.keyPem, rsaServer.keyPem, cert);
    }
    await assert.rejects(loadServerCertificate(`${dir}/b.pem`), /tried .*b\.key, .*b-key\.pem/);
    await assert.rejects(loadServerCertificate(`${dir}/missing.pem`), Deno.errors.NotFound);
    assert.deepEqual(keyPathCandidates("/x/srv.cert"), [
      "/x/srv.key",
      "/x/srv-key.pem",
      "/x/srv.key.pem",
      "/x/srv_key.pem",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summarizeCertificate() counts days and flags the state", () => {
  const summary = summarizeCertificate(rsaServer.certDer);
  assert.equal(summary.status, "valid");
  assert.equal(summary.expiresInDays, 824);
  const notAfter = Date.parse(summary.notAfter);
  assert.equal(summarizeCertificate(rsaServer.certDer, notAfter + DAY_MS).status, "expired");
  assert.equal(summarizeCertificate(rsaServer.certDer, notAfter + DAY_MS).expiresInDays, -1);
  assert.equal(summarizeCertificate(rsaServer.certDer, 0).status, "not yet valid");
  assert.deepEqual(summary.extendedKeyUsages, ["serverAuth"]);
  assert.deepEqual(summary.dnsNames, ["vpn.test"]);
  assert.deepEqual(summary.ipAddresses, ["192.0.2.1"]);
  assert.equal(summary.isCa, false);
});
