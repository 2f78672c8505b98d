/**
 * Time source. Engines take `now` as a number of milliseconds; only runners
 * read a clock, and tests inject a fake one.
 *
 * @module
 */

/** A monotonic millisecond clock. */
export interface Clock {
  /** Milliseconds since an arbitrary origin, monotonic. */
  now(): number;
}

/** The system's monotonic clock (`performance.now()`). */
export const systemClock: Clock = { now: () => performance.now() };

/**
 * One-shot timers, as an I/O shell schedules a protocol's deadlines: the
 * pure code says when, the shell sets one of these. Tests pass a
 * {@linkcode FakeClock}, whose `advance()` runs the timers that fall due.
 */
export interface Timers {
  /** Calls `fn` once after `ms` milliseconds; returns a handle for `clear`. */
  set(fn: () => void, ms: number): unknown;
  /** Cancels a timer `set` returned (no effect once it fired). */
  clear(handle: unknown): void;
}

/** `setTimeout`'s longest delay (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 0x7fffffff;

/** The system's timers (`setTimeout`; delays clamped to {@linkcode MAX_TIMER_MS}). */
export const systemTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A clock for tests, advanced by hand (boringtun `MockClock`); its timers fire on `advance()`. */
export class FakeClock implements Clock, Timers {
  #nowMs: number;
  #nextId = 1;
  readonly #timers = new Map<number, { dueMs: number; fn: () => void }>();
  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }
  /** Current fake time. */
  now(): number {
    return this.#nowMs;
  }
  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }
  /** Schedules `fn` at now + `ms` (negative counts as 0). */
  set(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { dueMs: this.#nowMs + Math.max(0, ms), fn });
    return id;
  }
  /** Cancels a timer. */
  clear(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  /**
   * Moves time forward by `ms`, running every timer that falls due on the
   * way, earliest first (with the clock at its due time), including timers
   * those set.
   */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`Cannot advance clock: ${ms} is negative`);
    const end = this.#nowMs + ms;
    for (;;) {
      let next: [number, { dueMs: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].dueMs <= end && (next === undefined || entry[1].dueMs < next[1].dueMs)) {
          next = entry;
        }
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#nowMs = Math.max(this.#nowMs, next[1].dueMs);
      next[1].fn();
    }
    this.#nowMs = end;
  }
}
