/**
 * Runs a profile's `on-up` / `on-down` command for one session, as RouterOS
 * runs its PPP scripts: the session's variables in the environment (`USER`,
 * `CALLER_ID`, `LOCAL_ADDRESS`, `REMOTE_ADDRESS`, `INTERFACE`), through
 * `/bin/sh -c`, bounded in time; its output and a failure are logged, never
 * fatal to the session.
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** The variables a script sees. */
export interface SessionScriptEnv {
  /** The authenticated user name. */
  USER: string;
  /** The client's address as the server saw it (RouterOS `caller-id`). */
  CALLER_ID: string;
  /** The server's address on the tunnel. */
  LOCAL_ADDRESS: string;
  /** The client's address on the tunnel. */
  REMOTE_ADDRESS: string;
  /** The session's TUN device. */
  INTERFACE: string;
}

/** Longest a script may run before it is killed (ms). */
export const SESSION_SCRIPT_TIMEOUT_MS = 30_000;
/** Most output bytes logged per stream. */
const MAX_LOGGED_OUTPUT = 2048;

const decoder = new TextDecoder();

/**
 * Runs `command` with `env` added to the environment; resolves (never
 * rejects) once it has exited or been killed after `timeoutMs`.
 *
 * @returns The exit code, or `null` when it could not start or was killed.
 */
export async function runSessionScript(
  what: "on-up" | "on-down",
  command: string,
  env: SessionScriptEnv,
  log: Logger,
  timeoutMs = SESSION_SCRIPT_TIMEOUT_MS,
): Promise<number | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("/bin/sh", {
      args: ["-c", command],
      env: { ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    log.warn(`${what} script could not start: ${(e as Error).message}`);
    return null;
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    for (const [name, bytes] of [["stdout", out.stdout], ["stderr", out.stderr]] as const) {
      const text = decoder.decode(bytes.subarray(0, MAX_LOGGED_OUTPUT)).trimEnd();
      if (text !== "") {
        const more = bytes.length > MAX_LOGGED_OUTPUT ? ` (${bytes.length} bytes, cut)` : "";
        log.info(`${what} script ${name}${more}: ${text}`);
      }
    }
    if (timedOut) {
      log.warn(`${what} script killed after ${timeoutMs} ms`);
      return null;
    }
    if (out.code !== 0) log.warn(`${what} script failed: exit code ${out.code}`);
    return out.code;
  } finally {
    clearTimeout(timer);
  }
}
