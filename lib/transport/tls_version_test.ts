/**
 * The server honours RouterOS `tls-version` (`any`, `only-1.2`, `only-1.3`),
 * checked with an independent client: `openssl s_client -tls1_2` / `-tls1_3`
 * against a listener on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import type { TlsVersion } from "../config/values.ts";
import { listenTls } from "./tls_server.ts";

const cert = await createSelfSignedServerCertificate({
  commonName: "v.test",
  ipAddresses: ["127.0.0.1"],
});

/** The protocol `openssl s_client` negotiated, or "refused". */
async function openssl(port: number, flag: "-tls1_2" | "-tls1_3"): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, flag, "-brief"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const version = /Protocol version: (TLSv1\.[23])/.exec(text)?.[1];
  return version ?? "refused";
}

const CASES: { tlsVersion: TlsVersion; tls12: string; tls13: string }[] = [
  { tlsVersion: "any", tls12: "TLSv1.2", tls13: "TLSv1.3" },
  { tlsVersion: "only-1.2", tls12: "TLSv1.2", tls13: "refused" },
  { tlsVersion: "only-1.3", tls12: "refused", tls13: "TLSv1.3" },
];

for (const c of CASES) {
  Deno.test(`listenTls() tls-version ${c.tlsVersion}: openssl -tls1_2 ${c.tls12}, -tls1_3 ${c.tls13}`, async () => {
    const listener = await listenTls({
      hostname: "127.0.0.1",
      port: 0,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      tlsVersion: c.tlsVersion,
    });
    // Handshakes that complete are handed out; close them as they come.
    const drain = (async () => {
      for await (const duplex of listener) duplex.close();
    })();
    try {
      const port = listener.addrs[0]!.port;
      assert.equal(await openssl(port, "-tls1_2"), c.tls12);
      assert.equal(await openssl(port, "-tls1_3"), c.tls13);
    } finally {
      listener.close();
      await listener.closed;
      await drain;
    }
  });
}

Deno.test("listenTls() refuses tls-version only-1.x with the deno implementation", async () => {
  await assert.rejects(
    listenTls({
      hostname: "127.0.0.1",
      port: 0,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      tlsVersion: "only-1.3",
      implementation: "deno",
    }),
    TypeError,
  );
});
