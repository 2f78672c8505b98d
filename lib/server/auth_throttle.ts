/**
 * Brute-force throttling of logins, pure: every method takes the time, and
 * memory is bounded (least recently used entries go first, quiet ones
 * expire).
 *
 * - Failures are counted per source address and per user name.
 * - A source with `delayAfter` failures has its next attempts delayed,
 *   doubling from 1 s (capped at 16 s); at `blockAfter` failures it is
 *   refused for `blockMs`, and one fail2ban-friendly line says so:
 *   `auth-throttle source=203.0.113.9 user="alice" failures=6 blocked-for=60s`.
 *   After the block, one more failure blocks it again.
 * - A user name with `blockAfter` failures (from any mix of sources) is
 *   refused for `blockMs` to sources that have failed before; a source with
 *   no failure on record is never slowed or refused, so guessing cannot
 *   lock a user out of a login from elsewhere.
 * - A success clears the source's record.
 *
 * @module
 */
import { quotePeerText } from "../peer_text.ts";
import type { ServerConfig } from "../config/server_config.ts";

/** Why an attempt was held back, as a metrics label. */
export type ThrottleReason = "delayed" | "source_blocked" | "user_blocked";

/** Told what the throttle does (metrics); every method is cheap and must not throw. */
export interface AuthThrottleObserver {
  /** Called once with the throttle, so the observer can read how many are blocked now. */
  attached?(throttle: AuthThrottle): void;
  /**
   * An attempt was held back: a connection `delayed`, a connection or login
   * refused because its source is blocked (`source_blocked`), or a login
   * refused because its user name is under attack (`user_blocked`).
   */
  throttled(reason: ThrottleReason): void;
  /** A source was blocked for `blockMs` (once per block, as the log line). */
  sourceBlocked(): void;
}

/** Settings (`sstp-server` `auth-throttle*`). */
export interface AuthThrottleOptions {
  /** Failures after which attempts are delayed (default 3). */
  delayAfter?: number;
  /** Failures after which attempts are refused for `blockMs` (default 6). */
  blockAfter?: number;
  /** Refusal period in ms (default 60 s). */
  blockMs?: number;
  /** Entries kept per table, sources and users each (default 16 384). */
  maxEntries?: number;
  /** A record with no failure for this long is forgotten (default 15 min). */
  forgetMs?: number;
  /** Told about delays, refusals and blocks (metrics). */
  observer?: AuthThrottleObserver;
}

/** What to do with a new attempt. */
export type ThrottleDecision =
  | { action: "allow" }
  | { action: "delay"; ms: number }
  | { action: "refuse"; ms: number };

interface Entry {
  failures: number;
  lastFailureMs: number;
  blockedUntilMs: number;
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 16_000;

/** Counts login failures and decides delays and refusals. */
export class AuthThrottle {
  readonly #delayAfter: number;
  readonly #blockAfter: number;
  readonly #blockMs: number;
  readonly #maxEntries: number;
  readonly #forgetMs: number;
  readonly #sources = new Map<string, Entry>();
  readonly #users = new Map<string, Entry>();
  readonly #observer: AuthThrottleObserver | undefined;

