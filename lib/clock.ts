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

/** A clock for tests, advanced by hand (boringtun `MockClock`). */
export class FakeClock implements Clock {
  #nowMs: number;
  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }
  /** Current fake time. */
  now(): number {
    return this.#nowMs;
  }
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`Cannot advance clock: ${ms} is negative`);
    this.#nowMs += ms;
  }
}
