/**
 * `deno task bench`: the benchmark suite (issue 6).
 *
 * In two fresh namespaces joined by a veth pair, for the bare veth, OpenVPN
 * over TCP and `sstp`:
 * 1. throughput: iperf3, one TCP stream, `--seconds` each direction, with the
 *    CPU% of each tunnel process over the same interval;
 * 2. latency: ping RTT (20 at 0.1 s per run);
 * 3. connect time: start of the client program → tunnel usable, `--connects` times;
 * 4. bulk integrity: `--bulk-mib` MiB through the sstp tunnel, SHA-256 at both ends;
 * 5. sessions: `--sessions` lists N; for each, a fresh `sstp serve` and the
 *    headless load client (bench/load_client.ts) with N concurrent sessions:
 *    set-up rate, server RSS per session, server CPU while idle, distinct
 *    addresses, pings answered.
 *
 * Runs are interleaved (veth, OpenVPN, sstp; up then down; repeated `--runs`
 * times) so that every ratio compares figures taken under the same load.
 * Each figure is the median of its runs with min and max. Results go to
 * bench/results/<timestamp>.{json,md} and latest.{json,md}.
 *
 *   deno task bench [--runs 3] [--seconds 10] [--connects 10]
 *                   [--sessions 500,1000,2000] [--bulk-mib 256] [--quick]
 *                   [--skip openvpn,ocserv,sstp,openssl,worker,bulk,sessions,hops] [--server-v8-flags FLAGS] [--pin]
 *                   [--openssl-io deno|epoll] [--openssl-sides both|client]
 *                   [--sessions-tls-engine deno|openssl|openssl-worker] [--worker-server openssl-worker|openssl]
 *                   [--netns-prefix P]
 *
 * The `sstp-openssl` path is a second `sstp serve` (port 444, its own pool and
 * user) and `sstp connect --tls-engine openssl`; `--openssl-sides both` (the
 * default) runs the server with `--tls-engine openssl` too, `client` keeps its
 * node:tls. `--openssl-io` picks the client's socket I/O (SSTP_OPENSSL_IO).
 * `--skip openssl` leaves the pair out. The `sstp-worker` pair
 * (`bench/sstp_worker_pair.ts`, port 445) runs `sstp connect --tls-engine
 * openssl-worker` against `sstp serve --tls-engine openssl-worker` (both data
 * paths in Workers; `--worker-server openssl` keeps the server's data path on
 * its main thread, as before issue 16's server side); `--skip worker` leaves
 * it out. `--netns-prefix` names the namespaces (default `sstp-b`). The `ocserv` path (`bench/ocserv.ts`,
 * ocserv + openconnect over TLS only, no DTLS) is skipped with a log line
 * where the packages are missing (`apt-get install ocserv openconnect`).
 *
 * `--skip sstp` also skips the sessions part. `--server-v8-flags` starts
 * every `sstp serve` with `--v8-flags=FLAGS` (default: the shipped flags of
 * lib/runtime_flags.ts; `none` for none).
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { installSignalCleanup, runCleanups } from "./cleanup.ts";
import { createNetnsPair, type NetnsPair, VETH } from "./netns_pair.ts";
import { iperf3Run, Iperf3Server, pingRun } from "./measure.ts";
import {
  connectOpenVpn,
  createOpenVpnFiles,
  type OpenVpnClient,
  type OpenVpnFiles,
  OpenVpnServer,
} from "./openvpn.ts";
import { connectSstp, type SstpClient, SstpServer } from "./sstp.ts";
import { ScaleServer } from "./scale_server.ts";
import { startWorkerPair, type WorkerPair } from "./sstp_worker_pair.ts";
import { hasOcserv, type OcservPair, startOcservPair } from "./ocserv.ts";

/** The pool of the tls-engine openssl pair's server (its own tunnel addresses). */
const SSTP_OPENSSL_POOL = "198.18.230.2-198.18.237.254";
import { hasTcpdump, HOPS, measureHops } from "./rtt_hops.ts";
import { SSTP_V8_FLAGS } from "../lib/runtime_flags.ts";
import { BenchProcess, CpuMeter, rssKib, runIn } from "./process.ts";
import { summarize } from "./stats.ts";
import { evaluateTargets, renderMarkdown, renderTable } from "./report.ts";
import {
  type BenchResult,
  type PathName,
  type PathResult,
  type SessionsResult,
  SETTLE_SECONDS,
  type TunnelName,
} from "./result.ts";

