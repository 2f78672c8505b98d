/**
 * `sstp serve --config FILE`: the server configuration, in YAML sections that
 * follow the RouterOS menus so an admin can translate an export line by line:
 *
 * ```yaml
 * sstp-server:            # /interface sstp-server server set ...
 *   certificate: /etc/sstp/server.pem
 *   authentication: mschap2
 *   default-profile: vpn
 * profiles:               # /ppp profile add ...
 *   - { name: vpn, local-address: 198.18.0.1, remote-address: vpn-pool, dns-server: 198.18.0.1 }
 * pools:                  # /ip pool add ...
 *   - { name: vpn-pool, ranges: 198.18.10.2-198.18.10.254 }
 * secrets:                # /ppp secret add ...
 *   - { name: alice, password: s3cret, routes: "198.19.1.0/24 198.18.10.9 1" }
 * interfaces:             # /interface sstp-server add name=... user=...
 *   - { name: sstp-alice, user: alice }
 * ```
 *
 * Departures from RouterOS, for a Linux daemon: `enabled` defaults to yes; a
 * secret without `profile` uses `default-profile`; `listen`, `state-dir`,
 * `control-socket`, `max-sessions` and `proxy-arp-interface` are new.
 *
 * Every mistake is collected, with file, line and path, into one
 * {@linkcode ConfigError}.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { isMap } from "yaml";
import type { AuthMethod } from "../ppp/auth/auth_types.ts";
import { ConfigError } from "./config_error.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { interfaceNameProblem } from "./interface_names.ts";
import { formatIpv4Range, isIpv4, isIpv6, parseIpv4, rangeContains, rangesOverlap } from "../ip.ts";
import {
  type IpPool,
  type Ipv6PoolConfig,
  PPP_SECTION_KEYS,
  type PppProfile,
  type PppSecret,
  type RawPppProfile,
  readInterfaces,
  readIpv6Pools,
  readPools,
  readProfiles,
  readSecrets,
  type StaticInterface,
} from "./ppp_config.ts";
export type { Ipv6PoolConfig } from "./ppp_config.ts";
import {
  DEFAULT_KEEPALIVE_TIMEOUT_S,
  DEFAULT_MTU,
  InvalidValueError,
  parseAuthentication,
  parseChoice,
  parseCiphers,
  parseIntegerIn,
  parseKeepaliveTimeout,
  parseMrru,
  parseMtu,
  parseNonEmpty,
  parsePfs,
  parsePort,
  parseTlsVersion,
  parseYesNo,
  splitList,
  type TlsVersion,
} from "./values.ts";
import { type Located, type YamlEntry, YamlSource } from "./yaml_source.ts";
import {
  type CipherName,
  DEFAULT_TLS_POLICY,
  type Pfs,
  tlsPolicyProblems,
} from "../transport/tls_policy.ts";
import {
  parseProxyProtocol,
  parseProxySource,
  type ProxyProtocolSetting,
  RADIUS_SECTION_KEYS,
  RADIUS_TOP_KEYS,
  type RadiusConfig,
  readRadiusConfig,
} from "./radius_config.ts";

export type {
  AddressSource,
  IpPool,
  PppProfile,
  PppSecret,
  StaticInterface,
} from "./ppp_config.ts";
export type { PppRoute } from "./ppp_routes.ts";

/** `sstp-server`: the `/interface sstp-server server` properties plus Linux needs. */
export interface SstpServerConfig {
  /** Serve at all (default yes). */
  enabled: boolean;
  /** TCP port (default 443). */
  port: number;
  /** PEM file: leaf certificate first, then chain; may also hold the key. Required when enabled. */
  certificate: string | undefined;
  /** PEM private key file, when it is not in `certificate`. */
  certificateKey: string | undefined;
  /**
   * `tls` (default yes). `no`: TLS offload; a load balancer terminates TLS
   * and the server speaks HTTP and SSTP in cleartext on TCP (listen on a
   * private address only). Needs `certificate-hash-from`.
   */
  tls: boolean;
  /**
   * `certificate-hash-from`: PEM file with the balancer's certificate (leaf
   * first; a key in it is not read); with `tls: no` the crypto binding is
   * checked against the SHA-1 and SHA-256 hashes of its DER.
   */
  certificateHashFrom: string | undefined;
  /**
   * Names and addresses clients dial; `sstp serve` warns at startup when
   * the certificate covers one of them not (default: the `listen` addresses
   * other than the wildcards).
   */
  hostName: string[] | undefined;
  /**
   * Accepted methods, strongest first (default `mschap2` only: PAP, CHAP and
   * MS-CHAPv1 derive no keys, so their HLAK is all zeros and the SSTP crypto
   * binding protects nothing).
   */
  authentication: AuthMethod[];
  /** Hash protocols offered for the crypto binding: both (`any`, default) or SHA-256 only. */
  cryptoBinding: CryptoBindingPolicy;
  /** Login throttling (`auth-throttle*`); `null` when `auth-throttle: no`. */
  authThrottle: AuthThrottleSettings | null;
  /** Profile for secrets that name none (default `default`). */
  defaultProfile: string;
  /** SSTP/LCP keepalive timeout in ms, or `null` for disabled (default 60 s). */
  keepaliveTimeoutMs: number | null;
  /** Largest MTU offered (default 1500). */
  maxMtu: number;
  /** Largest MRU accepted (default 1500). */
  maxMru: number;
  /** `mrru`: multilink MRRU (RFC 1990), `undefined` when disabled (default). */
  mrru?: number | undefined;
  /** Ask for and check client certificates against `ca` (default no). */
  verifyClientCertificate: boolean;
  /** PEM CA bundle for client certificates. */
  ca: string | undefined;
  /** Allowed TLS versions (default any). */
  tlsVersion: TlsVersion;
  /** `pfs` (default yes): `required` refuses sessions without forward secrecy. */
  pfs: Pfs;
  /** `ciphers` (default empty: every suite the TLS stack offers). */
  ciphers: CipherName[];
  /** `force-aes` (default no): refuse sessions whose cipher is not AES. */
  forceAes: boolean;
  /** Addresses to listen on (default `0.0.0.0` and `::`). */
  listen: string[];
  /** Directory for runtime state (default `/var/lib/sstp`). */
  stateDir: string;
  /** Unix socket for `sstp` control commands (default `/run/sstp/sstp-server.sock`). */
  controlSocket: string;
  /** Session limit (default 4096). */
  maxSessions: number;
  /**
   * TCP connections still before the end of their TLS handshake (default
   * 256); a newcomer beyond it closes the oldest.
   */
  maxHandshakes: number;
  /** Of those, from one address (IPv6: one /64) (default 8); more are closed at once. */
  maxHandshakesPerSource: number;
  /**
   * Connections past TLS that have not authenticated yet (default 256); a
   * newcomer beyond it closes the oldest.
   */
  maxUnauthenticated: number;
  /** Of those, from one address (IPv6: one /64) (default 8); more are closed at once. */
  maxUnauthenticatedPerSource: number;
  /** Time from TCP accept to a successful login, ms (default 30 s). */
  authenticationDeadlineMs: number;
  /** LAN interface to answer ARP for client addresses on, if any. */
  proxyArpInterface: string | undefined;
  /** Expect a PROXY protocol header from the load balancer (default `no`). */
  proxyProtocol: ProxyProtocolSetting;
  /** Addresses or prefixes the PROXY header is accepted from (required with `proxy-protocol`). */
  proxyProtocolFrom: string[];
  /** Deadline from authentication to link-up (IPCP Opened) in ms (default 30 s). */
  linkUpTimeoutMs: number;
  /**
   * `interface-mode`: `per-session` (default, RouterOS: a TUN device per
   * session) or `shared` (one TUN device, {@linkcode SstpServerConfig.sharedInterface},
   * for every session; the server routes to sessions in-process).
   */
  interfaceMode: InterfaceMode;
  /** `shared-interface`: the one device's name in shared mode (default `sstp0`). */
  sharedInterface: string;
}

