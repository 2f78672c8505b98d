/**
 * `sstp serve` started into a connection flood that takes every file
 * descriptor (topology: server_fixture.ts): the flood dials before the
 * server listens and holds what it gets. With either TLS engine the server
 * logs the shortage, survives it and lets a client in once the flood ends
 * (the OpenSSL engine's accept loop used to end at the first EMFILE, so it
 * never accepted again), and its control socket answers (it used to stay
 * away when the flood had its descriptor at start). That its signal listeners are set up before it
 * listens, which a flood at start-up made Deno abort on, is checked
 * deterministically by test/serve_signals_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  connectClient,
  createTopology,
  POOL_YAML,
  PORT,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  SERVER_IP,
  type Topology,
  writeConfig,
} from "./server_fixture.ts";
import type { TestClient } from "./helpers/test_client.ts";
import { controlRequest } from "../lib/control/control_client.ts";

/** Limits high enough that one address can take every descriptor; one user. */
const BODY = "  max-handshakes: 1000\n  max-handshakes-per-source: 1000\n" + POOL_YAML +
  "secrets:\n  - { name: real, password: r }\n";
/** Parallel dialers of the flood, and the connections it holds at most. */
const DIALERS = 8;
const MAX_HELD = 160;

/** Dials the server from the client namespace until stopped (bounded in count and time). */
function flood(t: Topology): { held: Deno.TcpConn[]; stop(): Promise<void> } {
  const held: Deno.TcpConn[] = [];
  let running = true;
  const t0 = performance.now();
  const dialer = async () => {
    while (running && held.length < MAX_HELD && performance.now() - t0 < 30_000) {
      try {
        const p = t.client.enter(() => ({
          p: Deno.connect({ hostname: SERVER_IP, port: PORT }),
        })).p;
        held.push(await p);
      } catch {
        // Not listening yet, or reset: dial again shortly.
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  };
  const dialers = Array.from({ length: DIALERS }, dialer);
  return {
    held,
    async stop() {
      running = false;
      await Promise.all(dialers);
      for (const c of held.splice(0)) c.close();
    },
  };
}

/** A client that logs in within a few bounded attempts (the first may meet a reset queue). */
async function loginWithRetries(t: Topology, serve: ServeProcess): Promise<TestClient> {
  const failures: string[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    const login = connectClient(t, "real", "r");
    const outcome = await Promise.race([
      login.then((client) => ({ client }), (e) => ({ error: String(e) })),
      new Promise<{ error: string }>((r) =>
        setTimeout(() => r({ error: "no login in 3 s" }), 3000)
      ),
    ]);
    if ("client" in outcome) return outcome.client;
    // A late login is closed at once.
    login.then((late) => late.close(), () => {});
    failures.push(outcome.error);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no login: ${failures.join("; ")}\n${serve.lines.join("\n")}`);
}

/** Sessions `sstp status` would list, asked on the control socket (retried for 5 s). */
async function sessionsByControlSocket(t: Topology): Promise<number> {
  let last = "";
  for (let i = 0; i < 25; i++) {
    try {
      const reply = await controlRequest(`${t.dir}/control/sstp-server.sock`, { op: "status" });
      return Array.isArray(reply.sessions) ? reply.sessions.length : -1;
    } catch (e) {
      last = String(e);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no answer on the control socket: ${last}`);
}

for (const engine of ["node:tls", "openssl"]) {
  Deno.test({
    name: `sstp serve (${engine}) started into a flood that takes every descriptor survives ` +
      "and lets a client in once it ends",
    ignore: SERVE_NETNS_IGNORE,
    sanitizeResources: false,
    sanitizeOps: false,
  }, async () => {
    await using t = await createTopology();
    const config = await writeConfig(t, BODY);
    const dialing = flood(t);
    let serve: ServeProcess | undefined;
    try {
      serve = await ServeProcess.start(
        t.server,
        [...(engine === "openssl" ? ["--tls-engine", "openssl"] : []), "--config", config],
        false,
        { nofile: 96 },
      );
      await serve.waitFor(/no file descriptor left/, 10_000);
      // Held a moment at the limit, past the server's start-up.
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await dialing.stop();
    }
    try {
      const exited = await Promise.race([
        serve.status.then((s) => `exited with ${s.code}`),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000)),
      ]);
      assert.equal(exited, undefined, serve.lines.join("\n"));
      const c = await loginWithRetries(t, serve);
      try {
        await c.linkUp;
        // The control socket too, though the flood had its descriptor at start.
        assert.equal(await sessionsByControlSocket(t), 1, serve.lines.join("\n"));
      } finally {
        await c.close();
      }
      assert.equal(await serve.stop(), 0, serve.lines.join("\n"));
    } finally {
      await serve.stop();
    }
  });
}
