/**
 * Admission of connections by source address: a global cap and a cap per
 * source, for connections that have not yet earned trust (TLS handshakes in
 * progress, connections not yet authenticated). Pure: the caller closes what
 * it is told to close and reports what ended.
 *
 * - A newcomer whose source already holds `maxPerSource` entries is refused:
 *   one address cannot take more than its share, however fast it connects.
 * - A newcomer that finds the global cap reached evicts the oldest entry
 *   (which the caller closes) rather than being refused: a flood from many
 *   addresses then churns through the slots instead of freezing them, and a
 *   legitimate client that finishes its step quickly still gets through.
 *
 * Memory is bounded by `max`: the per-source table only holds sources with
 * at least one live entry, so it never has more keys than there are entries.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";

/** What {@linkcode SourceLimiter.admit} decided. */
export type Admission<T> =
  | { admitted: true; evicted?: T }
  | { admitted: false; reason: "per-source" };

/** Limits of a {@linkcode SourceLimiter}. */
export interface SourceLimits {
  /** Entries in total. */
  max: number;
  /** Entries per source key (see {@linkcode sourceKey}). */
  maxPerSource: number;
}

/** Entries keyed by source, with a global and a per-source cap. */
export class SourceLimiter<T> {
  /** The caps it enforces. */
  readonly limits: SourceLimits;
  /** Insertion order is admission order: the first entry is the oldest. */
  readonly #entries = new Map<T, { source: string; sinceMs: number }>();
  readonly #perSource = new Map<string, number>();

  /**
   * An empty limiter with these caps.
   *
   * @throws {RangeError} when a limit is not a positive integer.
   */
  constructor(limits: SourceLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`Cannot limit sources: ${name} ${value} is not a positive integer`);
      }
    }
    this.limits = { ...limits };
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Sources with at least one entry (never more than {@linkcode size}). */
  get sources(): number {
    return this.#perSource.size;
  }

  /** Entries held for `source` (a key from {@linkcode sourceKey}). */
  countOf(source: string): number {
    return this.#perSource.get(source) ?? 0;
  }

  /** Whether `item` is held. */
  has(item: T): boolean {
    return this.#entries.has(item);
  }

  /**
   * Admits `item` from `source` since `sinceMs`, refusing it when `source`
   * already holds `maxPerSource` entries (default the limiter's cap). When
   * the global cap is reached the oldest entry is removed and returned as
   * `evicted`: the caller closes it.
   */
  admit(
    source: string,
    item: T,
    sinceMs: number,
    maxPerSource: number = this.limits.maxPerSource,
  ): Admission<T> {
    if (this.#entries.has(item)) return { admitted: true };
    if (this.countOf(source) >= maxPerSource) {
      return { admitted: false, reason: "per-source" };
    }
    let evicted: T | undefined;
    if (this.#entries.size >= this.limits.max) {
      evicted = this.#entries.keys().next().value as T;
      this.release(evicted);
    }
    this.#entries.set(item, { source, sinceMs });
    this.#perSource.set(source, this.countOf(source) + 1);
    return evicted === undefined ? { admitted: true } : { admitted: true, evicted };
  }

  /** Forgets `item` (idempotent). */
  release(item: T): void {
    const entry = this.#entries.get(item);
    if (entry === undefined) return;
    this.#entries.delete(item);
    const n = this.countOf(entry.source) - 1;
    if (n > 0) this.#perSource.set(entry.source, n);
    else this.#perSource.delete(entry.source);
  }

  /** Entries admitted at or before `nowMs - ageMs`, removed from the limiter. */
  takeExpired(nowMs: number, ageMs: number): T[] {
    const expired: T[] = [];
    for (const [item, { sinceMs }] of this.#entries) {
      if (nowMs - sinceMs >= ageMs) expired.push(item);
    }
    for (const item of expired) this.release(item);
    return expired;
  }
}

/**
 * The key connections from one source share: the IPv4 address (an
 * IPv4-mapped IPv6 address counts as its IPv4 address), or the /64 prefix of
 * an IPv6 address, since one subscriber usually holds a whole /64.
 */
export function sourceKey(address: string | undefined): string {
  if (address === undefined || address === "") return "?";
  const lower = address.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  if (!lower.includes(":")) return lower;
  const groups = expandIpv6(lower.split("%")[0]!);
  if (groups === undefined) return lower;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 literal, or undefined when malformed. */
function expandIpv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) => part === "" ? [] : part.split(":").map((g) => parseInt(g, 16));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** Sources named in one {@linkcode RefusalLog} summary line at most. */
const SUMMARY_SOURCES = 8;

/**
 * Logs refused connections without letting a flood flood the log: the first
 * refusal of each window is logged with its source and reason, later ones
 * are counted (for at most {@linkcode SUMMARY_SOURCES} sources by name) and
 * summed up in one line when the next window starts.
 */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #windowMs: number;
  #windowStartMs = -Infinity;
  #suppressed = 0;
  readonly #bySource = new Map<string, number>();

  /** Logs through `logger`, in windows of `windowMs` milliseconds measured on `clock`. */
  constructor(logger: Logger, clock: Clock, windowMs = 10_000) {
    this.#logger = logger;
    this.#clock = clock;
    this.#windowMs = windowMs;
  }

  /** Records that a connection from `source` was refused for `reason`. */
  refused(source: string, reason: string): void {
    const now = this.#clock.now();
    if (now - this.#windowStartMs < this.#windowMs) {
      this.#suppressed++;
      const n = this.#bySource.get(source);
      if (n !== undefined || this.#bySource.size < SUMMARY_SOURCES) {
        this.#bySource.set(source, (n ?? 0) + 1);
      }
      return;
    }
    if (this.#suppressed > 0) {
      const named = [...this.#bySource].map(([s, n]) => `${s} ${n}`).join(", ");
      this.#logger.warn(
        `refused ${this.#suppressed} more connections in ${
          Math.round((now - this.#windowStartMs) / 1000)
        } s (${named}${this.#bySource.size >= SUMMARY_SOURCES ? ", …" : ""})`,
      );
    }
    this.#windowStartMs = now;
    this.#suppressed = 0;
    this.#bySource.clear();
    this.#logger.warn(`refused a connection from ${source}: ${reason}`);
  }
}
