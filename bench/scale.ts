/**
 * `deno task bench scale`: many concurrent sessions on one `sstp serve`
 * (issue 16: 10,000 sessions, every one pinged, ≤ 48 KiB of server RSS per
 * session over the idle baseline, ≥ 500 set-ups/s; RSA-2048 and ECDSA P-256).
 *
 * In two fresh namespaces joined by a veth pair: for each `--key-types`
 * entry, a fresh `sstp serve --config` (bench/scale_server.ts: certificate of
 * that key type, admission caps raised in its generated config only, open-file
 * limit raised with prlimit for that process only) in A, and the headless load
 * generator (bench/load_client.ts: real client stack per session over an
 * in-memory TUN, one process) in B. The server side is the real program: one
 * kernel TUN device per session, addresses through rtnetlink, and every ping
 * crosses the server's TUN device and kernel.
 *
 * Per key type it measures: set-up rate (sessions up / first dial → last link
 * up, `--concurrency` set-ups in flight), server RSS at every 1,000 sessions
 * during set-up, RSS per session 2 s after the load generator reports and the
 * lowest over `--settle-seconds`, server CPU while idle, TUN devices in the
 * server namespace, pings answered, and (with `--reconnect N`) a reconnect
 * storm: N sessions closed and dialled again while the others stay up.
 *
 *   deno task bench scale [--sessions 10000] [--key-types ecdsa-p256,rsa2048]
 *     [--concurrency 64] [--settle-seconds 20] [--reconnect 1000] [--perf]
 *     [--time-limit-seconds 900] [--interface-mode per-session|shared]
 *     [--netns-prefix sstp-s]
 *
 * `--interface-mode shared` runs the server with one TUN device for every
 * session (no TUN fd and, as a rule, no rtnetlink request per session).
 *
 * The whole run is bounded by `--time-limit-seconds`; the namespaces, the
 * server, the load generator and temp files are removed in `finally`, on
 * SIGINT/SIGTERM and when the limit fires. Results: bench/results/scale-<ts>.{json,md}.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { installSignalCleanup, runCleanups } from "./cleanup.ts";
import { createNetnsPair, type NetnsPair, VETH } from "./netns_pair.ts";
import {
  BenchProcess,
  CLOCK_TICKS_PER_SECOND,
  CpuMeter,
  cpuTicks,
  execIn,
  rssKib,
  runIn,
} from "./process.ts";
import { hardNofileLimit, ScaleServer, serverFdsPerSession } from "./scale_server.ts";
import type { LoadResult } from "./load_client.ts";
import type { HeapSummary } from "./heap_summary.ts";
import type { CpuSummary } from "./cpu_profile.ts";
import type { KeyType } from "../lib/cert/_generate.ts";
import { SSTP_V8_FLAGS } from "../lib/runtime_flags.ts";

/** Options of the scale mode. */
export interface ScaleOptions {
  sessions: number;
  keyTypes: KeyType[];
  concurrency: number;
  settleSeconds: number;
  /** Sessions to close and re-dial after the ping (0: none). */
  reconnect: number;
  /** `perf record` the server during set-up (needs perf). */
  perf: boolean;
  /** `--v8-flags` of the server (default: the shipped ones; `none` for none). */
  serverV8Flags: string;
  /** Heap snapshots of the server (inspector on its namespace's loopback) idle and loaded. */
  heap: boolean;
  /** A V8 CPU profile of the server during set-up and ping (inspector, as `--heap`). */
  cpuProf: boolean;
  timeLimitSeconds: number;
  tlsEngine: string;
  /** `interface-mode` of the server: a TUN device per session, or one shared by all. */
  interfaceMode: "per-session" | "shared";
  /** Prefix of the two namespaces' names. */
  netnsPrefix: string;
  resultsDir: string;
}

