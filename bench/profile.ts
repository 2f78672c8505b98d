/**
 * Where the time goes: runs one sstp tunnel in the benchmark's namespaces
 * with V8's perf map enabled (`--perf-basic-prof`), records `perf` call
 * samples of the server and the client process during an iperf3 upload and
 * a download, and writes the top symbols of each to
 * bench/results/profile-<direction>-<server|client>.txt.
 *
 *   deno run -A bench/profile.ts [--seconds 8] [--server-args="--tls-engine openssl"]
 *                                [--client-args="--tls-engine openssl-worker"] [--tag worker]
 *
 * `--tag` names the output files (profile-<tag>-<direction>-<side>.txt).
 *
 * Needs root and `perf`.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { installSignalCleanup, runCleanups } from "./cleanup.ts";
import { createNetnsPair } from "./netns_pair.ts";
import { iperf3Run, Iperf3Server } from "./measure.ts";
import { connectSstp, SstpServer } from "./sstp.ts";
import { BenchProcess, execIn } from "./process.ts";

const PERF_FLAGS = ["--v8-flags=--perf-basic-prof,--interpreted-frames-native-stack"];

async function record(pid: number, seconds: number, file: string): Promise<BenchProcess> {
  const p = new BenchProcess([
    "perf",
    "record",
    "-F",
    "499",
    "-g",
    "-p",
    String(pid),
    "-o",
    file,
    "--",
    "sleep",
    String(seconds),
  ]);
  await new Promise((r) => setTimeout(r, 300));
  return p;
}

async function report(file: string, out: string, title: string): Promise<void> {
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
    "0.7",
  ], 120_000);
  const body = r.stdout.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .slice(0, 60).join("\n");
  await Deno.writeTextFile(out, `# ${title}\n\n${body}\n`);
  console.log(`\n== ${title}\n${body.split("\n").slice(0, 25).join("\n")}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string" },
      "server-args": { type: "string" },
      "client-args": { type: "string" },
      tag: { type: "string" },
    },
  });
  const words = (s: string | undefined) => (s ?? "").split(/\s+/).filter((w) => w !== "");
  const tag = values.tag === undefined ? "" : `${values.tag.replace(/[^a-z0-9-]/gi, "")}-`;
  const seconds = Math.min(Math.max(Number(values.seconds ?? 8), 2), 60);
  installSignalCleanup();
  const dir = new URL("./results", import.meta.url).pathname;
  const tmp = await Deno.makeTempDir({ prefix: "sstp-bench-perf-" });
  const pair = await createNetnsPair();
  try {
    const iperf = await Iperf3Server.start(pair.a.name);
    const server = await SstpServer.start(pair.a.name, {
      denoFlags: PERF_FLAGS,
      extraArgs: words(values["server-args"]),
    });
    const client = await connectSstp(pair.b.name, server, {
      denoFlags: PERF_FLAGS,
      extraArgs: words(values["client-args"]),
    });
    for (const reverse of [false, true]) {
      const dirName = reverse ? "down" : "up";
      const recs = [
        await record(server.proc.pid, seconds, `${tmp}/server-${dirName}.data`),
        await record(client.proc.pid, seconds, `${tmp}/client-${dirName}.data`),
      ];
      const t = await iperf3Run(pair.b.name, client.serverAddress, {
        seconds,
        reverse,
        pids: [server.proc.pid, client.proc.pid],
      });
      for (const rec of recs) await rec.status;
      console.log(
        `${dirName}: ${t.mbps.toFixed(0)} Mbit/s, retransmits ${t.retransmits}, cpu ${
          t.cpuPercent.map((c) => c.toFixed(0)).join("/")
        }%`,
      );
      for (const side of ["server", "client"]) {
        await report(
          `${tmp}/${side}-${dirName}.data`,
          `${dir}/profile-${tag}${dirName}-${side}.txt`,
          `sstp ${side}, iperf3 ${dirName} (${t.mbps.toFixed(0)} Mbit/s), perf ${seconds} s`,
        );
      }
    }
    await client.proc.stop();
    await server.stop();
    await iperf.stop();
  } finally {
    await pair.cleanup();
    await runCleanups();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
