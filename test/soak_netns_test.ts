/**
 * Soak: one `sstp serve` takes a thousand connect/disconnect cycles that end
 * every way a session can end (Call Disconnect, TCP reset, a client that
 * vanishes, a wrong password; and real `sstp connect` processes killed with
 * SIGKILL, reset with `ss -K`, or stopped with SIGTERM), then its open fds,
 * TUN devices, routes, sessions and pool are back to where they were and its
 * RSS is within a small bound of it.
 *
 * ```
 *  netns A (soak driver, 198.18.1.2) ── veth ── netns S (sstp serve 198.18.1.1, 198.18.2.1:4433)
 *  netns B (real sstp connect, 198.18.2.2) ── veth ──┘      pool 198.19.0.10-29 (20 addresses)
 * ```
 *
 * The pool is small on purpose: a session that kept its address would
 * exhaust it within the first hundred cycles and fail the rest. The cycle
 * count is `SSTP_SOAK_CYCLES` (default 1000: ~90 s on a 2-core machine
 * shared with the rest of the suite). The cycles get `SSTP_SOAK_SECONDS`
 * (default 90); on a machine too slow for all of them in that time, the ones
 * that fit run (at least 300, or the test fails) and the count is printed.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import assert from "node:assert/strict";
import { createNetns, type Netns, netnsTestIgnore } from "./helpers/netns.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import { controlRequest } from "../lib/control/control_client.ts";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import { createTopology, PORT, ServeProcess, SERVER_IP, TUNNEL_LOCAL } from "./server_fixture.ts";
import type { SoakResult } from "./soak/soak_client.ts";

const ignore = netnsTestIgnore("soak netns test");
const DRIVER = new URL("./soak/soak_client.ts", import.meta.url).pathname;
const CYCLES = Number(Deno.env.get("SSTP_SOAK_CYCLES") ?? "1000");
const B_SERVER = "198.18.2.1";
const B_CLIENT = "198.18.2.2";
/** V8 old-space cap of the server under test, MiB. */
const HEAP_CAP_MIB = 40;
/** Time the cycles may take; on a slow machine fewer than `CYCLES` run. */
const BUDGET_S = Number(Deno.env.get("SSTP_SOAK_SECONDS") ?? "90");
/**
 * Fewest cycles that must run within the budget: fifteen times the pool,
 * so a leak of one address in fifteen sessions still fails cycles.
 */
const MIN_CYCLES = 300;
/**
 * RSS may end at most this much above its warmed-up baseline. Measured: a
 * capped server grows ~14 MiB over 1000 cycles (native: TLS session cache,
 * allocator), then levels off.
 */
const RSS_SLACK_KIB = 40 * 1024;

interface Snapshot {
  fds: number;
  rssKib: number;
  links: string[];
  routes: string;
  sessions: number;
}

function fdCount(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

function rssKib(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return Number(m?.[1] ?? NaN);
}

async function sessionCount(socket: string): Promise<number> {
  const reply = await controlRequest(socket, { op: "status" });
  return (reply.sessions as unknown[]).length;
}

async function tunnelLinks(ns: Netns): Promise<string[]> {
  const out = await ns.run(["ip", "-br", "link"]);
  return out.split("\n").filter((l) => /^sstp-/.test(l)).map((l) => l.split(/\s+/)[0]!);
}

async function snapshot(ns: Netns, pid: number, socket: string): Promise<Snapshot> {
  return {
    fds: fdCount(pid),
    rssKib: rssKib(pid),
    links: await tunnelLinks(ns),
    routes: await ns.run(["ip", "route", "show"]),
    sessions: await sessionCount(socket),
  };
}

async function runDriver(
  ns: Netns,
  cycles: number,
  fingerprint: string,
  extra: string[] = [],
): Promise<SoakResult> {
  const out = await ns.exec([
    "env",
    "SSTP_PASSWORD=soak-pw",
    Deno.execPath(),
    "run",
    "-A",
    DRIVER,
    "--connect-to",
    SERVER_IP,
    "--port",
    String(PORT),
    "--user",
    "soak",
    "--fingerprint",
    fingerprint,
    "--cycles",
    String(cycles),
    "--concurrency",
    "6",
    "--deadline-seconds",
    String(BUDGET_S),
    ...extra,
  ], { timeoutMs: 150_000 });
  const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line, `soak driver printed no RESULT (exit ${out.code}):\n${out.stdout}${out.stderr}`);
  return JSON.parse(line.slice(7)) as SoakResult;
}

