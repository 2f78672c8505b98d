/**
 * `tls-engine: openssl` on the server: `listenTls` with the OpenSSL engine
 * admits every accepted connection through the node:tls listener's
 * admission (max-handshakes oldest first, max-handshakes-per-source, the
 * deadline) and reports the handshake duration and `acceptedMs`.
 */
import assert from "node:assert/strict";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { certificateFingerprint } from "../lib/cert/fingerprint.ts";
import { leafCertificateDer } from "../lib/cert/pem.ts";
import { createLogger } from "../lib/log.ts";
import { dialTls } from "../lib/transport/tls_client.ts";
import { listenTls, type ListenTlsOptions, type TlsListener } from "../lib/transport/tls_server.ts";
import { openSsl } from "./openssl.ts";
import { openSslServer } from "./openssl_dialer.ts";
import { serverClosed } from "../test/helpers/conn_probe.ts";

const ignore = openSsl() === undefined;

const cert = await createSelfSignedServerCertificate({
  commonName: "engine.test",
  ipAddresses: ["127.0.0.1"],
});

/** `listenTls` on 127.0.0.1 with the OpenSSL engine and `options`. */
function listenEngine(options: Partial<ListenTlsOptions>): Promise<TlsListener> {
  const engine = openSslServer();
  assert.ok(typeof engine !== "string", String(engine));
  return listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    engine,
    ...options,
  });
}

/** `count` connections that never send a byte (one reset at once counts as closed). */
async function stalled(port: number, count: number): Promise<(Deno.TcpConn | "reset")[]> {
  const conns: (Deno.TcpConn | "reset")[] = [];
  for (let i = 0; i < count; i++) {
    try {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    } catch (e) {
      if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
      conns.push("reset");
    }
  }
  return conns;
}

async function realClient(listener: TlsListener) {
  const client = await dialTls({
    host: "127.0.0.1",
    port: listener.addrs[0]!.port,
    serverFingerprintSha256: certificateFingerprint(leafCertificateDer(cert.certPem)),
  });
  const duplex = await listener.accept();
  assert.ok(duplex !== null);
  return { client, duplex };
}

Deno.test({
  name: "listenTls() openssl engine: a source beyond max-handshakes-per-source is closed at once " +
    "(logged once), a client still gets in once they end",
  ignore,
  async fn() {
    const lines: string[] = [];
    const listener = await listenEngine({
      handshakeTimeoutMs: 10_000,
      maxHandshakesPerSource: 4,
      logger: createLogger("info", (_l, line) => lines.push(line)),
    });
    const conns = await stalled(listener.addrs[0]!.port, 10);
    try {
      const results = await Promise.all(
        conns.map((c) => c === "reset" ? "closed" : serverClosed(c, 1000)),
      );
      assert.equal(results.filter((r) => r === "open").length, 4, results.join(" "));
      assert.deepEqual(
        lines.filter((l) => /max-handshakes-per-source/.test(l)),
        ["refused a connection from 127.0.0.1: max-handshakes-per-source 4 reached"],
      );
      for (const c of conns.splice(0)) if (c !== "reset") c.close();
      await new Promise((r) => setTimeout(r, 100));
      const { client, duplex } = await realClient(listener);
      client.duplex.close();
      duplex.close();
    } finally {
      for (const c of conns) if (c !== "reset") c.close();
      listener.close();
      await listener.closed;
    }
  },
});

/** How the server ended `conn`: a reset, an EOF (FIN), or still "open" after `ms`. */
async function endOf(conn: Deno.TcpConn, ms: number): Promise<"reset" | "eof" | "open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      conn.read(new Uint8Array(64)).then(
        () => "eof" as const,
        (e) => {
          if (e instanceof Deno.errors.ConnectionReset) return "reset" as const;
          throw e;
        },
      ),
      new Promise<"open">((r) => timer = setTimeout(() => r("open"), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name: "listenTls() openssl engine: a connection refused by max-handshakes-per-source is " +
    "reset (ECONNRESET, not a FIN), as node:tls's listener does",
  ignore,
  async fn() {
    const listener = await listenEngine({
      handshakeTimeoutMs: 10_000,
      maxHandshakesPerSource: 1,
      logger: createLogger("error", () => {}),
    });
    const port = listener.addrs[0]!.port;
    const conns: Deno.TcpConn[] = [];
    try {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      await new Promise((r) => setTimeout(r, 50));
      let refused: "reset" | "eof" | "open" | undefined;
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
        refused = await endOf(conns[1]!, 2000);
      } catch (e) {
        if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
        refused = "reset";
      }
      assert.equal(refused, "reset");
      assert.equal(await endOf(conns[0]!, 200), "open");
    } finally {
      for (const c of conns) c.close();
      listener.close();
      await listener.closed;
    }
  },
});

Deno.test({
  name: "listenTls() openssl engine: at max-handshakes the oldest handshake is dropped for a " +
    "newcomer; the handshake duration is reported and acceptedMs set",
  ignore,
  async fn() {
    const durations: number[] = [];
    const listener = await listenEngine({
      handshakeTimeoutMs: 10_000,
      maxHandshakes: 3,
      maxHandshakesPerSource: 100,
      onHandshake: (ms) => durations.push(ms),
    });
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port: listener.addrs[0]!.port }));
        // Accepted in this order: the first is the oldest.
        await new Promise((r) => setTimeout(r, 50));
      }
      const { client, duplex } = await realClient(listener);
      assert.equal(await serverClosed(conns[0]!, 1000), "closed");
      assert.equal(await serverClosed(conns[1]!, 200), "open");
      assert.equal(typeof duplex.info.acceptedMs, "number");
      assert.equal(durations.length, 1);
      assert.ok(durations[0]! >= 0 && durations[0]! < 5000, String(durations[0]));
      client.duplex.close();
      duplex.close();
    } finally {
      for (const c of conns) c.close();
      listener.close();
      await listener.closed;
    }
  },
});

Deno.test({
  name: "listenTls() openssl engine: a handshake not done at the deadline is closed by the " +
    "admission, and close() ends handshakes in progress",
  ignore,
  async fn() {
    const lines: string[] = [];
    const listener = await listenEngine({
      handshakeTimeoutMs: 300,
      logger: createLogger("debug", (_l, line) => lines.push(line)),
    });
    const port = listener.addrs[0]!.port;
    const late = await Deno.connect({ hostname: "127.0.0.1", port });
    let held: Deno.TcpConn | undefined;
    try {
      assert.equal(await serverClosed(late, 3000), "closed");
      assert.ok(lines.some((l) => /no TLS handshake within 300 ms/.test(l)), lines.join("\n"));
      held = await Deno.connect({ hostname: "127.0.0.1", port });
      await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      listener.close();
      await listener.closed;
      assert.ok(performance.now() - t0 < 250, `closed after ${performance.now() - t0} ms`);
    } finally {
      late.close();
      held?.close();
      listener.close();
      await listener.closed;
    }
  },
});
