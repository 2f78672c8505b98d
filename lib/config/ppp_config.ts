/**
 * The PPP sections of the server configuration file, named after the
 * RouterOS menus they translate: `secrets` (`/ppp secret`), `profiles`
 * (`/ppp profile`), `pools` (`/ip pool`) and `interfaces` (static
 * `/interface sstp-server` entries). Each reader checks its own values and
 * reports every mistake to the {@linkcode YamlSource}; cross-references
 * between sections are checked in `server_config.ts`.
 *
 * @module
 */
import { isMap } from "yaml";
import { parseDuration } from "./duration.ts";
import { interfaceNameProblem } from "./interface_names.ts";
import { formatIpv4, type Ipv4Range, isIpv4, isIpv6, parseIpv4, parseIpv4Range } from "../ip.ts";
import { parsePppRoute, type PppRoute } from "./ppp_routes.ts";
import {
  InvalidValueError,
  parseChoice,
  parseIntegerIn,
  parseNonEmpty,
  parseYesNo,
} from "./values.ts";
import { parseRateLimit, type RateLimit } from "./rate_limit.ts";
import { formatIpv6, formatIpv6Prefix, parseIpv6, parseIpv6Prefix } from "../ipv6/address.ts";
import { type Located, type YamlEntry, type YamlNode, type YamlSource } from "./yaml_source.ts";

/** A static server interface: this user's tunnel always gets this name. */
export interface StaticInterface {
  /** Linux interface name (at most 15 bytes). */
  name: string;
  /** The `/ppp secret` name it belongs to. */
  user: string;
}

/** `/ppp secret`: one user. */
export interface PppSecret {
  /** User name. */
  name: string;
  /** Plain-text password (RouterOS stores it so; MS-CHAP needs it). */
  password: string;
  /**
   * `any` or `sstp` may log in here; a secret for another RouterOS service
   * (`async`, `l2tp`, `ovpn`, `pppoe`, `pptp`) is kept, noted at load, and
   * never matches an SSTP login.
   */
  service: PppService;
  /**
   * Profile name. When the secret gives none, the `sstp-server`
   * `default-profile`.
   */
  profile: string;
  /** Server-side tunnel address for this user, overriding the profile. */
  localAddress: string | undefined;
  /** Address given to this user, overriding the profile. */
  remoteAddress: string | undefined;
  /** Routes added on the server while the user is connected. */
  routes: PppRoute[];
  /** A disabled secret cannot log in. */
  disabled: boolean;
  /**
   * RouterOS `caller-id`: for SSTP, the client's IP address (the PROXY
   * protocol's source address behind a balancer). Set: a login from any
   * other address fails as a wrong password would.
   */
  callerId: string | undefined;
  /** Bytes the client may send (upload) per session; `null`: no limit. */
  limitBytesIn: number | null;
  /** Bytes the server may send the client (download) per session; `null`: no limit. */
  limitBytesOut: number | null;
}

/** `/ppp secret service` values RouterOS knows. */
export const PPP_SERVICES = ["any", "sstp", "async", "l2tp", "ovpn", "pppoe", "pptp"] as const;
/** One of {@linkcode PPP_SERVICES}. */
export type PppService = typeof PPP_SERVICES[number];

/** Where a profile's address comes from: a fixed address or a pool. */
export type AddressSource =
  | { kind: "address"; address: string }
  | { kind: "pool"; pool: string };

