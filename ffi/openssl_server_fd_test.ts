/**
 * `tls-engine: openssl` on the server survives the open-file limit: a
 * listener whose accept failed with EMFILE logs it once and accepts again
 * once descriptors are free (it used to stop accepting for good). The
 * server runs as a child under `prlimit --nofile`.
 */
import assert from "node:assert/strict";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { certificateFingerprint } from "../lib/cert/fingerprint.ts";
import { leafCertificateDer } from "../lib/cert/pem.ts";
import { dialTls } from "../lib/transport/tls_client.ts";
import { openSsl } from "./openssl.ts";

const prlimit = (() => {
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

const CHILD = new URL("../test/helpers/engine_listener_child.ts", import.meta.url).pathname;

/** Lines of `stream`, pushed to `into` as they come; `onLine` sees each. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  into: string[],
  onLine: () => void,
): Promise<void> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      into.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      onLine();
    }
  }
}

/** Polls `test` every 50 ms until it holds or `ms` pass. */
async function until(test: () => boolean, ms: number, what: string, log: string[]) {
  const t0 = performance.now();
  while (!test()) {
    if (performance.now() - t0 > ms) throw new Error(`${what} within ${ms} ms:\n${log.join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "listenTls() openssl engine: logs running out of file descriptors and accepts again " +
    "once they are free",
  ignore: openSsl() === undefined || !prlimit,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cert = await createSelfSignedServerCertificate({
      commonName: "engine-fd.test",
      ipAddresses: ["127.0.0.1"],
    });
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
    await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
    const child = new Deno.Command("prlimit", {
      args: [
        "--nofile=96",
        Deno.execPath(),
        "run",
        "-A",
        CHILD,
        `${dir}/cert.pem`,
        `${dir}/key.pem`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out: string[] = [];
    const err: string[] = [];
    const pumps = Promise.all([
      pump(child.stdout, out, () => {}),
      pump(child.stderr, err, () => {}),
    ]);
    const held: Deno.TcpConn[] = [];
    try {
      await until(() => out.some((l) => l.startsWith("port ")), 30_000, "no port", err);
      const port = Number(out.find((l) => l.startsWith("port "))!.slice(5));
      // More connections than the child has descriptors: its accepts fail with EMFILE.
      for (let i = 0; i < 150; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      await until(
        () => err.some((l) => /no file descriptor left/.test(l)),
        10_000,
        "no EMFILE log",
        err,
      );
      for (const c of held.splice(0)) c.close();
      // A real client gets in (bounded retries: the child frees its descriptors as it
      // sees the held connections end).
      let greeting = "";
      const failures: string[] = [];
      for (let attempt = 0; greeting === "" && attempt < 10; attempt++) {
        try {
          const c = await dialTls({
            host: "127.0.0.1",
            port,
            serverFingerprintSha256: certificateFingerprint(leafCertificateDer(cert.certPem)),
            connectTimeoutMs: 3000,
            signal: AbortSignal.timeout(4000),
          });
          const reader = c.duplex.readable.getReader();
          const { value } = await reader.read();
          greeting = new TextDecoder().decode(value);
          reader.releaseLock();
          c.duplex.close();
        } catch (e) {
          failures.push(String(e));
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      assert.equal(greeting, "hello", `${failures.join("\n")}\n${err.join("\n")}`);
      await until(
        () => err.some((l) => /file descriptors are available again/.test(l)),
        5000,
        "no recovery log",
        err,
      );
      assert.equal(err.filter((l) => /no file descriptor left/.test(l)).length, 1, err.join("\n"));
    } finally {
      for (const c of held) c.close();
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await pumps;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
