/**
 * `sstp connect` options: RouterOS `/interface sstp-client` properties as
 * kebab-case flags and as the keys of an optional YAML file (`--config
 * FILE`). Flags win over the file. Everything is checked here, before any
 * socket or interface exists; a bad value throws a `TypeError` (wrong kind)
 * or `RangeError` (out of bounds) that names the property:
 * `Invalid value for "keepalive-timeout": "abc" is not a number of seconds or "disabled"`.
 *
 * Departures from RouterOS: `verify-server-certificate` defaults to yes;
 * `sni` defaults to yes (Deno's TLS stacks send the host name anyway);
 * there is no `profile`; `server-fingerprint`, `crl`, `tls-version`,
 * `log-level` and `reconnect` are additions.
 *
 * @module
 */
import { AUTH_METHODS_STRONGEST_FIRST, type AuthMethod } from "../ppp/auth/auth_types.ts";
import type { LogLevel } from "../log.ts";
import { type HostKind, isHostName, parseHostPort } from "./host_port.ts";
import { interfaceNameProblem, MAX_INTERFACE_NAME_BYTES } from "./interface_names.ts";
import {
  DEFAULT_KEEPALIVE_TIMEOUT_S,
  DEFAULT_MTU,
  InvalidValueError,
  parseAuthentication,
  parseIntegerIn,
  parseKeepaliveTimeout,
  parseLogLevel,
  parseMrru,
  parseMtu,
  parseNonEmpty,
  parsePort,
  parseTlsVersion,
  parseYesNo,
  splitList,
  type TlsVersion,
} from "./values.ts";
import { type LogFormat, parseLogFormat } from "./log_format.ts";
import { type ListenAddress, parseListenAddress } from "./listen_address.ts";

/** The server to connect to. */
export interface ConnectTarget {
  /** Host name (lower case) or address literal (IPv6 without brackets). */
  host: string;
  /** TCP port: from `connect-to`, else `port`, else 443. */
  port: number;
  /** Whether `host` is a name or an address literal. */
  kind: HostKind;
}

/** Where the password came from. */
export type PasswordSource = "command-line" | "password-file" | "environment" | "config-file";

/** Everything `sstp connect` needs, checked, with defaults applied. */
export interface ConnectOptions {
  /** `connect-to` (+ `port`). */
  connectTo: ConnectTarget;
  /** `user`. */
  user: string;
  /** The password (never log it). */
  password: string;
  /** Which source the password came from. */
  passwordSource: PasswordSource;
  /** `authentication`, strongest first (default all four). */
  authentication: AuthMethod[];
  /** `verify-server-certificate` (default yes). */
  verifyServerCertificate: boolean;
  /** `verify-server-address-from-certificate` (default yes). */
  verifyServerAddressFromCertificate: boolean;
  /** `ca`: PEM CA bundle path; `undefined` means the system roots. */
  ca: string | undefined;
  /** `server-fingerprint`: SHA-256 of the server leaf certificate, 64 lower-case hex digits. */
  serverFingerprint: string | undefined;
  /** `certificate`: client certificate PEM path. */
  certificate: string | undefined;
  /** `certificate-key`: client key PEM path (else the key is in `certificate`). */
  certificateKey: string | undefined;
  /** `crl`: PEM CRL path. */
  crl: string | undefined;
  /** `keepalive-timeout` in ms, or `null` for disabled (default 60 s). */
  keepaliveTimeoutMs: number | null;
  /** `max-mtu` (default 1500). */
  maxMtu: number;
  /** `max-mru` (default 1500). */
  maxMru: number;
  /** `mrru`: multilink MRRU (RFC 1990), `undefined` when disabled (default). */
  mrru?: number | undefined;
  /** `add-default-route` (default no). */
  addDefaultRoute: boolean;
  /** `default-route-distance`, 1-255 (default 1). */
  defaultRouteDistance: number;
  /** `use-peer-dns` (default no). */
  usePeerDns: boolean;
  /** `name`: the tunnel interface (default `sstp-out1`). */
  name: string;
  /** `sni`: TLS server name to send, or `undefined` for none. */
  sni: string | undefined;
  /** `tls-version` (default any). */
  tlsVersion: TlsVersion;
  /** `log-level` (default info). */
  logLevel: LogLevel;
  /** `log-format`: `text` or `json` (default text). */
  logFormat: LogFormat;
  /** `reconnect` (default yes). */
  reconnect: boolean;
  /** `comment`. */
  comment: string | undefined;
  /** `disabled` (default no): the caller should not connect. */
  disabled: boolean;
  /** `http-proxy` (port default 8080): the TLS connection goes through it with HTTP CONNECT. */
  httpProxy: { host: string; port: number } | undefined;
  /** `metrics`: serve Prometheus text at /metrics here (default off). */
  metrics: ListenAddress | undefined;
  /** The `--config` file, if one was read. */
  configFile: string | undefined;
  /** Operator notes to log at warn level (never containing secrets). */
  warnings: string[];
}

