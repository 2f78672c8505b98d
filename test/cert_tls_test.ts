/**
 * Certificates against real TLS over loopback: CRL checks in `dialTls`,
 * certificates made by `openssl` accepted by the client, mutual TLS through
 * `listenTls` client-certificate mode, and fingerprint pins.
 */
import assert from "node:assert/strict";
import { ProtocolError } from "../lib/errors.ts";
import { createCertificateAuthority, issueCertificate } from "../lib/cert/ca.ts";
import { createCrl } from "../lib/cert/crl.ts";
import { certificateFingerprint } from "../lib/cert/fingerprint.ts";
import { parseServerCertificate } from "../lib/cert/server_certificate.ts";
import type { CertificateAndKey } from "../lib/cert/ca.ts";
import { x509 } from "../lib/cert/_x509.ts";
import { dialTls, type DialTlsOptions } from "../lib/transport/tls_client.ts";
import { listenTls, type ListenTlsOptions } from "../lib/transport/tls_server.ts";
import type { ByteDuplex } from "../lib/duplex.ts";

const DAY_MS = 86_400_000;
const ca = await createCertificateAuthority({ commonName: "crl test CA", keyType: "ecdsa-p256" });
// Same subject name, different key: a CRL it signs must not be believed.
const impostor = await createCertificateAuthority({
  commonName: "crl test CA",
  keyType: "ecdsa-p256",
});
const otherCa = await createCertificateAuthority({ commonName: "other CA", keyType: "ecdsa-p256" });
const names = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] };
const server = await issueCertificate({
  issuer: ca,
  commonName: "localhost",
  usage: "server",
  keyType: "ecdsa-p256",
  ...names,
});
const serverSerial = new x509.X509Certificate(server.certPem).serialNumber;

/** Serves `cert` on 127.0.0.1 and ::1, answering one byte with the same byte. */
async function withServer(
  cert: { certPem: string; keyPem: string },
  fn: (port: number, accepted: ByteDuplex[]) => Promise<void>,
  extra: Partial<ListenTlsOptions> = {},
): Promise<void> {
  const listener = await listenTls({
    hostname: ["127.0.0.1", "::1"],
    port: 0,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    handshakeTimeoutMs: 5_000,
    ...extra,
  });
  const accepted: ByteDuplex[] = [];
  const echoes: Promise<void>[] = [];
  const loop = (async () => {
    for await (const duplex of listener) {
      accepted.push(duplex);
      echoes.push(
        duplex.readable.pipeTo(duplex.writable).catch(() => {}).finally(() => duplex.close()),
      );
    }
  })();
  try {
    await fn(listener.addrs[0]?.port ?? 0, accepted);
  } finally {
    listener.close();
    await loop;
    for (const duplex of accepted) duplex.close();
    await Promise.all(echoes);
    await Promise.all(accepted.map((d) => d.closed));
    await listener.closed;
  }
}

/** Dials, exchanges one byte, closes; resolves to the echoed byte. */
async function roundTrip(options: DialTlsOptions): Promise<number | undefined> {
  const connection = await dialTls(options);
  try {
    const writer = connection.duplex.writable.getWriter();
    await writer.write(new Uint8Array([42]));
    writer.releaseLock();
    const reader = connection.duplex.readable.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    return value?.[0];
  } finally {
    connection.duplex.close();
    await connection.duplex.readable.cancel().catch(() => {});
    await connection.duplex.closed;
  }
}

