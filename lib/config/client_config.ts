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
 * `server-fingerprint`, `crl`, `tls-version`, `log-level`, `reconnect` and
 * `kill-switch` are additions.
 *
 * @module
 */
import { type AuthMethod, DEFAULT_CLIENT_AUTH_METHODS } from "../ppp/auth/auth_types.ts";
import type { LogLevel } from "../log.ts";
import { type HostKind, isHostName, parseHostPort } from "./host_port.ts";
import { interfaceNameProblem, MAX_INTERFACE_NAME_BYTES } from "./interface_names.ts";
import { parseDuration } from "./duration.ts";
import {
  DEFAULT_KEEPALIVE_TIMEOUT_S,
  DEFAULT_MTU,
  InvalidValueError,
  MAX_KEEPALIVE_TIMEOUT_S,
  parseAuthentication,
  parseChoice,
  parseCiphers,
  parseIntegerIn,
  parseKeepaliveTimeout,
  parseLogLevel,
  parseMtu,
  parseNonEmpty,
  parsePfs,
  parsePort,
  parseTlsEngine,
  parseTlsVersion,
  parseYesNo,
  splitList,
  type TlsEngine,
  type TlsVersion,
} from "./values.ts";
import {
  type CipherName,
  DEFAULT_TLS_POLICY,
  type Pfs,
  tlsPolicyProblems,
} from "../transport/tls_policy.ts";
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
  /** `authentication`, strongest first (default mschap2, mschap1, chap, pap; `eap-mschap2` is opt-in). */
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
  /** `add-default-route` (default no). */
  addDefaultRoute: boolean;
  /** `default-route-distance`, 0-255 (default 1): the metric of the tunnel's routes. */
  defaultRouteDistance: number;
  /** `use-peer-dns` (default no). */
  usePeerDns: boolean;
  /**
   * `bridge`: a Linux bridge to join with a TAP device; BCP (RFC 3518)
   * carries Ethernet frames beside IPCP. Absent: no bridging.
   */
  bridge: string | undefined;
  /**
   * `use-ipv6` (default no): run IPV6CP, configure the link-local and the
   * address from the server's Router Advertisement (SLAAC), IPv6 default
   * route with `add-default-route`, IPv6 DNS with `use-peer-dns`.
   */
  useIpv6: boolean;
  /**
   * `dhcpv6-pd` (default no): with `use-ipv6`, ask the server for a
   * delegated prefix (DHCPv6-PD, RFC 8415 IA_PD), keep it renewed, route it
   * as unreachable locally (RFC 7084 WPD-5) and show it in `sstp status`.
   */
  dhcpv6Pd: boolean;
  /**
   * `dhcpv6-pd-interface`: a downstream interface that gets the delegated
   * prefix's first /64 as `::1/64` (RouterOS: an address `from-pool` on the
   * LAN). Absent: the prefix is only routed.
   */
  dhcpv6PdInterface: string | undefined;
  /** `name`: the tunnel interface (default `sstp-out1`). */
  name: string;
  /** `sni`: TLS server name to send, or `undefined` for none. */
  sni: string | undefined;
  /** `tls-version` (default any). */
  tlsVersion: TlsVersion;
  /** `tls-engine` (default deno): `openssl` uses the system libssl through FFI. */
  tlsEngine: TlsEngine;
  /** `pfs` (default yes): `required` refuses a server session without forward secrecy. */
  pfs: Pfs;
  /** `ciphers` (default empty: every suite the TLS stack offers). */
  ciphers: CipherName[];
  /** `force-aes` (default no): refuse sessions whose cipher is not AES. */
  forceAes: boolean;
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
  /** `http-proxy` (port default 443): the TLS connection goes through it with HTTP CONNECT. */
  httpProxy: { host: string; port: number } | undefined;
  /** `metrics`: serve Prometheus text at /metrics here (default off). */
  metrics: ListenAddress | undefined;
  /**
   * `kill-switch` (default no, beyond RouterOS): while the tunnel is down or
   * reconnecting, what its routes would carry is dropped (blackhole routes)
   * instead of leaking through the old default route.
   */
  killSwitch: boolean;
  /**
   * `mrru` (default disabled): the Multilink MRRU (RFC 1990) to offer, or
   * `undefined`. Negotiated with a server that enables it too: packets larger
   * than the link MTU then cross as MP fragments and the TUN MTU is the MRRU.
   */
  mrru: number | undefined;
  /**
   * `dial-on-demand` (default no): the interface waits with a placeholder
   * address and the routes; the first packet into it starts the connection.
   */
  dialOnDemand: boolean;
  /** `dial-on-demand-address`: the placeholder local and peer addresses (10.112.112.0/24). */
  demandAddress: { local: string; peer: string };
  /** `idle-timeout` in ms, or `null` for none (default): on demand, idle links hang up. */
  idleTimeoutMs: number | null;
  /** `profile` (default `default-encryption`): the PPP profile whose client properties apply. */
  profile: string;
  /** `change-tcp-mss` of the profile (default yes): clamp the TCP MSS of SYNs to the link MTU. */
  changeTcpMss: boolean;
  /** The `--config` file, if one was read. */
  configFile: string | undefined;
  /** Operator notes to log at warn level (never containing secrets). */
  warnings: string[];
}