/** `interface-mode` values. */
export const INTERFACE_MODES = ["per-session", "shared"] as const;
/** One of {@linkcode INTERFACE_MODES}. */
export type InterfaceMode = typeof INTERFACE_MODES[number];

/** `auth-throttle-*`: see `lib/server/auth_throttle.ts`. */
export interface AuthThrottleSettings {
  /** Failures from one source after which its attempts are delayed (default 3). */
  delayAfter: number;
  /** Failures after which the source (and the user name) is refused (default 6). */
  blockAfter: number;
  /** How long it is refused, in ms (default 60 s). */
  blockMs: number;
}

/** `crypto-binding` values. */
export const CRYPTO_BINDING_POLICIES = ["any", "sha256-only"] as const;
/** One of {@linkcode CRYPTO_BINDING_POLICIES}. */
export type CryptoBindingPolicy = typeof CRYPTO_BINDING_POLICIES[number];

/**
 * Methods whose HLAK is all zeros (MS-SSTP 3.2.5.2.2, 3.2.5.2.4): no key
 * protects the crypto binding.
 */
const KEYLESS_METHODS: readonly AuthMethod[] = ["pap", "chap", "mschap1"];

/** The whole server configuration, checked. */
export interface ServerConfig {
  /** File name as given. */
  file: string;
  /** `sstp-server` section with defaults applied. */
  sstpServer: SstpServerConfig;
  /** Static interface names. */
  interfaces: StaticInterface[];
  /** `/ppp secret` entries; `profile` is resolved to a defined profile name. */
  secrets: PppSecret[];
  /** `/ppp profile` entries, always including `default` (built in unless defined). */
  profiles: PppProfile[];
  /** `/ip pool` entries. */
  pools: IpPool[];
  /** `/ipv6 pool` entries (`ipv6-pools`). */
  ipv6Pools: Ipv6PoolConfig[];
  /** `radius`, `ppp-aaa` and `radius-incoming`. */
  radius: RadiusConfig;
  /** Things that are allowed but probably unintended. */
  warnings: string[];
}