/** Suite options. */
export interface BenchOptions {
  runs: number;
  seconds: number;
  connects: number;
  pings: number;
  sessions: number[];
  bulkMib: number;
  skip: Set<string>;
  /** V8 flags for every `sstp serve` (`--v8-flags=`), e.g. `--max-semi-space-size=4`. */
  serverV8Flags: string;
  /** Pin each tunnel process to one CPU (servers CPU 0, clients CPU 1), OpenVPN and sstp alike. */
  pin: boolean;
  /** I/O of the tls-engine openssl client: `deno` (memory BIOs on Deno.connect) or `epoll`. */
  opensslIo: string;
  /** `sstp serve --tls-engine` of the sessions part (`deno` by default). */
  sessionsTlsEngine: string;
  /** Which end of the sstp-openssl pair uses OpenSSL: `both` (default) or `client`. */
  opensslSides: string;
  /** `sstp serve --tls-engine` of the sstp-worker pair: `openssl-worker` (default) or `openssl`. */
  workerServerEngine: string;
  /** Prefix of the two namespaces' names. */
  netnsPrefix: string;
  outDir: string;
  quick: boolean;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      seconds: { type: "string" },
      connects: { type: "string" },
      pings: { type: "string" },
      sessions: { type: "string" },
      "bulk-mib": { type: "string" },
      skip: { type: "string", default: "" },
      "server-v8-flags": { type: "string", default: SSTP_V8_FLAGS },
      out: { type: "string" },
      quick: { type: "boolean", default: false },
      pin: { type: "boolean", default: false },
      "openssl-io": { type: "string", default: "deno" },
      "openssl-sides": { type: "string", default: "both" },
      "sessions-tls-engine": { type: "string", default: "deno" },
      "worker-server": { type: "string", default: "openssl-worker" },
      "netns-prefix": { type: "string", default: "sstp-b" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task bench [--runs N] [--seconds S] [--connects N] [--pings N]\n" +
        "                       [--sessions N,N,...] [--bulk-mib M] [--skip openvpn,sstp,openssl,bulk,sessions,hops]\n" +
        "                       [--server-v8-flags FLAGS] [--pin] [--out DIR] [--quick]",
    );
    Deno.exit(0);
  }
  const q = values.quick;
  const int = (text: string | undefined, fallback: number, min: number, max: number) => {
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new RangeError(`Cannot use ${text}: expected an integer in ${min}..${max}`);
    }
    return n;
  };
  const sessionsText = values.sessions ?? (q ? "50" : "500,1000,2000");
  return {
    runs: int(values.runs, q ? 1 : 3, 1, 20),
    seconds: int(values.seconds, q ? 2 : 10, 1, 120),
    connects: int(values.connects, q ? 3 : 10, 1, 50),
    pings: int(values.pings, q ? 10 : 20, 1, 200),
    sessions: sessionsText === "" || sessionsText === "0"
      ? []
      : sessionsText.split(",").map((s) => int(s, 0, 1, 4000)),
    bulkMib: int(values["bulk-mib"], q ? 16 : 256, 1, 4096),
    skip: new Set(values.skip.split(",").filter((s) => s !== "")),
    serverV8Flags: values["server-v8-flags"],
    pin: values.pin,
    opensslIo: values["openssl-io"] === "epoll" ? "epoll" : "deno",
    opensslSides: values["openssl-sides"] === "client" ? "client" : "both",
    sessionsTlsEngine: ["openssl", "openssl-worker"].includes(values["sessions-tls-engine"])
      ? values["sessions-tls-engine"]
      : "deno",
    workerServerEngine: values["worker-server"] === "openssl" ? "openssl" : "openssl-worker",
    netnsPrefix: values["netns-prefix"],
    outDir: values.out ?? new URL("./results", import.meta.url).pathname,
    quick: q,
  };
}

