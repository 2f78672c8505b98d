/**
 * Parsers for the property values shared by `sstp connect` options and the
 * server configuration file, with RouterOS spelling. Each parser takes the
 * text as written and returns the typed value, or throws
 * {@linkcode InvalidValueError} with a sentence fragment that the caller
 * prefixes with the property name (and, for files, the line):
 * `Invalid value for "keepalive-timeout": "abc" is not a number of seconds or "disabled"`.
 *
 * @module
 */
import { AUTH_METHODS_STRONGEST_FIRST, type AuthMethod } from "../ppp/auth/auth_types.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import { parseDuration } from "./duration.ts";
import { CIPHER_NAMES, type CipherName, type Pfs, PFS_VALUES } from "../transport/tls_policy.ts";

/**
 * Smallest `max-mtu` / `max-mru`: 576, the IPv4 datagram every host must
 * accept (RFC 791 3.1). RouterOS accepts smaller values; they only fragment.
 */
export const MIN_MTU = 576;
/**
 * Largest `max-mtu` / `max-mru`: 4087 = 4095 (largest SSTP packet, 12-bit
 * length, MS-SSTP 2.2.1) - 4 (SSTP header) - 2 (PPP address/control `FF 03`,
 * which Windows sends) - 2 (PPP protocol field). RFC 1661 counts the MRU
 * without the protocol field.
 */
export const MAX_MTU = 4087;
/** RouterOS default `max-mtu` / `max-mru`. */
export const DEFAULT_MTU = 1500;
/** RouterOS default `keepalive-timeout` in seconds. */
export const DEFAULT_KEEPALIVE_TIMEOUT_S = 60;
/**
 * Largest `keepalive-timeout` in seconds: the largest delay a JavaScript timer
 * can hold is 2^31 - 1 ms.
 */
export const MAX_KEEPALIVE_TIMEOUT_S = 2_147_483;

/** RouterOS `tls-version` values. */
export const TLS_VERSIONS = ["any", "only-1.2", "only-1.3"] as const;
/** One of {@linkcode TLS_VERSIONS}. */
export type TlsVersion = typeof TLS_VERSIONS[number];

/** A value that does not fit its property. */
export class InvalidValueError extends Error {
  /** `"type"` for a value of the wrong kind, `"range"` for one out of bounds. */
  readonly kind: "type" | "range";
  /** Creates the error; `message` is the reason, without the property name. */
  constructor(message: string, kind: "type" | "range" = "type") {
    super(message);
    this.name = "InvalidValueError";
    this.kind = kind;
  }
}

/** Parses `yes|no|true|false` (any case). */
export function parseYesNo(text: string): boolean {
  switch (text.trim().toLowerCase()) {
    case "yes":
    case "true":
      return true;
    case "no":
    case "false":
      return false;
  }
  throw new InvalidValueError(`"${text}" is not yes, no, true or false`);
}

/** Parses a decimal integer within `[min, max]`. */
export function parseIntegerIn(text: string, min: number, max: number): number {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) throw new InvalidValueError(`"${text}" is not a whole number`);
  const n = Number(t);
  if (n < min || n > max) {
    throw new InvalidValueError(`${t} is out of range (${min}-${max})`, "range");
  }
  return n;
}

/** Parses a TCP port, 1-65535. */
export function parsePort(text: string): number {
  return parseIntegerIn(text, 1, 65535);
}

/** Parses `max-mtu` / `max-mru` within {@linkcode MIN_MTU}-{@linkcode MAX_MTU}. */
export function parseMtu(text: string): number {
  return parseIntegerIn(text, MIN_MTU, MAX_MTU);
}

/** Smallest `mrru` RouterOS accepts. */
export const MIN_MRRU = 512;
/** Largest `mrru`: a reassembled packet must fit one TUN read or write. */
export const MAX_MRRU = 16_384;

/**
 * Parses `mrru` (RouterOS): `disabled` (the default) or a size in
 * {@linkcode MIN_MRRU}-{@linkcode MAX_MRRU} that enables multilink
 * (RFC 1990) on the link.
 *
 * @returns The MRRU, or `undefined` for `disabled`.
 */
export function parseMrru(text: string): number | undefined {
  if (text.trim().toLowerCase() === "disabled") return undefined;
  return parseIntegerIn(text, MIN_MRRU, MAX_MRRU);
}