const TOP_KEYS = [
  "sstp-server",
  "interfaces",
  "secrets",
  "profiles",
  "pools",
  "ipv6-pools",
  ...RADIUS_TOP_KEYS,
] as const;
const SERVER_KEYS = [
  "enabled",
  "port",
  "certificate",
  "certificate-key",
  "tls",
  "certificate-hash-from",
  "host-name",
  "authentication",
  "default-profile",
  "keepalive-timeout",
  "max-mtu",
  "max-mru",
  "mrru",
  "verify-client-certificate",
  "ca",
  "tls-version",
  "pfs",
  "ciphers",
  "force-aes",
  "listen",
  "state-dir",
  "control-socket",
  "max-sessions",
  "max-handshakes",
  "max-handshakes-per-source",
  "max-unauthenticated",
  "max-unauthenticated-per-source",
  "authentication-deadline",
  "proxy-arp-interface",
  "proxy-protocol",
  "proxy-protocol-from",
  "link-up-timeout",
  "interface-mode",
  "shared-interface",
  "crypto-binding",
  "auth-throttle",
  "auth-throttle-delay-after",
  "auth-throttle-block-after",
  "auth-throttle-block-time",
  "mrru",
  // Operating keys, read by lib/ops/ops_config.ts.
  "log-format",
  "metrics",
  "metrics-per-user",
  "web-status",
  "web-status-auth-file",
] as const;

/**
 * Defaults of the limits on connections that have not logged in yet: small
 * per address, so one address cannot crowd out the others.
 */
export const ADMISSION_DEFAULTS = {
  maxHandshakes: 256,
  maxHandshakesPerSource: 8,
  maxUnauthenticated: 256,
  maxUnauthenticatedPerSource: 8,
  authenticationDeadlineMs: 30_000,
} as const;

/** Longest `authentication-deadline`. */
const MAX_AUTHENTICATION_DEADLINE_MS = 600_000;

/** Parses `authentication-deadline`: a duration from 1s to 10m. */
function parseAuthenticationDeadline(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidValueError(`"${text}" is not a duration (30s, 1m)`);
  if (ms < 1000 || ms > MAX_AUTHENTICATION_DEADLINE_MS) {
    throw new InvalidValueError(`${formatDuration(ms)} is out of range (1s-10m)`, "range");
  }
  return ms;
}

/** How {@linkcode parseServerConfig} checks more than the text. */
export interface ServerConfigOptions {
  /** Returns why `path` cannot be read, or `undefined` when it can. */
  fileProblem?: (path: string) => string | undefined;
}

/** Keys of `sstp-server` that name files read at start. */
const FILE_KEYS = [
  ["certificate", "certificate"],
  ["certificate-key", "certificateKey"],
  ["ca", "ca"],
  ["certificate-hash-from", "certificateHashFrom"],
] as const;

function checkFiles(
  source: YamlSource,
  server: Located<SstpServerConfig>,
  fileName: string,
  fileProblem: (path: string) => string | undefined,
): void {
  for (const [key, field] of FILE_KEYS) {
    const path = server.value[field];
    if (path === undefined) continue;
    const resolved = isAbsolute(path) ? path : join(dirname(fileName), path);
    const problem = fileProblem(resolved);
    if (problem !== undefined) {
      source.reportAt(
        server.lineOf(key),
        `sstp-server.${key}`,
        `cannot read "${resolved}": ${problem}`,
      );
    }
  }
}

/** `sstp-server` keys that only concern our own TLS listener. */
const TLS_ONLY_KEYS = [
  "certificate",
  "certificate-key",
  "tls-version",
  "pfs",
  "ciphers",
  "force-aes",
];

/** Whether a TLS-only key differs from its default (so it was set). */
function tlsKeySet(s: SstpServerConfig, key: string): boolean {
  switch (key) {
    case "certificate":
      return s.certificate !== undefined;
    case "certificate-key":
      return s.certificateKey !== undefined;
    case "tls-version":
      return s.tlsVersion !== "any";
    case "pfs":
      return s.pfs !== DEFAULT_TLS_POLICY.pfs;
    case "ciphers":
      return s.ciphers.length > 0;
    default:
      return s.forceAes;
  }
}

/** Built-in values behind `default` in `only-one` and `change-tcp-mss`. */
const BUILT_IN_DEFAULT = { onlyOne: false, changeTcpMss: true } as const;

