import assert from "node:assert/strict";
import { createCertificateAuthority, issueCertificate } from "./ca.ts";
import { createSelfSignedServerCertificate } from "./self_signed.ts";
import { decodePemBlocks, encodePem, leafCertificateDer, splitPemBundle } from "./pem.ts";
import {
  certificateFingerprint,
  fingerprintsEqual,
  formatFingerprint,
  parseFingerprint,
} from "./fingerprint.ts";
import { certificateMatchesHost, certificateNames } from "./names.ts";

async function openssl(args: string[], files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sstp_cert_test_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const output = await new Deno.Command("openssl", { args, cwd: dir }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    if (!output.success) throw new Error(`openssl ${args.join(" ")} failed: ${text}`);
    return text;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ca = await createCertificateAuthority({ commonName: "sstp test CA" });

Deno.test("issueCertificate() server certificates verify with openssl and carry serverAuth and SANs", async () => {
  for (const keyType of ["rsa2048", "ecdsa-p256"] as const) {
    const server = await issueCertificate({
      issuer: ca,
      commonName: "vpn.example.test",
      dnsNames: ["vpn.example.test", "*.vpn.example.test"],
      ipAddresses: ["192.0.2.7", "2001:db8::7"],
      usage: "server",
      keyType,
    });
    const files = { "ca.pem": ca.certPem, "leaf.pem": server.certPem, "key.pem": server.keyPem };
    assert.match(
      await openssl(["verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "leaf.pem"], files),
      /leaf\.pem: OK/,
    );
    const text = await openssl(["x509", "-in", "leaf.pem", "-noout", "-text"], files);
    assert.match(text, /Extended Key Usage:\s*\n\s*TLS Web Server Authentication\n/);
    assert.match(
      text,
      /DNS:vpn\.example\.test, DNS:\*\.vpn\.example\.test, IP Address:192\.0\.2\.7, IP Address:2001:DB8:0:0:0:0:0:7/,
    );
    assert.match(text, /CA:FALSE/);
    assert.match(text, keyType === "rsa2048" ? /Public-Key: \(2048 bit\)/ : /NIST CURVE: P-256/);
    // The key is PKCS#8 and belongs to the certificate.
    assert.equal(decodePemBlocks(server.keyPem)[0]?.label, "PRIVATE KEY");
    assert.equal(
      await openssl(["pkey", "-in", "key.pem", "-pubout"], files),
      await openssl(["x509", "-in", "leaf.pem", "-noout", "-pubkey"], files),
    );
  }
});

Deno.test("issueCertificate() client certificates verify with openssl for sslclient only", async () => {
  const client = await issueCertificate({ issuer: ca, commonName: "alice", usage: "client" });
  const files = { "ca.pem": ca.certPem, "leaf.pem": client.certPem };
  assert.match(
    await openssl(["verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "leaf.pem"], files),
    /OK/,
  );
  await assert.rejects(
    openssl(["verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "leaf.pem"], files),
    /unsuitable certificate purpose/,
  );
});

Deno.test("createSelfSignedServerCertificate() is RSA 2048 with serverAuth and verifies as its own root", async () => {
  const cert = await createSelfSignedServerCertificate({
    commonName: "sstp.local",
    ipAddresses: ["127.0.0.1"],
  });
  const files = { "c.pem": cert.certPem };
  assert.match(
    await openssl(["verify", "-CAfile", "c.pem", "-purpose", "sslserver", "c.pem"], files),
    /OK/,
  );
  const text = await openssl(["x509", "-in", "c.pem", "-noout", "-text"], files);
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.match(text, /TLS Web Server Authentication/);
  assert.match(text, /DNS:sstp\.local, IP Address:127\.0\.0\.1/);
  assert.match(text, /Subject: CN\s?=\s?sstp\.local/);
});

Deno.test("issueCertificate() honours notBefore/notAfter and refuses bad input", async () => {
  const notBefore = new Date("2020-01-01T00:00:00Z");
  const cert = await issueCertificate({
    issuer: ca,
    commonName: "old",
    usage: "server",
    notBefore,
    days: 1,
    keyType: "ecdsa-p256",
  });
  const text = await openssl(["x509", "-in", "c.pem", "-noout", "-dates"], {
    "c.pem": cert.certPem,
  });
  assert.match(text, /notBefore=Jan {2}1 00:00:00 2020 GMT/);
  assert.match(text, /notAfter=Jan {2}2 00:00:00 2020 GMT/);
  await assert.rejects(
    issueCertificate({ issuer: ca, commonName: "", usage: "server" }),
    TypeError,
  );
  await assert.rejects(
    issueCertificate({ issuer: ca, commonName: "x", usage: "server", ipAddresses: ["300.1.1.1"] }),
    TypeError,
  );
  await assert.rejects(
    issueCertificate({ issuer: ca, commonName: "x", usage: "server", days: 0 }),
    RangeError,
  );
});

Deno.test("splitPemBundle() loads an openssl req certificate and key, leaf first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp_cert_test_" });
  try {
    const output = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=legacy.test",
        "-addext",
        "subjectAltName=DNS:gw.legacy.test,IP:10.1.2.3",
      ],
      cwd: dir,
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const certPem = await Deno.readTextFile(`${dir}/cert.pem`);
    const keyPem = await Deno.readTextFile(`${dir}/key.pem`);
    const bundle = splitPemBundle(`subject=CN = legacy.test\n${certPem}${ca.certPem}${keyPem}`);
    assert.equal(bundle.certificates.length, 2);
    assert.equal(bundle.privateKeys.length, 1);
    assert.equal(bundle.privateKeys[0]?.label, "PRIVATE KEY");
    const leaf = leafCertificateDer(
      bundle.certificates.map((d) => encodePem("CERTIFICATE", d)).join(""),
    );
    assert.deepEqual(certificateNames(leaf).dnsNames, ["gw.legacy.test"]);
    assert.ok(certificateMatchesHost(leaf, "10.1.2.3"));
    // Our fingerprint equals openssl's.
    const fp = await new Deno.Command("openssl", {
      args: ["x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha256"],
      cwd: dir,
    }).output();
    const opensslFp = new TextDecoder().decode(fp.stdout).trim().split("=")[1] ?? "";
    assert.ok(fingerprintsEqual(parseFingerprint(opensslFp).bytes, certificateFingerprint(leaf)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodePemBlocks() rejects mismatched labels and leafCertificateDer() needs a certificate", () => {
  assert.throws(
    () => decodePemBlocks("-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n"),
    TypeError,
  );
  assert.throws(
    () => leafCertificateDer("-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n"),
    TypeError,
  );
  assert.deepEqual(
    decodePemBlocks(encodePem("X", new Uint8Array(100).fill(9)))[0]?.der,
    new Uint8Array(100).fill(9),
  );
});

Deno.test("formatFingerprint() and parseFingerprint() round-trip and accept openssl's form", () => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const text = formatFingerprint(bytes, "sha256");
  assert.match(text, /^sha256:[0-9A-F]{64}$/);
  assert.deepEqual(parseFingerprint(text), { algorithm: "sha256", bytes });
  assert.deepEqual(parseFingerprint(text.slice(7).toLowerCase()).bytes, bytes);
  const colons = Array.from(bytes.subarray(0, 20), (b) => b.toString(16).padStart(2, "0")).join(
    ":",
  );
  assert.deepEqual(parseFingerprint(`SHA1:${colons}`), {
    algorithm: "sha1",
    bytes: bytes.subarray(0, 20),
  });
  assert.throws(() => parseFingerprint("sha256:abcd"), TypeError);
  assert.throws(() => parseFingerprint("md5:" + "00".repeat(16)), TypeError);
  assert.throws(() => formatFingerprint(new Uint8Array(20), "sha256"), RangeError);
  assert.equal(certificateFingerprint(new Uint8Array(0), "sha1").length, 20);
  assert.equal(
    formatFingerprint(certificateFingerprint(new TextEncoder().encode("abc")), "sha256"),
    "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
  );
});

Deno.test("certificateMatchesHost() applies SAN DNS wildcards, SAN IPs and the CN fallback", async () => {
  const withSan = await issueCertificate({
    issuer: ca,
    commonName: "cn-only.test",
    dnsNames: ["*.vpn.test", "exact.test"],
    ipAddresses: ["192.0.2.1", "2001:db8::1"],
    usage: "server",
    keyType: "ecdsa-p256",
  });
  const cases: [string, boolean][] = [
    ["gw.vpn.test", true],
    ["GW.VPN.TEST", true],
    ["vpn.test", false],
    ["a.b.vpn.test", false],
    ["exact.test", true],
    ["exact.test.", true],
    ["cn-only.test", false], // CN is ignored when there are SANs
    ["192.0.2.1", true],
    ["192.0.2.2", false],
    ["2001:db8:0:0::1", true],
    ["[2001:db8::1]", true],
  ];
  for (const [host, expected] of cases) {
    assert.equal(certificateMatchesHost(withSan.certDer, host), expected, host);
  }
  const cnOnly = await createSelfSignedServerCertificate({
    commonName: "legacy.test",
    dnsNames: [],
    keyType: "ecdsa-p256",
  });
  assert.equal(certificateMatchesHost(cnOnly.certDer, "legacy.test"), true);
  assert.equal(certificateMatchesHost(cnOnly.certDer, "other.test"), false);
  assert.equal(certificateMatchesHost(cnOnly.certDer, "192.0.2.1"), false);
  const tooWide = await createSelfSignedServerCertificate({
    commonName: "x",
    dnsNames: ["*.test"],
    keyType: "ecdsa-p256",
  });
  assert.equal(certificateMatchesHost(tooWide.certDer, "a.test"), false);
});