/** Default TLS port of `connect-to`. */
export const DEFAULT_SSTP_PORT = 443;
/** Default `http-proxy` port (RouterOS `proxy-port`). */
export const DEFAULT_PROXY_PORT = 8080;
/** Default client interface name (RouterOS names the first client `sstp-out1`). */
export const DEFAULT_CLIENT_INTERFACE = "sstp-out1";

/** Properties that take a yes/no value. */
export const BOOLEAN_KEYS = [
  "verify-server-certificate",
  "verify-server-address-from-certificate",
  "add-default-route",
  "use-peer-dns",
  "reconnect",
  "disabled",
] as const;

/** Properties that take a value (flags and file keys alike). */
export const VALUE_KEYS = [
  "connect-to",
  "port",
  "user",
  "password",
  "password-file",
  "authentication",
  "ca",
  "server-fingerprint",
  "certificate",
  "certificate-key",
  "crl",
  "keepalive-timeout",
  "max-mtu",
  "max-mru",
  "mrru",
  "default-route-distance",
  "name",
  "sni",
  "tls-version",
  "log-level",
  "log-format",
  "comment",
  "http-proxy",
  "metrics",
] as const;

/** A property name of `sstp connect` (flag and YAML key alike). */
export type Key = typeof VALUE_KEYS[number] | typeof BOOLEAN_KEYS[number];

/** A raw value and where it came from, for messages. */
export interface Raw {
  text: string;
  /** `""` for the command line, `file:line: ` for the config file. */
  where: string;
  /** Line in the config file, or 0 for the command line. */
  line: number;
}

/** Checks `parseConnectOptions` (`lib/cli/connect_args.ts`) makes beyond the text itself. */
export interface ConnectChecks {
  /**
   * Returns why the file at `path` cannot be read ("no such file"), or
   * `undefined` when it can. Given, it checks `ca`, `certificate`,
   * `certificate-key` and `crl` at start, so a missing file is a usage error
   * rather than a failure found on every connection attempt.
   */
  fileProblem?: (path: string) => string | undefined;
}

/**
 * Every problem found in the options, so one run lists them all (as the
 * server does for its file). One problem is thrown as it is; several become
 * one `TypeError` listing each, config file lines in order, then the flags.
 */
export class Problems {
  readonly #found: { line: number; error: Error }[] = [];
  readonly #configPath: string | undefined;

  /** @param configPath The `--config` file, named in the summary line. */
  constructor(configPath: string | undefined) {
    this.#configPath = configPath;
  }

  /** Records `error`; `line` is its config file line, or 0 for the command line. */
  add(error: Error, line: number): void {
    this.#found.push({ line, error });
  }