/**
 * Parses and checks a server configuration file.
 *
 * @example
 * ```ts
 * import { parseServerConfig } from "./server_config.ts";
 * const config = parseServerConfig("sstp-server:\n  certificate: /etc/sstp/server.pem\n", "sstp.yaml");
 * if (config.sstpServer.port !== 443 || config.profiles[0]?.name !== "default") throw new Error();
 * ```
 * @param yamlText The file's contents.
 * @param fileName Name used in messages.
 * @param options `fileProblem` checks the files that `certificate`,
 *   `certificate-key` and `ca` name (relative paths are taken from the
 *   directory of `fileName`) and returns what is wrong ("No such file"), so a
 *   missing file is reported with its key and line like any other mistake.
 * @throws {ConfigError} With every mistake found, each with line and path.
 */
export function parseServerConfig(
  yamlText: string,
  fileName: string,
  options: ServerConfigOptions = {},
): ServerConfig {
  const source = new YamlSource(yamlText, fileName);
  if (source.issues.length > 0) throw new ConfigError(fileName, source.issues);
  const top = source.root === undefined
    ? new Map<string, YamlEntry>()
    : source.entries(source.root, "", TOP_KEYS, "a mapping of sections (sstp-server, secrets, …)");
  const server = readServer(source, top.get("sstp-server"));
  const sstpServer = server.value;
  if (options.fileProblem !== undefined && sstpServer.enabled) {
    checkFiles(source, server, fileName, options.fileProblem);
  }
  const rawProfiles = readProfiles(source, top.get("profiles")?.value);
  const pools = readPools(source, top.get("pools")?.value);
  const ipv6Pools = readIpv6Pools(source, top.get("ipv6-pools")?.value);
  const rawSecrets = readSecrets(source, top.get("secrets")?.value);
  const interfaces = readInterfaces(source, top.get("interfaces")?.value);
  const radius = readRadiusConfig(source, top);
  const warnings: string[] = [];

  checkUnique(source, rawProfiles, "profile");
  checkUnique(source, pools, "pool");
  checkUnique(source, ipv6Pools, "IPv6 pool");
  checkUnique(source, rawSecrets, "secret");
  checkPools(source, pools);
  const profiles = resolveProfiles(rawProfiles.map((p) => p.value));
  const profileNames = new Set(profiles.map((p) => p.name));
  const poolNames = new Set(pools.map((p) => p.value.name));
  if (!profileNames.has(sstpServer.defaultProfile)) {
    source.reportAt(
      server.lineOf("default-profile"),
      "sstp-server.default-profile",
      `profile "${sstpServer.defaultProfile}" is not defined in profiles`,
    );
  }
  for (const p of rawProfiles) {
    for (const key of ["local-address", "remote-address"] as const) {
      const address = key === "local-address" ? p.value.localAddress : p.value.remoteAddress;
      if (address?.kind === "pool" && !poolNames.has(address.pool)) {
        source.reportAt(
          p.lineOf(key),
          `${p.path}.${key}`,
          `pool "${address.pool}" is not defined in pools`,
        );
      }
    }
  }
  // Linux has one horizon group per bridge (`isolated on`): two different
  // horizon values on one bridge cannot be kept apart.
  const horizons = new Map<string, number>();
  for (const p of rawProfiles) {
    const { bridge, bridgeHorizon } = p.value;
    if (bridge === undefined || bridgeHorizon === undefined) continue;
    const seen = horizons.get(bridge);
    if (seen === undefined) horizons.set(bridge, bridgeHorizon);
    else if (seen !== bridgeHorizon) {
      source.reportAt(
        p.lineOf("bridge-horizon"),
        `${p.path}.bridge-horizon`,
        `another profile uses horizon ${seen} on bridge "${bridge}"; a Linux bridge has only ` +
          "one horizon group (isolated ports), so every profile on it must use the same value",
      );
    }
  }
  const ipv6PoolNames = new Map(ipv6Pools.map((p) => [p.value.name, p.value]));
  for (const p of rawProfiles) {
    const checks = [
      ["remote-ipv6-prefix-pool", p.value.remoteIpv6PrefixPool, 64],
      ["dhcpv6-pd-pool", p.value.dhcpv6PdPool, undefined],
    ] as const;
    for (const [key, name, length] of checks) {
      if (name === undefined) continue;
      const pool = ipv6PoolNames.get(name);
      if (pool === undefined) {
        source.reportAt(
          p.lineOf(key),
          `${p.path}.${key}`,
          `pool "${name}" is not defined in ipv6-pools`,
        );
      } else if (length !== undefined && pool.prefixLength !== length) {
        // SLAAC needs a 64-bit interface identifier (RFC 4862 5.5.3, RFC 5072 4.1).
        source.reportAt(
          p.lineOf(key),
          `${p.path}.${key}`,
          `pool "${name}" hands out /${pool.prefixLength} prefixes; SLAAC needs prefix-length 64`,
        );
      }
    }
  }
  const secrets = rawSecrets.map(({ value: s, lineOf, path }): PppSecret => {
    const profile = s.profile ?? sstpServer.defaultProfile;
    if (s.profile !== undefined && !profileNames.has(s.profile)) {
      source.reportAt(
        lineOf("profile"),
        `${path}.profile`,
        `profile "${s.profile}" is not defined in profiles`,
      );
    }
    const p = profiles.find((x) => x.name === profile);
    if (p !== undefined && s.remoteAddress === undefined && p.remoteAddress === undefined) {
      warnings.push(
        `${fileName}:${lineOf("name")}: ${path}: neither the secret nor profile "${profile}" ` +
          `sets remote-address, so "${s.name}" will get no address`,
      );
    }
    const pooled = s.remoteAddress === undefined ? undefined : poolHolding(pools, s.remoteAddress);
    if (pooled !== undefined) {
      warnings.push(
        `${fileName}:${lineOf("remote-address")}: ${path}.remote-address: ` +
          `${s.remoteAddress} is also in pool "${pooled}"`,
      );
    }
    if (s.service !== "any" && s.service !== "sstp") {
      warnings.push(
        `${fileName}:${lineOf("service")}: ${path}.service: "${s.name}" is for ${s.service}, ` +
          `so it is skipped for SSTP logins`,
      );
    }
    return { ...s, profile };
  });
  checkInterfaces(source, interfaces, new Set(secrets.map((s) => s.name)));
  if (sstpServer.interfaceMode === "shared") checkSharedMode(source, rawProfiles, interfaces);
  if (!sstpServer.tls) {
    const unused = TLS_ONLY_KEYS.filter((k) => tlsKeySet(sstpServer, k));
    if (unused.length > 0) {
      warnings.push(
        `${fileName}:${server.lineOf("tls")}: sstp-server.tls: no: ${unused.join(", ")} ` +
          `do${unused.length === 1 ? "es" : ""} nothing here (the load balancer terminates TLS ` +
          `and its settings apply)`,
      );
    }
  }
  const keyless = sstpServer.authentication.filter((m) => KEYLESS_METHODS.includes(m));
  if (keyless.length > 0) {
    warnings.push(
      `${fileName}:${server.lineOf("authentication")}: sstp-server.authentication: ` +
        `${keyless.join(", ")} derive${keyless.length === 1 ? "s" : ""} no keys (all-zero HLAK), ` +
        `so the SSTP crypto binding does not protect ${
          keyless.length === 1 ? "that login" : "those logins"
        } against a TLS man in the middle; use mschap2 only where clients allow it`,
    );
  }

  if (source.issues.length > 0) throw new ConfigError(fileName, source.issues);
  return {
    file: fileName,
    sstpServer,
    interfaces: interfaces.map((x) => x.value),
    secrets,
    profiles,
    pools: pools.map((x) => x.value),
    ipv6Pools: ipv6Pools.map((x) => x.value),
    radius,
    warnings,
  };
}

