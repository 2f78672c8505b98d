/**
 * The logger passed into every layer (DESIGN.md 3.4). `lib/` never calls
 * `console`; `main.ts` binds a sink.
 *
 * @module
 */

/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug", "trace"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** What every layer logs through. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  trace(message: string): void;
  /** True when `level` would be written (use to skip building costly messages). */
  enabled(level: LogLevel): boolean;
  /** A logger that prefixes every line with `[tag]`. */
  child(tag: string): Logger;
}

/** Where formatted lines go. */
export type LogSink = (level: LogLevel, line: string) => void;

/**
 * Creates a logger writing lines at or above `level` to `sink`.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger("info", (_l, line) => lines.push(line)).child("abc/127.0.0.1:443");
 * log.info("LCP Opened");
 * log.debug("not written");
 * if (lines.length !== 1) throw new Error();
 * ```
 */
export function createLogger(level: LogLevel, sink: LogSink, tags: string[] = []): Logger {
  const max = LOG_LEVELS.indexOf(level);
  const prefix = tags.map((t) => `[${t}] `).join("");
  const write = (l: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(l) <= max) sink(l, prefix + message);
  };
  return {
    error: write("error"),
    warn: write("warn"),
    info: write("info"),
    debug: write("debug"),
    trace: write("trace"),
    enabled: (l) => LOG_LEVELS.indexOf(l) <= max,
    child: (tag) => createLogger(level, sink, [...tags, tag]),
  };
}

/** A logger that writes nothing. */
export const NOOP_LOGGER: Logger = createLogger("error", () => {}, []);
