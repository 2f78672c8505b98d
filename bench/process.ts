/**
 * Child processes of the benchmark (iperf3, OpenVPN, `sstp`, helpers), run
 * inside a namespace, with their output kept line by line with arrival
 * times, CPU and RSS read from /proc, and a bounded stop.
 *
 * `ip netns exec NS PROGRAM` execs PROGRAM in place, so the child's PID is
 * the program's own: /proc/PID/stat is the tunnel process.
 *
 * @module
 */
import { onCleanup } from "./cleanup.ts";

/** A line of output and when it arrived (performance.now() ms). */
export interface TimedLine {
  atMs: number;
  text: string;
}

/** Options of {@linkcode BenchProcess}. */
export interface BenchProcessOptions {
  /** Namespace to run in; none runs in the current one. */
  netns?: string;
  env?: Record<string, string>;
  /** Keep at most this many lines (older ones are dropped). Default 20,000. */
  maxLines?: number;
  /** Pipe stdin (write with {@linkcode BenchProcess.writeStdin}). */
  stdin?: boolean;
}

/** A running child. */
export class BenchProcess {
  readonly #child: Deno.ChildProcess;
  readonly lines: TimedLine[] = [];
  readonly startedAtMs: number;
  readonly status: Promise<Deno.CommandStatus>;
  readonly label: string;
  #exited = false;
  readonly #maxLines: number;
  readonly #unregister: () => void;

  /** Starts `cmd`. */
  constructor(cmd: string[], options: BenchProcessOptions = {}) {
    const full = options.netns ? ["ip", "netns", "exec", options.netns, ...cmd] : cmd;
    this.label = cmd.slice(0, 3).join(" ");
    this.#maxLines = options.maxLines ?? 20_000;
    this.startedAtMs = performance.now();
    this.#child = new Deno.Command(full[0]!, {
      args: full.slice(1),
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...(options.env ?? {}) },
    }).spawn();
    const pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.status = this.#child.status.then(async (s) => {
      this.#exited = true;
      await Promise.all(pumps);
      return s;
    });
    this.#unregister = onCleanup(() => this.stop(2000).then(() => {}));
  }

  /** The child's PID (the program itself, see the module doc). */
  get pid(): number {
    return this.#child.pid;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** All output so far. */
  get output(): string {
    return this.lines.map((l) => l.text).join("\n");
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const atMs = performance.now();
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      for (const text of parts) this.#push({ atMs, text });
    }
    if (rest) this.#push({ atMs: performance.now(), text: rest });
  }

  #push(line: TimedLine): void {
    this.lines.push(line);
    if (this.lines.length > this.#maxLines) {
      this.lines.splice(0, this.lines.length - this.#maxLines);
    }
  }

  /** Writes text to stdin (only with `stdin: true`). */
  async writeStdin(text: string): Promise<void> {
    const w = this.#child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(text));
    } finally {
      w.releaseLock();
    }
  }

  /** Closes stdin (only with `stdin: true`). */
  async closeStdin(): Promise<void> {
    try {
      await this.#child.stdin.close();
    } catch { /* already closed */ }
  }

  /**
   * Waits until a line matches `re`; throws when the process exits first or
   * `timeoutMs` passes.
   */
  async waitFor(re: RegExp, timeoutMs: number): Promise<TimedLine> {
    const deadline = performance.now() + timeoutMs;
    let checked = 0;
    for (;;) {
      for (; checked < this.lines.length; checked++) {
        const line = this.lines[checked]!;
        if (re.test(line.text)) return line;
      }
      if (this.#exited) {
        await this.status;
        const hit = this.lines.find((l) => re.test(l.text));
        if (hit) return hit;
        throw new Error(`${this.label} exited before printing ${re}; output:\n${this.tail()}`);
      }
      if (performance.now() > deadline) {
        throw new Error(
          `${this.label}: no line matching ${re} within ${timeoutMs} ms:\n${this.tail()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The last `n` lines, for error messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).map((l) => `  | ${l.text}`).join("\n");
  }

  /** Sends a signal (ignored once exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  async stop(graceMs = 3000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.status,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.kill("SIGKILL");
          resolve();
        }, graceMs);
      }),
    ]);
    clearTimeout(timer);
    const status = await this.status;
    this.#unregister();
    return status;
  }
}

/** Clock ticks per second of /proc/PID/stat times (Linux: USER_HZ, 100). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process, in clock ticks (all its threads). */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Field 2 (comm) may hold spaces; fields after the last ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of the full line are 12 and 13 after "state" (index 0 = field 3).
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * A process's main thread (for Deno, the JS thread): time it ran on a CPU and
 * time it was runnable but waited for one, ms (/proc/PID/task/PID/schedstat,
 * nanoseconds). On a busy machine the wait grows and the run time hardly.
 */
export function mainThreadSchedMs(pid: number): { runMs: number; waitMs: number } {
  const [run, wait] = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/schedstat`).split(" ");
  return { runMs: Number(run) / 1e6, waitMs: Number(wait) / 1e6 };
}

/** Resident set size of a process in KiB (VmRSS). */
export function rssKib(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`Cannot read VmRSS of process ${pid}`);
  return Number(m[1]);
}

/** CPU use of several processes between `start()` and `stop()`, in % of one core. */
export class CpuMeter {
  readonly #pids: number[];
  #t0 = 0;
  #ticks0: number[] = [];

  /** Watches `pids`. */
  constructor(pids: number[]) {
    this.#pids = pids;
  }

  /** Takes the first sample. */
  start(): void {
    this.#t0 = performance.now();
    this.#ticks0 = this.#pids.map(cpuTicks);
  }

  /** CPU% per PID since `start()` (100 = one full core). */
  stop(): number[] {
    const seconds = (performance.now() - this.#t0) / 1000;
    return this.#pids.map((pid, i) => {
      const ticks = cpuTicks(pid) - (this.#ticks0[i] ?? 0);
      return (100 * ticks) / CLOCK_TICKS_PER_SECOND / seconds;
    });
  }
}

/** Runs a command to completion with a time limit. */
export async function execIn(
  netns: string | undefined,
  cmd: string[],
  timeoutMs = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = netns ? ["ip", "netns", "exec", netns, ...cmd] : cmd;
  const out = await new Deno.Command(full[0]!, {
    args: full.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output().catch((e) => {
    throw new Error(
      `${cmd.join(" ")}: ${e instanceof Error ? e.message : String(e)} (limit ${timeoutMs} ms)`,
    );
  });
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Like {@linkcode execIn} but throws on a non-zero exit. */
export async function runIn(
  netns: string | undefined,
  cmd: string[],
  timeoutMs = 30_000,
): Promise<string> {
  const r = await execIn(netns, cmd, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`Command failed (${r.code}): ${cmd.join(" ")}\n${r.stderr.trim()}`);
  }
  return r.stdout;
}