/** What one key type's run measured. */
export interface ScaleRun {
  keyType: string;
  sessions: number;
  baselineRssKib?: number;
  /** [sessions up, server VmRSS KiB] sampled at every 1,000 during set-up. */
  rssSteps: [number, number][];
  load?: LoadResult;
  setupServerCpuPercent?: number;
  setupLoadCpuPercent?: number;
  loadedRssKib?: number;
  rssPerSessionKib?: number;
  settledRssKib?: number;
  settledRssPerSessionKib?: number;
  idleCpuPercent?: number;
  tunDevices?: number;
  /** Open files of the server with every session up. */
  serverFds?: number;
  /** The reconnect storm: close and re-dial (resuming each client's TLS session). */
  reconnect?: {
    requested: number;
    up: number;
    failed: number;
    perSecond: number;
    resumed?: number;
    /** Server CPU (close + re-dial), ms per session. */
    serverCpuMsPerSession?: number;
  };
  perfTop?: string;
  /** `--cpu-prof`: the server's self time during set-up, by file and by function. */
  cpuProfile?: CpuSummary & { file: string };
  /** JS heap growth per session (live objects after a full GC), by constructor: [name, count, bytes]. */
  heapPerSession?: { totalBytes: number; top: [string, number, number][] };
  /** Server CPU (all threads) during set-up and ping, ms per session up. */
  setupServerCpuMsPerSession?: number;
  /** Where the server's RSS is (KiB), idle and with every session up. */
  rssParts?: { baseline: RssParts; loaded: RssParts };
  error?: string;
}

/** A process's resident memory by kind of mapping, KiB. */
export interface RssParts {
  /** glibc's main arena (`[heap]`). */
  heap: number;
  /** Other anonymous mappings: V8's heap pages, other malloc arenas, thread stacks. */
  anon: number;
  /** File-backed mappings (the deno binary, libraries). */
  file: number;
}

/** Sums `/proc/PID/smaps` Rss by kind of mapping. */
export function rssParts(pid: number): RssParts {
  const parts: RssParts = { heap: 0, anon: 0, file: 0 };
  let kind: keyof RssParts = "anon";
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const name = header[2] ?? "";
      kind = name === "[heap]"
        ? "heap"
        : header[1] !== "0" || name.startsWith("/")
        ? "file"
        : "anon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) parts[kind] += Number(rss[1]);
  }
  return parts;
}

function log(text: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses the scale mode's arguments (after `scale`). */
export function parseScaleOptions(args: string[]): ScaleOptions {
  const { values } = parseArgs({
    args,
    options: {
      sessions: { type: "string", default: "10000" },
      "key-types": { type: "string", default: "ecdsa-p256,rsa2048" },
      concurrency: { type: "string", default: "64" },
      "settle-seconds": { type: "string", default: "20" },
      reconnect: { type: "string", default: "0" },
      perf: { type: "boolean", default: false },
      heap: { type: "boolean", default: false },
      "cpu-prof": { type: "boolean", default: false },
      "server-v8-flags": { type: "string", default: SSTP_V8_FLAGS },
      "time-limit-seconds": { type: "string", default: "900" },
      "tls-engine": { type: "string", default: "deno" },
      "interface-mode": { type: "string", default: "per-session" },
      "netns-prefix": { type: "string", default: "sstp-s" },
      "results-dir": { type: "string" },
    },
  });
  const int = (text: string, name: string, min: number, max: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new RangeError(`Cannot use --${name} ${text}: not an integer in ${min}-${max}`);
    }
    return n;
  };
  const keyTypes = values["key-types"].split(",").map((k) => k.trim());
  for (const k of keyTypes) {
    if (k !== "rsa2048" && k !== "ecdsa-p256" && k !== "ecdsa-p384" && k !== "rsa3072") {
      throw new RangeError(
        `Cannot use key type "${k}": rsa2048, rsa3072, ecdsa-p256 or ecdsa-p384`,
      );
    }
  }
  const sessions = int(values.sessions, "sessions", 1, 16000);
  const mode = values["interface-mode"];
  if (mode !== "per-session" && mode !== "shared") {
    throw new RangeError(`Cannot use --interface-mode ${mode}: per-session or shared`);
  }
  return {
    sessions,
    keyTypes: keyTypes as KeyType[],
    concurrency: int(values.concurrency, "concurrency", 1, 1000),
    settleSeconds: int(values["settle-seconds"], "settle-seconds", 0, 120),
    reconnect: int(values.reconnect, "reconnect", 0, sessions),
    perf: values.perf,
    heap: values.heap,
    cpuProf: values["cpu-prof"],
    serverV8Flags: values["server-v8-flags"] ?? SSTP_V8_FLAGS,
    timeLimitSeconds: int(values["time-limit-seconds"], "time-limit-seconds", 30, 3600),
    tlsEngine: values["tls-engine"] === "openssl" ? "openssl" : "deno",
    interfaceMode: mode,
    netnsPrefix: values["netns-prefix"],
    resultsDir: values["results-dir"] ?? new URL("./results", import.meta.url).pathname,
  };
}