/** `/ppp profile`. */
export interface PppProfile {
  /** Profile name. */
  name: string;
  /** Server-side tunnel address (address or pool), if any. */
  localAddress: AddressSource | undefined;
  /** Address given to the client (address or pool), if any. */
  remoteAddress: AddressSource | undefined;
  /** DNS servers offered in IPCP (RFC 1877: at most two). */
  dnsServer: string[];
  /** IPv6 entries of `dns-server`, sent as RDNSS in Router Advertisements (RFC 8106). */
  dnsServer6?: string[];
  /** `remote-ipv6-prefix-pool`: a /64 per session from this `ipv6-pools` entry, advertised by RA. */
  remoteIpv6PrefixPool?: string;
  /** `dhcpv6-pd-pool`: a delegated prefix per session via DHCPv6-PD (RFC 8415). */
  dhcpv6PdPool?: string;
  /** `local-ipv6-interface-id`: our IPV6CP Interface-Identifier (8 bytes); absent: auto (random). */
  localIpv6InterfaceId?: Uint8Array;
  /**
   * At most one session per user. `default` in the file is resolved from
   * the `default` profile (built-in: no).
   */
  onlyOne: boolean;
  /** Longest session in ms, or `null` for no limit (unset or 0). */
  sessionTimeoutMs: number | null;
  /** Idle time before disconnect in ms, or `null` for no limit. */
  idleTimeoutMs: number | null;
  /**
   * Clamp TCP MSS to the tunnel MTU. `default` is resolved from the `default`
   * profile (built-in: yes).
   */
  changeTcpMss: boolean;
  /**
   * Linux bridge the session's TAP device joins (RouterOS `bridge`): BCP
   * (RFC 3518) carries Ethernet frames. Absent: no bridging (BCP rejected).
   */
  bridge?: string;
  /** STP path cost of the session's bridge port (`bridge link set ... cost`). */
  bridgePathCost?: number;
  /**
   * RouterOS port priority (0-240, a multiple of 16); Linux takes it divided
   * by 4 (`bridge link set ... priority`, 0-63, same 16-bit port id).
   */
  bridgePortPriority?: number;
  /**
   * RouterOS horizon: ports with the same value do not forward to each other.
   * Linux has one such group per bridge (`isolated on`), so every profile on a
   * bridge must use the same value (checked when the config is read).
   */
  bridgeHorizon?: number;
  /**
   * RouterOS `use-encryption` (`yes`, `no`, `required`, `default`):
   * informational for SSTP, whose payload TLS always encrypts.
   */
  useEncryption: string | undefined;
  /** `rate-limit` as written (for status), and parsed. */
  rateLimitText: string | undefined;
  /** `rate-limit`, parsed. */
  rateLimit: RateLimit | undefined;
  /** nftables set (`inet sstp` table) the session's client address joins while it is up. */
  addressList: string | undefined;
  /** Command run (`/bin/sh -c`) when a session comes up / goes down. */
  onUp: string | undefined;
  /** Command run (`/bin/sh -c`) when a session goes down. */
  onDown: string | undefined;
}

/** `/ip pool`. */
export interface IpPool {
  /** Pool name. */
  name: string;
  /** Address ranges as unsigned 32-bit numbers (see `ip.ts` `formatIpv4`). */
  ranges: Ipv4Range[];
  /** Pool used when this one is exhausted. */
  nextPool: string | undefined;
}

/** `/ipv6 pool`: prefixes of `prefix-length` handed out from `prefix`. */
export interface Ipv6PoolConfig {
  /** Pool name. */
  name: string;
  /** The pool's prefix, RFC 5952 text with its length (`2001:2:0:100::/56`). */
  prefix: string;
  /** Length of each handed-out prefix (64 for SLAAC). */
  prefixLength: number;
}

/** A profile entry before `default` tri-states are resolved. */
export interface RawPppProfile extends Omit<PppProfile, "onlyOne" | "changeTcpMss"> {
  /** `only-one` as written; `default` takes the `default` profile's value. */
  onlyOne: boolean | "default";
  /** `change-tcp-mss` as written; `default` takes the `default` profile's value. */
  changeTcpMss: boolean | "default";
}

