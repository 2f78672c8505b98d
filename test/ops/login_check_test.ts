/**
 * The `doctor --login` probe over an in-memory connection to a real server
 * engine and runner: a good login, a wrong password, and a server whose
 * certificate hash differs from the one the client binds to (as through a
 * TLS-inspecting proxy), which aborts the call after Call Connected.
 */
import assert from "node:assert/strict";
import { createClientEngine } from "../../lib/tunnel/client_engine.ts";
import { createServerEngine } from "../../lib/tunnel/server_engine.ts";
import { certHashes } from "../../lib/sstp/crypto_binding.ts";
import { TunnelRunner } from "../../lib/pipeline/runner.ts";
import { systemClock } from "../../lib/clock.ts";
import { NOOP_LOGGER } from "../../lib/log.ts";
import { loginReport, type Observed, runLoginProbe } from "../../lib/ops/doctor/login_check.ts";
import { formatCheck } from "../../lib/ops/doctor/checks.ts";
import { memoryDuplexPair } from "../helpers/memory_duplex.ts";
import { MemoryTun } from "../helpers/memory_tun.ts";
import { seededRandomBytes } from "../helpers/xorshift.ts";

const CERT = new TextEncoder().encode("the server's certificate");
const OTHER = new TextEncoder().encode("a proxy's certificate");

async function probe(o: { password: string; serverCert?: Uint8Array }) {
  const [c, s] = memoryDuplexPair();
  const serverTun = new MemoryTun("s0");
  const server = new TunnelRunner({
    engine: createServerEngine({
      certHashes: certHashes(o.serverCert ?? CERT),
      authentication: ["mschap2"],
      lookupPassword: (u) => (u === "alice" ? "alice-pw" : undefined),
      assignAddresses: () => ({ localAddress: "198.18.7.1", peerAddress: "198.18.7.2" }),
      serverName: "srv",
      helloMs: 60_000,
      randomBytes: seededRandomBytes(4),
      logger: NOOP_LOGGER,
    }),
    transport: s,
    clock: systemClock,
    logger: NOOP_LOGGER,
    onLinkUp: () => Promise.resolve(serverTun),
  });
  const engine = createClientEngine({
    certHashes: certHashes(CERT),
    user: "alice",
    password: o.password,
    authentication: ["mschap2"],
    helloMs: null,
    randomBytes: seededRandomBytes(3),
    logger: NOOP_LOGGER,
  });
  const serverDone = server.run();
  const seen: Observed = { echoAnswered: false };
  const abort = new AbortController();
  const guard = setTimeout(() => abort.abort(), 10_000);
  try {
    const { error } = await runLoginProbe({ engine, transport: c, seen, abort });
    await serverDone;
    return { lines: loginReport("alice", engine, seen, error).map(formatCheck) };
  } finally {
    clearTimeout(guard);
    serverTun.close();
  }
}

Deno.test("login probe: authenticated, binding accepted, address, then disconnected", async () => {
  const r = await probe({ password: "alice-pw" });
  assert.deepEqual(r.lines, [
    'ok   login: "alice" authenticated with mschap2',
    "ok   crypto binding: SHA-256 binding in Call Connected accepted by the server",
    "ok   address: 198.18.7.2 peer 198.18.7.1, MTU 1500",
    "info login: disconnected; no interface, route or DNS server was set",
  ]);
});

Deno.test("login probe: a wrong password is one FAIL line with the fix", async () => {
  const r = await probe({ password: "wrong" });
  assert.equal(r.lines.length, 1, r.lines.join("\n"));
  assert.match(
    r.lines[0]!,
    /^FAIL login: "alice" refused: .*E=691.*\(fix: check user and password/,
  );
});

Deno.test("login probe: a server that refuses the crypto binding is reported as such", async () => {
  const r = await probe({ password: "alice-pw", serverCert: OTHER });
  assert.equal(r.lines[0], 'ok   login: "alice" authenticated with mschap2');
  assert.match(
    r.lines[1]!,
    /^FAIL crypto binding: the server ended the call after our SHA-256 binding: .*\(fix: a TLS-inspecting proxy/,
  );
  assert.equal(r.lines.length, 2, r.lines.join("\n"));
});