async function countTunDevices(netns: string): Promise<number> {
  const out = await runIn(netns, ["ip", "-o", "link", "show", "type", "tun"], 30_000);
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

/** `sstp serve`'s Deno flags: `--server-v8-flags`, plus the profilers' needs. */
function serverDenoFlags(o: ScaleOptions): string[] {
  const v8 = [
    ...(o.serverV8Flags === "none" || o.serverV8Flags === "" ? [] : o.serverV8Flags.split(",")),
    ...(o.perf ? ["--perf-basic-prof"] : []),
  ];
  return [
    ...(v8.length > 0 ? [`--v8-flags=${v8.join(",")}`] : []),
    ...(o.heap || o.cpuProf ? [`--inspect=${INSPECT}`] : []),
  ];
}

/** The server's inspector (its own namespace's loopback). */
const INSPECT = "127.0.0.1:9229";

async function heapSummary(netns: string): Promise<HeapSummary> {
  const out = await runIn(netns, [
    Deno.execPath(),
    "run",
    "-A",
    new URL("./heap_summary.ts", import.meta.url).pathname,
    INSPECT,
  ], 300_000);
  const line = out.split("\n").find((l) => l.startsWith("HEAP "));
  if (!line) throw new Error(`heap_summary printed no HEAP line: ${out.slice(0, 200)}`);
  return JSON.parse(line.slice(5)) as HeapSummary;
}

function heapDiff(
  a: HeapSummary,
  b: HeapSummary,
  sessions: number,
): { totalBytes: number; top: [string, number, number][] } {
  const before = new Map(a.byName.map(([n, c, s]) => [n, [c, s] as const]));
  const top = b.byName.map(([n, c, s]) => {
    const [c0, s0] = before.get(n) ?? [0, 0];
    return [n, (c - c0) / sessions, (s - s0) / sessions] as [string, number, number];
  }).sort((x, y) => y[2] - x[2]).slice(0, 30);
  return { totalBytes: (b.totalBytes - a.totalBytes) / Math.max(1, sessions), top };
}

async function perfReport(file: string): Promise<string> {
  const r = await execIn(undefined, [
    "perf",
    "report",
    "-i",
    file,
    "--stdio",
    "--no-children",
    "--sort",
    "dso,symbol",
    "-g",
    "none",
    "--percent-limit",
    "1",
  ], 120_000);
  return r.stdout.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .slice(0, 40).join("\n");
}

async function runOne(
  pair: NetnsPair,
  keyType: KeyType,
  o: ScaleOptions,
): Promise<ScaleRun> {
  const run: ScaleRun = { keyType, sessions: o.sessions, rssSteps: [] };
  const server = await ScaleServer.start(pair.a.name, {
    keyType,
    sessions: o.sessions,
    concurrency: o.concurrency,
    logLevel: "error",
    tlsEngine: o.tlsEngine,
    interfaceMode: o.interfaceMode,
    denoFlags: serverDenoFlags(o),
  });
  let load: BenchProcess | undefined;
  let perf: BenchProcess | undefined;
  let profiler: BenchProcess | undefined;
  let profilerFile = "";
  const perfFile = `${await Deno.makeTempDir({ prefix: "sstp-bench-perf-" })}/perf.data`;
  try {
    await sleep(1000);
    const heap0 = o.heap ? await heapSummary(pair.a.name) : undefined;
    run.baselineRssKib = rssKib(server.proc.pid);
    const baselineParts = rssParts(server.proc.pid);
    const cpuTicks0 = cpuTicks(server.proc.pid);
    const setupLimit = Math.max(60, Math.ceil(o.sessions / 20));
    const nofile = Math.min(o.sessions + 1024, await hardNofileLimit());
    if (o.cpuProf) {
      const file = `${o.resultsDir}/scale-${keyType}-${Date.now()}.cpuprofile`;
      await Deno.mkdir(o.resultsDir, { recursive: true });
      profiler = new BenchProcess([
        "ip",
        "netns",
        "exec",
        pair.a.name,
        Deno.execPath(),
        "run",
        "-A",
        new URL("./cpu_profile.ts", import.meta.url).pathname,
        INSPECT,
        file,
      ], { stdin: true });
      profilerFile = file;
      await profiler.waitFor(/^PROFILING/, 30_000);
    }
    load = new BenchProcess(
      [
        "prlimit",
        `--nofile=${nofile}:${nofile}`,
        Deno.execPath(),
        "run",
        "-A",
        "--v8-flags=--max-old-space-size=8192",
        new URL("./load_client.ts", import.meta.url).pathname,
        "--connect-to",
        `${VETH.a}:${server.port}`,
        "--user",
        server.user,
        "--server-fingerprint",
        server.fingerprint,
        "--sessions",
        String(o.sessions),
        "--concurrency",
        String(o.concurrency),
        "--hold-seconds",
        "600",
        "--setup-timeout-seconds",
        String(setupLimit),
        "--progress-every",
        "1000",
        "--reconnect",
        String(o.reconnect),
      ],
      { netns: pair.b.name, env: { SSTP_PASSWORD: server.password }, stdin: true },
    );
    if (o.perf) {
      perf = new BenchProcess([
        "perf",
        "record",
        "-F",
        "299",
        "-g",
        "-p",
        String(server.proc.pid),
        "-o",
        perfFile,
      ]);
    }
    const setupCpu = new CpuMeter([server.proc.pid, load.pid]);
    setupCpu.start();
    // RSS at every 1,000 sessions up (the load generator prints `UP n`).
    let seen = 0;
    const sampler = setInterval(() => {
      for (; seen < load!.lines.length; seen++) {
        const m = /^UP (\d+)$/.exec(load!.lines[seen]!.text);
        if (m) {
          try {
            run.rssSteps.push([Number(m[1]), rssKib(server.proc.pid)]);
          } catch { /* server gone: reported below */ }
        }
      }
    }, 20);
    let line;
    try {
      line = await load.waitFor(/^RESULT /, setupLimit * 1000 + 120_000);
    } finally {
      clearInterval(sampler);
    }
    const [setupServer, setupLoad] = setupCpu.stop();
    run.setupServerCpuPercent = setupServer ?? NaN;
    run.setupLoadCpuPercent = setupLoad ?? NaN;
    if (perf) {
      perf.kill("SIGINT");
      await perf.status;
      perf = undefined;
      run.perfTop = await perfReport(perfFile).catch((e) => `perf report: ${errorText(e)}`);
    }
    if (profiler) {
      await profiler.closeStdin();
      const p = await profiler.waitFor(/^CPUPROF /, 120_000);
      run.cpuProfile = { ...JSON.parse(p.text.slice("CPUPROF ".length)), file: profilerFile };
      profiler = undefined;
    }
    run.load = JSON.parse(line.text.slice("RESULT ".length)) as LoadResult;
    const up = run.load.established;
    run.setupServerCpuMsPerSession = up > 0
      ? (cpuTicks(server.proc.pid) - cpuTicks0) * (1000 / CLOCK_TICKS_PER_SECOND) / up
      : NaN;
    log(
      `${keyType}: ${up}/${o.sessions} up at ${run.load.sessionsPerSecond.toFixed(0)}/s, ` +
        `${run.load.pingsAnswered} pings answered (median ${
          run.load.pingRttMedianMs.toFixed(1)
        } ms), ` +
        `${run.load.distinctAddresses} addresses; CPU server ${
          run.setupServerCpuPercent?.toFixed(0)
        } %, load ${run.setupLoadCpuPercent?.toFixed(0)} %`,
    );
    await sleep(2000);
    run.loadedRssKib = rssKib(server.proc.pid);
    run.rssParts = { baseline: baselineParts, loaded: rssParts(server.proc.pid) };
    run.tunDevices = await countTunDevices(pair.a.name);
    run.serverFds = [...Deno.readDirSync(`/proc/${server.proc.pid}/fd`)].length;
    const idle = new CpuMeter([server.proc.pid]);
    idle.start();
    await sleep(5000);
    run.idleCpuPercent = idle.stop()[0] ?? NaN;
    run.rssPerSessionKib = up > 0 ? (run.loadedRssKib - run.baselineRssKib) / up : NaN;
    let settled = rssKib(server.proc.pid);
    for (let s = 0; s < o.settleSeconds; s++) {
      await sleep(1000);
      settled = Math.min(settled, rssKib(server.proc.pid));
    }
    run.settledRssKib = settled;
    run.settledRssPerSessionKib = up > 0 ? (settled - run.baselineRssKib) / up : NaN;
    log(
      `${keyType}: RSS ${run.baselineRssKib} → ${run.loadedRssKib} KiB = ${
        run.rssPerSessionKib.toFixed(1)
      } KiB/session (settled ${
        run.settledRssPerSessionKib.toFixed(1)
      }), ${run.tunDevices} TUN devices, ` +
        `idle CPU ${run.idleCpuPercent?.toFixed(1)} %`,
    );
    if (heap0 !== undefined) {
      const heap1 = await heapSummary(pair.a.name);
      run.heapPerSession = heapDiff(heap0, heap1, up);
    }
    if (o.reconnect > 0) {
      const ticks0 = cpuTicks(server.proc.pid);
      await load.writeStdin("RECONNECT\n");
      const r = await load.waitFor(/^RECONNECTED /, 120_000);
      run.reconnect = JSON.parse(r.text.slice("RECONNECTED ".length));
      if (run.reconnect !== undefined) {
        run.reconnect.serverCpuMsPerSession = (cpuTicks(server.proc.pid) - ticks0) *
          (1000 / CLOCK_TICKS_PER_SECOND) / Math.max(1, run.reconnect.up);
      }
      log(
        `${keyType}: reconnect storm ${run.reconnect?.up}/${run.reconnect?.requested} at ${
          run.reconnect?.perSecond.toFixed(0)
        }/s (TLS resumed: ${run.reconnect?.resumed ?? "?"})`,
      );
    }
    await load.closeStdin();
    await load.waitFor(/^DONE/, 60_000).catch(() => {});
  } catch (e) {
    run.error = errorText(e);
    log(`${keyType}: failed: ${run.error}`);
  } finally {
    if (perf) {
      perf.kill("SIGINT");
      await perf.stop(5000);
    }
    if (o.perf) log(`perf data kept: ${perfFile}`);
    else {
      await Deno.remove(perfFile.slice(0, perfFile.lastIndexOf("/")), { recursive: true })
        .catch(() => {});
    }
    await profiler?.stop(5000);
    await load?.stop(10_000);
    await server.stop(30_000);
  }
  return run;
}

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits);
}

