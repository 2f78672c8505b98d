/**
 * RouterOS time intervals as written in `/ppp profile session-timeout`,
 * `idle-timeout` and similar properties.
 *
 * Accepted forms (all converted to milliseconds):
 * - a plain number of seconds: `30`, `3600`;
 * - unit groups, largest first, each at most once: `1w2d3h4m5s6ms`, `1h30m`,
 *   `90s`, `1d`;
 * - a clock suffix, optionally after weeks and days, as RouterOS prints:
 *   `00:30:00`, `1d02:00:00`, `1w2d00:00:05`.
 *
 * @module
 */

const UNIT_MS = {
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
} as const;

type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ["w", "d", "h", "m", "s", "ms"];

const GROUP = /([0-9]+)(ms|w|d|h|m|s)/y;
const CLOCK = /^([0-9]{1,2}):([0-5][0-9]):([0-5][0-9])$/;

/**
 * Parses a RouterOS duration.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * if (parseDuration("1h30m") !== 5_400_000) throw new Error();
 * if (parseDuration("1d00:00:30") !== 86_430_000) throw new Error();
 * if (parseDuration("abc") !== undefined) throw new Error();
 * ```
 * @returns Milliseconds, or `undefined` when `text` is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === "") return undefined;
  if (/^[0-9]+$/.test(s)) return safe(Number(s) * 1000);
  let total = 0;
  let position = 0;
  let nextUnit = 0;
  GROUP.lastIndex = 0;
  while (position < s.length) {
    GROUP.lastIndex = position;
    const match = GROUP.exec(s);
    if (match === null) {
      // Only weeks and days may precede a clock (RouterOS prints "1d02:00:00").
      if (nextUnit > UNIT_ORDER.indexOf("h")) return undefined;
      const clock = CLOCK.exec(s.slice(position));
      if (clock === null) return undefined;
      const [, h, m, sec] = clock;
      total += Number(h) * UNIT_MS.h + Number(m) * UNIT_MS.m + Number(sec) * UNIT_MS.s;
      return safe(total);
    }
    const unit = match[2] as Unit;
    const index = UNIT_ORDER.indexOf(unit);
    if (index < nextUnit) return undefined; // out of order or repeated
    nextUnit = index + 1;
    total += Number(match[1]) * UNIT_MS[unit];
    position = GROUP.lastIndex;
  }
  return safe(total);
}

function safe(ms: number): number | undefined {
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Formats milliseconds the way RouterOS prints them: `1h30m`, `45s`, `0s`.
 *
 * @throws {RangeError} When `ms` is negative or not an integer.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`Cannot format duration: ${ms} is not a non-negative integer`);
  }
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of UNIT_ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out;
}
