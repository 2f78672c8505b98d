/**
 * `tls-engine: openssl` on the server honours the TLS policy as node:tls
 * does: `tls-version` goes into the handshake (a TLS 1.2 client of an
 * `only-1.3` server fails it), `force-aes` / `ciphers` / `pfs` are checked
 * after it (a ChaCha20 session is refused and logged, never accepted).
 * Probed with `openssl s_client`.
 */
import assert from "node:assert/strict";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { createLogger } from "../lib/log.ts";
import { listenTls } from "../lib/transport/tls_server.ts";
import { DEFAULT_TLS_POLICY, type TlsPolicy } from "../lib/transport/tls_policy.ts";
import { openSsl } from "./openssl.ts";
import { openSslServer } from "./openssl_dialer.ts";

const opensslCli = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

const cert = await createSelfSignedServerCertificate({
  commonName: "engine-policy.test",
  ipAddresses: ["127.0.0.1"],
});

/** One `openssl s_client` run: whether the handshake completed. */
async function sClient(port: number, args: string[]): Promise<boolean> {
  const r = await new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, "-brief", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return r.success && /Ciphersuite: \S+/.test(text);
}

/** Handshake result, whether the session reached `accept()`, and the log. */
async function probe(
  p: Partial<TlsPolicy>,
  args: string[],
): Promise<{ handshake: boolean; accepted: boolean; log: string }> {
  const engine = openSslServer();
  assert.ok(typeof engine !== "string", String(engine));
  const lines: string[] = [];
  const listener = await listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    engine,
    tlsPolicy: { ...DEFAULT_TLS_POLICY, ...p },
    logger: createLogger("debug", (_l, line) => lines.push(line)),
  });
  let accepted = false;
  const accepting = listener.accept().then((d) => {
    if (d === null) return;
    accepted = true;
    d.close();
  });
  try {
    const handshake = await sClient(listener.addrs[0]!.port, args);
    // The server's verdict follows the handshake by a moment.
    for (
      let i = 0;
      handshake && i < 100 && !accepted && !lines.some((l) => /refused/.test(l));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return { handshake, accepted, log: lines.join("\n") };
  } finally {
    listener.close();
    await accepting;
    await listener.closed;
  }
}

const ignore = openSsl() === undefined || !opensslCli;

Deno.test({
  name:
    "listenTls() openssl engine: tls-version only-1.3 refuses a TLS 1.2 client in the handshake",
  ignore,
  async fn() {
    const old = await probe({ tlsVersion: "only-1.3" }, ["-tls1_2"]);
    assert.equal(old.handshake, false, old.log);
    assert.equal(old.accepted, false);
    const ok = await probe({ tlsVersion: "only-1.3" }, ["-tls1_3"]);
    assert.equal(ok.handshake, true, ok.log);
    assert.equal(ok.accepted, true, ok.log);
    const only12 = await probe({ tlsVersion: "only-1.2" }, ["-tls1_3"]);
    assert.equal(only12.handshake, false, only12.log);
  },
});

Deno.test({
  name: "listenTls() openssl engine: force-aes refuses a ChaCha20 session after the handshake",
  ignore,
  async fn() {
    const r = await probe({ forceAes: true }, [
      "-tls1_3",
      "-ciphersuites",
      "TLS_CHACHA20_POLY1305_SHA256",
    ]);
    assert.equal(r.accepted, false, r.log);
    assert.match(r.log, /TLS client 127\.0\.0\.1:\d+ refused: /);
    const aes = await probe({ forceAes: true }, [
      "-tls1_3",
      "-ciphersuites",
      "TLS_AES_256_GCM_SHA384",
    ]);
    assert.equal(aes.accepted, true, aes.log);
  },
});
