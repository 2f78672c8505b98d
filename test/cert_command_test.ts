/**
 * `sstp cert` end to end in a temporary directory, cross-checked with the
 * openssl command line.
 */
import assert from "node:assert/strict";
import { main } from "../lib/commands/cert.ts";
import type { CommandContext } from "../lib/command_context.ts";
import type { Platform } from "../lib/platform.ts";

interface Run {
  code: number;
  out: string;
  err: string;
}

async function sstpCert(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CommandContext = {
    // `sstp cert` never touches the platform.
    platform: {} as Platform,
    print: (line) => out.push(line),
    printError: (line) => err.push(line),
    env: {},
    onSignal: () => () => {},
  };
  const code = await main(argv, ctx);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Splits a command line at spaces (no argument here holds one). */
function words(line: string): string[] {
  return line.split(" ");
}

async function openssl(cwd: string, ...args: string[]): Promise<{ ok: boolean; text: string }> {
  const output = await new Deno.Command("openssl", { args, cwd }).output();
  const decoder = new TextDecoder();
  return {
    ok: output.success,
    text: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sstp_cert_cmd_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sstp cert ca/server/client: openssl verifies them; keys are 0600; the server SAN holds the CN", async () => {
  await withDir(async (d) => {
    const ca = await sstpCert("ca", "--cn", "Office CA", "--out", `${d}/ca.pem`);
    assert.equal(ca.code, 0, ca.err);
    assert.equal((await Deno.stat(`${d}/ca.key`)).mode! & 0o777, 0o600);
    const server = await sstpCert(
      ...words(
        `server --ca ${d}/ca.pem --cn vpn.example.test --dns alt.example.test --ip 192.0.2.10 --key-type rsa3072 --days 90 --out ${d}/server.pem`,
      ),
    );
    assert.equal(server.code, 0, server.err);
    assert.match(server.out, /expires in (89|90) days/);
    const client = await sstpCert(
      ...words(
        `client --ca ${d}/ca.pem --cn router2 --key-type ecdsa-p384 --out ${d}/router2.pem --key-out ${d}/secret/router2.key`,
      ),
    );
    // The key directory does not exist: the command fails cleanly.
    assert.equal(client.code, 1);
    assert.match(client.err, /No such file|not found/i);
    // The key is written first, so no certificate without its key is left behind.
    assert.equal(await Deno.stat(`${d}/router2.pem`).then(() => true, () => false), false);
    const client2 = await sstpCert(
      ...words(`client --ca ${d}/ca.pem --cn router2 --key-type ecdsa-p384 --out ${d}/router2.pem`),
    );
    assert.equal(client2.code, 0, client2.err);
    for (const key of ["server.key", "router2.key"]) {
      assert.equal((await Deno.stat(`${d}/${key}`)).mode! & 0o777, 0o600, key);
      assert.equal((await Deno.stat(`${d}/${key.replace(".key", ".pem")}`)).mode! & 0o777, 0o644);
    }
    const v1 = await openssl(d, ...words(`verify -CAfile ca.pem -purpose sslserver server.pem`));
    assert.ok(v1.ok && /server\.pem: OK/.test(v1.text), v1.text);
    const v2 = await openssl(d, ...words(`verify -CAfile ca.pem -purpose sslclient router2.pem`));
    assert.ok(v2.ok && /router2\.pem: OK/.test(v2.text), v2.text);
    const text = (await openssl(d, "x509", "-in", "server.pem", "-noout", "-text")).text;
    assert.match(text, /DNS:vpn\.example\.test, DNS:alt\.example\.test, IP Address:192\.0\.2\.10/);
    assert.match(text, /TLS Web Server Authentication/);
    assert.match(text, /Public-Key: \(3072 bit\)/);
    assert.match((await openssl(d, "x509", "-in", "router2.pem", "-noout", "-text")).text, /P-384/);
    // Key and certificate belong together.
    assert.equal(
      (await openssl(d, "pkey", "-in", "server.key", "-pubout")).text,
      (await openssl(d, "x509", "-in", "server.pem", "-noout", "-pubkey")).text,
    );
  });
});

Deno.test("sstp cert refuses short keys, warns about weak RSA and never overwrites without --force", async () => {
  await withDir(async (d) => {
    assert.equal(
      (await sstpCert("ca", "--out", `${d}/ca.pem`, "--key-type", "ecdsa-p256")).code,
      0,
    );
    const short = await sstpCert(
      ...words(`client --ca ${d}/ca.pem --cn x --key-type rsa464 --out ${d}/x.pem`),
    );
    assert.equal(short.code, 64);
    assert.match(short.err, /RSA 464 bits is shorter than the 472-bit minimum/);
    assert.equal(await Deno.stat(`${d}/x.pem`).then(() => true, () => false), false);
    const weak = await sstpCert(
      ...words(`client --ca ${d}/ca.pem --cn x --key-type 1024 --out ${d}/x.pem`),
    );
    assert.equal(weak.code, 0, weak.err);
    assert.match(weak.err, /warning: RSA 1024 bits is weak/);
    assert.match(weak.out, /RSA 1024 bits/);
    // Existing files stay untouched without --force.
    const before = await Deno.readTextFile(`${d}/x.pem`);
    const again = await sstpCert(...words(`client --ca ${d}/ca.pem --cn y --out ${d}/x.pem`));
    assert.equal(again.code, 64);
    assert.match(again.err, /x\.pem exists; use --force/);
    assert.equal(await Deno.readTextFile(`${d}/x.pem`), before);
    // --force replaces a key that had become world-readable with a 0600 one.
    await Deno.chmod(`${d}/x.key`, 0o644);
    const forced = await sstpCert(
      ...words(`client --ca ${d}/ca.pem --cn y --out ${d}/x.pem --force`),
    );
    assert.equal(forced.code, 0, forced.err);
    assert.notEqual(await Deno.readTextFile(`${d}/x.pem`), before);
    assert.equal((await Deno.stat(`${d}/x.key`)).mode! & 0o777, 0o600);
    // Usage errors.
    assert.equal((await sstpCert("server", "--ca", `${d}/ca.pem`)).code, 64); // no --cn
    assert.equal((await sstpCert("server", "--cn", "a")).code, 64); // no --ca
    assert.equal((await sstpCert("ca", "--bogus")).code, 64);
    assert.equal((await sstpCert("frobnicate")).code, 64);
    assert.equal((await sstpCert("ca", "--days", "0", "--out", `${d}/c2.pem`)).code, 64);
    assert.equal((await sstpCert("ca", "--key-type", "dsa", "--out", `${d}/c2.pem`)).code, 64);
  });
});

Deno.test("sstp cert show prints what openssl sees, as text and JSON", async () => {
  await withDir(async (d) => {
    await sstpCert("ca", "--out", `${d}/ca.pem`, "--key-type", "ecdsa-p256");
    await sstpCert(
      ...words(
        `server --ca ${d}/ca.pem --cn 10.0.0.1 --dns gw.test --days 30 --out ${d}/s.pem --key-type ecdsa-p256`,
      ),
    );
    const fingerprint = async (algorithm: string) =>
      (await openssl(d, "x509", "-in", "s.pem", "-noout", "-fingerprint", `-${algorithm}`)).text
        .trim().split("=")[1]?.replaceAll(":", "");
    const serial = (await openssl(d, "x509", "-in", "s.pem", "-noout", "-serial")).text.trim()
      .split("=")[1]?.toLowerCase();
    const shown = await sstpCert("show", `${d}/s.pem`);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /^subject {5}CN=10\.0\.0\.1$/m);
    assert.match(shown.out, /^issuer {6}CN=sstp CA$/m);
    assert.match(shown.out, /\(expires in 29 days\)/);
    assert.match(shown.out, /^san {9}DNS:gw\.test, IP:10\.0\.0\.1$/m);
    assert.match(shown.out, /^eku {9}serverAuth$/m);
    assert.match(shown.out, /^key {9}ECDSA P-256$/m);
    assert.ok(shown.out.includes(`sha1        sha1:${await fingerprint("sha1")}`), shown.out);
    assert.ok(shown.out.includes(`sha256      sha256:${await fingerprint("sha256")}`), shown.out);
    const json = await sstpCert("show", "--json", `${d}/s.pem`, `${d}/ca.pem`);
    const [leaf, ca] = JSON.parse(json.out);
    assert.equal(leaf.serialNumber.replace(/^0+/, ""), serial?.replace(/^0+/, ""));
    assert.equal(leaf.expiresInDays, 29);
    assert.deepEqual(leaf.ipAddresses, ["10.0.0.1"]);
    assert.deepEqual(leaf.key, { type: "ECDSA", bits: 256, curve: "P-256" });
    assert.equal(ca.isCa, true);
    assert.equal(ca.selfIssued, true);
    // A DER file works as well.
    await openssl(d, "x509", "-in", "s.pem", "-outform", "DER", "-out", "s.der");
    assert.match((await sstpCert("show", `${d}/s.der`)).out, /sha256 {6}sha256:/);
    assert.equal((await sstpCert("show", `${d}/ca.key`)).code, 64);
    assert.equal((await sstpCert("show")).code, 64);
  });
});