function readServer(source: YamlSource, entry: YamlEntry | undefined): Located<SstpServerConfig> {
  const fields = entry === undefined
    ? new Map<string, YamlEntry>()
    : source.entries(entry.value, "sstp-server", SERVER_KEYS);
  const path = (key: string) => `sstp-server.${key}`;
  const v = <T>(key: string, parse: (t: string) => T) =>
    source.value(fields.get(key), path(key), parse);
  // A list property: a YAML sequence or a comma string, parsed as a whole.
  const list = <T>(key: string, parseAll: (items: string[]) => T): T | undefined => {
    const e = fields.get(key);
    if (e === undefined) return undefined;
    const texts = source.list(e, path(key));
    const first = texts[0];
    if (first === undefined) {
      source.report(e.key, path(key), "at least one value is required");
      return undefined;
    }
    const joined = { text: texts.map((t) => t.text).join(","), node: first.node };
    return source.parseText(joined, path(key), (t) => parseAll(splitList(t)));
  };
  const absolute = (t: string) => {
    if (!t.startsWith("/")) throw new InvalidValueError(`"${t}" is not an absolute path`);
    return t;
  };
  const keepalive = v("keepalive-timeout", parseKeepaliveTimeout);
  const listen = list("listen", (items) => items.map(parseListenAddress)) ?? ["0.0.0.0", "::"];
  const config: SstpServerConfig = {
    enabled: v("enabled", parseYesNo) ?? true,
    port: v("port", parsePort) ?? 443,
    certificate: v("certificate", parseNonEmpty),
    certificateKey: v("certificate-key", parseNonEmpty),
    tls: v("tls", parseYesNo) ?? true,
    certificateHashFrom: v("certificate-hash-from", parseNonEmpty),
    hostName: list("host-name", (items) => items.map(parseHostName)),
    authentication: list("authentication", parseAuthentication) ?? ["mschap2"],
    cryptoBinding: v("crypto-binding", (t) => parseChoice(t, CRYPTO_BINDING_POLICIES)) ?? "any",
    authThrottle: (v("auth-throttle", parseYesNo) ?? true)
      ? {
        delayAfter: v("auth-throttle-delay-after", (t) => parseIntegerIn(t, 1, 1000)) ?? 3,
        blockAfter: v("auth-throttle-block-after", (t) => parseIntegerIn(t, 1, 1000)) ?? 6,
        blockMs: v("auth-throttle-block-time", (t) => parseSeconds(t, 1, 86_400)) ?? 60_000,
      }
      : null,
    defaultProfile: v("default-profile", parseNonEmpty) ?? "default",
    keepaliveTimeoutMs: keepalive === undefined ? DEFAULT_KEEPALIVE_TIMEOUT_S * 1000 : keepalive,
    maxMtu: v("max-mtu", parseMtu) ?? DEFAULT_MTU,
    maxMru: v("max-mru", parseMtu) ?? DEFAULT_MTU,
    mrru: v("mrru", parseMrru),
    verifyClientCertificate: v("verify-client-certificate", parseYesNo) ?? false,
    ca: v("ca", parseNonEmpty),
    tlsVersion: v("tls-version", parseTlsVersion) ?? "any",
    pfs: v("pfs", parsePfs) ?? DEFAULT_TLS_POLICY.pfs,
    ciphers: list("ciphers", parseCiphers) ?? [],
    forceAes: v("force-aes", parseYesNo) ?? false,
    listen,
    stateDir: v("state-dir", absolute) ?? "/var/lib/sstp",
    controlSocket: v("control-socket", absolute) ?? "/run/sstp/sstp-server.sock",
    maxSessions: v("max-sessions", (t) => parseIntegerIn(t, 1, 65535)) ?? 4096,
    maxHandshakes: v("max-handshakes", (t) => parseIntegerIn(t, 1, 65535)) ??
      ADMISSION_DEFAULTS.maxHandshakes,
    maxHandshakesPerSource: v("max-handshakes-per-source", (t) => parseIntegerIn(t, 1, 65535)) ??
      ADMISSION_DEFAULTS.maxHandshakesPerSource,
    maxUnauthenticated: v("max-unauthenticated", (t) => parseIntegerIn(t, 1, 65535)) ??
      ADMISSION_DEFAULTS.maxUnauthenticated,
    maxUnauthenticatedPerSource: v(
      "max-unauthenticated-per-source",
      (t) => parseIntegerIn(t, 1, 65535),
    ) ?? ADMISSION_DEFAULTS.maxUnauthenticatedPerSource,
    authenticationDeadlineMs: v("authentication-deadline", parseAuthenticationDeadline) ??
      ADMISSION_DEFAULTS.authenticationDeadlineMs,
    proxyArpInterface: v("proxy-arp-interface", parseInterfaceName),
    proxyProtocol: v("proxy-protocol", parseProxyProtocol) ?? "no",
    proxyProtocolFrom: list("proxy-protocol-from", (items) => items.map(parseProxySource)) ?? [],
    linkUpTimeoutMs: v("link-up-timeout", (t) => parseSeconds(t, 1, 3600)) ?? 30_000,
    interfaceMode: v("interface-mode", (t) => parseChoice(t, INTERFACE_MODES)) ?? "per-session",
    sharedInterface: v("shared-interface", parseInterfaceName) ?? "sstp0",
  };
  for (const problem of tlsPolicyProblems(config)) {
    // Every problem is about `ciphers` (alone or with `pfs`/`force-aes`).
    const key = fields.get("ciphers") ?? fields.get("force-aes") ?? fields.get("pfs");
    source.report(key?.key, path("ciphers"), problem.replace(/^ciphers: /, ""));
  }
  if (config.proxyProtocol !== "no" && config.verifyClientCertificate) {
    source.report(
      fields.get("proxy-protocol")?.key,
      path("proxy-protocol"),
      "cannot be combined with verify-client-certificate (the PROXY listener does not request client certificates)",
    );
  }
  if (config.proxyProtocol !== "no" && config.proxyProtocolFrom.length === 0) {
    source.report(
      fields.get("proxy-protocol")?.key,
      path("proxy-protocol-from"),
      "is required when proxy-protocol is on (the balancers' addresses; others are refused)",
    );
  }
  if (config.certificate?.trim().toLowerCase() === "none") {
    source.report(
      fields.get("certificate")?.value,
      path("certificate"),
      '"none" (RouterOS\'s anonymous SSTP, TLS without a server certificate) cannot be ' +
        "offered: this TLS stack has no anonymous cipher suites; run `sstp serve` without " +
        "--config (zero-config) for a self-signed certificate made for you",
    );
  }
  if (!config.tls && config.certificateHashFrom === undefined) {
    source.report(
      fields.get("tls")?.key,
      path("certificate-hash-from"),
      "is required with tls: no (the PEM certificate the load balancer presents: the SSTP " +
        "crypto binding is checked against its hashes)",
    );
  }
  if (config.tls && config.certificateHashFrom !== undefined) {
    source.report(
      fields.get("certificate-hash-from")?.key,
      path("certificate-hash-from"),
      "applies only with tls: no (with TLS on, the binding uses the served certificate)",
    );
  }
  if (!config.tls && config.verifyClientCertificate) {
    source.report(
      fields.get("verify-client-certificate")?.key,
      path("verify-client-certificate"),
      "cannot be combined with tls: no (the load balancer terminates TLS and sees the client certificates)",
    );
  }
  if (config.enabled && config.tls && !fields.has("certificate")) {
    source.report(
      entry?.key,
      path("certificate"),
      "a certificate is required when the server is enabled",
    );
  }
  if (config.verifyClientCertificate && !fields.has("ca")) {
    source.report(
      fields.get("verify-client-certificate")?.key,
      path("ca"),
      "a CA bundle is required when verify-client-certificate is yes",
    );
  }
  const t = config.authThrottle;
  if (t !== null && t.blockAfter < t.delayAfter) {
    source.report(
      fields.get("auth-throttle-block-after")?.key ?? fields.get("auth-throttle-delay-after")?.key,
      path("auth-throttle-block-after"),
      `${t.blockAfter} is less than auth-throttle-delay-after (${t.delayAfter})`,
    );
  }
  if (new Set(listen).size !== listen.length) {
    source.report(fields.get("listen")?.key, path("listen"), "lists an address twice");
  }
  const section = entry?.value;
  return isMap(section)
    ? source.locate(config, "sstp-server", section, fields)
    : { value: config, path: "sstp-server", line: 0, lineOf: () => 0 };
}

