/**
 * The client's crash-recovery state file: what a running client has changed
 * in the system's network configuration (routes, resolv.conf), as
 * {@linkcode NetChangeRecord}s, so that the next start of a client with the
 * same name undoes what a killed one (SIGKILL, power loss of the process,
 * OOM) left behind. Routes through the tunnel vanish with its TUN device when
 * the process dies; the host route pinned to the server through the old
 * gateway and the rewritten resolv.conf do not.
 *
 * The file is `<run dir>/client-<name>.state` (`/run/sstp` by default, a
 * tmpfs: a reboot forgets it along with the changes). A client inside
 * another network namespace than PID 1's adds the namespace's inode
 * (`client-<name>@net<inode>.state`): clients of the same name in different
 * namespaces are different tunnels. It is JSON, written atomically (temporary
 * file and rename, mode 0600) before each change and after each undo, and
 * removed when nothing is left.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import {
  type CommandRunner,
  type NetChangeRecord,
  NetConfig,
  ROUTE_TYPES,
} from "../net/net_config.ts";

/** Version of the file format. */
export const NET_STATE_VERSION = 1;

/** The file's content. */
export interface NetState {
  version: number;
  /** Interface name of the client that wrote it. */
  name: string;
  /** Its process id. */
  pid: number;
  /** Its start time (`/proc/PID/stat` field 22), to tell a reused pid apart. */
  startTime: string | undefined;
  /** The changes in force, oldest first. */
  changes: NetChangeRecord[];
}

/** Where the state file of client `name` lives. */
export function netStatePath(runDir: string, name: string, netnsTag = ""): string {
  return `${runDir}/client-${name}${netnsTag}.state`;
}

/**
 * `@net<inode>` when this process is in another network namespace than
 * PID 1, else "" (also when that cannot be told).
 */
export function currentNetnsTag(): string {
  try {
    const own = Deno.statSync("/proc/self/ns/net").ino;
    const init = Deno.statSync("/proc/1/ns/net").ino;
    return own === init || own === null ? "" : `@net${own}`;
  } catch {
    return "";
  }
}

/** Field 22 of `/proc/PID/stat` (start time in clock ticks), or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Parses a state file's text.
 *
 * @throws {SyntaxError} `Cannot read network state: reason`.
 */
