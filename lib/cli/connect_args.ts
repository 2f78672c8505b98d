/**
 * `sstp connect` arguments: flags, the positional server and the optional
 * YAML `--config` file, turned into checked {@linkcode ConnectOptions}
 * (the model and its validation live in `lib/config/client_config.ts`).
 *
 * @module
 */
import {
  buildConnectOptions,
  type ConnectChecks,
  type ConnectOptions,
  type Key,
  Problems,
  type Raw,
} from "../config/client_config.ts";
import { formatConfigIssue } from "../config/config_error.ts";
import { readConfigFile, readFlags } from "./_connect_sources.ts";

/**
 * True when `argv` asks for help (`-h` or `--help` before any `--`). Check this
 * first and print `CONNECT_HELP` (`connect_help.ts`) instead of parsing.
 */
export function isHelpRequested(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

/**
 * Parses and checks `sstp connect` arguments.
 *
 * @example
 * ```ts
 * import { parseConnectOptions } from "./connect_args.ts";
 * const o = await parseConnectOptions(
 *   ["vpn.example.com:8443", "--user", "alice", "--keepalive-timeout", "disabled"],
 *   { SSTP_PASSWORD: "s3cret" },
 *   () => "",
 * );
 * if (o.connectTo.port !== 8443 || o.keepaliveTimeoutMs !== null) throw new Error();
 * ```
 * @param argv Arguments after `connect`.
 * @param env Environment (`SSTP_PASSWORD` is read).
 * @param readFile Reads a text file (`--config`, `--password-file`).
 * @param checks Optional checks of the files the options name.
 * @throws {TypeError} For unknown options or keys, missing or malformed values;
 *   when there are several problems, one `TypeError` lists them all, one a line.
 * @throws {RangeError} For one number out of range.
 */
export async function parseConnectOptions(
  argv: string[],
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
  checks: ConnectChecks = {},
): Promise<ConnectOptions> {
  const { flags, positionals } = readFlags(argv);
  const configPath = flags.get("config")?.text;
  const problems = new Problems(configPath);
  let file = new Map<Key, Raw>();
  if (configPath !== undefined) {
    const read = await readConfigFile(configPath, readFile);
    file = read.values;
    for (const issue of read.issues) {
      problems.add(new TypeError(formatConfigIssue(issue)), issue.line || 1);
    }
  }
  if (positionals.length > 1) {
    throw new TypeError(`Unexpected argument "${positionals[1]}": give one server to connect to`);
  }
  const positional = positionals[0];
  if (positional !== undefined) {
    if (flags.has("connect-to")) {
      throw new TypeError(
        `Option "connect-to" is given twice: as the argument "${positional}" and as --connect-to`,
      );
    }
    flags.set("connect-to", { text: positional, where: "", line: 0 });
  }
  const raw = new Map<string, Raw>([...file, ...flags]);
  const options = buildConnectOptions(
    raw,
    flags,
    file,
    env,
    readFile,
    configPath,
    problems,
    checks,
  );
  problems.throwIfAny();
  return options;
}