/**
 * `interface-mode: shared` has no device per session: what needs one is a
 * configuration error, not a silent change (a static interface name, a
 * bridge port).
 */
function checkSharedMode(
  source: YamlSource,
  profiles: readonly Located<RawPppProfile>[],
  interfaces: readonly Located<StaticInterface>[],
): void {
  const why = "interface-mode is shared (one TUN device for every session; see docs/scale.md)";
  for (const i of interfaces) {
    source.reportAt(
      i.lineOf("name"),
      `${i.path}.name`,
      `a static interface name needs a device per session, but ${why}`,
    );
  }
  for (const p of profiles) {
    if (p.value.bridge !== undefined) {
      source.reportAt(
        p.lineOf("bridge"),
        `${p.path}.bridge`,
        `bridging (BCP) needs a TAP device per session, but ${why}`,
      );
    }
  }
}

/** A duration of whole seconds between `min` and `max` seconds, in ms. */
function parseSeconds(text: string, min: number, max: number): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms % 1000 !== 0) {
    throw new InvalidValueError(`"${text}" is not a number of seconds`);
  }
  if (ms < min * 1000 || ms > max * 1000) {
    throw new InvalidValueError(`${ms / 1000} seconds is out of range (${min}-${max})`, "range");
  }
  return ms;
}