function partsPerSession(r: ScaleRun): string {
  const up = r.load?.established ?? 0;
  if (r.rssParts === undefined || up === 0) return "-";
  const { baseline, loaded } = r.rssParts;
  return (["heap", "anon", "file"] as const).map((k) => fmt((loaded[k] - baseline[k]) / up))
    .join("/");
}

/** The Markdown report of a scale run. */
export function renderScaleMarkdown(date: string, o: ScaleOptions, runs: ScaleRun[]): string {
  const lines = [
    `# sstp scale run ${date}`,
    "",
    `${o.sessions} sessions, ${o.concurrency} set-ups in flight, tls-engine ${o.tlsEngine}, ` +
    `interface-mode ${o.interfaceMode}, ` +
    `server V8 flags ${o.serverV8Flags || "none"}, ` +
    `${navigator.hardwareConcurrency} CPUs. Targets (issue 16): all up and pinged, ≤ 48 KiB RSS ` +
    "per session over the idle baseline, ≥ 500 set-ups/s.",
    "",
    "| key | up | pinged | addresses | TUN devices (server fds) | set-up /s | set-up median ms | CPU set-up server/load % | server CPU ms per set-up | RSS base→loaded MiB | RSS/session KiB | settled KiB | malloc/anon/file KiB per session | idle CPU % | reconnect storm /s (TLS resumed/up), server CPU per session |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of runs) {
    const l = r.load;
    lines.push(
      `| ${r.keyType} | ${l?.established ?? "-"} | ${l?.pingsAnswered ?? "-"} | ${
        l?.distinctAddresses ?? "-"
      } | ${r.tunDevices ?? "-"} (${r.serverFds ?? "-"} fds) | ${fmt(l?.sessionsPerSecond, 0)} | ${
        fmt(l?.sessionSetupMedianMs, 0)
      } | ${fmt(r.setupServerCpuPercent, 0)}/${fmt(r.setupLoadCpuPercent, 0)} | ${
        fmt(r.setupServerCpuMsPerSession, 2)
      } | ${fmt((r.baselineRssKib ?? NaN) / 1024)}→${fmt((r.loadedRssKib ?? NaN) / 1024)} | ${
        fmt(r.rssPerSessionKib)
      } | ${fmt(r.settledRssPerSessionKib)} | ${partsPerSession(r)} | ${fmt(r.idleCpuPercent)} | ${
        r.reconnect
          ? `${fmt(r.reconnect.perSecond, 0)} (${r.reconnect.resumed ?? "?"}/${r.reconnect.up}), ${
            fmt(r.reconnect.serverCpuMsPerSession, 2)
          } ms CPU`
          : "-"
      } |`,
    );
  }
  lines.push("");
  for (const r of runs) {
    if (r.rssSteps.length > 1) {
      const steps = r.rssSteps.map(([n, kib], i) => {
        const prev = i === 0 ? [0, r.baselineRssKib ?? kib] : r.rssSteps[i - 1]!;
        return `${n}: +${fmt((kib - prev[1]!) / Math.max(1, n - prev[0]!))}`;
      });
      lines.push(`RSS growth per session during set-up (${r.keyType}), KiB: ${steps.join(", ")}`);
      lines.push("");
    }
    if (r.load && Object.keys(r.load.errors).length > 0) {
      lines.push(`Errors (${r.keyType}): ${JSON.stringify(r.load.errors)}`, "");
    }
    if (r.error) lines.push(`Failed (${r.keyType}): ${r.error}`, "");
    if (r.cpuProfile) {
      const c = r.cpuProfile;
      const rows = (list: [string, number, number][]) =>
        list.slice(0, 25).map(([n, ms, pct]) => `${pct.toFixed(1).padStart(5)} % ${ms} ms  ${n}`);
      lines.push(
        `CPU profile (${r.keyType}, server main thread, set-up and ping, ${c.totalMs} ms; ` +
          `${c.file}), self time by file:`,
        "",
        "```",
        ...rows(c.byFile),
        "```",
        "",
        "by function:",
        "",
        "```",
        ...rows(c.byFunction),
        "```",
        "",
      );
    }
    if (r.perfTop) {
      lines.push(`perf (${r.keyType}, server, set-up):`, "", "```", r.perfTop, "```", "");
    }
  }
  return lines.join("\n") + "\n";
}

