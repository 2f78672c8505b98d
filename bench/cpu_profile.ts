/**
 * Records a V8 CPU profile of a process started with `--inspect=HOST:PORT`
 * through the inspector protocol (what `--cpu-prof` gives a Node process):
 * starts sampling, prints `PROFILING`, stops when stdin closes (or after
 * `--max-seconds`), writes the `.cpuprofile` (Chrome DevTools can open it)
 * and prints `CPUPROF {json}`: self time by function and by source file,
 * with GC, idle and native time as V8 names them.
 *
 *   ip netns exec NS deno run -A bench/cpu_profile.ts 127.0.0.1:9229 out.cpuprofile
 *
 * The inspector port must be reachable only inside the benchmark's
 * namespace (the server's loopback).
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { openInspector } from "./inspector.ts";

/** A V8 `.cpuprofile` (the parts read here). */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of a profile by function and by file, ms and share of the samples. */
export interface CpuSummary {
  totalMs: number;
  /** [function @ file:line, self ms, %], largest first. */
  byFunction: [string, number, number][];
  /** [file (or V8's name for GC, idle, program), self ms, %], largest first. */
  byFile: [string, number, number][];
}

function shortUrl(url: string): string {
  if (url === "") return "";
  const m = /\/(lib|bench|ffi|test)\/(.*)$/.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  const nodeModule = /node:[a-z_/]+|ext:[^ ]+/.exec(url);
  return nodeModule ? nodeModule[0] : url.slice(-60);
}

/** Sums self time per function and per file. */
export function summarizeCpuProfile(p: CpuProfile, top = 40): CpuSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    selfMs.set(p.samples[i]!, (selfMs.get(p.samples[i]!) ?? 0) + ms);
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const f = byId.get(id)?.callFrame;
    if (f === undefined) continue;
    const url = shortUrl(f.url);
    const name = url === ""
      ? f.functionName || "(anonymous)"
      : `${f.functionName || "(anonymous)"} @ ${url}:${f.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    const key = url === "" ? f.functionName || "(native)" : url;
    file.set(key, (file.get(key) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map((
      [k, ms],
    ) =>
      [k, Math.round(ms), Math.round(1000 * ms / Math.max(total, 1)) / 10] as [
        string,
        number,
        number,
      ]
    );
  return { totalMs: Math.round(total), byFunction: sorted(fn), byFile: sorted(file) };
}

/** Profiles the inspector target at `hostPort` until `stop` settles; returns the profile. */
export async function recordCpuProfile(
  hostPort: string,
  stop: Promise<unknown>,
  intervalUs = 250,
): Promise<CpuProfile> {
  const session = await openInspector(hostPort);
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: intervalUs });
    await session.send("Profiler.start");
    console.log("PROFILING");
    await stop;
    const r = await session.send("Profiler.stop");
    const profile = r.result?.profile as CpuProfile | undefined;
    if (profile === undefined) throw new Error("Profiler.stop returned no profile");
    return profile;
  } finally {
    session.close();
  }
}

if (import.meta.main) {
  const [hostPort = "127.0.0.1:9229", out = "server.cpuprofile", maxSeconds = "600"] = Deno.args;
  const stdinClosed = (async () => {
    for await (const _ of Deno.stdin.readable) { /* until EOF */ }
  })();
  const limit = new Promise((r) => setTimeout(r, Number(maxSeconds) * 1000));
  const profile = await recordCpuProfile(hostPort, Promise.race([stdinClosed, limit]));
  await Deno.writeTextFile(out, JSON.stringify(profile));
  console.log(`CPUPROF ${JSON.stringify(summarizeCpuProfile(profile))}`);
  Deno.exit(0);
}
