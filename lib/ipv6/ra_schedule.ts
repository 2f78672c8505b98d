/**
 * When a router sends its Router Advertisements on one link (RFC 4861 6.2.4,
 * 6.2.6): a few initial unsolicited RAs close together, then one every
 * MinRtrAdvInterval-MaxRtrAdvInterval (uniformly random); an answer to each
 * Router Solicitation after a random 0-MAX_RA_DELAY_TIME delay, unicast to
 * the solicitor when it has an address (RFC 4861 6.2.6 allows it, and it is
 * what a point-to-point link has anyway), else multicast, where consecutive
 * multicast RAs stay MIN_DELAY_BETWEEN_RAS apart. Solicitations that arrive
 * while an answer is pending are folded into it, so a flood of them costs
 * at most one RA per delay. Pure: `now` in, destinations and the next
 * deadline out; the caller owns the one timer.
 *
 * @module
 */
import { isLinkLocal } from "./address.ts";
import { ALL_NODES } from "./ndp.ts";

/** RFC 4861 10 router constants, in milliseconds. */
export const RA_DELAYS = {
  /** MAX_RA_DELAY_TIME: the most an answer to an RS waits. */
  maxRaDelayMs: 500,
  /** MIN_DELAY_BETWEEN_RAS: the least time between multicast RAs. */
  minDelayBetweenRasMs: 3_000,
} as const;

/** Unsolicited RA timing (RFC 4861 6.2.1, 6.2.4, 10). */
export interface RaTiming {
  /** Initial unsolicited RAs (at most MAX_INITIAL_RTR_ADVERTISEMENTS = 3). */
  initialCount: number;
  /** Interval between them (at most MAX_INITIAL_RTR_ADVERT_INTERVAL = 16 s). */
  initialIntervalMs: number;
  /** MinRtrAdvInterval. */
  minIntervalMs: number;
  /** MaxRtrAdvInterval. */
  maxIntervalMs: number;
}

/** The RA timetable of one link. */
export class RaSchedule {
  readonly #timing: Readonly<RaTiming>;
  readonly #random: () => number;
  #initialLeft: number;
  /** The next multicast RA (unsolicited, or a multicast answer brought forward). */
  #multicastDueMs: number;
  #lastMulticastMs = -Infinity;
  #unicast: { destination: Uint8Array; dueMs: number } | undefined;

  /**
   * The first unsolicited RA is due at `nowMs`.
   *
   * @param random uniform random number in [0, 1)
   */
  constructor(timing: Readonly<RaTiming>, random: () => number, nowMs: number) {
    this.#timing = timing;
    this.#random = random;
    this.#initialLeft = timing.initialCount;
    this.#multicastDueMs = nowMs;
  }

  /** When {@linkcode RaSchedule.take} has something to send next. */
  get nextDueMs(): number {
    return Math.min(this.#multicastDueMs, this.#unicast?.dueMs ?? Infinity);
  }

  /**
   * A valid Router Solicitation from `source`: a link-local solicitor gets a
   * unicast answer, any other (`::` before it has an address) a multicast one.
   */
  solicited(source: Uint8Array, nowMs: number): void {
    const delay = Math.floor(this.#random() * RA_DELAYS.maxRaDelayMs);
    if (!isLinkLocal(source)) {
      const due = Math.max(
        nowMs + delay,
        this.#lastMulticastMs + RA_DELAYS.minDelayBetweenRasMs,
      );
      if (due < this.#multicastDueMs) this.#multicastDueMs = due;
      return;
    }
    // Already due to answer someone: the answer covers this one too.
    if (this.#unicast !== undefined) return;
    this.#unicast = { destination: source.slice(), dueMs: nowMs + delay };
  }

  /** The destinations of the RAs due by `nowMs` (ff02::1 or a solicitor), and re-plans. */
  take(nowMs: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#unicast !== undefined && nowMs >= this.#unicast.dueMs) {
      out.push(this.#unicast.destination);
      this.#unicast = undefined;
    }
    if (nowMs >= this.#multicastDueMs) {
      out.push(ALL_NODES);
      this.#lastMulticastMs = nowMs;
      if (this.#initialLeft > 0) this.#initialLeft--;
      // Any multicast RA restarts the interval (RFC 4861 6.2.6).
      this.#multicastDueMs = nowMs + this.#interval();
    }
    return out;
  }

  #interval(): number {
    const t = this.#timing;
    if (this.#initialLeft > 0) return Math.max(t.initialIntervalMs, RA_DELAYS.minDelayBetweenRasMs);
    const spread = t.maxIntervalMs - t.minIntervalMs;
    return t.minIntervalMs + Math.floor(this.#random() * spread);
  }
}
