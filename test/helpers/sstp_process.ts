/**
 * Runs the real `sstp` program (main.ts) as a child process for end-to-end
 * tests, optionally inside a network namespace, collecting its log lines
 * ({@linkcode SstpProcess}); {@linkcode LineProcess} does the same for any
 * other program.
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A running child process whose stdout and stderr lines are collected. */
export class LineProcess {
  readonly #child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #pumps: Promise<void>[];
  #status: Deno.CommandStatus | undefined;
  readonly status: Promise<Deno.CommandStatus>;

  /** Starts `cmd` (stdin closed, `NO_COLOR=1` plus `env`). */
  constructor(cmd: string[], env: Record<string, string> = {}) {
    this.#child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    this.#pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.status = this.#child.status.then(async (s) => {
      await Promise.all(this.#pumps);
      this.#status = s;
      return s;
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts);
    }
    if (rest) this.lines.push(rest);
  }

  /** The whole output so far. */
  get output(): string {
    return this.lines.join("\n");
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#status !== undefined;
  }

  /** Waits until a line matches `re` (or the process exits, or time runs out). */
  async waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit) return hit;
      if (this.exited) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${this.output}`);
  }

  /** Sends a signal (ignored if already gone). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch { /* already exited */ }
  }

  /** Waits for exit, killing with SIGKILL after `timeoutMs`. */
  async wait(timeoutMs: number): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killer = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.status, killer]);
    clearTimeout(timer);
    return await this.status;
  }
}

/** A running `sstp` child. */
export class SstpProcess extends LineProcess {
  /** Starts `sstp ARGS` (inside `netns` when given). */
  constructor(args: string[], options: { env?: Record<string, string>; netns?: string } = {}) {
    const sstp = [Deno.execPath(), "run", "-A", MAIN, ...args];
    super(options.netns ? ["ip", "netns", "exec", options.netns, ...sstp] : sstp, options.env);
  }
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitUntil<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a command and returns its exit code and output (bounded). */
export async function run(
  cmd: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const out = await c.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
