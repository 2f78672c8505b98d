/**
 * The server's certificate handling with the real `sstp serve` and the real
 * `sstp connect` in two namespaces (see `server_fixture.ts`):
 * - mutual TLS (RouterOS `verify-client-certificate` + `ca`): a client
 *   certificate from the right CA connects and pings; none, or one from
 *   another CA, is refused with a clear message on both sides;
 * - startup warnings of the certificate, and SIGHUP: a new certificate for
 *   new connections (their crypto binding hashes the new leaf) while the
 *   running session keeps pinging; a broken one is refused, the old kept.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import type { SstpProcess } from "./helpers/sstp_process.ts";
import { createCertificateAuthority, issueCertificate } from "../lib/cert/ca.ts";
import { certificateFingerprint, formatFingerprint } from "../lib/cert/fingerprint.ts";
import { leafCertificateDer } from "../lib/cert/pem.ts";
import {
  connectProcess,
  createTopology,
  pingTunnelFromClient,
  POOL_YAML,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  SERVER_IP,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;
const DAY_MS = 86_400_000;

async function write(path: string, text: string): Promise<string> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  return path;
}

/**
 * How the server says it refused a client certificate: node:tls checks the
 * certificate after the handshake and names the reason; OpenSSL (the
 * openssl-worker engine) fails the handshake itself.
 */
const MTLS_ENGINES = [
  {
    engine: "deno",
    noCertificate: /refused: the client sent no certificate/,
    foreign:
      /refused: client certificate CN=intruder \(issuer CN=another CA\) does not chain to the configured ca/,
  },
  {
    engine: "openssl-worker",
    noCertificate: /TLS handshake with 198\.18\.1\.2:\d+ failed/,
    foreign: /TLS handshake with 198\.18\.1\.2:\d+ failed/,
  },
] as const;

for (const m of MTLS_ENGINES) {
  Deno.test({
    name:
      `sstp serve --tls-engine ${m.engine} with verify-client-certificate: right CA connects, none or another CA refused`,
    ignore,
  }, () => mutualTls(m));
}

async function mutualTls(m: (typeof MTLS_ENGINES)[number]): Promise<void> {
  await using t = await createTopology();
  const ca = await createCertificateAuthority({ commonName: "sstp mtls CA" });
  const otherCa = await createCertificateAuthority({ commonName: "another CA" });
  const server = await issueCertificate({
    issuer: ca,
    commonName: SERVER_IP,
    ipAddresses: [SERVER_IP],
    usage: "server",
  });
  const good = await issueCertificate({ issuer: ca, commonName: "router1", usage: "client" });
  const foreign = await issueCertificate({
    issuer: otherCa,
    commonName: "intruder",
    usage: "client",
  });
  const d = t.dir;
  const caPath = await write(`${d}/ca.pem`, ca.certPem);
  const serverPath = await write(`${d}/mtls-server.pem`, server.certPem + server.keyPem);
  const config = await writeConfig(t, POOL_YAML + "secrets:\n  - { name: real, password: pw }\n", {
    certificate: serverPath,
    "verify-client-certificate": "yes",
    ca: caPath,
  });
  await using serve = await ServeProcess.start(t.server, [
    ...["--config", config, "--tls-engine", m.engine],
  ]);
  const trust = ["--ca", caPath];

  // A certificate from the server's CA: connects and pings.
  const ok = connectProcess(t, "sstp-mtls1", [
    ...trust,
    "--certificate",
    await write(`${d}/good.pem`, good.certPem),
    "--certificate-key",
    await write(`${d}/good.key`, good.keyPem),
  ]);
  try {
    await waitTunnelUp(t, "sstp-mtls1");
    await pingTunnelFromClient(t);
  } finally {
    ok.kill("SIGTERM");
    assert.equal((await ok.wait(15_000)).code, 0, ok.output);
  }

  // No certificate: the server logs why, the client exits non-zero and says what to do.
  const none = connectProcess(t, "sstp-mtls2", trust);
  const noneStatus = await none.wait(30_000);
  assert.notEqual(noneStatus.code, 0, none.output);
  assert.match(none.output, /set certificate and certificate-key/);
  await serve.waitFor(m.noCertificate);

  // Another CA: exit 66 with "Server refused our client certificate".
  const bad = connectProcess(t, "sstp-mtls3", [
    ...trust,
    "--certificate",
    await write(`${d}/foreign.pem`, foreign.certPem + foreign.keyPem),
  ]);
  const badStatus = await bad.wait(30_000);
  assert.equal(badStatus.code, 66, bad.output);
  assert.match(bad.output, /Server refused our client certificate .*foreign\.pem/);
  await serve.waitFor(m.foreign);
  assert.doesNotMatch(await t.client.run(["ip", "-br", "link"]), /sstp-mtls/);
  assert.equal(await serve.stop(), 0);
}

