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
import { PRLIMIT_AVAILABLE, spawnUnderNofile } from "../test/helpers/nofile_child.ts";

const CHILD = new URL("../test/helpers/engine_listener_child.ts", import.meta.url).pathname;

Deno.test({
  name: "listenTls() openssl engine: logs running out of file descriptors and accepts again " +
    "once they are free",
  ignore: openSsl() === undefined || !PRLIMIT_AVAILABLE,
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
    const child = spawnUnderNofile(96, CHILD, [`${dir}/cert.pem`, `${dir}/key.pem`]);
    const { out, err } = child;
    const held: Deno.TcpConn[] = [];
    try {
      await child.until(() => out.some((l) => l.startsWith("port ")), 30_000, "no port");
      const port = Number(out.find((l) => l.startsWith("port "))!.slice(5));
      // More connections than the child has descriptors: its accepts fail with EMFILE.
      for (let i = 0; i < 150; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      await child.until(
        () => err.some((l) => /no file descriptor left/.test(l)),
        10_000,
        "no EMFILE log",
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
      await child.until(
        () => err.some((l) => /file descriptors are available again/.test(l)),
        5000,
        "no recovery log",
      );
      assert.equal(err.filter((l) => /no file descriptor left/.test(l)).length, 1, err.join("\n"));
    } finally {
      for (const c of held) c.close();
      await child.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
