// deno-lint-ignore-file no-console
/**
 * Connect time only: `sstp serve` zero-config in namespace A, then N
 * `sstp connect` processes in namespace B, one after another. Prints each
 * connect's spawn → ` up:` and first log line → ` up:` times, the medians,
 * the client's CPU time (user + system, all threads) from spawn to ` up:`,
 * which a busy machine inflates far less than the wall-clock figures, the
 * JS thread's own time on a CPU and time spent runnable but waiting for one
 * (schedstat; spawn → up minus that wait is what a machine with a free CPU
 * for the client would take, about), and (with `--trace`) every client log line of the median connect with its
 * offset from spawn, which is the per-phase profile.
 *
 *   deno run -A bench/connect_time.ts [--connects 10] [--trace] [--log-level debug]
 *                                     [--tree DIR]... [--netns-prefix sstp-ct]
 *
 * Each `--tree DIR` (a checkout, e.g. a `git worktree` of an older commit)
 * adds a client program `DIR/main.ts`; the trees take turns, connect by
 * connect, against the one server of this tree, so that a busy machine
 * slows all of them alike. Without `--tree`, this tree's main.ts is used.
 *
 * Needs root (network namespaces). Only 198.18.0.0/15 addresses are used.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createNetnsPair } from "./netns_pair.ts";
import { sstpConnectArgs, SstpServer } from "./sstp.ts";
import { SSTP_DENO_RUN_FLAGS } from "../lib/runtime_flags.ts";
import { BenchProcess, CLOCK_TICKS_PER_SECOND, cpuTicks, mainThreadSchedMs } from "./process.ts";
import { installSignalCleanup, runCleanups } from "./cleanup.ts";
import { median } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connects: { type: "string", default: "10" },
    trace: { type: "boolean", default: false },
    "log-level": { type: "string", default: "info" },
    tree: { type: "string", multiple: true, default: [] },
    // Namespaces are named PREFIX-<random>; a distinct prefix keeps parallel runs apart.
    "netns-prefix": { type: "string", default: "sstp-ct" },
  },
});
const trees = values.tree.length > 0 ? values.tree : [new URL("..", import.meta.url).pathname];

/** Runs one `sstp connect` from `tree` and waits for its ` up:` line. */
async function connectOnce(
  tree: string,
  netns: string,
  server: SstpServer,
  n: number,
): Promise<
  {
    totalMs: number;
    handshakeMs: number;
    cpuMs: number;
    jsRunMs: number;
    jsWaitMs: number;
    trace: string[];
  }
> {
  const proc = new BenchProcess([
    Deno.execPath(),
    "run",
    "--allow-all",
    ...SSTP_DENO_RUN_FLAGS,
    `${tree}/main.ts`,
    ...sstpConnectArgs(server, `sct${Deno.pid % 10000}x${n % 100}`, values["log-level"]),
  ], { netns, env: { SSTP_PASSWORD: server.password } });
  try {
    const up = await proc.waitFor(/ up: /, 30_000);
    // `ip netns exec` execs the program: the PID is the client's own.
    const cpuMs = cpuTicks(proc.pid) * 1000 / CLOCK_TICKS_PER_SECOND;
    const js = mainThreadSchedMs(proc.pid);
    return {
      cpuMs,
      jsRunMs: js.runMs,
      jsWaitMs: js.waitMs,
      totalMs: up.atMs - proc.startedAtMs,
      handshakeMs: up.atMs - proc.lines[0]!.atMs,
      trace: proc.lines.map((l) =>
        `${(l.atMs - proc.startedAtMs).toFixed(1).padStart(7)} ${l.text}`
      ),
    };
  } finally {
    await proc.stop(5000);
  }
}
const connects = Math.min(50, Math.max(1, Number(values.connects) || 10));

installSignalCleanup();
const pair = await createNetnsPair({ prefix: values["netns-prefix"] });
const results = trees.map(() => ({
  totals: [] as number[],
  handshakes: [] as number[],
  cpus: [] as number[],
  jsRuns: [] as number[],
  jsWaits: [] as number[],
  traces: [] as string[][],
}));
try {
  const server = await SstpServer.start(pair.a.name);
  try {
    for (let i = 1; i <= connects; i++) {
      for (const [t, tree] of trees.entries()) {
        const c = await connectOnce(tree, pair.b.name, server, i * trees.length + t);
        const r = results[t]!;
        r.totals.push(c.totalMs);
        r.handshakes.push(c.handshakeMs);
        r.cpus.push(c.cpuMs);
        r.jsRuns.push(c.jsRunMs);
        r.jsWaits.push(c.jsWaitMs);
        r.traces.push(c.trace);
        console.log(
          `connect ${i}/${connects} ${tree}: spawn→up ${c.totalMs.toFixed(1)} ms, ` +
            `first log→up ${c.handshakeMs.toFixed(1)} ms, CPU ${c.cpuMs.toFixed(0)} ms, ` +
            `JS thread ${c.jsRunMs.toFixed(1)} ms on a CPU, ${c.jsWaitMs.toFixed(1)} ms waiting`,
        );
      }
    }
  } finally {
    await server.stop();
  }
} finally {
  await pair.cleanup();
  await runCleanups();
}
for (const [t, tree] of trees.entries()) {
  const { totals, handshakes, cpus, jsRuns, jsWaits, traces } = results[t]!;
  console.log(
    `${tree}: median spawn→up ${median(totals).toFixed(1)} ms, first log→up ${
      median(handshakes).toFixed(1)
    } ms, CPU spawn→up ${median(cpus).toFixed(0)} ms (n=${totals.length}, min ${
      Math.min(...totals).toFixed(1)
    }, max ${Math.max(...totals).toFixed(1)}); JS thread on a CPU ${
      median(jsRuns).toFixed(1)
    } ms, waiting for one ${median(jsWaits).toFixed(1)} ms, spawn→up minus that wait ${
      median(totals.map((v, i) => v - jsWaits[i]!)).toFixed(1)
    } ms`,
  );
  if (values.trace) {
    const order = totals.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
    const mid = order[Math.floor(order.length / 2)]![1];
    console.log(`trace of connect ${mid + 1} (ms from spawn):`);
    for (const line of traces[mid]!) console.log(line);
  }
}