Deno.test({
  name:
    "sstp serve warns about its certificate and takes a new one on SIGHUP without dropping sessions",
  ignore,
}, async () => {
  await using t = await createTopology();
  const ca = await createCertificateAuthority({ commonName: "sstp reload CA" });
  // Expires in 10 days, ECDSA, and not for the configured host-name.
  const first = await issueCertificate({
    issuer: ca,
    commonName: SERVER_IP,
    ipAddresses: [SERVER_IP],
    usage: "server",
    keyType: "ecdsa-p256",
    notAfter: new Date(Date.now() + 10 * DAY_MS + 3_600_000),
  });
  const second = await issueCertificate({
    issuer: ca,
    commonName: SERVER_IP,
    dnsNames: ["vpn.example.test"],
    ipAddresses: [SERVER_IP],
    usage: "server",
  });
  const pemPath = `${t.dir}/rotating.pem`;
  // A chain file: leaf, then the CA. The crypto binding must hash the leaf.
  await write(pemPath, first.certPem + ca.certPem + first.keyPem);
  const config = await writeConfig(t, POOL_YAML + "secrets:\n  - { name: real, password: pw }\n", {
    certificate: pemPath,
    "host-name": "vpn.example.test",
  });
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  for (
    const re of [
      /warn .*certificate expires in 10 days/,
      /warn .*certificate is not valid for "vpn\.example\.test"/,
      /warn .*ECDSA.*Windows 10 SSTP clients need an RSA certificate/,
    ]
  ) {
    await serve.waitFor(re);
  }
  const pin = (pem: string) =>
    formatFingerprint(certificateFingerprint(leafCertificateDer(pem)), "sha256");

  const before = connectProcess(t, "sstp-rot1", ["--server-fingerprint", pin(first.certPem)]);
  let after: SstpProcess | undefined;
  try {
    await waitTunnelUp(t, "sstp-rot1");
    await pingTunnelFromClient(t);

    // Rotate: a new certificate for new connections.
    await write(pemPath, second.certPem + ca.certPem + second.keyPem);
    serve.kill("SIGHUP");
    await serve.waitFor(/certificate reloaded: sha256:.*1 sessions keep theirs/);
    after = connectProcess(t, "sstp-rot2", ["--server-fingerprint", pin(second.certPem)]);
    await waitTunnelUp(t, "sstp-rot2");
    // The old session still runs (its interface is still up and pings).
    await pingTunnelFromClient(t);
    assert.match(await t.client.run(["ip", "-br", "addr"]), /sstp-rot1 .*198\.19\.0\.\d+ peer/);

    // A broken file (key of another certificate): refused, the running one kept.
    await write(pemPath, first.certPem + second.keyPem);
    serve.kill("SIGHUP");
    await serve.waitFor(/SIGHUP: keeping the running certificate sha256:.*does not belong/);
    const again = connectProcess(t, "sstp-rot3", ["--server-fingerprint", pin(second.certPem)]);
    try {
      await waitTunnelUp(t, "sstp-rot3");
    } finally {
      again.kill("SIGTERM");
      assert.equal((await again.wait(15_000)).code, 0, again.output);
    }
  } finally {
    before.kill("SIGTERM");
    after?.kill("SIGTERM");
    assert.equal((await before.wait(15_000)).code, 0, before.output);
    if (after) assert.equal((await after.wait(15_000)).code, 0, after.output);
  }
  assert.equal(await serve.stop(), 0);
});