const SECRET_KEYS = [
  "name",
  "password",
  "service",
  "profile",
  "local-address",
  "remote-address",
  "routes",
  "disabled",
  "caller-id",
  "limit-bytes-in",
  "limit-bytes-out",
  "comment",
] as const;
const PROFILE_KEYS = [
  "name",
  "local-address",
  "remote-address",
  "dns-server",
  "only-one",
  "session-timeout",
  "idle-timeout",
  "change-tcp-mss",
  "bridge",
  "bridge-path-cost",
  "bridge-port-priority",
  "bridge-horizon",
  "use-encryption",
  "rate-limit",
  "address-list",
  "on-up",
  "on-down",
  "remote-ipv6-prefix-pool",
  "dhcpv6-pd-pool",
  "local-ipv6-interface-id",
  "comment",
] as const;
const IPV6_POOL_KEYS = ["name", "prefix", "prefix-length", "comment"] as const;
const POOL_KEYS = ["name", "ranges", "next-pool", "comment"] as const;
const INTERFACE_KEYS = ["name", "user", "comment"] as const;

/** Parses a dotted-quad IPv4 address value. */
export function parseIpv4Value(text: string): string {
  const address = parseIpv4(text.trim());
  if (address === undefined) throw new InvalidValueError(`"${text}" is not an IPv4 address`);
  return formatIpv4(address);
}

/** Parses a `dns-server` entry: an IPv4 address or an IPv6 address (RFC 5952 text out). */
function parseDnsValue(text: string): { v4?: string; v6?: string } {
  const t = text.trim();
  if (t.includes(":")) {
    const bytes = parseIpv6(t);
    if (bytes === undefined) throw new InvalidValueError(`"${text}" is not an IPv6 address`);
    return { v6: formatIpv6(bytes) };
  }
  return { v4: parseIpv4Value(t) };
}

/**
 * Parses `local-ipv6-interface-id`: `auto` (undefined: a random identifier)
 * or the 64-bit identifier written as the low half of an IPv6 address
 * (`::1`, `::a:b:c:d`), as RouterOS shows it; zero is not allowed (RFC 5072 4.1).
 */
export function parseInterfaceIdValue(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (t.toLowerCase() === "auto") return undefined;
  const bytes = parseIpv6(t);
  if (bytes === undefined || bytes.subarray(0, 8).some((b) => b !== 0)) {
    throw new InvalidValueError(`"${text}" is not auto or a 64-bit interface id such as ::1`);
  }
  const iid = bytes.slice(8);
  if (iid.every((b) => b === 0)) {
    throw new InvalidValueError(`"${text}": the interface id must not be zero (RFC 5072 4.1)`);
  }
  return iid;
}

/** Parses an address-or-pool value (`/ppp profile remote-address`). */
function parseAddressSource(text: string): AddressSource {
  const t = text.trim();
  // Dotted digits are meant as an address, so report them as one.
  if (/^[0-9.]+$/.test(t)) return { kind: "address", address: parseIpv4Value(t) };
  return { kind: "pool", pool: parseName(t) };
}

/** Parses an object name (profile, pool): no spaces, commas or control characters. */
function parseName(text: string): string {
  const t = parseNonEmpty(text).trim();
  if (/[\s,]/.test(t)) throw new InvalidValueError(`"${text}" is not a valid name`);
  return t;
}

/** Parses the name of an existing Linux interface (a bridge). */
function parseBridgeName(text: string): string {
  const t = text.trim();
  const problem = interfaceNameProblem(t);
  if (problem !== undefined) throw new InvalidValueError(problem);
  return t;
}

/** Parses RouterOS `bridge-port-priority`: 0-240 in steps of 16, decimal or hex (`0x80`, as exported). */
function parsePortPriority(text: string): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]{1,2}$/i.test(t) ? parseInt(t, 16) : parseIntegerIn(t, 0, 240);
  if (n > 240) throw new InvalidValueError(`"${text}" is out of range (0-240)`);
  if (n % 16 !== 0) throw new InvalidValueError(`"${text}" is not a multiple of 16 (0-240)`);
  return n;
}

/** Parses RouterOS `bridge-horizon`: a number, or `none` (RouterOS's default) for no horizon. */
function parseHorizon(text: string): number | undefined {
  return text.trim() === "none" ? undefined : parseIntegerIn(text, 0, 4294967295);
}