async function versionOf(cmd: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(5000),
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.split("\n")[0]?.trim() ?? "?";
  } catch {
    return "?";
  }
}

function log(line: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split("\n").slice(0, 6).join(" | ") : String(e);
}

/** A tunnel (or the bare link) to measure: where to send, whose CPU to watch. */
interface Path {
  name: PathName;
  target: string;
  pids: number[];
}

function emptyPath(): PathResult {
  return { up: [], down: [], upCpu: [], downCpu: [], pingMedianMs: [], pingAvgMs: [], rttsMs: [] };
}

async function measureThroughputAndPing(
  pair: NetnsPair,
  paths: Path[],
  o: BenchOptions,
  result: BenchResult,
): Promise<void> {
  for (let run = 1; run <= o.runs; run++) {
    for (const path of paths) {
      const r = result.paths[path.name] ??= emptyPath();
      try {
        const ping = await pingRun(pair.b.name, path.target, o.pings);
        r.rttsMs.push(...ping.rttsMs);
        r.pingMedianMs.push(summarize(ping.rttsMs).median);
        r.pingAvgMs.push(ping.rttsMs.reduce((a, b) => a + b, 0) / ping.rttsMs.length);
        for (const reverse of [false, true]) {
          const t = await iperf3Run(pair.b.name, path.target, {
            seconds: o.seconds,
            reverse,
            pids: path.pids,
          });
          (reverse ? r.down : r.up).push(t.mbps);
          (reverse ? r.downCpu : r.upCpu).push(t.cpuPercent);
          log(
            `run ${run}/${o.runs} ${path.name} ${reverse ? "down" : "up"}: ${
              t.mbps.toFixed(0)
            } Mbit/s, cpu ${t.cpuPercent.map((c) => c.toFixed(0) + "%").join("/") || "-"}, ` +
              `ping median ${r.pingMedianMs.at(-1)?.toFixed(3)} ms`,
          );
        }
      } catch (e) {
        r.errors = [...(r.errors ?? []), `run ${run}: ${errorText(e)}`];
        log(`run ${run} ${path.name} failed: ${errorText(e)}`);
      }
    }
  }
}

async function measureConnects(
  pair: NetnsPair,
  o: BenchOptions,
  ovpn: { files: OpenVpnFiles } | undefined,
  sstp: SstpServer | undefined,
  result: BenchResult,
): Promise<void> {
  for (let i = 1; i <= o.connects; i++) {
    if (ovpn) {
      try {
        const c = await connectOpenVpn(pair.b.name, ovpn.files);
        (result.connect.openvpn ??= { totalMs: [], handshakeMs: [] }).totalMs.push(c.connectMs);
        result.connect.openvpn.handshakeMs.push(c.handshakeMs);
        await c.proc.stop(3000);
      } catch (e) {
        result.errors.push(`openvpn connect ${i}: ${errorText(e)}`);
      }
    }
    if (sstp) {
      try {
        const c = await connectSstp(pair.b.name, sstp);
        (result.connect.sstp ??= { totalMs: [], handshakeMs: [] }).totalMs.push(c.connectMs);
        result.connect.sstp.handshakeMs.push(c.handshakeMs);
        await c.proc.stop(5000);
      } catch (e) {
        result.errors.push(`sstp connect ${i}: ${errorText(e)}`);
      }
    }
    log(
      `connect ${i}/${o.connects}: openvpn ${
        result.connect.openvpn?.totalMs.at(-1)?.toFixed(0) ?? "-"
      } ms, sstp ${result.connect.sstp?.totalMs.at(-1)?.toFixed(0) ?? "-"} ms`,
    );
  }
}