/** Real `sstp connect` processes in namespace B, each ended a different hard way. */
async function realClientCycles(b: Netns, fingerprint: string, count: number): Promise<string[]> {
  const problems: string[] = [];
  const endings = ["SIGKILL", "reset", "SIGTERM"] as const;
  for (let i = 0; i < count; i++) {
    const ending = endings[i % endings.length]!;
    const name = `sstp-sk${i}`;
    const client = new SstpProcess([
      "connect",
      B_SERVER,
      "--port",
      String(PORT),
      "--user",
      "soak",
      "--server-fingerprint",
      fingerprint,
      "--verify-server-address-from-certificate",
      "no",
      "--name",
      name,
      "--reconnect",
      "no",
    ], { netns: b.name, env: { SSTP_PASSWORD: "soak-pw" } });
    try {
      await client.waitFor(/ up: /, 30_000);
      if (ending === "reset") {
        await b.run(["ss", "-K", "-t", "dst", B_SERVER, "dport", "=", `:${PORT}`]);
      } else client.kill(ending);
      const status = await client.wait(15_000);
      const expected = ending === "SIGKILL" ? null : ending === "reset" ? 69 : 0;
      if (expected !== null && status.code !== expected) {
        problems.push(`${ending}: exit ${status.code}, expected ${expected}:\n${client.output}`);
      }
      if (ending === "SIGKILL" && status.signal !== "SIGKILL") {
        problems.push(`SIGKILL: ended with ${status.code}/${status.signal}`);
      }
    } catch (e) {
      problems.push(`${ending}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      client.kill("SIGKILL");
      await client.wait(5000);
    }
  }
  return problems;
}

Deno.test({
  name:
    `soak: ${CYCLES} mixed connect/disconnect cycles leave the server's fds, TUN devices, routes, pool and RSS at baseline`,
  ignore,
}, async () => {
  await using t = await createTopology();
  await using b = await createNetns({ prefix: "sstp-b" });
  await t.server.run(["ip", "link", "add", "v-srv-b", "type", "veth", "peer", "v-cli-b"]);
  await t.server.run(["ip", "link", "set", "v-cli-b", "netns", b.name]);
  await t.server.run(["ip", "addr", "add", `${B_SERVER}/24`, "dev", "v-srv-b"]);
  await t.server.run(["ip", "link", "set", "v-srv-b", "up"]);
  await b.run(["ip", "addr", "add", `${B_CLIENT}/24`, "dev", "v-cli-b"]);
  await b.run(["ip", "link", "set", "v-cli-b", "up"]);

  const socket = `${t.dir}/control/sstp-server.sock`;
  const config = `${t.dir}/sstp.yaml`;
  await Deno.writeTextFile(
    config,
    `sstp-server:
  certificate: ${t.pemPath}
  port: ${PORT}
  listen: [${SERVER_IP}, ${B_SERVER}]
  state-dir: ${t.dir}/state
  control-socket: ${socket}
  authentication: mschap2
  # One source fails a login every fourth cycle on purpose: login throttling
  # would rightly block it, which is not what this test measures.
  auth-throttle: no
  # 20 sessions log in at once from one address at the end (the pool check),
  # as many users behind one NAT would.
  max-handshakes-per-source: 64
  max-unauthenticated-per-source: 64
profiles:
  - { name: default, local-address: ${TUNNEL_LOCAL}, remote-address: pool1 }
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.29 }
secrets:
  - { name: soak, password: soak-pw }
`,
    { mode: 0o600 },
  );
  // The server's JS heap is capped: V8 otherwise lets garbage pile up to
  // well over 100 MiB before collecting, which hides a real leak in RSS
  // noise. With the cap, memory kept per session makes the server fail (or
  // its RSS climb past the bound) long before 1000 cycles.
  await using serve = await ServeProcess.start(t.server, ["--config", config], false, {
    env: { DENO_V8_FLAGS: `--max-old-space-size=${HEAP_CAP_MIB}` },
  });
  const pid = serve.pid;
  assert.match(Deno.readTextFileSync(`/proc/${pid}/comm`), /deno/);
  const fingerprint = formatFingerprint(t.fingerprint, "sha256");
  const settled = (what: string) =>
    waitUntil(async () => (await sessionCount(socket)) === 0, 20_000, `${what}: sessions end`);

  // Warm-up: every code path has run once, so lazily loaded code and
  // first-use buffers are part of the baseline.
  const warm = await runDriver(t.client, 24, fingerprint);
  assert.deepEqual(warm.unexpected, {}, "warm-up cycles");
  assert.deepEqual(await realClientCycles(b, fingerprint, 3), []);
  await settled("warm-up");
  const bLinks = await tunnelLinks(b);
  const bRoutes = await b.run(["ip", "route", "show"]);
  await new Promise((r) => setTimeout(r, 500));
  const base = await snapshot(t.server, pid, socket);
  assert.equal(base.sessions, 0);
  assert.deepEqual(base.links, []);

  const [soak, realProblems] = await Promise.all([
    runDriver(t.client, CYCLES, fingerprint),
    realClientCycles(b, fingerprint, 9),
  ]);
  assert.deepEqual(realProblems, [], "real sstp connect cycles");
  assert.deepEqual(soak.unexpected, {}, `soak cycles (${JSON.stringify(soak)})`);
  const done = Object.values(soak.ok).reduce((a, n) => a + n, 0);
  assert.equal(done, soak.cycles, JSON.stringify(soak));
  assert.ok(
    done >= Math.min(CYCLES, MIN_CYCLES),
    `only ${done} of ${CYCLES} cycles ran within ${BUDGET_S} s: ${JSON.stringify(soak)}`,
  );

  await settled("soak");
  // Sockets and devices are released as their sessions end; give the event
  // loop a moment to close the last ones, then compare.
  await waitUntil(() => Promise.resolve(fdCount(pid) <= base.fds), 10_000, "fds back to baseline")
    .catch(() => {});
  const end = await snapshot(t.server, pid, socket);
  assert.equal(end.sessions, 0, "no session left");
  assert.deepEqual(end.links, [], "no TUN device left on the server");
  assert.equal(end.routes, base.routes, "server routes as before");
  assert.equal(end.fds, base.fds, "server fds as before");
  assert.ok(
    end.rssKib - base.rssKib < RSS_SLACK_KIB,
    `server RSS ${base.rssKib} KiB -> ${end.rssKib} KiB (bound +${RSS_SLACK_KIB} KiB)`,
  );
  assert.deepEqual(await tunnelLinks(b), bLinks, "no TUN device left by killed clients");
  assert.equal(await b.run(["ip", "route", "show"]), bRoutes, "client routes as before");
  // The pool still has all 20 addresses: 20 sessions at once all get one.
  const full = await runDriver(t.client, 0, fingerprint, ["--hold", "20"]);
  assert.deepEqual(full.unexpected, {}, "20 sessions at once on the 20-address pool");
  assert.equal(full.ok.clean, 20);
  const rssEnd = rssKib(pid);
  assert.equal(await serve.stop(), 0, "server exits cleanly after the soak");
  console.log(
    `soak: ${done} of ${CYCLES} cycles in ${soak.seconds.toFixed(1)} s (${
      (done / soak.seconds).toFixed(1)
    }/s), ${
      JSON.stringify(soak.ok)
    }; fds ${base.fds}->${end.fds}, RSS ${base.rssKib}->${end.rssKib} KiB (${rssEnd} KiB after the 20-session hold)`,
  );
});
