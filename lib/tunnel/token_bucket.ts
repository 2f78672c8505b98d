/**
 * A token bucket policer (RFC 2697's single-rate idea, with an optional
 * peak rate as in RFC 2698): the data path asks it whether a packet of n
 * bytes conforms at time `nowMs`, and drops the packet when it does not.
 * Used for the upload half of a session's `rate-limit`. Pure: time comes in.
 *
 * @module
 */

/** Settings of a {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /** Sustained rate, bits per second (> 0). */
  rateBps: number;
  /** Bucket size, bytes: how much may pass at once after an idle period. */
  burstBytes: number;
  /** Optional peak rate, bits per second, with a small bucket of `peakBurstBytes`. */
  peakBps?: number;
  /** Peak bucket size, bytes (default 2 × 1,500). */
  peakBurstBytes?: number;
}

/** A byte-counting token bucket; allows up to `burstBytes` at once, `rateBps` sustained. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #peakRate: number | undefined;
  readonly #peakBurst: number;
  #tokens: number;
  #peakTokens: number;
  #lastMs: number | undefined;

  /**
   * Creates a full bucket.
   *
   * @throws {RangeError} on a non-positive rate or bucket
   */
  constructor(options: TokenBucketOptions) {
    if (!(options.rateBps > 0) || !(options.burstBytes > 0)) {
      throw new RangeError("Cannot create token bucket: rate and burst must be positive");
    }
    this.#rate = options.rateBps / 8 / 1000; // bytes per ms
    this.#burst = options.burstBytes;
    this.#peakRate = options.peakBps !== undefined ? options.peakBps / 8 / 1000 : undefined;
    this.#peakBurst = options.peakBurstBytes ?? 3000;
    this.#tokens = this.#burst;
    this.#peakTokens = this.#peakBurst;
  }

  /** True (and the bytes are taken) when `bytes` conform at `nowMs`; false: drop. */
  take(bytes: number, nowMs: number): boolean {
    const elapsed = this.#lastMs === undefined ? 0 : Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    if (this.#peakRate !== undefined) {
      this.#peakTokens = Math.min(this.#peakBurst, this.#peakTokens + elapsed * this.#peakRate);
      if (this.#peakTokens < bytes) return false;
    }
    if (this.#tokens < bytes) return false;
    this.#tokens -= bytes;
    if (this.#peakRate !== undefined) this.#peakTokens -= bytes;
    return true;
  }
}