  /** Throws the one problem, or one `TypeError` listing them all; nothing when none. */
  throwIfAny(): void {
    const found = [...this.#found].sort((a, b) => (a.line || Infinity) - (b.line || Infinity));
    const only = found[0];
    if (only === undefined) return;
    if (found.length === 1) throw only.error;
    const what = this.#configPath === undefined
      ? "the options"
      : `configuration "${this.#configPath}"`;
    throw new TypeError(
      `Cannot use ${what}: ${found.length} problems\n` +
        found.map((p) => "  " + p.error.message).join("\n"),
    );
  }
}

/** Reports `e` to `problems` when it is a caller mistake, else rethrows it. */
function collect(problems: Problems, e: unknown, line: number): void {
  if (e instanceof TypeError || e instanceof RangeError) problems.add(e, line);
  else throw e;
}

/**
 * Checks raw option text and applies the defaults: the model behind
 * `sstp connect`, whatever the text came from.
 *
 * @param raw Every property, command line over config file.
 * @param flags The command-line properties alone (the password's sources rank apart).
 * @param file The config-file properties alone.
 * @param env Environment (`SSTP_PASSWORD` is read).
 * @param readFile Reads a text file (`password-file`).
 * @param configFile The `--config` path, if one was read.
 * @param problems Collects every problem; the caller throws them with `throwIfAny()`.
 * @param checks Optional checks of the files the options name.
 * @throws {TypeError} For missing or malformed values.
 * @throws {RangeError} For numbers out of range.
 */
export function buildConnectOptions(
  raw: Map<string, Raw>,
  flags: Map<string, Raw>,
  file: Map<string, Raw>,
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
  configFile: string | undefined,
  problems: Problems,
  checks: ConnectChecks,
): ConnectOptions {
  const warnings: string[] = [];
  const get = <T>(key: Key, parse: (text: string) => T): T | undefined => {
    const r = raw.get(key);
    if (r === undefined) return undefined;
    try {
      return parse(r.text);
    } catch (e) {
      if (!(e instanceof InvalidValueError)) throw e;
      const message = `${r.where}Invalid value for "${key}": ${e.message}`;
      problems.add(e.kind === "range" ? new RangeError(message) : new TypeError(message), r.line);
      return undefined;
    }
  };
  /** A path property whose file must be readable at start. */
  const getFile = (key: "ca" | "certificate" | "certificate-key" | "crl") => {
    const path = get(key, parseNonEmpty);
    const r = raw.get(key);
    if (path === undefined || r === undefined || checks.fileProblem === undefined) return path;
    const problem = checks.fileProblem(path);
    if (problem !== undefined) {
      problems.add(
        new TypeError(`${r.where}Invalid value for "${key}": cannot read "${path}": ${problem}`),
        r.line,
      );
    }
    return path;
  };

  const target = get("connect-to", parseHostPort);
  if (target === undefined && !raw.has("connect-to")) {
    problems.add(
      new TypeError(
        `Missing "connect-to": give the server as the argument or as --connect-to HOST[:PORT]`,
      ),
      0,
    );
  }
  const port = get("port", parsePort);
  if (port !== undefined && target?.port !== undefined && port !== target.port) {
    problems.add(
      new RangeError(
        `${
          raw.get("port")?.where ?? ""
        }Invalid value for "port": ${port} conflicts with port ${target.port} in "connect-to"`,
      ),
      raw.get("port")?.line ?? 0,
    );
  }
  const user = get("user", parseNonEmpty);
  if (user === undefined && !raw.has("user")) {
    problems.add(new TypeError(`Missing "user": give --user NAME`), 0);
  }

  const verifyServerCertificate = get("verify-server-certificate", parseYesNo) ?? true;
  const serverFingerprint = get("server-fingerprint", parseFingerprint);
  if (!verifyServerCertificate && serverFingerprint === undefined) {
    warnings.push(
      "The server certificate is not verified (verify-server-certificate=no and no server-fingerprint): anyone on the path can impersonate the server",
    );
  }
  const certificate = getFile("certificate");
  const certificateKey = getFile("certificate-key");
  if (certificateKey !== undefined && certificate === undefined && !raw.has("certificate")) {
    problems.add(
      new TypeError(`Invalid value for "certificate-key": it needs "certificate" as well`),
      raw.get("certificate-key")?.line ?? 0,
    );
  }
  const host = target ?? { host: "", kind: "name" as HostKind };
  const sni = raw.has("sni")
    ? get("sni", (t) => parseSni(t, host.host, host.kind))
    : parseSni("yes", host.host, host.kind);
  if (sni === undefined && /^(yes|true)$/i.test(raw.get("sni")?.text.trim() ?? "")) {
    warnings.push(`sni=yes sends no server name: "${host.host}" is an IP address (RFC 6066 3)`);
  }
  const proxy = get("http-proxy", parseHostPort);
  let secret: { password: string; passwordSource: PasswordSource } = {
    password: "",
    passwordSource: "command-line",
  };
  try {
    secret = readPassword(flags, file, env, readFile, warnings);
  } catch (e) {
    collect(problems, e, (flags.get("password-file") ?? file.get("password-file"))?.line ?? 0);
  }

  return {
    connectTo: {
      host: host.host,
      port: target?.port ?? port ?? DEFAULT_SSTP_PORT,
      kind: host.kind,
    },
    user: user ?? "",
    password: secret.password,
    passwordSource: secret.passwordSource,
    authentication: get("authentication", (t) => parseAuthentication(splitList(t))) ??
      [...AUTH_METHODS_STRONGEST_FIRST],
    verifyServerCertificate,
    verifyServerAddressFromCertificate: get("verify-server-address-from-certificate", parseYesNo) ??
      true,
    ca: getFile("ca"),
    serverFingerprint,
    certificate,
    certificateKey,
    crl: getFile("crl"),
    keepaliveTimeoutMs: raw.has("keepalive-timeout")
      ? get("keepalive-timeout", parseKeepaliveTimeout) ?? null
      : DEFAULT_KEEPALIVE_TIMEOUT_S * 1000,
    maxMtu: get("max-mtu", parseMtu) ?? DEFAULT_MTU,
    maxMru: get("max-mru", parseMtu) ?? DEFAULT_MTU,
    mrru: get("mrru", parseMrru),
    addDefaultRoute: get("add-default-route", parseYesNo) ?? false,
    defaultRouteDistance: get("default-route-distance", (t) => parseIntegerIn(t, 1, 255)) ?? 1,
    usePeerDns: get("use-peer-dns", parseYesNo) ?? false,
    name: get("name", parseInterfaceName) ?? DEFAULT_CLIENT_INTERFACE,
    sni,
    tlsVersion: get("tls-version", parseTlsVersion) ?? "any",
    logLevel: get("log-level", parseLogLevel) ?? "info",
    logFormat: get("log-format", parseLogFormat) ?? "text",
    reconnect: get("reconnect", parseYesNo) ?? true,
    comment: raw.get("comment")?.text,
    disabled: get("disabled", parseYesNo) ?? false,
    httpProxy: proxy === undefined
      ? undefined
      : { host: proxy.host, port: proxy.port ?? DEFAULT_PROXY_PORT },
    metrics: get("metrics", parseListenAddress),
    configFile,
    warnings,
  };
}

function readPassword(
  flags: Map<string, Raw>,
  file: Map<string, Raw>,
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
  warnings: string[],
): { password: string; passwordSource: PasswordSource } {
  const fromFile = (raw: Raw): string => {
    let text: string;
    try {
      text = readFile(raw.text);
    } catch (e) {
      throw new TypeError(
        `${raw.where}Invalid value for "password-file": cannot read "${raw.text}": ${
          (e as Error).message
        }`,
        { cause: e },
      );
    }
    const line = text.split(/\r?\n/)[0] ?? "";
    if (line === "") {
      throw new TypeError(`${raw.where}Invalid value for "password-file": "${raw.text}" is empty`);
    }
    return line;
  };
  const pick = (source: Map<string, Raw>) => {
    const direct = source.get("password");
    const path = source.get("password-file");
    if (direct !== undefined && path !== undefined) {
      throw new TypeError(
        `${path.where}Invalid value for "password-file": "password" is given as well; use one`,
      );
    }
    return { direct, path };
  };
  const cli = pick(flags);
  if (cli.direct !== undefined) {
    warnings.push(
      "The password was given on the command line, where other users can see it in the process list; use --password-file or SSTP_PASSWORD",
    );
    return { password: cli.direct.text, passwordSource: "command-line" };
  }
  if (cli.path !== undefined) {
    return { password: fromFile(cli.path), passwordSource: "password-file" };
  }
  const fromEnv = env["SSTP_PASSWORD"];
  if (fromEnv !== undefined && fromEnv !== "") {
    return { password: fromEnv, passwordSource: "environment" };
  }
  const cfg = pick(file);
  if (cfg.direct !== undefined) return { password: cfg.direct.text, passwordSource: "config-file" };
  if (cfg.path !== undefined) {
    return { password: fromFile(cfg.path), passwordSource: "password-file" };
  }
  throw new TypeError(
    `Missing "password": give --password-file FILE, the SSTP_PASSWORD environment variable or "password" in the config file`,
  );
}

/** Parses `server-fingerprint`: `sha256:` and 64 hex digits (colons between bytes allowed). */
function parseFingerprint(text: string): string {
  const match = /^sha256:([0-9a-fA-F:]+)$/i.exec(text.trim());
  const hex = match?.[1]?.replaceAll(":", "") ?? "";
  if (match === null || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new InvalidValueError(
      `"${text}" is not "sha256:" followed by 64 hexadecimal digits`,
    );
  }
  return hex.toLowerCase();
}

function parseSni(text: string, host: string, kind: HostKind): string | undefined {
  const t = text.trim().toLowerCase();
  if (t === "yes" || t === "true") return kind === "name" ? host : undefined;
  if (t === "no" || t === "off" || t === "false") return undefined;
  if (!isHostName(t)) {
    throw new InvalidValueError(`"${text}" is not a host name, yes or no`);
  }
  return t.replace(/\.$/, "");
}

function parseInterfaceName(text: string): string {
  const problem = interfaceNameProblem(text);
  if (problem === undefined) return text;
  const tooLong = new TextEncoder().encode(text).length > MAX_INTERFACE_NAME_BYTES;
  throw new InvalidValueError(problem, tooLong ? "range" : "type");
}
