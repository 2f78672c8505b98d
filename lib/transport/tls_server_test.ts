import assert from "node:assert/strict";
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import { certificateFingerprint } from "../cert/fingerprint.ts";
import { leafCertificateDer } from "../cert/pem.ts";
import type { ByteDuplex } from "../duplex.ts";
import { dialTls } from "./tls_client.ts";
import { listenTls, type TlsListener } from "./tls_server.ts";
import { createLogger } from "../log.ts";

const certA = await createSelfSignedServerCertificate({
  commonName: "a.test",
  ipAddresses: ["127.0.0.1"],
});
const certB = await createSelfSignedServerCertificate({
  commonName: "b.test",
  ipAddresses: ["127.0.0.1"],
});

/** Sockets this process holds open (listeners, connections, both ends). */
/**
 * Server-side sockets of `port` that a process still holds: entries of
 * /proc/net/tcp with that local port, not listening, and with an inode (an
 * orphaned socket has inode 0). Counting this process's fds instead is
 * unreliable: `deno test --parallel` runs other files in the same process.
 */
function serverEnds(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = f[1]!;
    const state = f[3]!;
    const inode = f[9]!;
    if (local.endsWith(`:${hex}`) && state !== "0A" && inode !== "0") n++;
  }
  return n;
}

/** Resolves "eof" or "reset" when the peer closes `conn`, "open" after `ms`. */
async function peerClosed(conn: HalfOpen, ms: number): Promise<"eof" | "reset" | "open"> {
  if (conn === "reset") return "reset";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = new Promise<"open">((resolve) => timer = setTimeout(() => resolve("open"), ms));
  const read = conn.read(new Uint8Array(64)).then(
    (n) => n === null ? "eof" as const : "open" as const,
    () => "reset" as const,
  );
  try {
    return await Promise.race([read, open]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw client connection, or "reset" when the server reset it before `connect` returned. */
type HalfOpen = Deno.TcpConn | "reset";

function closeConn(conn: HalfOpen): void {
  if (conn !== "reset") conn.close();
}

async function halfOpen(port: number, count: number): Promise<HalfOpen[]> {
  const conns: HalfOpen[] = [];
  for (let i = 0; i < count; i++) {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (e) {
      // A connection refused at once is reset, sometimes before connect() returns.
      if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
      conns.push("reset");
      continue;
    }
    // Even connections send nothing; odd ones the first 7 bytes of a ClientHello record.
    if (i % 2 === 1) {
      await conn.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])).catch(() => {});
    }
    conns.push(conn);
  }
  return conns;
}

const N = 20;
const DEADLINE_MS = 400;

Deno.test("listenTls() node: half-open handshakes are dropped at the deadline, sockets freed", async () => {
  const listener = await listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: certA.certPem,
    keyPem: certA.keyPem,
    handshakeTimeoutMs: DEADLINE_MS,
    maxHandshakesPerSource: N,
  });
  const port = listener.addrs[0]?.port ?? 0;
  const conns = await halfOpen(port, N);
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(serverEnds(port), N, "server ends accepted");
    const results = await Promise.all(conns.map((c) => peerClosed(c, DEADLINE_MS + 2000)));
    assert.deepEqual(results.filter((r) => r === "open"), [], "every client saw EOF or reset");
    // Every server end is closed (its fd released).
    assert.equal(serverEnds(port), 0);
    // The listener still serves a real client afterwards.
    const ok = await dialTls({
      host: "127.0.0.1",
      port,
      serverFingerprintSha256: certificateFingerprint(leafCertificateDer(certA.certPem)),
    });
    const duplex = await listener.accept();
    assert.ok(duplex !== null);
    ok.duplex.close();
    duplex.close();
  } finally {
    for (const c of conns) closeConn(c);
    listener.close();
    await listener.closed;
  }
});

Deno.test("listenTls() node: a source beyond max-handshakes-per-source is closed at once, others still served", async () => {
  const listener = await listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: certA.certPem,
    keyPem: certA.keyPem,
    handshakeTimeoutMs: 10_000,
    maxHandshakesPerSource: 4,
  });
  const port = listener.addrs[0]?.port ?? 0;
  const conns = await halfOpen(port, 10);
  try {
    const results = await Promise.all(conns.map((c) => peerClosed(c, 1000)));
    assert.deepEqual(results.filter((r) => r === "open").length, 4, results.join(" "));
    // From the same source, a client gets in once the four held ones end.
    for (const c of conns.splice(0)) closeConn(c);
    await new Promise((r) => setTimeout(r, 100));
    const ok = await dialTls({
      host: "127.0.0.1",
      port,
      serverFingerprintSha256: certificateFingerprint(leafCertificateDer(certA.certPem)),
    });
    const duplex = await listener.accept();
    assert.ok(duplex !== null);
    assert.equal(typeof duplex.info.acceptedMs, "number");
    ok.duplex.close();
    duplex.close();
  } finally {
    for (const c of conns) closeConn(c);
    listener.close();
    await listener.closed;
  }
});

