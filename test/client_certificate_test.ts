/**
 * `sstp connect` refuses servers whose certificates fail verification, with
 * RouterOS/OpenSSL's messages and exit code 66, and accepts a matching pin
 * without a CA. The "server" is a plain TLS listener on 127.0.0.1 in this
 * process: verification happens before any SSTP byte, so no TUN is needed.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { createCertificateAuthority, issueCertificate } from "../lib/cert/ca.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { createCrl } from "../lib/cert/crl.ts";
import { certificateFingerprint } from "../lib/cert/fingerprint.ts";
import { toHex } from "../lib/bytes/hex.ts";
import { listenTls } from "../lib/transport/tls_server.ts";
import { SstpProcess } from "./helpers/sstp_process.ts";
import * as x509 from "@peculiar/x509";

const DAY = 86_400_000;
const HOST = "127.0.0.1";

interface Case {
  name: string;
  /** Builds the server certificate and what the client gets as its CA or pin. */
  make(dir: string): Promise<{ certPem: string; keyPem: string; args: string[] }>;
  code: number;
  message: RegExp;
}

const ca = await createCertificateAuthority({ commonName: "sstp test CA" });
const otherCa = await createCertificateAuthority({ commonName: "another CA" });

async function withCa(dir: string, caPem = ca.certPem): Promise<string[]> {
  await Deno.writeTextFile(`${dir}/ca.pem`, caPem);
  return ["--ca", `${dir}/ca.pem`];
}

function server(o: Partial<Parameters<typeof issueCertificate>[0]> = {}) {
  return issueCertificate({
    issuer: ca,
    commonName: HOST,
    ipAddresses: [HOST],
    usage: "server",
    ...o,
  });
}

const CASES: Case[] = [
  {
    name: "an expired certificate",
    make: async (d) => ({
      ...(await server({
        notBefore: new Date(Date.now() - 20 * DAY),
        notAfter: new Date(Date.now() - DAY),
      })),
      args: await withCa(d),
    }),
    code: 66,
    message: /certificate has expired/,
  },
  {
    name: "a certificate not yet valid",
    make: async (d) => ({
      ...(await server({
        notBefore: new Date(Date.now() + DAY),
        notAfter: new Date(Date.now() + 20 * DAY),
      })),
      args: await withCa(d),
    }),
    code: 66,
    message: /certificate is not yet valid/,
  },
  {
    name: "a certificate for clients only",
    make: async (d) => ({ ...(await server({ usage: "client" })), args: await withCa(d) }),
    code: 66,
    message: /invalid certificate purpose/,
  },
  {
    name: "a self-signed certificate",
    make: async () => ({
      ...(await createSelfSignedServerCertificate({ commonName: HOST, ipAddresses: [HOST] })),
      args: [],
    }),
    code: 66,
    message: /self signed certificate in chain|unable to get issuer certificate locally/,
  },
  {
    name: "a certificate from an unknown CA",
    make: async (d) => ({ ...(await server()), args: await withCa(d, otherCa.certPem) }),
    code: 66,
    message: /unable to get issuer certificate locally/,
  },
  {
    name: "a certificate for another IP address",
    make: async (d) => ({
      ...(await server({ commonName: "198.18.9.9", ipAddresses: ["198.18.9.9"] })),
      args: await withCa(d),
    }),
    code: 66,
    message: /server's IP address does not match certificate/,
  },
  {
    name: "a wrong pin",
    make: async () => ({
      ...(await server()),
      args: ["--server-fingerprint", `sha256:${"ab".repeat(32)}`],
    }),
    code: 66,
    message: /does not match the pinned SHA-256 fingerprint/,
  },
  {
    name: "a revoked certificate",
    make: async (d) => {
      const s = await server();
      const serial = new x509.X509Certificate(s.certPem).serialNumber;
      const crl = await createCrl({ issuer: ca, revoked: [{ serialNumber: serial }] });
      await Deno.writeTextFile(`${d}/ca.crl`, crl.crlPem);
      return { ...s, args: [...(await withCa(d)), "--crl", `${d}/ca.crl`] };
    },
    code: 66,
    message: /certificate revoked/,
  },
  {
    name: "a matching pin and no CA (accepted: fails later, at HTTP)",
    make: async () => {
      const s = await server();
      const pin = toHex(certificateFingerprint(s.certDer, "sha256"));
      return { ...s, args: ["--server-fingerprint", `sha256:${pin}`] };
    },
    code: 69,
    message: /server certificate sha256:/,
  },
];

for (const c of CASES) {
  Deno.test(`sstp connect refuses ${c.name} with the right message and exit code`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "sstp-cert-" });
    const made = await c.make(dir);
    const listener = await listenTls({
      hostname: HOST,
      port: 0,
      certPem: made.certPem,
      keyPem: made.keyPem,
    });
    // Accept and close connections (a TLS server that does not speak SSTP).
    const accepting = (async () => {
      for await (const conn of listener) conn.close();
    })();
    try {
      const client = new SstpProcess([
        "connect",
        `${HOST}:${listener.addrs[0]!.port}`,
        "--user",
        "u",
        "--name",
        "sstp-cert0",
        "--no-reconnect",
        ...made.args,
      ], { env: { SSTP_PASSWORD: "p", SSTP_RUN_DIR: dir } });
      const status = await client.wait(30_000);
      assert.equal(status.code, c.code, client.output);
      assert.match(client.output, c.message);
    } finally {
      listener.close();
      await accepting;
      await listener.closed;
      await Deno.remove(dir, { recursive: true });
    }
  });
}