export function parseNetState(text: string): NetState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot read network state: ${(e as Error).message}`);
  }
  const v = value as Partial<NetState> | null;
  if (
    typeof v !== "object" || v === null || v.version !== NET_STATE_VERSION ||
    typeof v.name !== "string" || typeof v.pid !== "number" || !Array.isArray(v.changes)
  ) {
    throw new SyntaxError("Cannot read network state: not a version 1 state file");
  }
  for (const c of v.changes) {
    const problem = recordProblem(c);
    if (problem !== undefined) throw new SyntaxError(`Cannot read network state: ${problem}`);
  }
  return {
    version: v.version,
    name: v.name,
    pid: v.pid,
    startTime: typeof v.startTime === "string" ? v.startTime : undefined,
    changes: v.changes,
  };
}

function recordProblem(c: unknown): string | undefined {
  if (typeof c !== "object" || c === null) return "a change is not an object";
  const r = c as Record<string, unknown>;
  const str = (k: string) => typeof r[k] === "string";
  switch (r["kind"]) {
    case "route": {
      const route = r["route"] as Record<string, unknown> | null;
      if (typeof route !== "object" || route === null || typeof route["dst"] !== "string") {
        return "a route change has no route";
      }
      const type = route["type"];
      return type === undefined || (ROUTE_TYPES as readonly unknown[]).includes(type)
        ? undefined
        : `route type ${JSON.stringify(type)} is not one of ${ROUTE_TYPES}`;
    }
    case "dns": {
      const p = r["previous"] as Record<string, unknown> | null;
      const ok = str("path") && str("written") && typeof p === "object" && p !== null &&
        (p["kind"] === "absent" || (p["kind"] === "symlink" && typeof p["target"] === "string") ||
          (p["kind"] === "file" && typeof p["base64"] === "string"));
      return ok ? undefined : "a DNS change is incomplete";
    }
    case "ip": {
      const undo = r["undo"];
      if (
        !str("description") || !Array.isArray(undo) || !undo.every((a) => typeof a === "string")
      ) {
        return "an ip change is incomplete";
      }
      // Only the undo commands NetConfig writes: never `ip netns exec` or the like.
      const verb = `${undo[0]} ${undo[1]}`;
      return IP_UNDO_VERBS.has(verb) ? undefined : `ip change "${verb}" is not an undo step`;
    }
    case "sysctl":
      return str("key") && str("value") && SYSCTL_KEY.test(String(r["key"])) &&
          /^[0-9]{1,3}$/.test(String(r["value"]))
        ? undefined
        : "a sysctl change is not a proxy_arp setting";
    default:
      return `unknown change kind ${JSON.stringify(r["kind"])}`;
  }
}

/** The `ip` undo steps a state file may hold. */
const IP_UNDO_VERBS = new Set(["addr del", "link set", "neigh del"]);
/** The sysctls a state file may restore. */
const SYSCTL_KEY = /^net\/ipv4\/conf\/[A-Za-z0-9_.-]{1,15}\/proxy_arp$/;

/** Reads and writes one client's state file. */
export class NetStateFile {
  /** The file's path. */
  readonly path: string;
  readonly #name: string;
  readonly #pid: number;
  readonly #startTime: string | undefined;

  /** Describes the file of client `name` run by process `pid`. */
  constructor(path: string, name: string, pid = Deno.pid) {
    this.path = path;
    this.#name = name;
    this.#pid = pid;
    this.#startTime = processStartTime(pid);
  }

  /**
   * Reads what a previous client left. Returns undefined when there is no
   * file; a file that cannot be parsed is moved aside (`.bad`) with a warning.
   *
   * @throws {Error} When the process that wrote it is still running (another
   * client with this name).
   */
  readStale(log: Logger): NetState | undefined {
    let text: string;
    try {
      const info = Deno.lstatSync(this.path);
      // Its content is run as root: only a file of our own that no one else may write.
      if (
        !info.isFile || (info.uid !== null && info.uid !== Deno.uid()) ||
        ((info.mode ?? 0) & 0o022) !== 0
      ) {
        throw new Error(
          `Cannot use network state ${this.path}: not a regular file of uid ${Deno.uid()} ` +
            `writable by its owner only`,
        );
      }
      text = Deno.readTextFileSync(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    let state: NetState;
    try {
      state = parseNetState(text);
    } catch (e) {
      log.warn(`${(e as Error).message} (${this.path}); moved aside to ${this.path}.bad`);
      Deno.renameSync(this.path, `${this.path}.bad`);
      return undefined;
    }
    if (
      state.pid !== this.#pid && state.startTime !== undefined &&
      processStartTime(state.pid) === state.startTime
    ) {
      throw new Error(
        `Cannot start client "${this.#name}": process ${state.pid} is running it (${this.path})`,
      );
    }
    return state;
  }

  /** Writes `changes` (atomically, mode 0600), or removes the file when there are none. */
  write(changes: readonly NetChangeRecord[]): void {
    if (changes.length === 0) {
      try {
        Deno.removeSync(this.path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      return;
    }
    const state: NetState = {
      version: NET_STATE_VERSION,
      name: this.#name,
      pid: this.#pid,
      startTime: this.#startTime,
      changes: [...changes],
    };
    const dir = this.path.slice(0, this.path.lastIndexOf("/")) || "/";
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(state) + "\n", { mode: 0o600 });
    Deno.renameSync(tmp, this.path);
  }
}

/**
 * Undoes what a killed client left in `file` (see {@linkcode NetStateFile.readStale}),
 * newest first, and takes the file over meanwhile: what cannot be undone
 * stays in it for the next start.
 *
 * @returns How many changes were found.
 * @throws {Error} When the client that wrote the file is still running.
 */
export async function recoverNetState(
  file: NetStateFile,
  log: Logger,
  options: { netns?: string | undefined; run?: CommandRunner; resolvConfPath?: string } = {},
): Promise<number> {
  const stale = file.readStale(log);
  if (stale === undefined) return 0;
  const resolvConf = options.resolvConfPath ?? "/etc/resolv.conf";
  const foreign = stale.changes.filter((c) => c.kind === "dns" && c.path !== resolvConf);
  for (const c of foreign) {
    log.warn(`${file.path} names ${(c as { path: string }).path}, not ${resolvConf}; ignored`);
  }
  stale.changes = stale.changes.filter((c) => !foreign.includes(c));
  if (stale.changes.length === 0) {
    file.write([]);
    return 0;
  }
  log.warn(
    `undoing ${stale.changes.length} network change(s) left by process ${stale.pid} (${file.path})`,
  );
  const net = new NetConfig({
    logger: log,
    netns: options.netns,
    run: options.run,
    journal: (records) => file.write(records),
  });
  net.restore(stale.changes);
  await net.cleanup().catch((e) => log.warn(`recovery: ${(e as Error).message}`));
  return stale.changes.length;
}
