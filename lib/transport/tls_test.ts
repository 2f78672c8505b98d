import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { createCertificateAuthority, issueCertificate } from "../cert/ca.ts";
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import { certificateFingerprint } from "../cert/fingerprint.ts";
import type { CertificateAndKey } from "../cert/self_signed.ts";
import type { ByteDuplex } from "../duplex.ts";
import {
  dialTls,
  type DialTlsOptions,
  type TlsClientConnection,
  TlsSessionCache,
} from "./tls_client.ts";
import { listenTls, type ListenTlsOptions, type TlsListener } from "./tls_server.ts";

const DAY_MS = 86_400_000;
const ca = await createCertificateAuthority({ commonName: "sstp test CA", keyType: "ecdsa-p256" });
const otherCa = await createCertificateAuthority({ commonName: "other CA", keyType: "ecdsa-p256" });
const serverNames = { dnsNames: ["vpn.test", "localhost"], ipAddresses: ["127.0.0.1", "::1"] };
const goodServer = await issueCertificate({
  issuer: ca,
  commonName: "vpn.test",
  usage: "server",
  ...serverNames,
});
const clientCert = await issueCertificate({
  issuer: ca,
  commonName: "client1",
  usage: "client",
  keyType: "ecdsa-p256",
});

async function readAll(
  readable: ReadableStream<Uint8Array>,
  limit = Infinity,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = readable.getReader();
  while (total < limit) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  reader.releaseLock();
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Runs an echo server on 127.0.0.1 and ::1 for `fn`, then closes everything. */
async function withEchoServer(
  cert: CertificateAndKey,
  fn: (port: number, accepted: ByteDuplex[], listener: TlsListener) => Promise<void>,
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
  const acceptLoop = (async () => {
    for await (const duplex of listener) {
      accepted.push(duplex);
      echoes.push(
        duplex.readable.pipeTo(duplex.writable).catch(() => {}).finally(() => duplex.close()),
      );
    }
  })();
  try {
    await fn(listener.addrs[0]?.port ?? 0, accepted, listener);
  } finally {
    listener.close();
    await acceptLoop;
    for (const duplex of accepted) duplex.close();
    await Promise.all(echoes);
    await Promise.all(accepted.map((d) => d.closed));
    await listener.closed;
  }
}

async function closeClient(connection: TlsClientConnection): Promise<void> {
  connection.duplex.close();
  await connection.duplex.readable.cancel().catch(() => {});
  await connection.duplex.closed;
}

async function dialFails(options: DialTlsOptions): Promise<ProtocolError> {
  const error = await dialTls(options).then(
    async (connection) => {
      await closeClient(connection);
      throw new Error("dialTls() unexpectedly succeeded");
    },
    (error: unknown) => error,
  );
  assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`);
  assert.equal(error.layer, "tls");
  return error;
}

Deno.test("dialTls() returns the server's exact leaf and echoes 1 MiB both ways", async () => {
  await withEchoServer(goodServer, async (port, accepted) => {
    const connection = await dialTls({ host: "127.0.0.1", port, caPem: ca.certPem });
    try {
      assert.deepEqual(
        certificateFingerprint(connection.peerCertDer),
        certificateFingerprint(goodServer.certDer),
      );
      assert.match(connection.tlsVersion, /^TLSv1\.[23]$/);
      assert.notEqual(connection.cipher, "");
      const payload = crypto.getRandomValues(new Uint8Array(65536));
      const big = new Uint8Array(1024 * 1024);
      for (let i = 0; i < big.length; i += payload.length) big.set(payload, i);
      big[0] = 0x42;
      big[big.length - 1] = 0x24;
      const received = readAll(connection.duplex.readable);
      const writer = connection.duplex.writable.getWriter();
      await writer.write(new TextEncoder().encode("hello"));
      for (let i = 0; i < big.length; i += 16384) await writer.write(big.slice(i, i + 16384));
      await writer.close();
      const echoed = await received;
      assert.equal(new TextDecoder().decode(echoed.subarray(0, 5)), "hello");
      assert.equal(echoed.length, 5 + big.length);
      assert.deepEqual(echoed.subarray(5), big);
      // The server sees the client's address and port (caller-id).
      assert.equal(accepted.length, 1);
      assert.equal(accepted[0]?.remoteAddr.hostname, "127.0.0.1");
      assert.equal(accepted[0]?.remoteAddr.port, connection.duplex.localAddr.port);
    } finally {
      await closeClient(connection);
    }
  });
});

Deno.test("dialTls() verifies a name and ::1 against the right CA", async () => {
  await withEchoServer(goodServer, async (port) => {
    for (const host of ["localhost", "::1", "[::1]"]) {
      const connection = await dialTls({ host, port, caPem: ca.certPem });
      await closeClient(connection);
    }
  });
});

const failures: [string, () => Promise<CertificateAndKey>, string, string][] = [
  [
    "certificate has expired",
    () =>
      issueCertificate({
        issuer: ca,
        commonName: "vpn.test",
        usage: "server",
        ...serverNames,
        notBefore: new Date(Date.now() - 10 * DAY_MS),
        days: 2,
      }),
    "127.0.0.1",
    "TLS_CERT_EXPIRED",
  ],
  [
    "certificate is not yet valid",
    () =>
      issueCertificate({
        issuer: ca,
        commonName: "vpn.test",
        usage: "server",
        ...serverNames,
        notBefore: new Date(Date.now() + 10 * DAY_MS),
        days: 2,
      }),
    "127.0.0.1",
    "TLS_CERT_NOT_YET_VALID",
  ],
  [
    "server's name does not match certificate",
    () =>
      issueCertificate({
        issuer: ca,
        commonName: "other.test",
        usage: "server",
        dnsNames: ["other.test"],
        ipAddresses: ["127.0.0.1"],
      }),
    "localhost",
    "TLS_CERT_NAME_MISMATCH",
  ],
  [
    "server's IP address does not match certificate",
    () =>
      issueCertificate({
        issuer: ca,
        commonName: "vpn.test",
        usage: "server",
        dnsNames: ["localhost"],
        ipAddresses: ["127.0.0.2"],
      }),
    "127.0.0.1",
    "TLS_CERT_IP_MISMATCH",
  ],
  [
    "self signed certificate in chain",
    () =>
      createSelfSignedServerCertificate({
        commonName: "vpn.test",
        ...serverNames,
        keyType: "ecdsa-p256",
      }),
    "127.0.0.1",
    "TLS_CERT_SELF_SIGNED",
  ],
  [
    "unable to get issuer certificate locally",
    () =>
      issueCertificate({
        issuer: otherCa,
        commonName: "vpn.test",
        usage: "server",
        ...serverNames,
      }),
    "127.0.0.1",
    "TLS_CERT_UNKNOWN_ISSUER",
  ],
  [
    "invalid certificate purpose",
    () => issueCertificate({ issuer: ca, commonName: "vpn.test", usage: "client", ...serverNames }),
    "127.0.0.1",
    "TLS_CERT_PURPOSE",
  ],
];

for (const [message, make, host, code] of failures) {
  Deno.test(`dialTls() rejects a server certificate: ${message}`, async () => {
    const cert = await make();
    await withEchoServer(cert, async (port) => {
      const error = await dialFails({ host, port, caPem: ca.certPem });
      assert.equal(
        error.message.startsWith(`Cannot verify server certificate: ${message}`),
        true,
        error.message,
      );
      assert.equal(error.detail, code);
      assert.equal(error.code, "AUTH_FAILED");
      // With verification off the same certificate is accepted and its leaf returned.
      const connection = await dialTls({ host, port, verifyServerCertificate: false });
      assert.deepEqual(connection.peerCertDer, cert.certDer);
      await closeClient(connection);
    });
  });
}

Deno.test("dialTls() accepts a wrong name when verifyServerAddress is false", async () => {
  const cert = await issueCertificate({
    issuer: ca,
    commonName: "other.test",
    usage: "server",
    dnsNames: ["other.test"],
  });
  await withEchoServer(cert, async (port) => {
    const connection = await dialTls({
      host: "127.0.0.1",
      port,
      caPem: ca.certPem,
      verifyServerAddress: false,
    });
    await closeClient(connection);
  });
});

Deno.test("dialTls() accepts a pinned self-signed certificate without a CA and refuses a wrong pin", async () => {
  const cert = await createSelfSignedServerCertificate({ commonName: "vpn.test", ...serverNames });
  await withEchoServer(cert, async (port) => {
    const pin = certificateFingerprint(cert.certDer, "sha256");
    const connection = await dialTls({ host: "127.0.0.1", port, serverFingerprintSha256: pin });
    assert.deepEqual(connection.peerCertDer, cert.certDer);
    await closeClient(connection);
    const wrong = pin.slice();
    wrong[0] = (wrong[0] ?? 0) ^ 1;
    const error = await dialFails({ host: "127.0.0.1", port, serverFingerprintSha256: wrong });
    assert.equal(error.detail, "TLS_CERT_FINGERPRINT_MISMATCH");
    // A pin plus a CA that does not sign the certificate: both must pass.
    const both = await dialFails({
      host: "127.0.0.1",
      port,
      serverFingerprintSha256: pin,
      caPem: ca.certPem,
    });
    assert.equal(both.detail, "TLS_CERT_SELF_SIGNED");
  });
});

Deno.test("dialTls() resumes the cached TLS session of a verified connection and still checks the pin", async () => {
  const cert = await createSelfSignedServerCertificate({ commonName: "vpn.test", ...serverNames });
  await withEchoServer(cert, async (port) => {
    const pin = certificateFingerprint(cert.certDer, "sha256");
    const cache = new TlsSessionCache();
    const echo = async (c: TlsClientConnection) => {
      const w = c.duplex.writable.getWriter();
      await w.write(new Uint8Array([1, 2, 3]));
      w.releaseLock();
      // The echo comes after the server's TLS 1.3 tickets.
      assert.deepEqual(await readAll(c.duplex.readable, 3), new Uint8Array([1, 2, 3]));
    };
    for (const version of ["only-1.3", "only-1.2"] as const) {
      cache.clear();
      const options = {
        host: "127.0.0.1",
        port,
        serverFingerprintSha256: pin,
        sessionCache: cache,
        tlsVersion: version,
      };
      const first = await dialTls(options);
      assert.equal(first.resumed, false, version);
      await echo(first);
      await closeClient(first);
      assert.ok(cache.get() !== undefined, `${version}: a session is stored`);
      const second = await dialTls(options);
      // TLS 1.2 resumption depends on the runtime's TLS stack (Deno 2.9.6's
      // node:tls server did not resume it); a stored 1.2 session must still connect.
      if (version === "only-1.3") assert.equal(second.resumed, true, `${version}: resumed`);
      assert.deepEqual(
        second.peerCertDer,
        cert.certDer,
        "crypto binding still has the certificate",
      );
      await echo(second);
      await closeClient(second);
      // The pin is checked on a resumed connection too; the failure drops the session.
      const wrong = pin.slice();
      wrong[0] = (wrong[0] ?? 0) ^ 1;
      const error = await dialFails({ ...options, serverFingerprintSha256: wrong });
      assert.equal(error.detail, "TLS_CERT_FINGERPRINT_MISMATCH");
      assert.equal(cache.get(), undefined, `${version}: session dropped after a failed check`);
    }
  });
});

Deno.test("dialTls() resumes on a reconnect that starts before the old connection has closed", async () => {
  // Deno's node:tls emits a TLS 1.3 `session` only when the socket closes; a
  // client that dials again at once (the load generator's storm, a quick
  // redial) must still offer the session of its verified connection.
  const cert = await createSelfSignedServerCertificate({ commonName: "vpn.test", ...serverNames });
  await withEchoServer(cert, async (port) => {
    const cache = new TlsSessionCache();
    const options = {
      host: "127.0.0.1",
      port,
      serverFingerprintSha256: certificateFingerprint(cert.certDer, "sha256"),
      sessionCache: cache,
      tlsVersion: "only-1.3" as const,
    };
    const first = await dialTls(options);
    assert.ok(cache.get() !== undefined, "stored once verified, before any close");
    // One echo: the server's tickets precede it, so the runtime has them now.
    const w = first.duplex.writable.getWriter();
    await w.write(new Uint8Array([9]));
    w.releaseLock();
    assert.deepEqual(await readAll(first.duplex.readable, 1), new Uint8Array([9]));
    first.duplex.close();
    const second = await dialTls(options);
    assert.equal(second.resumed, true, "resumed although the first socket had not closed yet");
    await first.duplex.closed;
    await closeClient(second);
  });
});

Deno.test("dialTls() does not keep the session of a connection that fails verification", async () => {
  const cert = await createSelfSignedServerCertificate({ commonName: "vpn.test", ...serverNames });
  await withEchoServer(cert, async (port) => {
    const cache = new TlsSessionCache();
    const wrong = certificateFingerprint(cert.certDer, "sha256").slice();
    wrong[0] = (wrong[0] ?? 0) ^ 1;
    await dialFails({
      host: "127.0.0.1",
      port,
      serverFingerprintSha256: wrong,
      sessionCache: cache,
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(cache.get(), undefined);
  });
});

Deno.test("dialTls() sends SNI for names only, and as configured", async () => {
  await withEchoServer(goodServer, async (port, accepted) => {
    const cases: [Partial<DialTlsOptions> & { host: string }, string | undefined][] = [
      [{ host: "localhost" }, "localhost"],
      [{ host: "localhost", sni: false }, undefined],
      [{ host: "127.0.0.1" }, undefined],
      [{ host: "127.0.0.1", sni: "vpn.test" }, "vpn.test"],
    ];
    for (const [options, expected] of cases) {
      const connection = await dialTls({ port, caPem: ca.certPem, ...options });
      // One round trip so that the server has accepted this connection.
      const writer = connection.duplex.writable.getWriter();
      await writer.write(new Uint8Array([1]));
      writer.releaseLock();
      await readAll(connection.duplex.readable, 1);
      assert.equal(accepted.at(-1)?.info.serverName, expected, JSON.stringify(options));
      assert.match(accepted.at(-1)?.info.tlsVersion ?? "", /^TLSv1\.[23]$/);
      await closeClient(connection);
    }
  }, { implementation: "node" });
});

Deno.test("listenTls() with clientCertificate delivers and verifies the client certificate", async () => {
  await withEchoServer(goodServer, async (port, accepted) => {
    const connection = await dialTls({
      host: "127.0.0.1",
      port,
      caPem: ca.certPem,
      clientCertPem: clientCert.certPem,
      clientKeyPem: clientCert.keyPem,
    });
    const writer = connection.duplex.writable.getWriter();
    await writer.write(new Uint8Array([7]));
    writer.releaseLock();
    assert.deepEqual(await readAll(connection.duplex.readable, 1), new Uint8Array([7]));
    assert.deepEqual(accepted[0]?.info.peerCertDer, clientCert.certDer);
    assert.equal(accepted[0]?.info.peerVerified, true);
    await closeClient(connection);

    // Without a certificate the server refuses: no connection is accepted and
    // the client's stream fails or ends without data.
    const refused = await dialTls({ host: "127.0.0.1", port, caPem: ca.certPem }).catch(() =>
      undefined
    );
    if (refused !== undefined) {
      const data = await readAll(refused.duplex.readable).catch(() => new Uint8Array(0));
      assert.equal(data.length, 0);
      await closeClient(refused);
    }
    assert.equal(accepted.length, 1);
  }, { clientCertificate: { caPem: ca.certPem } });
});

Deno.test("dialTls() times out a server that never answers the handshake", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  try {
    const error = await dialFails({
      host: "127.0.0.1",
      port: listener.addr.port,
      connectTimeoutMs: 200,
    });
    assert.equal(error.code, "TIMEOUT");
  } finally {
    (await accepted).close();
    listener.close();
  }
});

Deno.test("dialTls() calls onClientHello once, when its ClientHello goes out", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const abort = new AbortController();
  let calls = 0;
  let helloSent!: () => void;
  const hello = new Promise<void>((resolve) => helloSent = resolve);
  const dialing = dialTls({
    host: "127.0.0.1",
    port: listener.addr.port,
    signal: abort.signal,
    onClientHello: () => {
      calls++;
      helloSent();
    },
  }).catch((e: unknown) => e);
  const conn = await accepted;
  try {
    await hello;
    const head = new Uint8Array(6);
    for (let n = 0; n < head.length;) {
      const got = await conn.read(head.subarray(n));
      if (got === null) break;
      n += got;
    }
    assert.equal(head[0], 0x16, "a TLS handshake record");
    assert.equal(head[5], 0x01, "holding a ClientHello");
    abort.abort();
    assert.ok(await dialing instanceof Error);
    assert.equal(calls, 1);
  } finally {
    conn.close();
    listener.close();
  }
});

Deno.test("dialTls() checks its options", async () => {
  await assert.rejects(dialTls({ host: "", port: 443 }), TypeError);
  await assert.rejects(dialTls({ host: "a", port: 70000 }), RangeError);
  await assert.rejects(dialTls({ host: "a", port: 443, sni: "10.0.0.1" }), TypeError);
  await assert.rejects(
    dialTls({ host: "a", port: 443, serverFingerprintSha256: new Uint8Array(20) }),
    RangeError,
  );
  await assert.rejects(dialTls({ host: "a", port: 443, clientCertPem: "x" }), TypeError);
});

Deno.test("listenTls() stops accepting once closed", async () => {
  for (const implementation of ["deno", "node"] as const) {
    const listener = await listenTls({
      hostname: "127.0.0.1",
      port: 0,
      certPem: goodServer.certPem,
      keyPem: goodServer.keyPem,
      implementation,
    });
    const port = listener.addrs[0]?.port ?? 0;
    const pending = listener.accept();
    listener.close();
    listener.close();
    assert.equal(await pending, null);
    assert.equal(await listener.accept(), null);
    await listener.closed;
    await assert.rejects(dialTls({ host: "127.0.0.1", port, caPem: ca.certPem }), /ECONNREFUSED/);
  }
});