  /**
   * An empty throttle (nobody delayed or blocked yet).
   *
   * @throws {RangeError} for thresholds that are not positive integers in order.
   */
  constructor(options: AuthThrottleOptions = {}) {
    this.#delayAfter = options.delayAfter ?? 3;
    this.#blockAfter = options.blockAfter ?? 6;
    this.#blockMs = options.blockMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 16_384;
    this.#forgetMs = options.forgetMs ?? 15 * 60_000;
    this.#observer = options.observer;
    if (
      !Number.isInteger(this.#delayAfter) || !Number.isInteger(this.#blockAfter) ||
      this.#delayAfter < 1 || this.#blockAfter < this.#delayAfter || !(this.#blockMs > 0) ||
      !(this.#maxEntries > 0)
    ) {
      throw new RangeError(
        "Cannot create auth throttle: need 1 <= delayAfter <= blockAfter, blockMs > 0",
      );
    }
    this.#observer?.attached?.(this);
  }

  /** Sources and user names refused at `nowMs` (blocked, not yet expired). */
  blockedCounts(nowMs: number): { sources: number; users: number } {
    let sources = 0;
    let users = 0;
    for (const e of this.#sources.values()) if (e.blockedUntilMs > nowMs) sources++;
    for (const e of this.#users.values()) if (e.blockedUntilMs > nowMs) users++;
    return { sources, users };
  }

  /** Number of sources and users on record (for tests and status). */
  get size(): { sources: number; users: number } {
    return { sources: this.#sources.size, users: this.#users.size };
  }

  /** What to do with a new connection from `source` before it may try a password. */
  check(source: string, nowMs: number): ThrottleDecision {
    const e = this.#get(this.#sources, source, nowMs);
    if (e === undefined) return { action: "allow" };
    if (e.blockedUntilMs > nowMs) {
      this.#observer?.throttled("source_blocked");
      return { action: "refuse", ms: e.blockedUntilMs - nowMs };
    }
    if (e.failures < this.#delayAfter) return { action: "allow" };
    const steps = Math.min(e.failures - this.#delayAfter, 10);
    this.#observer?.throttled("delayed");
    return { action: "delay", ms: Math.min(FIRST_DELAY_MS * 2 ** steps, MAX_DELAY_MS) };
  }

  /**
   * True when an attempt for `user` from `source` is to be refused without
   * checking the password: the source is blocked, or the user name is under
   * attack and this source has failed before.
   */
  isRefused(source: string, user: string, nowMs: number): boolean {
    const s = this.#get(this.#sources, source, nowMs);
    if (s === undefined) return false; // a clean source is never refused
    if (s.blockedUntilMs > nowMs) {
      this.#observer?.throttled("source_blocked");
      return true;
    }
    const u = this.#get(this.#users, user, nowMs);
    const refused = u !== undefined && u.blockedUntilMs > nowMs;
    if (refused) this.#observer?.throttled("user_blocked");
    return refused;
  }

  /**
   * Records a failed login; returns the line to log when this failure
   * blocks the source (once per block).
   */
  recordFailure(source: string, user: string, nowMs: number): string | undefined {
    const s = this.#touch(this.#sources, source, nowMs);
    const u = this.#touch(this.#users, user, nowMs);
    if (u.failures >= this.#blockAfter && u.blockedUntilMs <= nowMs) {
      u.blockedUntilMs = nowMs + this.#blockMs;
    }
    if (s.failures < this.#blockAfter || s.blockedUntilMs > nowMs) return undefined;
    s.blockedUntilMs = nowMs + this.#blockMs;
    this.#observer?.sourceBlocked();
    return `auth-throttle source=${source} user=${quotePeerText(user)} failures=${s.failures} ` +
      `blocked-for=${Math.ceil(this.#blockMs / 1000)}s`;
  }

  /** Records a successful login: the source starts afresh. */
  recordSuccess(source: string, _user: string, _nowMs: number): void {
    this.#sources.delete(source);
  }

  /** The entry for `key`, or undefined when there is none or it was forgotten. */
  #get(table: Map<string, Entry>, key: string, nowMs: number): Entry | undefined {
    const e = table.get(key);
    if (e === undefined) return undefined;
    if (e.blockedUntilMs <= nowMs && nowMs - e.lastFailureMs >= this.#forgetMs) {
      table.delete(key);
      return undefined;
    }
    return e;
  }

  #touch(table: Map<string, Entry>, key: string, nowMs: number): Entry {
    const e = this.#get(table, key, nowMs) ?? { failures: 0, lastFailureMs: 0, blockedUntilMs: 0 };
    e.failures++;
    e.lastFailureMs = nowMs;
    // Most recently failed last: the Map's order is the eviction order.
    table.delete(key);
    table.set(key, e);
    this.#evict(table, nowMs);
    return e;
  }

  #evict(table: Map<string, Entry>, nowMs: number): void {
    // Forget expired entries from the old end, then the oldest beyond the cap.
    for (const [key, e] of table) {
      if (table.size <= this.#maxEntries && nowMs - e.lastFailureMs < this.#forgetMs) break;
      if (table.size > this.#maxEntries || e.blockedUntilMs <= nowMs) table.delete(key);
      else break;
    }
  }
}

/**
 * `{ throttle }` for a server's session context from `sstp-server`
 * `auth-throttle*`, or `{}` when `auth-throttle: no`.
 */
export function authThrottleFor(
  config: ServerConfig,
  observer?: AuthThrottleObserver,
): { throttle?: AuthThrottle } {
  const t = config.sstpServer.authThrottle;
  return t === null
    ? {}
    : { throttle: new AuthThrottle({ ...t, ...(observer ? { observer } : {}) }) };
}
