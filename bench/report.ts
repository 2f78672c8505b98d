/**
 * Turns a {@linkcode BenchResult} into target verdicts, a console table and
 * the Markdown written to bench/results/.
 *
 * @module
 */
import { HOPS } from "./rtt_hops.ts";
import { summarize, type Summary } from "./stats.ts";
import {
  type BenchResult,
  type PathName,
  type PathResult,
  SETTLE_SECONDS,
  type TargetVerdict,
} from "./result.ts";

const PATHS: PathName[] = ["veth", "openvpn", "ocserv", "sstp", "sstp-openssl", "sstp-worker"];

function f(n: number | undefined, digits = 0): string {
  return n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits);
}

/** "median (min-max)". */
export function formatSummary(s: Summary, digits = 0): string {
  if (s.runs.length === 0) return "-";
  if (s.runs.length === 1) return f(s.median, digits);
  return `${f(s.median, digits)} (${f(s.min, digits)}-${f(s.max, digits)})`;
}

function cpu(runs: number[][], process: 0 | 1): Summary {
  return summarize(runs.map((r) => r[process]).filter((x): x is number => x !== undefined));
}

/** Median-based figures of one path. */
export function pathFigures(p: PathResult | undefined) {
  return {
    up: summarize(p?.up ?? []),
    down: summarize(p?.down ?? []),
    ping: summarize(p?.pingMedianMs ?? []),
    pingAvg: summarize(p?.pingAvgMs ?? []),
    pooledRtt: summarize(p?.rttsMs ?? []),
    upCpuServer: cpu(p?.upCpu ?? [], 0),
    upCpuClient: cpu(p?.upCpu ?? [], 1),
    downCpuServer: cpu(p?.downCpu ?? [], 0),
    downCpuClient: cpu(p?.downCpu ?? [], 1),
  };
}

/** sstp/OpenVPN ratios of the medians. */
export function ratios(r: BenchResult) {
  const s = pathFigures(r.paths.sstp);
  const o = pathFigures(r.paths.openvpn);
  const v = pathFigures(r.paths.veth);
  const div = (a: number, b: number) => (b > 0 ? a / b : NaN);
  return {
    up: div(s.up.median, o.up.median),
    down: div(s.down.median, o.down.median),
    addedRttSstpMs: s.pooledRtt.median - v.pooledRtt.median,
    addedRttOpenvpnMs: o.pooledRtt.median - v.pooledRtt.median,
    connect: div(
      summarize(r.connect.sstp?.totalMs ?? []).median,
      summarize(r.connect.openvpn?.totalMs ?? []).median,
    ),
  };
}

/** The issue 6 targets, judged on this run. */
export function evaluateTargets(r: BenchResult): TargetVerdict[] {
  const q = ratios(r);
  const known = (n: number) => !Number.isNaN(n);
  const out: TargetVerdict[] = [
    {
      name: "throughput up",
      target: "sstp ≥ 1.5x OpenVPN-TCP",
      measured: `${f(q.up, 2)}x`,
      isMet: known(q.up) ? q.up >= 1.5 : undefined,
    },
    {
      name: "throughput down",
      target: "sstp ≥ 1.5x OpenVPN-TCP",
      measured: `${f(q.down, 2)}x`,
      isMet: known(q.down) ? q.down >= 1.5 : undefined,
    },
    {
      name: "added RTT",
      target: "sstp ≤ OpenVPN",
      measured: `${f(q.addedRttSstpMs, 3)} ms vs ${f(q.addedRttOpenvpnMs, 3)} ms`,
      isMet: known(q.addedRttSstpMs) && known(q.addedRttOpenvpnMs)
        ? q.addedRttSstpMs <= q.addedRttOpenvpnMs
        : undefined,
    },
  ];
  const connect = summarize(r.connect.sstp?.totalMs ?? []);
  out.push({
    name: "connect time",
    target: "sstp median < 50 ms",
    measured: `${f(connect.median)} ms (handshake only ${
      f(summarize(r.connect.sstp?.handshakeMs ?? []).median)
    } ms)`,
    isMet: connect.runs.length ? connect.median < 50 : undefined,
  });
  const big = r.sessions.find((s) => s.sessions === 2000);
  const load = big?.load;
  out.push({
    name: "2,000 sessions",
    target: "all up, distinct addresses, all answer a ping",
    measured: load
      ? `${load.established} up, ${load.distinctAddresses} addresses, ${load.pingsAnswered} pings`
      : big?.error ?? "-",
    isMet: load
      ? load.established === 2000 && load.distinctAddresses === 2000 && load.pingsAnswered === 2000
      : big
      ? false
      : undefined,
  });
  out.push({
    name: "RSS per session",
    target: "≤ 64 KiB (2,000 sessions)",
    measured: `${f(big?.rssPerSessionKib, 1)} KiB (${
      f(big?.settledRssPerSessionKib, 1)
    } KiB settled after ${SETTLE_SECONDS} s idle)`,
    isMet: big?.rssPerSessionKib !== undefined ? big.rssPerSessionKib <= 64 : undefined,
  });
  out.push({
    name: "set-up rate",
    target: "≥ 200 sessions/s (2,000 sessions)",
    measured: `${f(load?.sessionsPerSecond)} /s`,
    isMet: load ? load.sessionsPerSecond >= 200 : undefined,
  });
  if (r.bulk) {
    out.push({
      name: "bulk integrity",
      target: "SHA-256 equal",
      measured: r.bulk.isEqual ? `equal (${r.bulk.bytes} bytes)` : "MISMATCH",
      isMet: r.bulk.isEqual,
    });
  }
  return out;
}