Deno.test("sstp cert crl: openssl verifies the CRL and refuses the revoked certificate", async () => {
  await withDir(async (d) => {
    await sstpCert("ca", "--out", `${d}/ca.pem`);
    await sstpCert("client", "--ca", `${d}/ca.pem`, "--cn", "lost", "--out", `${d}/lost.pem`);
    await sstpCert("client", "--ca", `${d}/ca.pem`, "--cn", "kept", "--out", `${d}/kept.pem`);
    const crl = await sstpCert(
      ...words(
        `crl --ca ${d}/ca.pem --revoke-cert ${d}/lost.pem --revoke 1f:2e,0x3d --days 7 --out ${d}/crl.pem`,
      ),
    );
    assert.equal(crl.code, 0, crl.err);
    assert.match(crl.out, /3 revoked/);
    const verified = await openssl(
      d,
      ...words(`crl -in crl.pem -CAfile ca.pem -noout -verify -text`),
    );
    assert.ok(verified.ok && /verify OK/.test(verified.text), verified.text);
    assert.match(verified.text, /Serial Number: 1F2E/);
    assert.match(verified.text, /Serial Number: 3D/);
    await Deno.writeTextFile(
      `${d}/bundle.pem`,
      (await Deno.readTextFile(`${d}/ca.pem`)) + (await Deno.readTextFile(`${d}/crl.pem`)),
    );
    const lost = await openssl(d, "verify", "-crl_check", "-CAfile", "bundle.pem", "lost.pem");
    assert.equal(lost.ok, false);
    assert.match(lost.text, /certificate revoked/);
    const kept = await openssl(d, "verify", "-crl_check", "-CAfile", "bundle.pem", "kept.pem");
    assert.ok(kept.ok, kept.text);
    const shown = await sstpCert("show", `${d}/crl.pem`);
    assert.match(shown.out, /^revoked {6}3$/m);
    assert.match(shown.out, /\(current\)/);
    // The CA key must be the CA's own.
    await sstpCert("ca", "--out", `${d}/other.pem`);
    const mismatched = await sstpCert(
      ...words(`crl --ca ${d}/ca.pem --ca-key ${d}/other.key --out ${d}/bad.pem`),
    );
    assert.equal(mismatched.code, 64);
    assert.match(mismatched.err, /CA key does not belong to CN=sstp CA/);
    // A leaf cannot issue CRLs.
    const leafCa = await sstpCert("crl", "--ca", `${d}/kept.pem`, "--out", `${d}/bad.pem`);
    assert.equal(leafCa.code, 64);
    assert.match(leafCa.err, /is not a CA/);
  });
});

