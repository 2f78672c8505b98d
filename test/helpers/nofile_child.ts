/**
 * A Deno script run as a child process under `prlimit --nofile=N` (a low
 * open-file limit), its output collected line by line: for tests of what a
 * listener does when it runs out of file descriptors.
 *
 * @module
 */

/** True when `prlimit` (util-linux) can be run. */
export const PRLIMIT_AVAILABLE: boolean = (() => {
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/** A running child (see {@linkcode spawnUnderNofile}). */
export interface NofileChild {
  /** Standard output lines so far. */
  readonly out: string[];
  /** Standard error lines so far (the child's log). */
  readonly err: string[];
  /** Resolves once `test` holds (polled every 50 ms); rejects after `ms` with the log. */
  until(test: () => boolean, ms: number, what: string): Promise<void>;
  /** Kills the child and waits for it and its output. */
  stop(): Promise<void>;
}

/** Runs `deno run -A script ...args` under an open-file limit of `nofile`. */
export function spawnUnderNofile(nofile: number, script: string, args: string[]): NofileChild {
  const child = new Deno.Command("prlimit", {
    args: [`--nofile=${nofile}`, Deno.execPath(), "run", "-A", script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const pumps = Promise.all([pump(child.stdout, out), pump(child.stderr, err)]);
  return {
    out,
    err,
    async until(test, ms, what) {
      const t0 = performance.now();
      while (!test()) {
        if (performance.now() - t0 > ms) {
          throw new Error(`${what} within ${ms} ms:\n${err.join("\n")}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await pumps;
    },
  };
}

/** Lines of `stream`, pushed to `into` as they come. */
async function pump(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      into.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
}
