/**
 * A TLS policy the server cannot meet is a configuration error, not a
 * network failure: `SstpClient` stops after the first attempt (exit 64)
 * instead of reconnecting with backoff. Against `openssl s_server` on
 * 127.0.0.1 serving one suite or one version at a time.
 */
import assert from "node:assert/strict";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { parseConnectOptions } from "../lib/cli/connect_args.ts";
import { classifyError, type ClientOutcome, SstpClient } from "../lib/client/sstp_client.ts";
import { createLogger } from "../lib/log.ts";
import type { Platform } from "../lib/platform.ts";
import { ProtocolError } from "../lib/errors.ts";
import { TLS_POLICY_DETAIL } from "../lib/transport/tls_policy.ts";

const cert = await createSelfSignedServerCertificate({
  commonName: "policy.test",
  ipAddresses: ["127.0.0.1"],
});

/** `openssl s_server` on a free loopback port, for up to `accepts` connections. */
async function sServer(args: string[], accepts: number) {
  const dir = await Deno.makeTempDir({ prefix: "sstp-client-tls-policy-" });
  await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      `${dir}/cert.pem`,
      "-key",
      `${dir}/key.pem`,
      "-naccept",
      String(accepts),
      "-quiet",
      ...args,
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.stdin.close().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (let i = 0;; i++) {
    const listening = Deno.readTextFileSync("/proc/net/tcp").split("\n")
      .some((l) => l.includes(`0100007F:${hex}`) && l.trim().split(/\s+/)[3] === "0A");
    if (listening) break;
    if (i > 250) {
      await stop();
      throw new Error("openssl s_server did not start listening within 5 s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop };
}

/** Runs a client with `flags` against `serverArgs`; stops it after 4 s at the latest. */
async function runAgainst(
  serverArgs: string[],
  flags: string[],
): Promise<{ outcome: ClientOutcome; attempts: number; log: string }> {
  const server = await sServer(serverArgs, 5);
  const lines: string[] = [];
  try {
    const options = await parseConnectOptions(
      [
        "127.0.0.1",
        "--port",
        String(server.port),
        "--user",
        "alice",
        "--verify-server-certificate",
        "no",
        "--reconnect",
        "yes",
        ...flags,
      ],
      { SSTP_PASSWORD: "pw" },
      (p) => Deno.readTextFileSync(p),
    );
    const client = new SstpClient(options, {
      // Never reached: the session fails in the TLS handshake, before any interface.
      platform: {} as Platform,
      logger: createLogger("debug", (_l, line) => lines.push(line)),
      readTextFile: (p) => Deno.readTextFileSync(p),
    }, { initialMs: 50, maxMs: 100, jitter: 0 });
    const guard = setTimeout(() => client.stop(), 4000);
    try {
      const outcome = await client.run();
      return { outcome, attempts: client.attempts, log: lines.join("\n") };
    } finally {
      clearTimeout(guard);
    }
  } finally {
    await server.stop();
  }
}

function messageOf(o: ClientOutcome): string {
  return o.kind === "stopped" ? "" : o.error.message;
}

Deno.test("client: a suite refused by ciphers ends the client after one attempt (tls-policy, no backoff)", async () => {
  const r = await runAgainst(
    ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
    ["--ciphers", "aes256-gcm-sha384"],
  );
  assert.equal(r.outcome.kind, "tls-policy", r.log);
  assert.equal(r.attempts, 1, r.log);
  assert.doesNotMatch(r.log, /reconnecting in/);
  assert.match(
    messageOf(r.outcome),
    /TLS suite TLS_CHACHA20_POLY1305_SHA256 is not allowed \(ciphers: aes256-gcm-sha384\)/,
  );
});

Deno.test("client: no common TLS version or suite ends the client after one attempt with the fix named", async () => {
  const version = await runAgainst(["-tls1_2"], ["--tls-version", "only-1.3"]);
  assert.equal(version.outcome.kind, "tls-policy", version.log);
  assert.equal(version.attempts, 1);
  assert.match(
    messageOf(version.outcome),
    /^Cannot agree on TLS with 127\.0\.0\.1:\d+: no TLS version both sides allow \(tls-version here: only-1\.3;.*check tls-version on both sides/,
  );
  // A server with only CBC suites (RouterOS aes256-sha): nothing this stack offers.
  const suite = await runAgainst(["-tls1_2", "-cipher", "AES256-SHA"], ["--pfs", "required"]);
  assert.equal(suite.outcome.kind, "tls-policy", suite.log);
  assert.equal(suite.attempts, 1);
  assert.match(
    messageOf(suite.outcome),
    /no cipher suite both sides allow: .*check the server's ciphers and pfs/,
  );
});

Deno.test("classifyError: TLS_POLICY detail is tls-policy, other TLS failures stay network", () => {
  const policy = new ProtocolError("tls", "NEGOTIATION_FAILED", "x", { detail: TLS_POLICY_DETAIL });
  assert.equal(classifyError(policy), "tls-policy");
  assert.equal(classifyError(new ProtocolError("tls", "TIMEOUT", "no handshake")), "network");
  assert.equal(classifyError(new Error("ECONNREFUSED")), "network");
});