Deno.test("sstp cert server signs with an openssl-made CA whose key is PKCS#1", async () => {
  await withDir(async (d) => {
    const made = await openssl(
      d,
      ...words("req -x509 -newkey rsa:2048 -nodes -keyout k8.pem -out ca.pem -days 5 -subj"),
      "/O=Example/CN=Example Root",
    );
    assert.ok(made.ok, made.text);
    assert.ok((await openssl(d, "pkey", "-in", "k8.pem", "-traditional", "-out", "ca.key")).ok);
    assert.match(await Deno.readTextFile(`${d}/ca.key`), /BEGIN RSA PRIVATE KEY/);
    const server = await sstpCert(
      ...words(`server --ca ${d}/ca.pem --cn vpn.test --out ${d}/s.pem`),
    );
    assert.equal(server.code, 0, server.err);
    assert.match(
      server.out,
      /^issuer {6}CN=Example Root, O=Example$|^issuer {6}O=Example, CN=Example Root$/m,
    );
    const v = await openssl(d, "verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "s.pem");
    assert.ok(v.ok, v.text);
  });
});

Deno.test("sstp cert ca --ca makes an intermediate that openssl chains to the root", async () => {
  await withDir(async (d) => {
    assert.equal((await sstpCert("ca", "--cn", "Root", "--out", `${d}/root.pem`)).code, 0);
    const made = await sstpCert(
      ...words(`ca --cn Issuing --ca ${d}/root.pem --out ${d}/int.pem --key-type ecdsa-p256`),
    );
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, /^issuer {6}CN=Root$/m);
    await sstpCert("server", "--ca", `${d}/int.pem`, "--cn", "vpn.test", "--out", `${d}/s.pem`);
    const chained = await openssl(
      d,
      ...words(`verify -CAfile root.pem -untrusted int.pem -purpose sslserver s.pem`),
    );
    assert.ok(chained.ok && /s\.pem: OK/.test(chained.text), chained.text);
    const alone = await openssl(d, "verify", "-CAfile", "root.pem", "s.pem");
    assert.equal(alone.ok, false);
  });
});
