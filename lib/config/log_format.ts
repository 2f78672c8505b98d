/**
 * How `sstp serve` and `sstp connect` write log lines (`log-format`):
 *
 * - `text` (default): `2026-01-02T03:04:05.678Z info  [tag] message`, one
 *   line each, for terminals and plain files.
 * - `json`: one JSON object per line for journald and log shippers, with
 *   these field names, which stay stable: `ts` (ISO 8601 UTC), `level`
 *   (`error` … `trace`), `msg` (the message without tags), `tags` (the
 *   logger's tags outermost first: interface, caller, session), and
 *   `program` (`sstp-server` or `sstp-client`).
 *
 * @module
 */
import type { LogLevel, LogSink } from "../log.ts";
import { InvalidValueError } from "./values.ts";

/** The values of `log-format`. */
export const LOG_FORMATS = ["text", "json"] as const;
/** One of {@linkcode LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];

/**
 * Parses a `log-format` value.
 *
 * @throws {InvalidValueError} for anything but `text` or `json`.
 */
export function parseLogFormat(text: string): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(text)) return text as LogFormat;
  throw new InvalidValueError(`"${text}" is not one of ${LOG_FORMATS.join(", ")}`);
}

/** One log record as the `json` format writes it. */
export interface JsonLogRecord {
  ts: string;
  level: LogLevel;
  program: string;
  tags: string[];
  msg: string;
}

/**
 * A sink that formats each record and hands the line to `write`.
 *
 * @example
 * ```ts
 * import { createLogger } from "../log.ts";
 * import { formattedSink } from "./log_format.ts";
 * const out: string[] = [];
 * const sink = formattedSink("json", "sstp-server", (l) => out.push(l), () => new Date(0));
 * createLogger("info", sink).child("alice").info("LCP Opened");
 * if (JSON.parse(out[0]!).msg !== "LCP Opened") throw new Error();
 * ```
 */
export function formattedSink(
  format: LogFormat,
  program: string,
  write: (line: string) => void,
  now: () => Date = () => new Date(),
): LogSink {
  if (format === "json") {
    return (level, _line, tags, message) => {
      const record: JsonLogRecord = {
        ts: now().toISOString(),
        level,
        program,
        tags: [...tags],
        msg: message,
      };
      write(JSON.stringify(record));
    };
  }
  return (level, line) => write(`${now().toISOString()} ${level.padEnd(5)} ${line}`);
}