/** `caller-id`: an IPv4 or IPv6 address (SSTP's caller id is the client's address). */
function parseCallerId(text: string): string {
  const t = text.trim();
  if (isIpv4(t)) return formatIpv4(parseIpv4(t)!);
  if (isIpv6(t)) return t.toLowerCase();
  throw new InvalidValueError(
    `"${text}" is not an IP address (for SSTP the caller id is the client's address)`,
  );
}

/** `limit-bytes-in`/`-out`: a byte count, `0` for no limit. */
function parseByteLimit(text: string): number | null {
  const t = text.trim();
  if (!/^\d{1,16}$/.test(t)) throw new InvalidValueError(`"${text}" is not a number of bytes`);
  const n = Number(t);
  return n === 0 ? null : n;
}

function parseRateLimitValue(text: string): RateLimit {
  try {
    return parseRateLimit(text);
  } catch (e) {
    throw new InvalidValueError((e as Error).message);
  }
}

/** An nftables set name: letters, digits, `_`, `-`, `.`, at most 63 characters. */
function parseAddressListName(text: string): string {
  const t = text.trim();
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/.test(t)) {
    throw new InvalidValueError(
      `"${text}" is not a usable list name (a letter, then letters, digits, _ . -; at most 63)`,
    );
  }
  return t;
}

/** Parses a RouterOS duration for timeouts; `0` means no limit. */
function parseTimeout(text: string): number | null {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new InvalidValueError(`"${text}" is not a duration such as 30s, 1h30m, 1d or seconds`);
  }
  return ms === 0 ? null : ms;
}

function parseTriState(text: string): boolean | "default" {
  return text.trim().toLowerCase() === "default" ? "default" : parseYesNoOrDefault(text);
}

function parseYesNoOrDefault(text: string): boolean {
  try {
    return parseYesNo(text);
  } catch {
    throw new InvalidValueError(`"${text}" is not yes, no or default`);
  }
}

/** Iterates the entries of a list section, yielding each item's key map and path. */
function* items(
  source: YamlSource,
  node: YamlNode | undefined,
  section: string,
  keys: readonly string[],
  what: string,
): Generator<{ fields: Map<string, YamlEntry>; path: string; node: YamlNode }> {
  const list = source.sequence(node, section, what);
  for (const [i, item] of list.entries()) {
    const path = `${section}[${i}]`;
    if (!isMap(item)) {
      source.report(item, path, `must be a mapping (one of the ${what})`);
      continue;
    }
    yield { fields: source.entries(item, path, keys), path, node: item };
  }
}

function required<T>(
  source: YamlSource,
  fields: Map<string, YamlEntry>,
  key: string,
  path: string,
  node: YamlNode,
  parse: (text: string) => T,
): T | undefined {
  const entry = fields.get(key);
  if (entry === undefined) {
    source.report(node, path, `"${key}" is required`);
    return undefined;
  }
  return source.value(entry, `${path}.${key}`, parse);
}

/** A secret before its profile is resolved against `default-profile`. */
export type RawPppSecret = Omit<PppSecret, "profile"> & { profile: string | undefined };

/** Reads `secrets`. A secret missing its name or password is left out (and reported). */
export function readSecrets(
  source: YamlSource,
  node: YamlNode | undefined,
): Located<RawPppSecret>[] {
  const out: Located<RawPppSecret>[] = [];
  const list = items(source, node, "secrets", SECRET_KEYS, "secrets");
  for (const { fields, path, node: item } of list) {
    const name = required(source, fields, "name", path, item, parseNonEmpty);
    const passwordEntry = fields.get("password");
    let password: string | undefined;
    if (passwordEntry === undefined) source.report(item, path, `"password" is required`);
    else password = source.scalar(passwordEntry, `${path}.password`)?.text;
    const v = <T>(key: string, parse: (t: string) => T) =>
      source.value(fields.get(key), `${path}.${key}`, parse);
    const routesEntry = fields.get("routes");
    const routes: PppRoute[] = [];
    for (const text of routesEntry ? source.list(routesEntry, `${path}.routes`) : []) {
      const route = source.parseText(text, `${path}.routes`, parsePppRoute);
      if (route !== undefined) routes.push(route);
    }
    const secret = {
      service: v("service", (t) => parseChoice(t, PPP_SERVICES)) ?? "any",
      profile: v("profile", parseName),
      localAddress: v("local-address", parseIpv4Value),
      remoteAddress: v("remote-address", parseIpv4Value),
      routes,
      disabled: v("disabled", parseYesNo) ?? false,
      callerId: v("caller-id", parseCallerId),
      limitBytesIn: v("limit-bytes-in", parseByteLimit) ?? null,
      limitBytesOut: v("limit-bytes-out", parseByteLimit) ?? null,
    };
    if (name !== undefined && password !== undefined) {
      out.push(source.locate({ name, password, ...secret }, path, item, fields));
    }
  }
  return out;
}

