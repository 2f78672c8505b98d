/**
 * The RADIUS sections of the server configuration, in RouterOS vocabulary:
 * `radius:` (`/radius`), `ppp-aaa:` (`/ppp aaa`) and `radius-incoming:`
 * (`/radius incoming`).
 *
 * ```yaml
 * radius:
 *   - address: 198.18.90.1
 *     secret: "…"              # or secret-file: /etc/sstp/radius.secret
 *     service: ppp
 *     authentication-port: 1812
 *     accounting-port: 1813
 *     timeout: 300ms
 *     src-address: 198.18.90.2
 *     require-message-auth: yes
 * ppp-aaa:
 *   use-radius: yes
 *   accounting: yes
 *   interim-update: 1m
 * radius-incoming:
 *   accept: yes
 *   port: 3799
 * ```
 *
 * @module
 */
import { isMap, type Node } from "yaml";
import { parseDuration } from "./duration.ts";
import { isIpv4, isIpv6 } from "../ip.ts";
import { InvalidValueError, parseChoice, parseNonEmpty, parsePort, parseYesNo } from "./values.ts";
import type { YamlEntry, YamlSource } from "./yaml_source.ts";

/** One `/radius` entry. */
export interface RadiusServerConfig {
  /** The server's IPv4 or IPv6 address. */
  address: string;
  /** The shared secret, or the file to read it from at start-up. */
  secret: { kind: "text"; text: string } | { kind: "file"; path: string };
  /** RouterOS `service`; only `ppp` entries are used by `sstp`. */
  service: string[];
  /** `authentication-port` (default 1812). */
  authenticationPort: number;
  /** `accounting-port` (default 1813). */
  accountingPort: number;
  /** `timeout`: wait for each reply, ms (default 300). */
  timeoutMs: number;
  /** `src-address`: local address to send from; any when undefined. */
  srcAddress: string | undefined;
  /** `require-message-auth`: refuse Access replies without Message-Authenticator (default yes). */
  requireMessageAuth: boolean;
}

/** `/ppp aaa`. */
export interface PppAaaConfig {
  /** Ask RADIUS for users not in the local secrets (default no). */
  useRadius: boolean;
  /** Send accounting when RADIUS is used (default yes, as RouterOS). */
  accounting: boolean;
  /** Interim-Update period in ms, or `null` for none (default none). */
  interimUpdateMs: number | null;
}

/** `/radius incoming`. */
export interface RadiusIncomingConfig {
  /** Accept Disconnect and CoA requests (default no). */
  accept: boolean;
  /** UDP port to listen on (default 3799). */
  port: number;
}

/** The three sections together. */
export interface RadiusConfig {
  /** `/radius` entries, in file order (the failover order). */
  radius: RadiusServerConfig[];
  /** `/ppp aaa`. */
  pppAaa: PppAaaConfig;
  /** `/radius incoming`. */
  radiusIncoming: RadiusIncomingConfig;
}

/** Keys of the three sections. */
export const RADIUS_TOP_KEYS = ["radius", "ppp-aaa", "radius-incoming"] as const;
const SERVER_KEYS = [
  "address",
  "secret",
  "secret-file",
  "service",
  "authentication-port",
  "accounting-port",
  "timeout",
  "src-address",
  "require-message-auth",
  "disabled",
  "comment",
] as const;
const AAA_KEYS = ["use-radius", "accounting", "interim-update"] as const;
const INCOMING_KEYS = ["accept", "port"] as const;

function parseAddress(text: string): string {
  if (isIpv4(text) || isIpv6(text)) return text;
  throw new InvalidValueError(`"${text}" is not an IPv4 or IPv6 address`);
}

function parseTimeout(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 10 || ms > 60_000) {
    throw new InvalidValueError(`"${text}" is not a duration between 10ms and 60s`);
  }
  return ms;
}

function parseInterim(text: string): number | null {
  if (text === "0s" || text === "0" || text === "none") return null;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 10_000) {
    throw new InvalidValueError(`"${text}" is not a duration of at least 10s (or 0s for none)`);
  }
  return ms;
}

