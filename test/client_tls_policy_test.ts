/**
 * A TLS policy the server cannot meet is a configuration error, not a
 * network failure: `SstpClient` stops after the first attempt (exit 64)
 * instead of reconnecting with backoff. Against `openssl s_server` on
 * 127.0.0.1 serving one suite or one version at a time.
 */
import assert from "node:assert/strict";
import { startSServer } from "./helpers/openssl_s_server.ts";
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

/** Runs a client with `flags` against `serverArgs`; stops it after 4 s at the latest. */
async function runAgainst(
  serverArgs: string[],
  flags: string[],
): Promise<{ outcome: ClientOutcome; attempts: number; log: string }> {
  const server = await startSServer(cert, serverArgs, 5);
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