/** Reads `profiles` (without the built-in `default`). */
export function readProfiles(
  source: YamlSource,
  node: YamlNode | undefined,
): Located<RawPppProfile>[] {
  const out: Located<RawPppProfile>[] = [];
  const list = items(source, node, "profiles", PROFILE_KEYS, "profiles");
  for (const { fields, path, node: item } of list) {
    const name = required(source, fields, "name", path, item, parseName);
    const v = <T>(key: string, parse: (t: string) => T) =>
      source.value(fields.get(key), `${path}.${key}`, parse);
    const dnsEntry = fields.get("dns-server");
    const dnsServer: string[] = [];
    const dnsServer6: string[] = [];
    for (const text of dnsEntry ? source.list(dnsEntry, `${path}.dns-server`) : []) {
      const address = source.parseText(text, `${path}.dns-server`, parseDnsValue);
      if (address?.v4 !== undefined) dnsServer.push(address.v4);
      if (address?.v6 !== undefined) dnsServer6.push(address.v6);
    }
    if (dnsServer.length > 2) {
      source.report(
        dnsEntry?.value,
        `${path}.dns-server`,
        `${dnsServer.length} servers given; IPCP carries at most 2 (RFC 1877)`,
      );
    }
    const profile = {
      localAddress: v("local-address", parseAddressSource),
      remoteAddress: v("remote-address", parseAddressSource),
      dnsServer,
      onlyOne: v("only-one", parseTriState) ?? "default",
      sessionTimeoutMs: v("session-timeout", parseTimeout) ?? null,
      idleTimeoutMs: v("idle-timeout", parseTimeout) ?? null,
      changeTcpMss: v("change-tcp-mss", parseTriState) ?? "default",
      ...optional("bridge", v("bridge", parseBridgeName)),
      ...optional("bridgePathCost", v("bridge-path-cost", (t) => parseIntegerIn(t, 1, 65535))),
      ...optional("bridgePortPriority", v("bridge-port-priority", parsePortPriority)),
      ...optional("bridgeHorizon", v("bridge-horizon", parseHorizon)),
      useEncryption: v(
        "use-encryption",
        (t) => parseChoice(t, ["yes", "no", "required", "default"] as const),
      ),
      rateLimitText: v("rate-limit", (t) => t.trim()),
      rateLimit: v("rate-limit", parseRateLimitValue),
      addressList: v("address-list", parseAddressListName),
      onUp: v("on-up", parseNonEmpty),
      onDown: v("on-down", parseNonEmpty),
      ...(dnsServer6.length > 0 ? { dnsServer6 } : {}),
      ...optional("remoteIpv6PrefixPool", v("remote-ipv6-prefix-pool", parseName)),
      ...optional("dhcpv6PdPool", v("dhcpv6-pd-pool", parseName)),
      ...optional("localIpv6InterfaceId", v("local-ipv6-interface-id", parseInterfaceIdValue)),
    } as const;
    const bridgeOnly = ["bridge-path-cost", "bridge-port-priority", "bridge-horizon"]
      .filter((k) => fields.has(k));
    if (profile.bridge === undefined && bridgeOnly.length > 0 && !fields.has("bridge")) {
      source.report(
        fields.get(bridgeOnly[0]!)?.key,
        `${path}.${bridgeOnly[0]}`,
        'applies to a bridge port: set "bridge" too',
      );
    }
    if (name !== undefined) out.push(source.locate({ name, ...profile }, path, item, fields));
  }
  return out;
}

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

