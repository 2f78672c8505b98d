/**
 * Throw-away network namespaces for root-only tests (wireguard-go
 * `tests/netns.sh` analogue).
 *
 * - {@linkcode netnsTestIgnore} decides whether a test runs: it is ignored
 *   (with a console note) only when not root or `/dev/net/tun` is missing AND
 *   `CI` is not set; under CI the test runs and fails loudly instead.
 * - {@linkcode createNetns} makes `sstp-t-<random>` with `lo` up (and IPv6
 *   off by default, so the kernel sends no router solicitations or MLD
 *   reports over test links). With `SSTP_TEST_NETNS_PREFIX=x` set, every
 *   name starts with `x-` (`x-sstp-t-<random>`), so concurrent runs on one
 *   machine can tell their namespaces apart and clean up only their own.
 * - `ns.exec()` / `ns.run()` run a command inside it with a time limit.
 * - `ns.enter(fn)` runs a synchronous `fn` with the JS thread switched into
 *   the namespace (`setns(2)` is per thread), e.g. to create a TUN device or
 *   a socket there; the thread is switched back before it returns.
 * - `ns.cleanup()` kills what still runs inside (only processes we started
 *   there) and deletes the namespace; `await using` calls it.
 *
 * Use only 198.18.0.0/15 (RFC 2544 benchmarking) addresses inside.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { check, CLONE_NEWNET, closeQuietly, cString, libc, O_CLOEXEC } from "../../ffi/libc.ts";

/** Output of a finished command. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode Netns.exec}. */
export interface ExecOptions {
  /** Kill the command after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  stdin?: string;
}

/** A network namespace owned by the test that created it. */
export interface Netns extends AsyncDisposable {
  /** Its name, `sstp-t-<8 hex digits>` (the prefix is the caller's). */
  readonly name: string;
  /** Runs `cmd` inside the namespace; never throws on a non-zero exit. */
  exec(cmd: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs `cmd` inside the namespace and returns stdout; throws on a non-zero exit. */
  run(cmd: string[], options?: ExecOptions): Promise<string>;
  /** Runs synchronous `fn` with the JS thread inside the namespace. */
  enter<T>(fn: () => T): T;
  /** Kills leftover processes inside and deletes the namespace (idempotent). */
  cleanup(): Promise<void>;
}

/** Why netns tests cannot run here, or undefined when they can. */
export function netnsUnavailableReason(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    return "no /dev/net/tun";
  }
  return undefined;
}

/** True when the CI environment variable asks for every test to run. */
export function isCi(): boolean {
  const ci = Deno.env.get("CI");
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
}

/**
 * The `ignore` flag of a root-only test: true (with a console note) only when
 * the machine cannot run it and `CI` is not set.
 */
export function netnsTestIgnore(what: string): boolean {
  const reason = netnsUnavailableReason();
  if (reason === undefined || isCi()) return false;
  console.log(`note: skipping ${what}: ${reason} (set CI=true to make this a failure)`);
  return true;
}

/** Runs a command (not inside a namespace) with a time limit. */
export async function execCommand(
  cmd: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const [program, ...args] = cmd;
  if (program === undefined) throw new TypeError("Cannot run command: it is empty");
  const abort = new AbortController();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const child = new Deno.Command(program, {
      args,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).spawn();
    if (options.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(options.stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    const result = {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
    if (abort.signal.aborted) {
      result.stderr += `\n(killed after ${timeoutMs} ms)`;
      if (result.code === 0) result.code = -1;
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

async function runChecked(cmd: string[], options?: ExecOptions): Promise<string> {
  const r = await execCommand(cmd, options);
  if (r.code !== 0) {
    throw new Error(`Command failed (${r.code}): ${cmd.join(" ")}\n${r.stderr.trim()}`);
  }
  return r.stdout;
}

function randomName(prefix: string): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  const scope = Deno.env.get("SSTP_TEST_NETNS_PREFIX");
  if (scope) prefix = `${scope}-${prefix}`;
  return `${prefix}-${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Creates a fresh namespace. On any set-up failure it is deleted again.
 *
 * @throws {Error} when not root, `ip` is missing or a set-up command fails.
 */
export async function createNetns(
  options: { prefix?: string; disableIpv6?: boolean } = {},
): Promise<Netns> {
  const name = randomName(options.prefix ?? "sstp-t");
  await runChecked(["ip", "netns", "add", name]);
  let isCleaned = false;
  const exec = (cmd: string[], o?: ExecOptions) =>
    execCommand(["ip", "netns", "exec", name, ...cmd], o);
  const ns: Netns = {
    name,
    exec,
    run: (cmd, o) => runChecked(["ip", "netns", "exec", name, ...cmd], o),
    enter<T>(fn: () => T): T {
      const { open, setns } = libc();
      const action = `Cannot enter network namespace "${name}"`;
      const flags = O_CLOEXEC; // O_RDONLY = 0
      const home = check(open(cString("/proc/thread-self/ns/net"), flags, 0), action, "open");
      try {
        const target = check(open(cString(`/run/netns/${name}`), flags, 0), action, "open");
        try {
          check(setns(target, CLONE_NEWNET), action, "setns");
        } finally {
          closeQuietly(target);
        }
        let result: T;
        try {
          result = fn();
        } finally {
          // Failing to come back would leave every later socket in the test
          // namespace: make that impossible to miss.
          check(setns(home, CLONE_NEWNET), `Cannot leave network namespace "${name}"`, "setns");
        }
        if (result instanceof Promise) {
          throw new TypeError(`Cannot enter network namespace "${name}": fn must be synchronous`);
        }
        return result;
      } finally {
        closeQuietly(home);
      }
    },
    async cleanup() {
      if (isCleaned) return;
      isCleaned = true;
      const pids = await execCommand(["ip", "netns", "pids", name]);
      for (const pid of pids.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
      let last: ExecResult | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        last = await execCommand(["ip", "netns", "del", name]);
        if (last.code === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`Cannot delete network namespace "${name}": ${last?.stderr.trim()}`);
    },
    [Symbol.asyncDispose]() {
      return ns.cleanup();
    },
  };
  try {
    await ns.run(["ip", "link", "set", "lo", "up"]);
    if (options.disableIpv6 ?? true) {
      await ns.run([
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
      ]);
    }
  } catch (e) {
    await ns.cleanup();
    throw e;
  }
  return ns;
}
