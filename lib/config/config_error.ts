/**
 * {@linkcode ConfigError}: every mistake found in a configuration file,
 * reported together so a server never starts half-configured.
 *
 * @module
 */

/** One mistake in a configuration file. */
export interface ConfigIssue {
  /** File name as given to the parser. */
  file: string;
  /** 1-based line, or 0 when the mistake concerns the whole file. */
  line: number;
  /** 1-based column, or 0 when unknown. */
  column: number;
  /** Path of the offending value: `secrets[2].remote-address`, or "" for the file. */
  path: string;
  /** What is wrong, std style without the location. */
  message: string;
}

/** Formats an issue as `file:line: path: message`. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
  return issue.path === ""
    ? `${where}: ${issue.message}`
    : `${where}: ${issue.path}: ${issue.message}`;
}

/** A configuration file with one or more mistakes. */
export class ConfigError extends Error {
  /** Every mistake found, in file order. */
  readonly issues: readonly ConfigIssue[];

  /**
   * An error whose message counts the problems and lists each on its own
   * line, in file order (line, then column).
   *
   * @param file The file name.
   * @param issues The mistakes (at least one).
   */
  constructor(file: string, issues: readonly ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
    const count = sorted.length === 1 ? "1 problem" : `${sorted.length} problems`;
    super(
      `Cannot load configuration "${file}": ${count}\n` +
        sorted.map((i) => "  " + formatConfigIssue(i)).join("\n"),
    );
    this.name = "ConfigError";
    this.issues = sorted;
  }
}
