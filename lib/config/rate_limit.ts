/**
 * RouterOS `rate-limit` (profile and RADIUS `Mikrotik-Rate-Limit`):
 *
 * ```
 * rx-rate[/tx-rate] [rx-burst-rate[/tx-burst-rate] [rx-burst-threshold[/tx-burst-threshold]
 *   [rx-burst-time[/tx-burst-time] [priority] [rx-rate-min[/tx-rate-min]]]]]
 * ```
 *
 * Rates are bits per second with an optional `k`, `M` or `G` suffix
 * (RouterOS: 1k = 1,000); times are seconds. `rx` is what the server
 * receives from the client (upload), `tx` what it sends to the client
 * (download). A missing tx value takes the rx value; `0` means unlimited.
 *
 * @module
 */

/** One direction's limits, in bits per second and seconds. */
export interface RateLimitDirection {
  /** Sustained rate; 0 = unlimited. */
  rate: number;
  /** Rate allowed during a burst; 0 = no burst. */
  burstRate: number;
  /** Average rate below which a burst may start. */
  burstThreshold: number;
  /** Seconds over which the average is taken. */
  burstTimeS: number;
  /** Guaranteed rate (informational on Linux). */
  rateMin: number;
}

/** A parsed `rate-limit`. */
export interface RateLimit {
  /** Client → server (upload). */
  rx: RateLimitDirection;
  /** Server → client (download). */
  tx: RateLimitDirection;
  /** RouterOS queue priority 1-8 (informational on Linux). */
  priority: number;
}

const SUFFIX: Record<string, number> = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 };

function parseRate(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text);
  if (!m) throw new RangeError(`${what} "${text}" is not a rate (e.g. 10M, 512k, 0)`);
  return Math.round(Number(m[1]) * (SUFFIX[m[2] ?? ""] ?? 1));
}

function parseSeconds(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)s?$/.exec(text);
  if (!m) throw new RangeError(`${what} "${text}" is not a time in seconds`);
  return Number(m[1]);
}

function pair<T>(
  field: string | undefined,
  parse: (t: string, w: string) => T,
  what: string,
  fallback: T,
): [T, T] {
  if (field === undefined || field === "") return [fallback, fallback];
  const parts = field.split("/");
  if (parts.length > 2) throw new RangeError(`${what} "${field}" has more than one "/"`);
  const rx = parse(parts[0] ?? "", `rx-${what}`);
  const tx = parts[1] === undefined ? rx : parse(parts[1], `tx-${what}`);
  return [rx, tx];
}

/**
 * Parses a RouterOS rate-limit string.
 *
 * @throws {RangeError} naming the field that is wrong
 * @example
 * ```ts
 * import { parseRateLimit } from "./rate_limit.ts";
 * const r = parseRateLimit("2M/10M");
 * if (r.rx.rate !== 2_000_000 || r.tx.rate !== 10_000_000) throw new Error();
 * ```
 */
export function parseRateLimit(text: string): RateLimit {
  const fields = text.trim().split(/\s+/);
  if (fields.length === 0 || fields[0] === "" || fields.length > 6) {
    throw new RangeError(`rate-limit "${text}" must have 1 to 6 space-separated fields`);
  }
  const [rate, burstRate, burstThreshold, burstTime, priorityText, rateMin] = fields;
  const [rxRate, txRate] = pair(rate, parseRate, "rate", 0);
  const [rxBurst, txBurst] = pair(burstRate, parseRate, "burst-rate", 0);
  const [rxThr, txThr] = pair(burstThreshold, parseRate, "burst-threshold", 0);
  const [rxTime, txTime] = pair(burstTime, parseSeconds, "burst-time", 0);
  const [rxMin, txMin] = pair(rateMin, parseRate, "rate-min", 0);
  const priority = priorityText === undefined ? 8 : Number(priorityText);
  if (!Number.isInteger(priority) || priority < 1 || priority > 8) {
    throw new RangeError(`rate-limit priority "${priorityText}" must be 1-8`);
  }
  const direction = (r: number, b: number, t: number, s: number, min: number, name: string) => {
    if (b !== 0 && r !== 0 && b < r) {
      throw new RangeError(`${name}-burst-rate ${b} is below ${name}-rate ${r}`);
    }
    if (b !== 0 && s === 0) throw new RangeError(`${name}-burst-rate needs a ${name}-burst-time`);
    return { rate: r, burstRate: b, burstThreshold: t, burstTimeS: s, rateMin: min };
  };
  return {
    rx: direction(rxRate, rxBurst, rxThr, rxTime, rxMin, "rx"),
    tx: direction(txRate, txBurst, txThr, txTime, txMin, "tx"),
    priority,
  };
}

/** Formats a rate as RouterOS does (`10M`, `512k`, `1500`). */
export function formatRate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1e9 && bitsPerSecond % 1e9 === 0) return `${bitsPerSecond / 1e9}G`;
  if (bitsPerSecond >= 1e6 && bitsPerSecond % 1e6 === 0) return `${bitsPerSecond / 1e6}M`;
  if (bitsPerSecond >= 1e3 && bitsPerSecond % 1e3 === 0) return `${bitsPerSecond / 1e3}k`;
  return String(bitsPerSecond);
}