async function measureBulk(
  pair: NetnsPair,
  client: SstpClient,
  o: BenchOptions,
  result: BenchResult,
): Promise<void> {
  const helper = new URL("./bulk_transfer.ts", import.meta.url).pathname;
  const port = "5301";
  const bytes = o.bulkMib * 1024 * 1024;
  const limitS = String(Math.max(60, o.bulkMib)); // ≥ 8 Mbit/s or it counts as failed
  const recv = new BenchProcess(
    [Deno.execPath(), "run", "-A", helper, "recv", client.serverAddress, port, limitS],
    { netns: pair.a.name },
  );
  try {
    await recv.waitFor(/^listening/, 20_000);
    const send = new BenchProcess(
      [
        Deno.execPath(),
        "run",
        "-A",
        helper,
        "send",
        client.serverAddress,
        port,
        String(bytes),
        limitS,
      ],
      { netns: pair.b.name },
    );
    const sent = JSON.parse((await send.waitFor(/^\{/, Number(limitS) * 1000 + 20_000)).text);
    const got = JSON.parse((await recv.waitFor(/^\{/, 20_000)).text);
    await send.stop(2000);
    result.bulk = {
      bytes,
      sentBytes: sent.bytes,
      receivedBytes: got.bytes,
      sentSha256: sent.sha256,
      receivedSha256: got.sha256,
      isEqual: sent.bytes === bytes && got.bytes === bytes && sent.sha256 === got.sha256,
      seconds: sent.seconds,
      mbps: (bytes * 8) / 1e6 / sent.seconds,
    };
    log(
      `bulk ${o.bulkMib} MiB: ${result.bulk.isEqual ? "SHA-256 equal" : "MISMATCH"} ` +
        `(${result.bulk.mbps.toFixed(0)} Mbit/s)`,
    );
  } catch (e) {
    result.errors.push(`bulk: ${errorText(e)}`);
  } finally {
    await recv.stop(2000);
  }
}

/** `--server-v8-flags none` runs the server without any (the shipped ones are the default). */
function serverDenoFlags(o: BenchOptions): string[] {
  return o.serverV8Flags === "" || o.serverV8Flags === "none"
    ? []
    : [`--v8-flags=${o.serverV8Flags}`];
}

async function measureSessions(
  pair: NetnsPair,
  n: number,
  o: BenchOptions,
  result: BenchResult,
): Promise<void> {
  const entry: SessionsResult = { sessions: n };
  result.sessions.push(entry);
  // A generated config: the load client dials every session from one
  // address, past the default per-source admission caps (8).
  const server = await ScaleServer.start(pair.a.name, {
    sessions: n,
    concurrency: 64,
    logLevel: "error",
    denoFlags: serverDenoFlags(o),
    ...(o.sessionsTlsEngine === "deno" ? {} : { tlsEngine: o.sessionsTlsEngine }),
  });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    entry.baselineRssKib = rssKib(server.proc.pid);
    const idle0 = new CpuMeter([server.proc.pid]);
    idle0.start();
    await new Promise((r) => setTimeout(r, 2000));
    entry.baselineCpuPercent = idle0.stop()[0];
    const load = new BenchProcess(
      [
        Deno.execPath(),
        "run",
        "-A",
        new URL("./load_client.ts", import.meta.url).pathname,
        "--connect-to",
        `${VETH.a}:${server.port}`,
        "--user",
        server.user,
        "--server-fingerprint",
        server.fingerprint,
        "--sessions",
        String(n),
        "--concurrency",
        "64",
        "--hold-seconds",
        "120",
        "--setup-timeout-seconds",
        String(Math.max(60, Math.ceil(n / 5))),
      ],
      { netns: pair.b.name, env: { SSTP_PASSWORD: server.password }, stdin: true },
    );
    try {
      const setupCpu = new CpuMeter([server.proc.pid, load.pid]);
      setupCpu.start();
      const line = await load.waitFor(/^RESULT /, Math.max(60, Math.ceil(n / 5)) * 1000 + 90_000);
      [entry.setupServerCpuPercent, entry.setupLoadClientCpuPercent] = setupCpu.stop();
      Object.assign(entry, { load: JSON.parse(line.text.slice("RESULT ".length)) });
      await new Promise((r) => setTimeout(r, 2000));
      entry.loadedRssKib = rssKib(server.proc.pid);
      const idle = new CpuMeter([server.proc.pid, load.pid]);
      idle.start();
      await new Promise((r) => setTimeout(r, 5000));
      const [serverIdle, loadIdle] = idle.stop();
      entry.idleCpuPercent = serverIdle;
      entry.loadClientIdleCpuPercent = loadIdle;
      const established = entry.load?.established ?? 0;
      entry.rssPerSessionKib = established > 0
        ? (entry.loadedRssKib - entry.baselineRssKib) / established
        : NaN;
      let settled = rssKib(server.proc.pid);
      for (let s = 0; s < SETTLE_SECONDS; s++) {
        await new Promise((r) => setTimeout(r, 1000));
        settled = Math.min(settled, rssKib(server.proc.pid));
      }
      entry.settledRssKib = settled;
      entry.settledRssPerSessionKib = established > 0
        ? (settled - entry.baselineRssKib) / established
        : NaN;
      log(
        `sessions ${n}: ${established} up at ${entry.load?.sessionsPerSecond.toFixed(0)}/s, ` +
          `${entry.load?.distinctAddresses} addresses, ${entry.load?.pingsAnswered} pings, ` +
          `RSS ${entry.rssPerSessionKib.toFixed(1)} KiB/session ` +
          `(settled ${entry.settledRssPerSessionKib.toFixed(1)}), idle CPU ${
            serverIdle?.toFixed(1)
          }%`,
      );
      await load.closeStdin();
      await load.waitFor(/^DONE/, 60_000).catch(() => {});
    } finally {
      await load.stop(5000);
    }
  } catch (e) {
    entry.error = errorText(e);
    log(`sessions ${n} failed: ${entry.error}`);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<number> {
  const o = parseOptions(Deno.args);
  installSignalCleanup();
  if (Deno.uid() !== 0) {
    console.error("bench: needs root (network namespaces, TUN)");
    return 71;
  }
  const started = new Date();
  const result: BenchResult = {
    date: started.toISOString(),
    machine: {
      cpus: navigator.hardwareConcurrency,
      kernel: Deno.osRelease(),
      deno: Deno.version.deno,
      openvpn: await versionOf(["openvpn", "--version"]),
      iperf3: await versionOf(["iperf3", "--version"]),
      // The suite runs the working tree: record which commit and whether lib/ffi were edited.
      commit: await versionOf(["git", "rev-parse", "--short", "HEAD"]),
      uncommittedFiles: await versionOf([
        "sh",
        "-c",
        "git status --porcelain -- lib ffi main.ts | wc -l",
      ]),
    },
    options: {
      runs: o.runs,
      seconds: o.seconds,
      connects: o.connects,
      pings: o.pings,
      sessions: o.sessions,
      bulkMib: o.bulkMib,
      quick: o.quick,
      skip: [...o.skip],
      pin: o.pin,
      opensslIo: o.opensslIo,
      opensslSides: o.opensslSides,
      sessionsTlsEngine: o.sessionsTlsEngine,
      serverV8Flags: o.serverV8Flags,
    },
    paths: {},
    connect: {},
    sessions: [],
    errors: [],
    targets: [],
  };
  const pair = await createNetnsPair({ prefix: o.netnsPrefix });
  let iperf: Iperf3Server | undefined;
  let ovpnFiles: OpenVpnFiles | undefined;
  let ovpnServer: OpenVpnServer | undefined;
  let ovpnClient: OpenVpnClient | undefined;
  let sstpServer: SstpServer | undefined;
  let sstpClient: SstpClient | undefined;
  let sslClient: SstpClient | undefined;
  let sslServer: SstpServer | undefined;
  let workerPair: WorkerPair | undefined;
  let ocservPair: OcservPair | undefined;
  try {
    iperf = await Iperf3Server.start(pair.a.name);
    const paths: Path[] = [{ name: "veth", target: VETH.a, pids: [] }];
    if (!o.skip.has("openvpn")) {
      try {
        ovpnFiles = await createOpenVpnFiles();
        ovpnServer = await OpenVpnServer.start(pair.a.name, ovpnFiles);
      } catch (e) {
        result.errors.push(`openvpn server: ${errorText(e)}`);
      }
    }
    if (!o.skip.has("sstp")) {
      try {
        sstpServer = await SstpServer.start(pair.a.name, { denoFlags: serverDenoFlags(o) });
      } catch (e) {
        result.errors.push(`sstp server: ${errorText(e)}`);
      }
    }
    log("connect times");
    await measureConnects(
      pair,
      o,
      ovpnServer && ovpnFiles ? { files: ovpnFiles } : undefined,
      sstpServer,
      result,
    );
    if (ovpnServer && ovpnFiles) {
      try {
        ovpnClient = await connectOpenVpn(pair.b.name, ovpnFiles);
        result.openvpnCipher = ovpnClient.cipher;
        paths.push({
          name: "openvpn",
          target: ovpnClient.serverAddress,
          pids: [ovpnServer.proc.pid, ovpnClient.proc.pid],
        });
      } catch (e) {
        result.errors.push(`openvpn client: ${errorText(e)}`);
      }
    }
    if (!o.skip.has("ocserv")) {
      if (!(await hasOcserv())) log("ocserv: skipped (apt-get install ocserv openconnect)");
      else {
        try {
          ocservPair = await startOcservPair(pair.a.name, pair.b.name, o.connects, log);
          result.connect.ocserv = ocservPair.connect;
          paths.push({
            name: "ocserv",
            target: ocservPair.client.serverAddress,
            pids: ocservPair.pids,
          });
        } catch (e) {
          result.errors.push(`ocserv: ${errorText(e)}`);
          log(`ocserv: ${errorText(e)}`);
        }
      }
    }
    if (sstpServer) {
      try {
        sstpClient = await connectSstp(pair.b.name, sstpServer);
        result.sstpMtu = sstpClient.mtu;
        paths.push({
          name: "sstp",
          target: sstpClient.serverAddress,
          pids: [sstpServer.proc.pid, sstpClient.proc.pid],
        });
      } catch (e) {
        result.errors.push(`sstp client: ${errorText(e)}`);
      }
      if (!o.skip.has("openssl")) {
        try {
          // A second server and client pair, the client's TLS by the system
          // OpenSSL (tls-engine openssl). Its own pool gives it its own
          // tunnel addresses: with one server both tunnels would lead to the
          // same server address and the kernel would route every ping and
          // iperf3 flow through the first.
          sslServer = await SstpServer.start(pair.a.name, {
            port: 444,
            pool: SSTP_OPENSSL_POOL,
            // Its own user: the server's TUN devices are named after the user.
            user: "ossl",
            ...(o.opensslSides === "both" ? { extraArgs: ["--tls-engine", "openssl"] } : {}),
            denoFlags: serverDenoFlags(o),
          });
          sslClient = await connectSstp(pair.b.name, sslServer, {
            extraArgs: ["--tls-engine", "openssl"],
            env: { SSTP_OPENSSL_IO: o.opensslIo },
          });
          if (sslClient.serverAddress === sstpClient?.serverAddress) {
            throw new Error(`both tunnels lead to ${sslClient.serverAddress}`);
          }
          paths.push({
            name: "sstp-openssl",
            target: sslClient.serverAddress,
            pids: [sslServer.proc.pid, sslClient.proc.pid],
          });
        } catch (e) {
          result.errors.push(`sstp-openssl client: ${errorText(e)}`);
          log(`sstp-openssl client: ${e instanceof Error ? e.message : e}`);
          log(`sstp-openssl server: ${sslServer?.proc.tail()}`);
        }
      }
      if (!o.skip.has("worker")) {
        try {
          workerPair = await startWorkerPair(pair.a.name, pair.b.name, {
            serverArgs: ["--tls-engine", o.workerServerEngine],
            denoFlags: serverDenoFlags(o),
            connects: o.connects,
          }, log);
          result.connect["sstp-worker"] = workerPair.connect;
          result.connect["sstp-openssl"] = workerPair.connectOpenssl;
          paths.push({
            name: "sstp-worker",
            target: workerPair.client.serverAddress,
            pids: [workerPair.server.proc.pid, workerPair.client.proc.pid],
          });
        } catch (e) {
          result.errors.push(`sstp-worker: ${errorText(e)}`);
          log(`sstp-worker: ${e instanceof Error ? e.message : e}`);
        }
      }
    }
    if (o.pin) {
      for (
        const [pid, cpu] of [
          [ovpnServer?.proc.pid, 0],
          [ovpnClient?.proc.pid, 1],
          [sstpServer?.proc.pid, 0],
          [sstpClient?.proc.pid, 1],
          [sslServer?.proc.pid, 0],
          [sslClient?.proc.pid, 1],
          [workerPair?.server.proc.pid, 0],
          [workerPair?.client.proc.pid, 1],
          [ocservPair?.server.proc.pid, 0],
          [ocservPair?.pids[0], 0],
          [ocservPair?.client.proc.pid, 1],
        ] as const
      ) {
        if (pid !== undefined) {
          await runIn(undefined, ["taskset", "-a", "-p", "-c", String(cpu), String(pid)]);
        }
      }
      log("pinned: servers to CPU 0, clients to CPU 1 (every thread)");
    }
    log(`throughput and ping: ${paths.map((p) => p.name).join(", ")}`);
    await measureThroughputAndPing(pair, paths, o, result);
    for (
      const [name, pid] of [
        ["openvpn", ovpnClient?.proc.pid],
        ["ocserv", ocservPair?.client.proc.pid],
        ["sstp", sstpClient?.proc.pid],
        ["sstp-openssl", sslClient?.proc.pid],
        ["sstp-worker", workerPair?.client.proc.pid],
      ] as const
    ) {
      if (pid !== undefined) (result.clientRssKib ??= {})[name] = rssKib(pid);
    }
    await measureRttHops(pair, o, result, {
      ...(ovpnClient
        ? { openvpn: { target: ovpnClient.serverAddress, tunA: /^ovpn-s/, tunB: /^ovpn-c/ } }
        : {}),
      ...(sstpClient
        ? {
          sstp: {
            target: sstpClient.serverAddress,
            tunA: /^sstp-/,
            tunB: new RegExp(`^${sstpClient.interfaceName}$`),
          },
        }
        : {}),
      ...(sslClient
        ? {
          "sstp-openssl": {
            target: sslClient.serverAddress,
            tunA: /^sstp-/,
            tunB: new RegExp(`^${sslClient.interfaceName}$`),
          },
        }
        : {}),
      ...(ocservPair
        ? {
          ocserv: {
            target: ocservPair.client.serverAddress,
            tunA: /^ocsv/,
            tunB: new RegExp(`^${ocservPair.client.interfaceName}$`),
          },
        }
        : {}),
      ...(workerPair
        ? {
          "sstp-worker": {
            target: workerPair.client.serverAddress,
            tunA: /^sstp-wrk/,
            tunB: new RegExp(`^${workerPair.client.interfaceName}$`),
          },
        }
        : {}),
    });
    if (sstpClient && !o.skip.has("bulk")) {
      log(`bulk integrity: ${o.bulkMib} MiB through sstp`);
      await measureBulk(pair, sstpClient, o, result);
    }
    await ovpnClient?.proc.stop(3000);
    await sstpClient?.proc.stop(5000);
    await sslClient?.proc.stop(5000);
    await workerPair?.client.proc.stop(5000);
    await ovpnServer?.stop();
    await sstpServer?.stop();
    await sslServer?.stop();
    await workerPair?.server.stop();
    await ocservPair?.stop();
    workerPair = undefined;
    ocservPair = undefined;
    ovpnClient =
      sstpClient =
      ovpnServer =
      sstpServer =
        undefined;
    if (!o.skip.has("sessions") && !o.skip.has("sstp")) {
      for (const n of o.sessions) {
        log(`sessions: ${n}`);
        await measureSessions(pair, n, o, result);
      }
    }
  } catch (e) {
    result.errors.push(`suite: ${errorText(e)}`);
    log(`suite failed: ${errorText(e)}`);
  } finally {
    await ovpnClient?.proc.stop(3000);
    await sstpClient?.proc.stop(5000);
    await sslClient?.proc.stop(5000);
    await workerPair?.client.proc.stop(5000);
    await ovpnServer?.stop();
    await sstpServer?.stop();
    await sslServer?.stop();
    await workerPair?.server.stop();
    await ocservPair?.stop();
    await iperf?.stop();
    await ovpnFiles?.remove();
    await pair.cleanup();
    await runCleanups();
  }
  result.durationSeconds = (Date.now() - started.getTime()) / 1000;
  result.targets = evaluateTargets(result);
  await writeResults(result, o.outDir);
  console.log(renderTable(result));
  return result.errors.length === 0 ? 0 : 1;
}

/** Per-hop RTT breakdown of each tunnel (skipped, with a note, without tcpdump). */
async function measureRttHops(
  pair: NetnsPair,
  o: BenchOptions,
  result: BenchResult,
  tunnels: Partial<Record<TunnelName, { target: string; tunA: RegExp; tunB: RegExp }>>,
): Promise<void> {
  if (o.skip.has("hops")) return;
  if (!(await hasTcpdump())) {
    log("rtt hops: skipped (no tcpdump; apt-get install tcpdump)");
    return;
  }
  for (const [name, t] of Object.entries(tunnels)) {
    try {
      const hops = await measureHops(pair.a.name, pair.b.name, t.target, {
        tunA: t.tunA,
        tunB: t.tunB,
        linkA: "veth-a",
        linkB: "veth-b",
      }, Math.max(20, o.pings));
      (result.rttHops ??= {})[name as TunnelName] = hops;
      log(`rtt hops ${name}: ${HOPS.map((h) => `${h} ${hops[h].medianMs.toFixed(3)}`).join(", ")}`);
    } catch (e) {
      result.errors.push(`rtt hops ${name}: ${errorText(e)}`);
    }
  }
}

async function writeResults(result: BenchResult, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const stamp = result.date.replace(/[:.]/g, "-");
  const json = JSON.stringify(result, null, 2) + "\n";
  const md = renderMarkdown(result);
  for (const name of [stamp, "latest"]) {
    await Deno.writeTextFile(`${dir}/${name}.json`, json);
    await Deno.writeTextFile(`${dir}/${name}.md`, md);
  }
  log(`results: ${dir}/${stamp}.{json,md} and latest.{json,md}`);
}

if (import.meta.main) {
  let code = 1;
  try {
    // `deno task bench scale ...`: the many-sessions mode (bench/scale.ts).
    code = Deno.args[0] === "scale"
      ? await (await import("./scale.ts")).scaleMain(Deno.args.slice(1))
      : await main();
  } catch (e) {
    console.error(`bench: ${errorText(e)}`);
    await runCleanups();
  }
  Deno.exit(code);
}
