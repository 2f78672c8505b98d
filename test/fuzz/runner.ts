/**
 * Runs fuzz targets: each case gets its own 32-bit case seed, drawn from the
 * run's seed, so any finding is replayed with `--replay TARGET:CASESEED`.
 * Findings are grouped by error type, message and first stack frame.
 *
 * @module
 */
import { Rng } from "./mutator.ts";
import type { FuzzTarget } from "./targets.ts";

/** One distinct problem found. */
export interface Finding {
  target: string;
  /** Case seed that reproduces it. */
  caseSeed: number;
  /** How many cases hit the same problem. */
  hits: number;
  error: Error;
}

/**
 * Known bugs being fixed elsewhere: counted and shown, not reported as
 * findings. Each entry names the issue that tracks it; remove it with the fix.
 */
export const KNOWN: readonly { issue: string; matches(e: Error): boolean }[] = [];

/** Figures of one target's run. */
export interface TargetStats {
  target: string;
  cases: number;
  ms: number;
  /** Cases that hit a {@linkcode KNOWN} bug, by issue. */
  known: Record<string, number>;
}

/** Options of {@linkcode runFuzz}. */
export interface FuzzOptions {
  targets: readonly FuzzTarget[];
  /** Run seed. */
  seed: number;
  /** Stop each target after this many cases... */
  casesPerTarget?: number;
  /** ...or after this much wall time for the whole run (split evenly). */
  seconds?: number;
  /** Wall clock (injected so tests stay deterministic in count mode). */
  now?: () => number;
  /** Called after each target. */
  onTarget?: (stats: TargetStats, findings: Finding[]) => void;
}

/** A stable key for grouping the same problem. */
function signature(e: Error): string {
  const frame = e.stack?.split("\n").find((l) => l.trim().startsWith("at ")) ?? "";
  return `${e.name}: ${e.message.replace(/\d+/g, "N")} ${frame.trim()}`;
}

/** Runs one case of `target` from `caseSeed`; returns the error, if any. */
export function runCase(target: FuzzTarget, caseSeed: number): Error | undefined {
  try {
    target.run(new Rng(caseSeed));
    return undefined;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Runs the targets; returns every distinct finding and per-target figures. */
export function runFuzz(options: FuzzOptions): { findings: Finding[]; stats: TargetStats[] } {
  const now = options.now ?? (() => performance.now());
  const findings: Finding[] = [];
  const stats: TargetStats[] = [];
  const perTargetMs = options.seconds === undefined
    ? Infinity
    : (options.seconds * 1000) / options.targets.length;
  for (const [index, target] of options.targets.entries()) {
    const seeds = new Rng((options.seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    const found = new Map<string, Finding>();
    const start = now();
    let cases = 0;
    const known: Record<string, number> = {};
    while (
      cases < (options.casesPerTarget ?? Infinity) &&
      (cases % 64 !== 0 || now() - start < perTargetMs)
    ) {
      const caseSeed = seeds.u32();
      cases++;
      const error = runCase(target, caseSeed);
      if (error === undefined) continue;
      const k = KNOWN.find((x) => x.matches(error));
      if (k !== undefined) {
        known[k.issue] = (known[k.issue] ?? 0) + 1;
        continue;
      }
      const key = signature(error);
      const seen = found.get(key);
      if (seen) seen.hits++;
      else found.set(key, { target: target.name, caseSeed, hits: 1, error });
    }
    const s = { target: target.name, cases, ms: now() - start, known };
    stats.push(s);
    findings.push(...found.values());
    options.onTarget?.(s, [...found.values()]);
  }
  return { findings, stats };
}

/** The replay handle of a finding: `target:0xSEED`. */
export function replayHandle(f: { target: string; caseSeed: number }): string {
  return `${f.target}:0x${f.caseSeed.toString(16).padStart(8, "0")}`;
}