/** Reads `pools`. */
export function readPools(source: YamlSource, node: YamlNode | undefined): Located<IpPool>[] {
  const out: Located<IpPool>[] = [];
  for (const { fields, path, node: item } of items(source, node, "pools", POOL_KEYS, "pools")) {
    const name = required(source, fields, "name", path, item, parseName);
    const rangesEntry = fields.get("ranges");
    const ranges: Ipv4Range[] = [];
    let rangeProblems = false;
    if (rangesEntry === undefined) source.report(item, path, `"ranges" is required`);
    for (const text of rangesEntry ? source.list(rangesEntry, `${path}.ranges`) : []) {
      const range = source.parseText(text, `${path}.ranges`, (t) => {
        const r = parseIpv4Range(t);
        if (typeof r === "string") throw new InvalidValueError(r);
        return r;
      });
      if (range === undefined) rangeProblems = true;
      else ranges.push(range);
    }
    if (rangesEntry !== undefined && ranges.length === 0 && !rangeProblems) {
      source.report(rangesEntry.key, `${path}.ranges`, "at least one range is required");
    }
    const nextPool = source.value(fields.get("next-pool"), `${path}.next-pool`, parseName);
    if (name !== undefined) out.push(source.locate({ name, ranges, nextPool }, path, item, fields));
  }
  return out;
}

/** Reads `ipv6-pools` (`/ipv6 pool`). */
export function readIpv6Pools(
  source: YamlSource,
  node: YamlNode | undefined,
): Located<Ipv6PoolConfig>[] {
  const out: Located<Ipv6PoolConfig>[] = [];
  const list = items(source, node, "ipv6-pools", IPV6_POOL_KEYS, "IPv6 pools");
  for (const { fields, path, node: item } of list) {
    const name = required(source, fields, "name", path, item, parseName);
    const prefix = required(source, fields, "prefix", path, item, (t) => {
      const p = parseIpv6Prefix(t.trim());
      if (typeof p === "string") throw new InvalidValueError(p);
      return p;
    });
    const prefixLength = required(source, fields, "prefix-length", path, item, (t) => {
      const n = Number(t.trim());
      if (!Number.isInteger(n) || n < 1 || n > 128) {
        throw new InvalidValueError(`"${t}" is not a prefix length (1-128)`, "range");
      }
      return n;
    });
    if (prefix !== undefined && prefixLength !== undefined && prefixLength < prefix.length) {
      source.report(
        item,
        `${path}.prefix-length`,
        `${prefixLength} is shorter than the pool's /${prefix.length}`,
      );
      continue;
    }
    if (name !== undefined && prefix !== undefined && prefixLength !== undefined) {
      out.push(source.locate(
        { name, prefix: formatIpv6Prefix(prefix), prefixLength },
        path,
        item,
        fields,
      ));
    }
  }
  return out;
}

/** Reads `interfaces` (static interface names). */
export function readInterfaces(
  source: YamlSource,
  node: YamlNode | undefined,
): Located<StaticInterface>[] {
  const out: Located<StaticInterface>[] = [];
  const list = items(source, node, "interfaces", INTERFACE_KEYS, "interfaces");
  for (const { fields, path, node: item } of list) {
    const name = required(source, fields, "name", path, item, (t) => {
      const problem = interfaceNameProblem(t);
      if (problem !== undefined) throw new InvalidValueError(problem);
      return t;
    });
    const user = required(source, fields, "user", path, item, parseNonEmpty);
    if (name !== undefined && user !== undefined) {
      out.push(source.locate({ name, user }, path, item, fields));
    }
  }
  return out;
}

/** Keys each list section accepts, by section (for the key audit test and docs). */
export const PPP_SECTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  secrets: SECRET_KEYS,
  profiles: PROFILE_KEYS,
  pools: POOL_KEYS,
  interfaces: INTERFACE_KEYS,
};