/** Runs the scale mode; returns the exit code. */
export async function scaleMain(args: string[]): Promise<number> {
  const o = parseScaleOptions(args);
  if (Deno.uid() !== 0) {
    console.error("bench scale: needs root (network namespaces, TUN)");
    return 71;
  }
  installSignalCleanup();
  const hard = await hardNofileLimit();
  const perSession = serverFdsPerSession(o.interfaceMode);
  if (o.sessions * perSession + 64 > hard) {
    log(
      `warning: ${o.sessions} sessions need ~${o.sessions * perSession + 64} open files ` +
        `in the server (${
          perSession === 2 ? "a socket and a TUN device each" : "a socket each"
        }) but the hard limit here is ${hard} ` +
        "(raising it needs CAP_SYS_RESOURCE): the last sessions will be refused",
    );
  }
  const date = new Date().toISOString();
  const runs: ScaleRun[] = [];
  let limitHit = false;
  const limit = setTimeout(() => {
    limitHit = true;
    log(`time limit ${o.timeLimitSeconds} s reached: cleaning up`);
    runCleanups().finally(() => Deno.exit(124));
  }, o.timeLimitSeconds * 1000);
  let pair: NetnsPair | undefined;
  try {
    pair = await createNetnsPair({ prefix: o.netnsPrefix });
    // The server namespace holds one TUN device and one /32 route per session.
    for (const keyType of o.keyTypes) {
      log(`${keyType}: ${o.sessions} sessions`);
      runs.push(await runOne(pair, keyType, o));
    }
  } finally {
    clearTimeout(limit);
    await pair?.cleanup().catch((e) => log(`cleanup: ${errorText(e)}`));
  }
  if (limitHit) return 124;
  await Deno.mkdir(o.resultsDir, { recursive: true });
  const stamp = date.replace(/[:.]/g, "-");
  const md = renderScaleMarkdown(date, o, runs);
  await Deno.writeTextFile(`${o.resultsDir}/scale-${stamp}.md`, md);
  await Deno.writeTextFile(
    `${o.resultsDir}/scale-${stamp}.json`,
    JSON.stringify({ date, options: o, runs }, null, 2) + "\n",
  );
  console.log(md);
  log(`results: ${o.resultsDir}/scale-${stamp}.{json,md}`);
  return runs.every((r) => r.error === undefined) ? 0 : 1;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await scaleMain(Deno.args);
  } catch (e) {
    console.error(`bench scale: ${errorText(e)}`);
    await runCleanups();
  }
  Deno.exit(code);
}
