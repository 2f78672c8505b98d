/**
 * `metrics` and `web-status` values: where an HTTP listener binds. Kept
 * apart from the YAML reading so `sstp connect` can use it without loading
 * the YAML library.
 *
 * @module
 */
import { parseHostPort } from "./host_port.ts";
import { isIpv4, isIpv6 } from "../ip.ts";
import { InvalidValueError } from "./values.ts";

/** Where an HTTP listener binds. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * Parses `ADDRESS:PORT`, `[IPv6]:PORT` or `PORT` (loopback), or `no`.
 *
 * @throws {InvalidValueError} for anything else.
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const t = text.trim();
  if (t === "no" || t === "disabled") return undefined;
  if (/^\d+$/.test(t)) {
    const port = Number(t);
    if (port < 1 || port > 65535) throw new InvalidValueError(`port ${t} is not in 1-65535`);
    return { hostname: "127.0.0.1", port };
  }
  const hp = parseHostPort(t);
  if (!isIpv4(hp.host) && !isIpv6(hp.host)) {
    throw new InvalidValueError(`"${text}" must be an IP address and port, like 127.0.0.1:9477`);
  }
  if (hp.port === undefined) {
    throw new InvalidValueError(`"${text}" has no port, like 127.0.0.1:9477`);
  }
  return { hostname: hp.host, port: hp.port };
}