async function dialFails(options: DialTlsOptions): Promise<ProtocolError> {
  const error = await roundTrip(options).then(
    () => new Error("dialTls() unexpectedly succeeded"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`);
  assert.equal(error.layer, "tls");
  assert.equal(error.code, "AUTH_FAILED");
  return error;
}

Deno.test("dialTls() refuses a revoked server certificate and names serial and date", async () => {
  const revokedAt = new Date("2024-03-01T12:00:00Z");
  const crl = await createCrl({
    issuer: ca,
    revoked: [
      { serialNumber: "01" },
      { serialNumber: serverSerial, revocationDate: revokedAt, reason: 1 },
    ],
  });
  await withServer(server, async (port) => {
    const error = await dialFails({
      host: "127.0.0.1",
      port,
      caPem: ca.certPem,
      crlPem: crl.crlPem,
    });
    assert.equal(error.detail, "TLS_CERT_REVOKED");
    assert.equal(
      error.message,
      `Cannot verify server certificate: certificate revoked (serial ${serverSerial}, ` +
        "revoked 2024-03-01T12:00:00.000Z, reason keyCompromise)",
    );
    // The same server with a CRL that does not list it connects.
    const clean = await createCrl({ issuer: ca, revoked: [{ serialNumber: "01" }] });
    assert.equal(
      await roundTrip({ host: "127.0.0.1", port, caPem: ca.certPem, crlPem: clean.crlPem }),
      42,
    );
    // A pin does not override a revocation when the CA is known.
    const pinned = await dialFails({
      host: "::1",
      port,
      caPem: ca.certPem,
      crlPem: crl.crlPem,
      serverFingerprintSha256: certificateFingerprint(server.certDer),
    });
    assert.equal(pinned.detail, "TLS_CERT_REVOKED");
    // verifyServerCertificate: false turns every certificate check off, CRLs included.
    assert.equal(
      await roundTrip({
        host: "127.0.0.1",
        port,
        crlPem: crl.crlPem,
        verifyServerCertificate: false,
      }),
      42,
    );
  });
});

Deno.test("dialTls() refuses CRLs it cannot trust or use", async () => {
  const now = Date.now();
  const cases: [string, () => Promise<string>, string, string][] = [
    [
      "signed by another key under the CA's name",
      async () => (await createCrl({ issuer: impostor, revoked: [] })).crlPem,
      "TLS_CERT_CRL_SIGNATURE",
      "CRL signature failure",
    ],
    [
      "expired",
      async () =>
        (await createCrl({
          issuer: ca,
          revoked: [],
          thisUpdate: new Date(now - 40 * DAY_MS),
          days: 30,
        })).crlPem,
      "TLS_CERT_CRL_EXPIRED",
      "CRL has expired",
    ],
    [
      "not yet valid",
      async () =>
        (await createCrl({ issuer: ca, revoked: [], thisUpdate: new Date(now + DAY_MS) })).crlPem,
      "TLS_CERT_CRL_NOT_YET_VALID",
      "CRL is not yet valid",
    ],
    [
      "from another CA only",
      async () => (await createCrl({ issuer: otherCa, revoked: [] })).crlPem,
      "TLS_CERT_CRL_MISSING",
      "unable to get certificate CRL",
    ],
  ];
  await withServer(server, async (port) => {
    for (const [name, make, detail, message] of cases) {
      const error = await dialFails({
        host: "127.0.0.1",
        port,
        caPem: ca.certPem,
        crlPem: await make(),
      });
      assert.equal(error.detail, detail, name);
      assert.ok(error.message.startsWith(`Cannot verify server certificate: ${message}`), name);
    }
    // Pinned without a CA there is no trusted key to check the CRL with.
    const good = await createCrl({ issuer: ca, revoked: [] });
    const error = await dialFails({
      host: "127.0.0.1",
      port,
      serverFingerprintSha256: certificateFingerprint(server.certDer),
      crlPem: good.crlPem,
    });
    assert.equal(error.detail, "TLS_CERT_CRL_ISSUER_UNKNOWN");
  });
  await assert.rejects(
    dialTls({ host: "127.0.0.1", port: 1, crlPem: ca.certPem }),
    TypeError,
  );
});

Deno.test("dialTls() accepts certificates made by openssl req/x509 with their CA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp_cert_tls_" });
  const openssl = async (...args: string[]) => {
    const output = await new Deno.Command("openssl", { args, cwd: dir }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
  };
  try {
    await openssl(
      ..."req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj".split(" "),
      "/CN=openssl CA",
      ..."-addext basicConstraints=critical,CA:TRUE".split(" "),
      ..."-addext keyUsage=critical,keyCertSign,cRLSign".split(" "),
    );
    await openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    ); // deno-fmt-ignore
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" +
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n",
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "10",
      "-extfile",
      "ext.cnf",
      "-out",
      "server.pem",
    ); // deno-fmt-ignore
    // Give the loader the key in PKCS#1 ("RSA PRIVATE KEY"), as older tools write it.
    await openssl("pkey", "-in", "server.key", "-traditional", "-out", "server.rsa.key");
    const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
    const loaded = parseServerCertificate(
      await Deno.readTextFile(`${dir}/server.pem`),
      await Deno.readTextFile(`${dir}/server.rsa.key`),
      { hostNames: ["localhost", "127.0.0.1"] },
    );
    assert.match(loaded.keyPem, /BEGIN RSA PRIVATE KEY/);
    assert.deepEqual(loaded.warnings, [
      "certificate expires in 9 days (" +
      new x509.X509Certificate(loaded.leafDer).notAfter.toISOString() + ")",
    ]);
    await withServer(loaded, async (port) => {
      assert.equal(await roundTrip({ host: "localhost", port, caPem }), 42);
      assert.equal(await roundTrip({ host: "127.0.0.1", port, caPem }), 42);
      const wrongCa = await dialFails({ host: "127.0.0.1", port, caPem: ca.certPem });
      assert.equal(wrongCa.detail, "TLS_CERT_UNKNOWN_ISSUER");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenTls() client-certificate mode: right CA connects, none or another CA is refused", async () => {
  const good = await issueCertificate({
    issuer: ca,
    commonName: "router1",
    usage: "client",
    keyType: "ecdsa-p256",
  });
  const foreign = await issueCertificate({
    issuer: otherCa,
    commonName: "router2",
    usage: "client",
    keyType: "ecdsa-p256",
  });
  await withServer(server, async (port, accepted) => {
    const withCert = (cert?: CertificateAndKey): DialTlsOptions => ({
      host: "127.0.0.1",
      port,
      caPem: ca.certPem,
      ...(cert === undefined ? {} : { clientCertPem: cert.certPem, clientKeyPem: cert.keyPem }),
    });
    assert.equal(await roundTrip(withCert(good)), 42);
    assert.equal(accepted.length, 1);
    assert.deepEqual(accepted[0]?.info.peerCertDer, good.certDer);
    assert.equal(accepted[0]?.info.peerVerified, true);
    for (const cert of [undefined, foreign]) {
      // TLS 1.3 finishes the client side before the server's verdict, so the
      // refusal shows as a failed dial or as a stream that ends without the echo.
      const echoed = await roundTrip(withCert(cert)).catch(() => undefined);
      assert.equal(echoed, undefined, cert === undefined ? "no certificate" : "other CA");
    }
    assert.equal(accepted.length, 1);
  }, { clientCertificate: { caPem: ca.certPem } });
});

Deno.test("dialTls() with a pin connects without a CA and a wrong pin fails", async () => {
  await withServer(server, async (port) => {
    const pin = certificateFingerprint(server.certDer);
    assert.equal(await roundTrip({ host: "127.0.0.1", port, serverFingerprintSha256: pin }), 42);
    const wrong = pin.map((b, i) => (i === 31 ? b ^ 0x80 : b));
    const error = await dialFails({ host: "127.0.0.1", port, serverFingerprintSha256: wrong });
    assert.equal(error.detail, "TLS_CERT_FINGERPRINT_MISMATCH");
    // Without the pin and without the CA the same server is refused.
    const unpinned = await dialFails({ host: "127.0.0.1", port });
    assert.equal(unpinned.detail, "TLS_CERT_UNKNOWN_ISSUER");
  });
});

Deno.test("dialTls() names the CA certificate at fault in a chain, and checks CRLs of intermediates", async () => {
  const root = await createCertificateAuthority({
    commonName: "chain root",
    keyType: "ecdsa-p256",
  });
  const expiredCa = await createCertificateAuthority({
    commonName: "old intermediate",
    keyType: "ecdsa-p256",
    issuer: root,
    notBefore: new Date(Date.now() - 10 * DAY_MS),
    days: 2,
  });
  const intermediate = await createCertificateAuthority({
    commonName: "intermediate",
    keyType: "ecdsa-p256",
    issuer: root,
  });
  const leafOf = (issuer: CertificateAndKey) =>
    issueCertificate({
      issuer,
      commonName: "localhost",
      usage: "server",
      keyType: "ecdsa-p256",
      ...names,
    });
  const underExpired = await leafOf(expiredCa);
  await withServer({
    certPem: underExpired.certPem + expiredCa.certPem,
    keyPem: underExpired.keyPem,
  }, async (port) => {
    const error = await dialFails({ host: "127.0.0.1", port, caPem: root.certPem });
    assert.equal(error.detail, "TLS_CERT_EXPIRED");
    assert.match(
      error.message,
      /^Cannot verify server certificate: certificate has expired \(CA CN=old intermediate expired \d{4}-/,
    );
  });
  const leaf = await leafOf(intermediate);
  // The server forgets its intermediate: the client cannot link the leaf to its root.
  await withServer(leaf, async (port) => {
    const error = await dialFails({ host: "127.0.0.1", port, caPem: root.certPem });
    assert.equal(error.detail, "TLS_CERT_UNKNOWN_ISSUER");
    assert.match(error.message, /\(issuer CN=intermediate is not trusted\)$/);
  });
  // The server sends its chain up to a root the client does not trust.
  await withServer({
    certPem: leaf.certPem + intermediate.certPem + root.certPem,
    keyPem: leaf.keyPem,
  }, async (port) => {
    const error = await dialFails({ host: "127.0.0.1", port, caPem: ca.certPem });
    assert.equal(error.detail, "TLS_CERT_SELF_SIGNED");
  });
  // With the chain, the intermediate's CRL is trusted through the verified chain.
  const chained = { certPem: leaf.certPem + intermediate.certPem, keyPem: leaf.keyPem };
  const leafSerial = new x509.X509Certificate(leaf.certPem).serialNumber;
  const revoked = await createCrl({
    issuer: intermediate,
    revoked: [{ serialNumber: leafSerial }],
  });
  const clean = await createCrl({ issuer: intermediate, revoked: [] });
  await withServer(chained, async (port) => {
    const options = { host: "localhost", port, caPem: root.certPem };
    assert.equal(await roundTrip(options), 42);
    assert.equal(await roundTrip({ ...options, crlPem: clean.crlPem }), 42);
    const error = await dialFails({ ...options, crlPem: revoked.crlPem });
    assert.equal(error.detail, "TLS_CERT_REVOKED");
    // A CRL from the root says nothing about the intermediate's leaves.
    const rootCrl = await createCrl({ issuer: root, revoked: [] });
    assert.equal(
      (await dialFails({ ...options, crlPem: rootCrl.crlPem })).detail,
      "TLS_CERT_CRL_MISSING",
    );
  });
});