/** Default TLS port of `connect-to`. */
export const DEFAULT_SSTP_PORT = 443;
/** Default `http-proxy` port (RouterOS `proxy-port`, default 443). */
export const DEFAULT_PROXY_PORT = 443;
/** RouterOS's built-in PPP profiles, which exist without a `profiles:` section. */
export const BUILTIN_PROFILES = ["default", "default-encryption"] as const;
/** The profile an sstp-client uses unless told otherwise (RouterOS's default). */
export const DEFAULT_CLIENT_PROFILE = "default-encryption";
/** `/ppp profile` properties that apply to a client (the `profiles:` section of its file). */
export const CLIENT_PROFILE_KEYS = [
  "name",
  "change-tcp-mss",
  "use-encryption",
  "idle-timeout",
  "comment",
] as const;
/** `/ppp profile` properties of a server's sessions: refused in a client's profile, with the reason. */
export const SERVER_ONLY_PROFILE_KEYS = [
  "local-address",
  "remote-address",
  "dns-server",
  "only-one",
  "session-timeout",
  "rate-limit",
  "bridge",
  "address-list",
  "on-up",
  "on-down",
] as const;
/** The raw-value key of profile `name`'s property `key` (from the `profiles:` section). */
export function profileRawKey(name: string, key: string): string {
  return `profiles/${name}/${key}`;
}

/** RouterOS's placeholder addresses of a dial-on-demand interface (10.112.112.0/24). */
export const DEFAULT_DEMAND_ADDRESS = { local: "10.112.112.2", peer: "10.112.112.1" } as const;
/** `mrru` bounds: RouterOS's smallest, and the largest packet one TUN read or write holds. */
export const MRRU_RANGE = { min: 512, max: 16_384 } as const;
/** Default client interface name (RouterOS names the first client `sstp-out1`). */
export const DEFAULT_CLIENT_INTERFACE = "sstp-out1";

/** Properties that take a yes/no value. */
export const BOOLEAN_KEYS = [
  "verify-server-certificate",
  "verify-server-address-from-certificate",
  "add-default-route",
  "use-peer-dns",
  "force-aes",
  "use-ipv6",
  "dhcpv6-pd",
  "reconnect",
  "disabled",
  "kill-switch",
  "dial-on-demand",
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
  "bridge",
  "dhcpv6-pd-interface",
  "name",
  "sni",
  "tls-version",
  "tls-engine",
  "pfs",
  "ciphers",
  "log-level",
  "log-format",
  "comment",
  "http-proxy",
  "metrics",
  "dial-on-demand-address",
  "idle-timeout",
  "profile",
] as const;

/** A property name of `sstp connect` (flag and YAML key alike). */
export type Key = typeof VALUE_KEYS[number] | typeof BOOLEAN_KEYS[number];

/** A raw value and where it came from, for messages. */
export interface Raw {
  /** The value as written (flag argument or YAML scalar). */
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