Deno.test("listenTls() node: at max-handshakes the oldest handshake is dropped for a newcomer", async () => {
  const listener = await listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: certA.certPem,
    keyPem: certA.keyPem,
    handshakeTimeoutMs: 10_000,
    maxHandshakes: 3,
    maxHandshakesPerSource: 100,
  });
  const port = listener.addrs[0]?.port ?? 0;
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      // Accepted in this order: the first is the oldest.
      await new Promise((r) => setTimeout(r, 50));
    }
    // A real client still gets through, evicting the oldest stalled handshake.
    const ok = await dialTls({
      host: "127.0.0.1",
      port,
      serverFingerprintSha256: certificateFingerprint(leafCertificateDer(certA.certPem)),
    });
    const duplex = await listener.accept();
    assert.ok(duplex !== null);
    assert.equal(await peerClosed(conns[0]!, 1000), "eof");
    assert.equal(await peerClosed(conns[1]!, 200), "open");
    ok.duplex.close();
    duplex.close();
  } finally {
    for (const c of conns) closeConn(c);
    listener.close();
    await listener.closed;
  }
});

Deno.test({
  name: "listenTls() deno: a stalled handshake keeps its socket after close() (Deno 2.9.6 limit)",
  // The leaked server ends stay until the clients close below.
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const listener = await listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: certA.certPem,
    keyPem: certA.keyPem,
    handshakeTimeoutMs: DEADLINE_MS,
    implementation: "deno",
  });
  const port = listener.addrs[0]?.port ?? 0;
  const conns = await halfOpen(port, N);
  try {
    const results = await Promise.all(conns.map((c) => peerClosed(c, DEADLINE_MS + 1500)));
    // If this fails, Deno now frees the socket: make "deno" the server default again.
    assert.deepEqual(results.filter((r) => r !== "open"), []);
    assert.equal(serverEnds(port), N);
  } finally {
    for (const c of conns) closeConn(c);
    listener.close();
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(serverEnds(port), 0, "freed once the peers closed");
});

/** Dials `port` and returns the SHA-256 of the leaf the server presented. */
async function leafOf(port: number): Promise<{ fingerprint: string; close: () => void }> {
  const conn = await dialTls({
    host: "127.0.0.1",
    port,
    verifyServerCertificate: false,
    verifyServerAddress: false,
  });
  return {
    fingerprint: [...certificateFingerprint(conn.peerCertDer)].join(","),
    close: () => conn.duplex.close(),
  };
}

function fp(pem: string): string {
  return [...certificateFingerprint(leafCertificateDer(pem))].join(",");
}

for (const implementation of ["node", "deno"] as const) {
  Deno.test(`listenTls() ${implementation}: setCertificate() serves new connections with the new certificate, old ones keep running`, async () => {
    const listener: TlsListener = await listenTls({
      hostname: ["127.0.0.1"],
      port: 0,
      certPem: certA.certPem,
      keyPem: certA.keyPem,
      implementation,
    });
    const port = listener.addrs[0]?.port ?? 0;
    const accepted: ByteDuplex[] = [];
    const echoes: Promise<void>[] = [];
    const loop = (async () => {
      for await (const d of listener) {
        accepted.push(d);
        echoes.push(d.readable.pipeTo(d.writable).catch(() => {}));
      }
    })();
    const first = await dialTls({
      host: "127.0.0.1",
      port,
      verifyServerCertificate: false,
      verifyServerAddress: false,
    });
    try {
      assert.equal([...certificateFingerprint(first.peerCertDer)].join(","), fp(certA.certPem));
      await listener.setCertificate({ certPem: certB.certPem, keyPem: certB.keyPem });
      assert.deepEqual(listener.addrs.map((a) => a.port), [port]);
      const second = await leafOf(port);
      second.close();
      assert.equal(second.fingerprint, fp(certB.certPem));
      // The first connection still echoes.
      const writer = first.duplex.writable.getWriter();
      const reader = first.duplex.readable.getReader();
      await writer.write(new TextEncoder().encode("still here"));
      let got = "";
      while (got.length < 10) {
        const { value, done } = await reader.read();
        if (done) break;
        got += new TextDecoder().decode(value);
      }
      assert.equal(got, "still here");
      writer.releaseLock();
      reader.releaseLock();
      // Each accepted connection knows the chain it presented.
      assert.equal(accepted.length, 2);
      assert.equal(listener.certificateOf(accepted[0]!), certA.certPem);
      assert.equal(listener.certificateOf(accepted[1]!), certB.certPem);
    } finally {
      first.duplex.close();
      listener.close();
      await loop;
      for (const d of accepted) d.close();
      await Promise.all(echoes);
      await listener.closed;
    }
  });
}

Deno.test("listenTls: an engine that cannot take the client certificate settings is passed over with one warning", async () => {
  const lines: string[] = [];
  let engineListened = false;
  const listener = await listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: certA.certPem,
    keyPem: certA.keyPem,
    clientCertificate: { caPem: certA.certPem, required: true },
    engine: {
      name: "fake",
      listen() {
        engineListened = true;
        throw new Error("not used");
      },
    },
    logger: createLogger("debug", (_l, line) => lines.push(line)),
  });
  try {
    assert.equal(engineListened, false);
    assert.equal(
      lines.filter((l) => /tls-engine fake does not handle/.test(l)).length,
      1,
      lines.join("\n"),
    );
  } finally {
    listener.close();
    await listener.closed;
  }
});