function parseInterfaceName(text: string): string {
  const problem = interfaceNameProblem(text);
  if (problem !== undefined) throw new InvalidValueError(problem);
  return text;
}

function parseListenAddress(text: string): string {
  const t = text.trim();
  if (isIpv4(t) || isIpv6(t)) return t;
  throw new InvalidValueError(`"${text}" is not an IPv4 or IPv6 address`);
}

/**
 * Resolves `default` in `only-one` and `change-tcp-mss` from the `default`
 * profile (itself resolved from built-in values), and adds the built-in
 * `default` profile when the file defines none.
 */
function resolveProfiles(raw: RawPppProfile[]): PppProfile[] {
  const userDefault = raw.find((p) => p.name === "default");
  const pick = (value: boolean | "default" | undefined, fallback: boolean) =>
    value === undefined || value === "default" ? fallback : value;
  const base = {
    onlyOne: pick(userDefault?.onlyOne, BUILT_IN_DEFAULT.onlyOne),
    changeTcpMss: pick(userDefault?.changeTcpMss, BUILT_IN_DEFAULT.changeTcpMss),
  };
  const resolved = raw.map((p) => ({
    ...p,
    onlyOne: pick(p.onlyOne, base.onlyOne),
    changeTcpMss: pick(p.changeTcpMss, base.changeTcpMss),
  }));
  if (userDefault !== undefined) return resolved;
  const builtIn: PppProfile = {
    name: "default",
    localAddress: undefined,
    remoteAddress: undefined,
    dnsServer: [],
    onlyOne: BUILT_IN_DEFAULT.onlyOne,
    sessionTimeoutMs: null,
    idleTimeoutMs: null,
    changeTcpMss: BUILT_IN_DEFAULT.changeTcpMss,
    useEncryption: undefined,
    rateLimitText: undefined,
    rateLimit: undefined,
    addressList: undefined,
    onUp: undefined,
    onDown: undefined,
  };
  return [builtIn, ...resolved];
}

