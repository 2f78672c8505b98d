import assert from "node:assert/strict";
import { loadServerTlsFiles } from "./_pem_files.ts";
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import { parseServerConfig } from "../config/server_config.ts";

Deno.test("loadServerTlsFiles() warns when the private key file is readable by its group or others", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-pem-test-" });
  try {
    const made = await createSelfSignedServerCertificate({
      commonName: "vpn.test",
      keyType: "ecdsa-p256",
    });
    const cert = `${dir}/server.pem`;
    const key = `${dir}/server.key`;
    await Deno.writeTextFile(cert, made.certPem, { mode: 0o644 });
    await Deno.writeTextFile(key, made.keyPem, { mode: 0o600 });
    await Deno.chmod(cert, 0o644);
    await Deno.chmod(key, 0o600);
    const config = parseServerConfig(
      `sstp-server:\n  certificate: ${cert}\n  certificate-key: server.key\n  host-name: vpn.test\n`,
      `${dir}/sstp.yaml`,
    );
    const quiet = await loadServerTlsFiles(`${dir}/sstp.yaml`, config.sstpServer);
    assert.deepEqual(quiet.warnings.filter((w) => w.includes("readable")), []);

    await Deno.chmod(key, 0o640);
    const loud = await loadServerTlsFiles(`${dir}/sstp.yaml`, config.sstpServer);
    assert.deepEqual(loud.warnings.filter((w) => w.includes("readable")), [
      `${key} is readable by its group and holds a private key: chmod 600 ${key}`,
    ]);

    // The key in the certificate file itself.
    await Deno.writeTextFile(cert, made.certPem + made.keyPem);
    await Deno.chmod(cert, 0o604);
    const inOne = parseServerConfig(
      `sstp-server:\n  certificate: ${cert}\n  host-name: vpn.test\n`,
      `${dir}/sstp.yaml`,
    );
    const both = await loadServerTlsFiles(`${dir}/sstp.yaml`, inOne.sstpServer);
    assert.deepEqual(both.warnings.filter((w) => w.includes("readable")), [
      `${cert} is readable by other users and holds a private key: chmod 600 ${cert}`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