/** Reads the RADIUS sections from the top-level entries; problems are reported to `source`. */
export function readRadiusConfig(
  source: YamlSource,
  top: ReadonlyMap<string, YamlEntry>,
): RadiusConfig {
  const radius: RadiusServerConfig[] = [];
  const list = source.sequence(
    top.get("radius")?.value as Node | undefined,
    "radius",
    "radius servers",
  );
  for (const [i, item] of list.entries()) {
    const path = `radius[${i}]`;
    if (!isMap(item)) {
      source.report(item, path, "must be a mapping (one of the radius servers)");
      continue;
    }
    const f = source.entries(item, path, SERVER_KEYS);
    const v = <T>(key: string, parse: (t: string) => T) =>
      source.value(f.get(key), `${path}.${key}`, parse);
    if (v("disabled", parseYesNo) === true) continue;
    const address = v("address", parseAddress);
    if (!f.has("address")) source.report(item, path, `"address" is required`);
    const text = v("secret", (t) => t);
    const file = v("secret-file", parseNonEmpty);
    if ((text === undefined) === (file === undefined)) {
      source.report(item, path, `exactly one of "secret" and "secret-file" is required`);
    }
    if (text === "") source.report(f.get("secret")?.key, `${path}.secret`, "must not be empty");
    const serviceEntry = f.get("service");
    const service = serviceEntry === undefined
      ? ["ppp"]
      : source.list(serviceEntry, `${path}.service`).map((t) => t.text.trim());
    for (const s of service) {
      try {
        parseChoice(s, ["ppp", "login", "hotspot", "wireless", "dhcp", "ipsec", "dot1x"] as const);
      } catch (e) {
        source.report(serviceEntry?.key, `${path}.service`, (e as Error).message);
      }
    }
    if (address === undefined || (text === undefined && file === undefined)) continue;
    radius.push({
      address,
      secret: text !== undefined ? { kind: "text", text } : { kind: "file", path: file! },
      service,
      authenticationPort: v("authentication-port", parsePort) ?? 1812,
      accountingPort: v("accounting-port", parsePort) ?? 1813,
      timeoutMs: v("timeout", parseTimeout) ?? 300,
      srcAddress: v("src-address", parseAddress),
      requireMessageAuth: v("require-message-auth", parseYesNo) ?? true,
    });
  }
  const aaaEntry = top.get("ppp-aaa");
  const aaa = aaaEntry === undefined
    ? new Map<string, YamlEntry>()
    : source.entries(aaaEntry.value as Node, "ppp-aaa", AAA_KEYS);
  const av = <T>(key: string, parse: (t: string) => T) =>
    source.value(aaa.get(key), `ppp-aaa.${key}`, parse);
  const pppAaa: PppAaaConfig = {
    useRadius: av("use-radius", parseYesNo) ?? false,
    accounting: av("accounting", parseYesNo) ?? true,
    interimUpdateMs: av("interim-update", parseInterim) ?? null,
  };
  if (pppAaa.useRadius && !radius.some((r) => r.service.includes("ppp"))) {
    source.report(
      aaa.get("use-radius")?.key,
      "ppp-aaa.use-radius",
      "needs at least one radius entry with service ppp",
    );
  }
  const inEntry = top.get("radius-incoming");
  const inc = inEntry === undefined
    ? new Map<string, YamlEntry>()
    : source.entries(inEntry.value as Node, "radius-incoming", INCOMING_KEYS);
  const radiusIncoming: RadiusIncomingConfig = {
    accept: source.value(inc.get("accept"), "radius-incoming.accept", parseYesNo) ?? false,
    port: source.value(inc.get("port"), "radius-incoming.port", parsePort) ?? 3799,
  };
  return { radius, pppAaa, radiusIncoming };
}

/** `sstp-server: proxy-protocol`: no, or which versions are accepted. */
export type ProxyProtocolSetting = "no" | "yes" | "v1" | "v2";

/** Parses `proxy-protocol`. */
export function parseProxyProtocol(text: string): ProxyProtocolSetting {
  if (text === "no" || text === "false") return "no";
  if (text === "yes" || text === "true") return "yes";
  return parseChoice(text, ["v1", "v2"] as const);
}

/** Parses one `proxy-protocol-from` entry: an address or an IPv4/IPv6 prefix. */
export function parseProxySource(text: string): string {
  const t = text.trim();
  const [address, length, extra] = t.split("/");
  if (extra !== undefined || address === undefined) {
    throw new InvalidValueError(`"${text}" is not an address or prefix`);
  }
  const v4 = isIpv4(address);
  if (!v4 && !isIpv6(address)) throw new InvalidValueError(`"${text}" is not an address or prefix`);
  if (length !== undefined) {
    const n = Number(length);
    if (!/^[0-9]{1,3}$/.test(length) || n > (v4 ? 32 : 128)) {
      throw new InvalidValueError(`"${text}" has an invalid prefix length`);
    }
  }
  return t;
}

/** Keys of `radius` entries, `ppp-aaa` and `radius-incoming` (for the key audit test). */
export const RADIUS_SECTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  radius: SERVER_KEYS,
  "ppp-aaa": AAA_KEYS,
  "radius-incoming": INCOMING_KEYS,
};