function verdict(t: TargetVerdict): string {
  return t.isMet === undefined ? "not measured" : t.isMet ? "met" : "MISSED";
}

/** Markdown tables of one run. */
export function renderMarkdown(r: BenchResult): string {
  const q = ratios(r);
  const lines: string[] = [];
  lines.push(`# sstp benchmark — ${r.date}`);
  lines.push("");
  lines.push(
    `Machine: ${r.machine.cpus} CPUs, Linux ${r.machine.kernel}, Deno ${r.machine.deno}; ` +
      `${r.machine.openvpn}; ${r.machine.iperf3}. OpenVPN data cipher: ${
        r.openvpnCipher ?? "?"
      }; ` +
      `sstp MTU ${r.sstpMtu ?? "?"}. Code: commit ${r.machine.commit ?? "?"}` +
      `${
        Number(r.machine.uncommittedFiles) > 0
          ? ` + ${r.machine.uncommittedFiles} uncommitted files in lib/ffi`
          : ""
      }.`,
  );
  lines.push(
    `Options: ${r.options.runs} runs × ${r.options.seconds} s per direction, ` +
      `${r.options.pings} pings per run, ${r.options.connects} connects` +
      `${r.options.quick ? " (quick mode)" : ""}${
        r.options.serverV8Flags ? `, sstp serve with --v8-flags=${r.options.serverV8Flags}` : ""
      }${
        r.options.pin
          ? ", tunnel processes pinned (servers CPU 0, clients CPU 1, every thread)"
          : ""
      }. Duration ${f(r.durationSeconds)} s.`,
  );
  lines.push("Figures: median (min-max) over runs. CPU: % of one core, server/client process.");
  lines.push("");
  lines.push(
    "| path | up Mbit/s | down Mbit/s | CPU up srv/cli % | CPU down srv/cli % | ping median ms | ping avg ms |",
  );
  lines.push("|---|---|---|---|---|---|---|");
  for (const name of PATHS) {
    const p = r.paths[name];
    if (!p) continue;
    const x = pathFigures(p);
    const cpuText = (a: Summary, b: Summary) =>
      a.runs.length ? `${f(a.median)} / ${f(b.median)}` : "-";
    lines.push(
      `| ${name} | ${formatSummary(x.up)} | ${formatSummary(x.down)} | ` +
        `${cpuText(x.upCpuServer, x.upCpuClient)} | ${
          cpuText(x.downCpuServer, x.downCpuClient)
        } | ` +
        `${formatSummary(x.ping, 3)} | ${formatSummary(x.pingAvg, 3)} |`,
    );
  }
  lines.push("");
  lines.push(
    `Ratios sstp/OpenVPN (same run): up **${f(q.up, 2)}x**, down **${f(q.down, 2)}x**; ` +
      `added RTT over the bare veth (pooled medians): sstp ${f(q.addedRttSstpMs, 3)} ms, ` +
      (r.paths["sstp-openssl"]
        ? `sstp with tls-engine openssl ${
          f(
            pathFigures(r.paths["sstp-openssl"]).pooledRtt.median -
              pathFigures(r.paths.veth).pooledRtt.median,
            3,
          )
        } ms (up ${
          f(
            pathFigures(r.paths["sstp-openssl"]).up.median / pathFigures(r.paths.openvpn).up.median,
            2,
          )
        }x, down ${
          f(
            pathFigures(r.paths["sstp-openssl"]).down.median /
              pathFigures(r.paths.openvpn).down.median,
            2,
          )
        }x OpenVPN), `
        : "") +
      `OpenVPN ${f(q.addedRttOpenvpnMs, 3)} ms.`,
  );
  const veth = r.paths.veth;
  if (veth) {
    lines.push("");
    lines.push(
      "Every tunnel against the bare veth and OpenVPN of the same run (added RTT: pooled ping " +
        "median minus the veth's; ratios of medians):",
    );
    lines.push("");
    lines.push("| path | added RTT ms | up / OpenVPN | down / OpenVPN | client RSS MiB |");
    lines.push("|---|---|---|---|---|");
    const ovpn = r.paths.openvpn ? pathFigures(r.paths.openvpn) : undefined;
    const base = pathFigures(veth).pooledRtt.median;
    for (const name of PATHS) {
      const p = r.paths[name];
      if (!p || name === "veth") continue;
      const x = pathFigures(p);
      lines.push(
        `| ${name} | ${f(x.pooledRtt.median - base, 3)} | ${
          ovpn ? f(x.up.median / ovpn.up.median, 2) + "x" : "-"
        } | ${ovpn ? f(x.down.median / ovpn.down.median, 2) + "x" : "-"} | ${
          r.clientRssKib?.[name] === undefined ? "-" : f(r.clientRssKib[name]! / 1024, 1)
        } |`,
      );
    }
  }
  if (r.rttHops && Object.keys(r.rttHops).length > 0) {
    lines.push("");
    lines.push(
      "Where the RTT goes (separate ping series, tcpdump kernel timestamps in both namespaces; " +
        "median ms per hop):",
    );
    lines.push("");
    const names = (["openvpn", "ocserv", "sstp", "sstp-openssl", "sstp-worker"] as const).filter((
      n,
    ) => r.rttHops?.[n]);
    lines.push(`| hop | ${names.join(" | ")} |`);
    lines.push(`|---|${names.map(() => "---").join("|")}|`);
    for (const hop of HOPS) {
      lines.push(
        `| ${hop} | ${names.map((n) => f(r.rttHops![n]![hop].medianMs, 3)).join(" | ")} |`,
      );
    }
    lines.push(
      `| sum | ${
        names.map((n) => f(HOPS.reduce((a, h) => a + r.rttHops![n]![h].medianMs, 0), 3)).join(
          " | ",
        )
      } |`,
    );
  }
  lines.push("");
  lines.push("| connect | spawn → usable ms | first log line → usable ms |");
  lines.push("|---|---|---|");
  for (const name of ["openvpn", "ocserv", "sstp", "sstp-openssl", "sstp-worker"] as const) {
    const c = r.connect[name];
    if (!c) continue;
    lines.push(
      `| ${name} | ${formatSummary(summarize(c.totalMs))} | ${
        formatSummary(summarize(c.handshakeMs))
      } |`,
    );
  }
  if (r.bulk) {
    lines.push("");
    lines.push(
      `Bulk integrity: ${r.bulk.bytes} bytes through sstp, SHA-256 ` +
        `${r.bulk.isEqual ? "equal" : "MISMATCH"} (${r.bulk.sentSha256.slice(0, 16)}…), ` +
        `${f(r.bulk.mbps)} Mbit/s.`,
    );
  }
  if (r.sessions.length > 0) {
    lines.push("");
    lines.push(
      "| sessions | up | set-up /s | session set-up median ms | distinct addresses | pings answered | " +
        "server RSS base→loaded MiB | RSS/session KiB | settled RSS/session KiB | server CPU idle % | " +
        "CPU during set-up server/load client % |",
    );
    lines.push("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const s of r.sessions) {
      const l = s.load;
      lines.push(
        `| ${s.sessions} | ${l?.established ?? "-"}${l?.failed ? ` (${l.failed} failed)` : ""} | ` +
          `${f(l?.sessionsPerSecond)} | ${f(l?.sessionSetupMedianMs)} | ${
            l?.distinctAddresses ?? "-"
          } | ` +
          `${l?.pingsAnswered ?? "-"} | ${f((s.baselineRssKib ?? NaN) / 1024, 1)}→${
            f((s.loadedRssKib ?? NaN) / 1024, 1)
          } | ` +
          `${f(s.rssPerSessionKib, 1)} | ${f(s.settledRssPerSessionKib, 1)} | ${
            f(s.idleCpuPercent, 1)
          } | ${f(s.setupServerCpuPercent)} / ${f(s.setupLoadClientCpuPercent)} |` +
          (s.error ? ` error: ${s.error}` : ""),
      );
    }
  }
  lines.push("");
  lines.push("| target | goal | measured | verdict |");
  lines.push("|---|---|---|---|");
  for (const t of r.targets) {
    lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${verdict(t)} |`);
  }
  const errors = [
    ...r.errors,
    ...PATHS.flatMap((n) => (r.paths[n]?.errors ?? []).map((e) => `${n}: ${e}`)),
    ...r.sessions.flatMap((s) =>
      Object.entries(s.load?.errors ?? {}).map(([m, c]) => `sessions ${s.sessions}: ${c}× ${m}`)
    ),
  ];
  if (errors.length > 0) {
    lines.push("");
    lines.push("Errors:");
    for (const e of errors) lines.push(`- ${e}`);
  }
  lines.push("");
  return lines.join("\n");
}

/** The console form: the Markdown without the header line. */
export function renderTable(r: BenchResult): string {
  return renderMarkdown(r).split("\n").slice(2).join("\n");
}