function checkUnique(
  source: YamlSource,
  entries: ReadonlyArray<Located<{ name: string }>>,
  what: string,
): void {
  const seen = new Map<string, number>();
  entries.forEach((e) => {
    const first = seen.get(e.value.name);
    if (first === undefined) seen.set(e.value.name, e.lineOf("name"));
    else {
      source.reportAt(
        e.lineOf("name"),
        `${e.path}.name`,
        `${what} "${e.value.name}" is already defined on line ${first}`,
      );
    }
  });
}

function checkPools(source: YamlSource, pools: ReadonlyArray<Located<IpPool>>): void {
  const all = pools.flatMap((pool) => pool.value.ranges.map((range) => ({ pool, range })));
  for (const [n, a] of all.entries()) {
    for (const b of all.slice(0, n)) {
      if (rangesOverlap(a.range, b.range)) {
        const other = b.pool === a.pool
          ? "another range of this pool"
          : `pool "${b.pool.value.name}"`;
        source.reportAt(
          a.pool.lineOf("ranges"),
          `${a.pool.path}.ranges`,
          `${formatIpv4Range(a.range)} overlaps ${formatIpv4Range(b.range)} of ${other}`,
        );
      }
    }
  }
  const byName = new Map(pools.map((p) => [p.value.name, p.value]));
  for (const { value: pool, lineOf, path: poolPath } of pools) {
    if (pool.nextPool === undefined) continue;
    const path = `${poolPath}.next-pool`;
    if (!byName.has(pool.nextPool)) {
      source.reportAt(lineOf("next-pool"), path, `pool "${pool.nextPool}" is not defined in pools`);
      continue;
    }
    // Follow the chain; a loop would make allocation spin.
    const visited = new Set([pool.name]);
    let next: string | undefined = pool.nextPool;
    while (next !== undefined && !visited.has(next)) {
      visited.add(next);
      next = byName.get(next)?.nextPool;
    }
    if (next === pool.name) {
      source.reportAt(
        lineOf("next-pool"),
        path,
        `next-pool chain of "${pool.name}" loops back to it`,
      );
    }
  }
}

function poolHolding(pools: ReadonlyArray<Located<IpPool>>, address: string): string | undefined {
  const value = parseIpv4(address);
  if (value === undefined) return undefined;
  return pools.find((p) => p.value.ranges.some((r) => rangeContains(r, value)))?.value.name;
}

function checkInterfaces(
  source: YamlSource,
  interfaces: ReadonlyArray<Located<StaticInterface>>,
  users: Set<string>,
): void {
  const names = new Map<string, number>();
  const owners = new Map<string, number>();
  interfaces.forEach(({ value: entry, lineOf, path }) => {
    const sameName = names.get(entry.name);
    if (sameName !== undefined) {
      source.reportAt(
        lineOf("name"),
        `${path}.name`,
        `interface "${entry.name}" is already defined on line ${sameName}`,
      );
    } else names.set(entry.name, lineOf("name"));
    const sameUser = owners.get(entry.user);
    if (sameUser !== undefined) {
      source.reportAt(
        lineOf("user"),
        `${path}.user`,
        `user "${entry.user}" already has an interface on line ${sameUser}`,
      );
    } else owners.set(entry.user, lineOf("user"));
    if (!users.has(entry.user)) {
      source.reportAt(
        lineOf("user"),
        `${path}.user`,
        `user "${entry.user}" is not defined in secrets`,
      );
    }
  });
}

/** A DNS name or IP address clients dial (`host-name`). */
function parseHostName(text: string): string {
  if (isIpv4(text) || isIpv6(text)) return text;
  if (
    !/^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
      .test(text)
  ) {
    throw new InvalidValueError(`"${text}" is neither a host name nor an IP address`);
  }
  return text;
}

/**
 * Every key the server file accepts, by section (`""`: the top level), for
 * the key audit test and docs.
 */
export const SERVER_FILE_KEYS: Readonly<Record<string, readonly string[]>> = {
  "": TOP_KEYS,
  "sstp-server": SERVER_KEYS,
  ...PPP_SECTION_KEYS,
  ...RADIUS_SECTION_KEYS,
};
