/**
 * The logger passed into every layer. `lib/` never calls `console`, so a
 * library user decides where lines go; `main.ts` binds a sink.
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

/**
 * Where formatted lines go. `line` is the tags as `[tag] ` prefixes then the
 * message; `tags` and `message` are the same parts apart, for structured
 * (JSON) output.
 */
export type LogSink = (
  level: LogLevel,
  line: string,
  tags: readonly string[],
  message: string,
) => void;

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
  return new TaggedLogger(LOG_LEVELS.indexOf(level), sink, tags);
}

/**
 * Methods on the prototype, not closures: a server keeps one or two child
 * loggers per session, thousands at once.
 */
class TaggedLogger implements Logger {
  readonly #max: number;
  readonly #sink: LogSink;
  readonly #tags: string[];
  readonly #prefix: string;

  constructor(max: number, sink: LogSink, tags: string[]) {
    this.#max = max;
    this.#sink = sink;
    this.#tags = tags;
    this.#prefix = tags.map((t) => `[${t}] `).join("");
  }

  error(message: string): void {
    this.#write(0, "error", message);
  }
  warn(message: string): void {
    this.#write(1, "warn", message);
  }
  info(message: string): void {
    this.#write(2, "info", message);
  }
  debug(message: string): void {
    this.#write(3, "debug", message);
  }
  trace(message: string): void {
    this.#write(4, "trace", message);
  }
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.#max;
  }
  child(tag: string): Logger {
    return new TaggedLogger(this.#max, this.#sink, [...this.#tags, tag]);
  }

  #write(rank: number, level: LogLevel, message: string): void {
    if (rank <= this.#max) this.#sink(level, this.#prefix + message, this.#tags, message);
  }
}

/** A logger that writes nothing. */
export const NOOP_LOGGER: Logger = createLogger("error", () => {}, []);
