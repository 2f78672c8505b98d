/**
 * `sstp connect` and `sstp serve` as a new user meets them: configuration
 * mistakes are reported at start with the property (and line) and exit 64;
 * a listen address in use exits 71. Runs main.ts as a subprocess, on
 * loopback only, with no root needed.
 */
import assert from "node:assert/strict";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function sstp(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
    signal: AbortSignal.timeout(30_000),
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const CLIENT = ["connect", "127.0.0.1:9", "--user", "alice"];
const PASSWORD = { SSTP_PASSWORD: "pw" };

for (const key of ["ca", "certificate", "crl"]) {
  Deno.test(`sstp connect exits 64 at start when the "${key}" file is missing`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "sstp-cfg-" });
    try {
      const { code, stderr } = await sstp([...CLIENT, `--${key}`, `${dir}/missing.pem`], PASSWORD);
      assert.equal(code, 64, stderr);
      assert.match(
        stderr,
        new RegExp(`Invalid value for "${key}": cannot read "${dir}/missing.pem": no such file`),
      );
      assert.doesNotMatch(stderr, /connecting|retry|reconnect/i, "never tried the network");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("sstp connect lists every problem of its YAML file and exits 64", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-cfg-" });
  try {
    await Deno.writeTextFile(
      `${dir}/client.yaml`,
      "connect-to: 127.0.0.1:9\nuser: alice\nmax-mtu: 10\nbogus: 1\nca: nope.pem\n",
    );
    const { code, stderr } = await sstp(["connect", "--config", `${dir}/client.yaml`], PASSWORD);
    assert.equal(code, 64, stderr);
    assert.match(stderr, /Cannot use configuration ".*client\.yaml": 3 problems/);
    assert.match(stderr, /client\.yaml:3: Invalid value for "max-mtu"/);
    assert.match(stderr, /client\.yaml:4: unknown key "bogus"/);
    assert.match(stderr, /client\.yaml:5: Invalid value for "ca": cannot read ".*nope\.pem"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function serverDir(extra: string, port: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sstp-cfg-" });
  const c = await createSelfSignedServerCertificate({
    commonName: "sstp-test",
    ipAddresses: ["127.0.0.1"],
  });
  await Deno.writeTextFile(`${dir}/server.pem`, c.certPem + c.keyPem, { mode: 0o600 });
  await Deno.writeTextFile(
    `${dir}/sstp.yaml`,
    [
      "sstp-server:",
      "  listen: 127.0.0.1",
      `  port: ${port}`,
      `  state-dir: ${dir}`,
      `  control-socket: ${dir}/control.sock`,
      extra,
      "secrets:",
      "  - { name: alice, password: pw, remote-address: 198.18.200.2 }",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return dir;
}

Deno.test("sstp serve exits 64 naming the key and line of a missing certificate or ca", async () => {
  const dir = await serverDir(
    "  certificate: missing.pem\n  verify-client-certificate: yes\n  ca: /nonexistent/ca.pem",
    9,
  );
  try {
    const { code, stderr } = await sstp(["serve", "--config", `${dir}/sstp.yaml`]);
    assert.equal(code, 64, stderr);
    assert.match(stderr, /Cannot load configuration ".*sstp\.yaml": 2 problems/);
    assert.match(
      stderr,
      new RegExp(
        `sstp\\.yaml:6: sstp-server\\.certificate: cannot read "${dir}/missing\\.pem": no such file`,
      ),
    );
    assert.match(
      stderr,
      /sstp\.yaml:8: sstp-server\.ca: cannot read "\/nonexistent\/ca\.pem": no such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sstp serve exits 64 for tls: no without certificate-hash-from", async () => {
  const dir = await serverDir("  tls: no", 9);
  try {
    const { code, stderr } = await sstp(["serve", "--config", `${dir}/sstp.yaml`]);
    assert.equal(code, 64, stderr);
    assert.match(
      stderr,
      /sstp\.yaml:6: sstp-server\.certificate-hash-from: is required with tls: no/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sstp serve exits 71 when its listen address is in use", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await serverDir("  certificate: server.pem", taken.addr.port);
  try {
    const { code, stderr } = await sstp(["serve", "--config", `${dir}/sstp.yaml`]);
    assert.equal(code, 71, stderr);
    assert.match(stderr, /Cannot start the server: .*(in use|EADDRINUSE)/i);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