  /**
   * An empty list of problems.
   *
   * @param configPath The `--config` file, named in the summary line.
   */
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
  const killSwitch = get("kill-switch", parseYesNo) ?? false;
  const addDefaultRoute = get("add-default-route", parseYesNo) ?? false;
  if (killSwitch) checkKillSwitch(raw, addDefaultRoute, host, proxy);
  const dialOnDemand = get("dial-on-demand", parseYesNo) ?? false;
  const profile = readProfile(
    raw,
    get("profile", parseNonEmpty) ?? DEFAULT_CLIENT_PROFILE,
    warnings,
  );
  const idleTimeoutMs = raw.has("idle-timeout")
    ? get("idle-timeout", parseIdleTimeout) ?? null
    : profile.idleTimeoutMs;
  if (idleTimeoutMs !== null && !dialOnDemand && !raw.has("idle-timeout")) {
    // A profile shared with other links: its idle-timeout means nothing here.
    warnings.push(
      `profile "${profile.name}" idle-timeout is not used: it applies to dial-on-demand links only`,
    );
  }
  if (dialOnDemand && addDefaultRoute && proxy === undefined && host.kind === "name") {
    throw new TypeError(
      `${
        raw.get("dial-on-demand")?.where ?? ""
      }Invalid value for "dial-on-demand": with "add-default-route", "connect-to" must be an IP address (its host route is pinned before the name could be resolved, so the connection does not dial into the waiting tunnel)`,
    );
  }
  if (dialOnDemand && addDefaultRoute && proxy !== undefined && proxy.kind === "name") {
    throw new TypeError(
      `${
        raw.get("dial-on-demand")?.where ?? ""
      }Invalid value for "dial-on-demand": with "add-default-route", "http-proxy" must be an IP address`,
    );
  }
  const useIpv6 = get("use-ipv6", parseYesNo) ?? false;
  const dhcpv6Pd = get("dhcpv6-pd", parseYesNo) ?? false;
  const dhcpv6PdInterface = get("dhcpv6-pd-interface", parseInterfaceName);
  if (dhcpv6Pd && !useIpv6) {
    throw new TypeError(
      `${
        raw.get("dhcpv6-pd")?.where ?? ""
      }Invalid value for "dhcpv6-pd": it needs "use-ipv6" yes (the prefix is asked for over the tunnel's IPv6)`,
    );
  }
  if (dhcpv6PdInterface !== undefined && !dhcpv6Pd) {
    throw new TypeError(
      `${
        raw.get("dhcpv6-pd-interface")?.where ?? ""
      }Invalid value for "dhcpv6-pd-interface": it needs "dhcpv6-pd" yes`,
    );
  }
  if (idleTimeoutMs !== null && !dialOnDemand && raw.has("idle-timeout")) {
    throw new TypeError(
      `${
        raw.get("idle-timeout")?.where ?? ""
      }Invalid value for "idle-timeout": it needs "dial-on-demand" yes (without it the client would dial again at once)`,
    );
  }
  const mrru = get("mrru", parseMrru);
  const tls = {
    tlsVersion: get("tls-version", parseTlsVersion) ?? "any",
    pfs: get("pfs", parsePfs) ?? DEFAULT_TLS_POLICY.pfs,
    ciphers: get("ciphers", (t) => parseCiphers(splitList(t))) ?? [],
    forceAes: get("force-aes", parseYesNo) ?? false,
  };
  const tlsProblem = tlsPolicyProblems(tls)[0];
  if (tlsProblem !== undefined) {
    const at = raw.get("ciphers") ?? raw.get("force-aes") ?? raw.get("pfs");
    problems.add(
      new TypeError(
        `${at?.where ?? ""}Invalid value for "ciphers": ${tlsProblem.replace(/^ciphers: /, "")}`,
      ),
      at?.line ?? 0,
    );
  }
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
      [...DEFAULT_CLIENT_AUTH_METHODS],
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
    addDefaultRoute,
    defaultRouteDistance: get("default-route-distance", (t) => parseIntegerIn(t, 0, 255)) ?? 1,
    usePeerDns: get("use-peer-dns", parseYesNo) ?? false,
    bridge: get("bridge", parseInterfaceName),
    useIpv6,
    dhcpv6Pd,
    dhcpv6PdInterface,
    name: get("name", parseInterfaceName) ?? DEFAULT_CLIENT_INTERFACE,
    sni,
    ...tls,
    tlsEngine: get("tls-engine", parseTlsEngine) ?? "deno",
    logLevel: get("log-level", parseLogLevel) ?? "info",
    logFormat: get("log-format", parseLogFormat) ?? "text",
    reconnect: get("reconnect", parseYesNo) ?? true,
    comment: get("comment", parseComment),
    disabled: get("disabled", parseYesNo) ?? false,
    httpProxy: proxy === undefined
      ? undefined
      : { host: proxy.host, port: proxy.port ?? DEFAULT_PROXY_PORT },
    killSwitch,
    mrru,
    dialOnDemand,
    demandAddress: get("dial-on-demand-address", parseDemandAddress) ??
      { ...DEFAULT_DEMAND_ADDRESS },
    idleTimeoutMs: dialOnDemand ? idleTimeoutMs : null,
    profile: profile.name,
    changeTcpMss: profile.changeTcpMss,
    metrics: get("metrics", parseListenAddress),
    configFile,
    warnings,
  };
}

/**
 * `kill-switch` keeps blackhole routes in place while the tunnel is down and
 * a host route to the server (or proxy) beside them, so the server must be
 * an address: a name could not be resolved again while DNS is blocked.
 */
function checkKillSwitch(
  raw: Map<string, Raw>,
  addDefaultRoute: boolean,
  target: { kind: HostKind },
  proxy: { kind: HostKind } | undefined,
): void {
  const where = raw.get("kill-switch")?.where ?? "";
  if (!addDefaultRoute) {
    throw new TypeError(
      `${where}Invalid value for "kill-switch": it needs "add-default-route" yes (the kill switch blocks what the tunnel's default routes carry)`,
    );
  }
  const hop = proxy ?? target;
  if (hop.kind === "name") {
    throw new TypeError(
      `${where}Invalid value for "kill-switch": ${
        proxy ? '"http-proxy"' : '"connect-to"'
      } must be an IP address (a name could not be resolved again while the kill switch blocks DNS)`,
    );
  }
}

