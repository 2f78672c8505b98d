/**
 * The measurements themselves: iperf3 throughput (with the CPU of the tunnel
 * processes over the same interval) and ping RTT, each run inside the
 * benchmark's namespaces with a time limit.
 *
 * @module
 */
import { BenchProcess, CpuMeter, execIn } from "./process.ts";

/** An iperf3 server kept for the whole benchmark of one path. */
export class Iperf3Server {
  readonly #proc: BenchProcess;

  private constructor(proc: BenchProcess) {
    this.#proc = proc;
  }

  /** Starts `iperf3 -s` in `netns` on port 5201 and waits until it listens. */
  static async start(netns: string, port = 5201): Promise<Iperf3Server> {
    const proc = new BenchProcess(["iperf3", "-s", "-p", String(port), "--forceflush"], { netns });
    await proc.waitFor(/Server listening/, 5000);
    return new Iperf3Server(proc);
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    await this.#proc.stop(2000);
  }
}

/** One iperf3 run. */
export interface ThroughputRun {
  /** Received at the far end, Mbit/s. */
  mbps: number;
  /** TCP retransmissions reported by the sender. */
  retransmits: number;
  /** CPU% of each watched process over the run (100 = one core). */
  cpuPercent: number[];
}

/**
 * Runs `iperf3 -c target -t seconds -J` from `netns` (`reverse`: -R, the
 * server sends) while metering the CPU of `pids`.
 */
export async function iperf3Run(
  netns: string,
  target: string,
  options: { seconds: number; reverse: boolean; pids: number[]; port?: number },
): Promise<ThroughputRun> {
  const args = [
    "iperf3",
    "-c",
    target,
    "-p",
    String(options.port ?? 5201),
    "-t",
    String(options.seconds),
    "-J",
    "--connect-timeout",
    "3000",
  ];
  if (options.reverse) args.push("-R");
  // The iperf3 server refuses or resets a new test while it still tears the
  // previous one down: retry a few times after a pause (bounded).
  for (let attempt = 1;; attempt++) {
    await new Promise((r) => setTimeout(r, 300));
    const meter = new CpuMeter(options.pids);
    meter.start();
    const r = await execIn(netns, args, options.seconds * 1000 + 20_000);
    const cpuPercent = meter.stop();
    let json: Iperf3Json;
    try {
      json = JSON.parse(r.stdout) as Iperf3Json;
    } catch {
      throw new Error(`iperf3 to ${target} printed no JSON (${r.code}): ${r.stderr.trim()}`);
    }
    if (json.error) {
      const isSetupError = /unable to (connect|receive control)|busy/.test(json.error);
      if (isSetupError && attempt < 4) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      throw new Error(`iperf3 to ${target}: ${json.error}`);
    }
    return parseRun(json, target, cpuPercent);
  }
}

function parseRun(json: Iperf3Json, target: string, cpuPercent: number[]): ThroughputRun {
  const received = json.end?.sum_received?.bits_per_second;
  if (received === undefined) throw new Error(`iperf3 to ${target}: no sum_received in JSON`);
  return {
    mbps: received / 1e6,
    retransmits: json.end?.sum_sent?.retransmits ?? 0,
    cpuPercent,
  };
}

interface Iperf3Json {
  error?: string;
  end?: {
    "sum_sent"?: { "bits_per_second"?: number; retransmits?: number };
    "sum_received"?: { "bits_per_second"?: number };
  };
}

/** RTTs of one ping series. */
export interface PingRun {
  /** Round-trip times in ms, one per reply. */
  rttsMs: number[];
  sent: number;
}

/** Sends `count` pings at `intervalS` from `netns` to `target` and collects the RTTs. */
export async function pingRun(
  netns: string,
  target: string,
  count = 20,
  intervalS = 0.1,
): Promise<PingRun> {
  const r = await execIn(
    netns,
    ["ping", "-n", "-c", String(count), "-i", String(intervalS), "-W", "2", target],
    count * intervalS * 1000 + 10_000,
  );
  const rttsMs = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (rttsMs.length === 0) throw new Error(`ping ${target}: no replies\n${r.stdout}${r.stderr}`);
  return { rttsMs, sent: count };
}
