/**
 * RouterOS's read-only `/ppp secret` fields `last-logged-out` and
 * `last-caller-id`, kept per user in the server's state directory
 * (`secret-state.json`) so they survive restarts, as on RouterOS.
 *
 * The file is rewritten whole (temp file + rename) after changes; writes are
 * serialised, at most one per {@linkcode WRITE_INTERVAL_MS}, and the changes
 * made meanwhile go out together in the next (a burst of logins costs one
 * write a second, not one per login: back to back, the writes of a burst of
 * thousands of logins cost the server ~3 % of its set-up time). A missing or unreadable file starts empty (logged).
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** What is known about one user's last session. */
export interface SecretHistory {
  /** When the user's last session ended (ISO 8601), if one has. */
  lastLoggedOut?: string;
  /** The client address of the user's last login. */
  lastCallerId?: string;
}

/** The state file's name in the state directory. */
export const SECRET_STATE_FILE = "secret-state.json";
/** Shortest time between the starts of two writes of the file, ms. */
export const WRITE_INTERVAL_MS = 1000;
/** Users kept at most (the oldest entries are dropped beyond it). */
const MAX_USERS = 100_000;

/** Per-user login history, persisted. */
export class SecretState {
  readonly #path: string | undefined;
  readonly #log: Logger;
  readonly #users = new Map<string, SecretHistory>();
  #writing: Promise<void> = Promise.resolve();
  // The write queued behind the one in progress; later changes join it.
  #queued: Promise<void> | undefined;
  /** When the last write started (performance.now()). */
  #lastWriteMs = -Infinity;

  private constructor(path: string | undefined, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /**
   * Loads `dir/secret-state.json` (`dir` undefined: in memory only).
   * Never throws: a bad file is logged and replaced on the next change.
   */
  static async open(dir: string | undefined, log: Logger): Promise<SecretState> {
    const state = new SecretState(
      dir === undefined ? undefined : `${dir}/${SECRET_STATE_FILE}`,
      log,
    );
    if (state.#path === undefined) return state;
    try {
      const data = JSON.parse(await Deno.readTextFile(state.#path)) as unknown;
      if (typeof data === "object" && data !== null && !Array.isArray(data)) {
        for (const [user, h] of Object.entries(data as Record<string, unknown>)) {
          if (typeof h !== "object" || h === null) continue;
          const { lastLoggedOut, lastCallerId } = h as Record<string, unknown>;
          state.#users.set(user, {
            ...(typeof lastLoggedOut === "string" ? { lastLoggedOut } : {}),
            ...(typeof lastCallerId === "string" ? { lastCallerId } : {}),
          });
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        log.warn(`Cannot read ${state.#path}: ${(e as Error).message}; starting empty`);
      }
    }
    return state;
  }

  /** The user's history (empty when none). */
  get(user: string): SecretHistory {
    return { ...this.#users.get(user) };
  }

  /** Records a login of `user` from `callerAddress`. */
  loggedIn(user: string, callerAddress: string): Promise<void> {
    return this.#update(user, { lastCallerId: callerAddress });
  }

  /** Records the end of a session of `user` at `atMs` (epoch ms). */
  loggedOut(user: string, atMs: number): Promise<void> {
    return this.#update(user, { lastLoggedOut: new Date(atMs).toISOString() });
  }

  /** Settles once every change so far is on disk. */
  flush(): Promise<void> {
    return this.#writing;
  }

  #update(user: string, change: SecretHistory): Promise<void> {
    const old = this.#users.get(user);
    this.#users.delete(user);
    this.#users.set(user, { ...old, ...change });
    if (this.#users.size > MAX_USERS) this.#users.delete(this.#users.keys().next().value!);
    const path = this.#path;
    if (path === undefined) return Promise.resolve();
    if (this.#queued !== undefined) return this.#queued;
    this.#queued = this.#writing = this.#writing.then(async () => {
      const wait = this.#lastWriteMs + WRITE_INTERVAL_MS - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.#lastWriteMs = performance.now();
      // From here on, changes go into the next write.
      this.#queued = undefined;
      const text = JSON.stringify(Object.fromEntries(this.#users));
      const tmp = `${path}.tmp`;
      try {
        await Deno.writeTextFile(tmp, text, { mode: 0o600 });
        await Deno.rename(tmp, path);
      } catch (e) {
        this.#log.warn(`Cannot write ${path}: ${(e as Error).message}`);
      }
    });
    return this.#writing;
  }
}