/** What a client takes from its PPP profile. */
interface ClientProfile {
  name: string;
  idleTimeoutMs: number | null;
  changeTcpMss: boolean;
}

/**
 * Resolves `profile` against the `profiles:` section (values keyed by
 * {@linkcode profileRawKey}) and RouterOS's built-in profiles.
 */
function readProfile(raw: Map<string, Raw>, name: string, warnings: string[]): ClientProfile {
  const field = <T>(key: string, parse: (text: string) => T): T | undefined => {
    const r = raw.get(profileRawKey(name, key));
    if (r === undefined) return undefined;
    try {
      return parse(r.text);
    } catch (e) {
      if (!(e instanceof InvalidValueError)) throw e;
      const message = `${r.where}Invalid value for "profiles.${name}.${key}": ${e.message}`;
      throw e.kind === "range" ? new RangeError(message) : new TypeError(message);
    }
  };
  const defined = raw.has(profileRawKey(name, "name"));
  if (!defined && !(BUILTIN_PROFILES as readonly string[]).includes(name)) {
    throw new TypeError(
      `${raw.get("profile")?.where ?? ""}Invalid value for "profile": "${name}" is neither ` +
        `in the "profiles" section of the config file nor a built-in profile (${
          BUILTIN_PROFILES.join(", ")
        })`,
    );
  }
  const encryption = field("use-encryption", (t) => parseChoice(t, USE_ENCRYPTION));
  if (encryption === "no") {
    warnings.push(
      `profile "${name}" use-encryption=no: SSTP always runs inside TLS, which encrypts the whole session; the setting changes nothing`,
    );
  }
  const mss = field("change-tcp-mss", (t) => parseChoice(t, ["yes", "no", "default"] as const));
  return {
    name,
    idleTimeoutMs: field("idle-timeout", parseIdleTimeout) ?? null,
    changeTcpMss: mss !== "no",
  };
}

/** RouterOS `use-encryption` values; SSTP's TLS encrypts whatever is chosen. */
const USE_ENCRYPTION = ["yes", "no", "default", "required"] as const;

/** Parses `idle-timeout`: a RouterOS duration or `none`/`disabled`. */
function parseIdleTimeout(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "none" || t === "disabled") return undefined;
  const ms = parseDuration(t);
  if (ms === undefined) {
    throw new InvalidValueError(`"${text}" is not a duration (30s, 5m, 1h) or "none"`);
  }
  if (ms < 1000 || ms > MAX_KEEPALIVE_TIMEOUT_S * 1000) {
    throw new InvalidValueError(
      `${text} is out of range (1s-${MAX_KEEPALIVE_TIMEOUT_S}s)`,
      "range",
    );
  }
  return ms;
}

/**
 * Parses `dial-on-demand-address`: `LOCAL` or `LOCAL,PEER`, IPv4. Without a
 * peer, the peer is the `.1` of LOCAL's /24 (`.2` when LOCAL is the `.1`).
 */
function parseDemandAddress(text: string): { local: string; peer: string } {
  const [local = "", peer, extra] = splitList(text);
  if (extra !== undefined || local === "") {
    throw new InvalidValueError(`"${text}" is not LOCAL or LOCAL,PEER (IPv4 addresses)`);
  }
  const l = parseIpv4Value(local);
  let p: string;
  if (peer !== undefined) {
    p = parseIpv4Value(peer);
  } else {
    const octets = l.split(".");
    p = [...octets.slice(0, 3), octets[3] === "1" ? "2" : "1"].join(".");
  }
  if (p === l) throw new InvalidValueError(`"${text}": the peer must differ from LOCAL`);
  return { local: l, peer: p };
}

/**
 * A dotted-quad IPv4 address in canonical form. Kept here rather than taken
 * from the address helpers: `sstp connect` must not load the YAML reader
 * (which the PPP config module pulls in) at start-up.
 */
function parseIpv4Value(text: string): string {
  const t = text.trim();
  const octets = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(t)?.slice(1)
    .map(Number);
  if (octets === undefined || octets.some((o) => o > 255)) {
    throw new InvalidValueError(`"${text}" is not an IPv4 address`);
  }
  return octets.join(".");
}

/** Parses `mrru`: `disabled` or {@linkcode MRRU_RANGE}. */
function parseMrru(text: string): number | undefined {
  if (text.trim().toLowerCase() === "disabled") return undefined;
  return parseIntegerIn(text, MRRU_RANGE.min, MRRU_RANGE.max);
}

/** Parses `comment`: one line of printable text (it goes into log lines). */
function parseComment(text: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text)) {
    throw new InvalidValueError("a comment is one line of printable text");
  }
  return text;
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