/**
 * Parses `keepalive-timeout`: whole seconds, a RouterOS duration (`1m`), or
 * `disabled`.
 *
 * @returns Milliseconds, or `null` for `disabled`.
 */
export function parseKeepaliveTimeout(text: string): number | null {
  const t = text.trim();
  if (t.toLowerCase() === "disabled") return null;
  const ms = parseDuration(t);
  if (ms === undefined || ms % 1000 !== 0) {
    throw new InvalidValueError(`"${text}" is not a number of seconds or "disabled"`);
  }
  if (ms < 1000 || ms > MAX_KEEPALIVE_TIMEOUT_S * 1000) {
    throw new InvalidValueError(
      `${ms / 1000} seconds is out of range (1-${MAX_KEEPALIVE_TIMEOUT_S} or "disabled")`,
      "range",
    );
  }
  return ms;
}

/**
 * Parses an `authentication` list such as `mschap2,chap`. Duplicates are
 * dropped; the result is strongest first whatever the written order.
 */
export function parseAuthentication(items: readonly string[]): AuthMethod[] {
  const chosen = new Set<string>();
  for (const raw of items) {
    const item = raw.trim().toLowerCase();
    if (item === "") continue;
    if (!(AUTH_METHODS_STRONGEST_FIRST as readonly string[]).includes(item)) {
      throw new InvalidValueError(
        `"${raw.trim()}" is not one of ${AUTH_METHODS_STRONGEST_FIRST.join(", ")}`,
      );
    }
    chosen.add(item);
  }
  if (chosen.size === 0) throw new InvalidValueError("at least one method is required");
  return AUTH_METHODS_STRONGEST_FIRST.filter((m) => chosen.has(m));
}

/** Splits a RouterOS comma list (`a,b, c`) into trimmed, non-empty items. */
export function splitList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Parses a value that must be one of `choices` (case-insensitive). */
export function parseChoice<T extends string>(text: string, choices: readonly T[]): T {
  const t = text.trim().toLowerCase();
  const found = choices.find((c) => c === t);
  if (found === undefined) {
    throw new InvalidValueError(`"${text}" is not one of ${choices.join(", ")}`);
  }
  return found;
}

/**
 * Which TLS library carries the connection: Deno's node:tls, or the system
 * OpenSSL by FFI; `openssl-worker` (client) also moves the data path into a
 * Worker thread that owns the socket and the TUN device.
 */
export const TLS_ENGINES = ["deno", "openssl", "openssl-worker"] as const;
/** One of {@linkcode TLS_ENGINES}. */
export type TlsEngine = typeof TLS_ENGINES[number];

/** Parses `tls-engine`. */
export function parseTlsEngine(text: string): TlsEngine {
  return parseChoice(text, TLS_ENGINES);
}

/** Parses `tls-version`. */
export function parseTlsVersion(text: string): TlsVersion {
  return parseChoice(text, TLS_VERSIONS);
}

/** Parses `pfs` (`no`, `yes`, `required`). */
export function parsePfs(text: string): Pfs {
  return parseChoice(text, PFS_VALUES);
}

/**
 * Parses a `ciphers` list such as `aes256-gcm-sha384,chacha20-poly1305`;
 * duplicates are dropped, the written order is kept.
 */
export function parseCiphers(items: readonly string[]): CipherName[] {
  const chosen: CipherName[] = [];
  for (const raw of items) {
    const item = raw.trim().toLowerCase();
    if (item === "") continue;
    const name = CIPHER_NAMES.find((c) => c === item);
    if (name === undefined) {
      throw new InvalidValueError(`"${raw.trim()}" is not one of ${CIPHER_NAMES.join(", ")}`);
    }
    if (!chosen.includes(name)) chosen.push(name);
  }
  if (chosen.length === 0) throw new InvalidValueError("at least one cipher is required");
  return chosen;
}

/** Parses `log-level`. */
export function parseLogLevel(text: string): LogLevel {
  return parseChoice(text, LOG_LEVELS);
}

/** Requires a non-empty value (file paths, names). */
export function parseNonEmpty(text: string): string {
  if (text.trim() === "") throw new InvalidValueError("a value is required");
  return text;
}
