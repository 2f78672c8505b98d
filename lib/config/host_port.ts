/**
 * `host[:port]` values such as RouterOS `connect-to` and `http-proxy`:
 * a DNS name, an IPv4 literal or an IPv6 literal, with an optional port
 * (`[2001:db8::1]:443`; a bare IPv6 literal has no port).
 *
 * @module
 */
import { isIpv4, isIpv6 } from "../ip.ts";
import { InvalidValueError, parsePort } from "./values.ts";

/** What kind of host a {@linkcode HostPort} names. */
export type HostKind = "name" | "ipv4" | "ipv6";

/** A parsed `host[:port]`. */
export interface HostPort {
  /** Host name (lower case, no trailing dot) or address literal (IPv6 without brackets). */
  host: string;
  /** Port when the text gave one. */
  port: number | undefined;
  /** Whether `host` is a name or an address literal. */
  kind: HostKind;
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * True when `text` is a DNS host name (RFC 1123 2.1 labels; `_` tolerated, as
 * resolvers do) and not all-numeric like an address.
 */
export function isHostName(text: string): boolean {
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  if (name === "" || name.length > 253) return false;
  if (/^[0-9.]+$/.test(name)) return false;
  return name.split(".").every((label) => LABEL.test(label));
}

/**
 * Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./host_port.ts";
 * const hp = parseHostPort("[2001:db8::1]:8443");
 * if (hp.host !== "2001:db8::1" || hp.port !== 8443 || hp.kind !== "ipv6") throw new Error();
 * ```
 * @throws {InvalidValueError} When the text is none of these.
 */
export function parseHostPort(text: string): HostPort {
  const t = text.trim();
  if (t.startsWith("[")) {
    const match = /^\[([^\]]*)\](?::(.*))?$/.exec(t);
    if (match === null || !isIpv6(match[1] ?? "")) {
      throw new InvalidValueError(`"${text}" is not a valid [IPv6]:port`);
    }
    const portText = match[2];
    return {
      host: (match[1] ?? "").toLowerCase(),
      port: portText === undefined ? undefined : parsePortIn(portText),
      kind: "ipv6",
    };
  }
  const colons = t.split(":").length - 1;
  if (colons > 1) {
    if (!isIpv6(t)) throw new InvalidValueError(`"${text}" is not an IPv6 address`);
    return { host: t.toLowerCase(), port: undefined, kind: "ipv6" };
  }
  const [hostText = "", portText] = t.split(":");
  const port = portText === undefined ? undefined : parsePortIn(portText);
  if (isIpv4(hostText)) return { host: hostText, port, kind: "ipv4" };
  if (/^[0-9.]+$/.test(hostText)) {
    throw new InvalidValueError(`"${hostText}" is not an IPv4 address`);
  }
  if (!isHostName(hostText)) {
    throw new InvalidValueError(`"${text}" is not a host name or IP address`);
  }
  return { host: hostText.replace(/\.$/, "").toLowerCase(), port, kind: "name" };
}

function parsePortIn(text: string): number {
  try {
    return parsePort(text);
  } catch (e) {
    if (e instanceof InvalidValueError) {
      throw new InvalidValueError(`port ${e.message}`, e.kind);
    }
    throw e;
  }
}

/** Formats a host and port as a URL authority would: `[2001:db8::1]:443`. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
