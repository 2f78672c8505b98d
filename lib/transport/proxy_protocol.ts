/**
 * The PROXY protocol header (HAProxy's "The PROXY protocol" versions 1 and
 * 2) that a TCP load balancer puts before the client's first byte, so the
 * server learns the real client address. Pure and incremental: feed it the
 * bytes read so far; it says "need more", or returns the header and how many
 * bytes it used (the rest is the client's TLS ClientHello).
 *
 * Version 1 (text, at most 107 bytes including CRLF):
 * ```
 * PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n
 * PROXY TCP6 <src> <dst> <sport> <dport>\r\n
 * PROXY UNKNOWN[ anything]\r\n
 * ```
 * Version 2 (binary): the 12-byte signature `0D 0A 0D 0A 00 0D 0A 51 55 49
 * 54 0A`, version/command (0x21 PROXY, 0x20 LOCAL), family/transport (0x11
 * TCP over IPv4, 0x21 TCP over IPv6, 0x00 unspecified), a 16-bit length,
 * then the addresses and ports and optional TLVs (skipped).
 *
 * LOCAL (v2) and UNKNOWN (v1) connections carry no client address: the
 * balancer's own health checks; the caller keeps the socket's address.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { formatIpv6, parseIpv6 } from "../ipv6/address.ts";

/** Which versions the listener accepts (`proxy-protocol: yes | v1 | v2`). */
export type ProxyProtocolMode = "any" | "v1" | "v2";

/** RFC-style signature of version 2. */
export const PROXY_V2_SIGNATURE = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);
/** Version 1 headers are at most 107 bytes (the spec's worst case, TCP6). */
export const PROXY_V1_MAX_LENGTH = 107;
/** Longest version 2 header accepted: 16 + a 16-bit length. */
export const PROXY_V2_MAX_LENGTH: number = 16 + 65535;

/** A parsed header. */
export interface ProxyHeader {
  /** 1 for the text form, 2 for the binary form. */
  version: 1 | 2;
  /** `proxy`: addresses below are the client's; `local`: no client address (health check). */
  command: "proxy" | "local";
  /** Present for `proxy` with TCP over IPv4/IPv6. */
  source?: { address: string; port: number };
  /** The address the client connected to; present when `source` is. */
  destination?: { address: string; port: number };
}

/** Result of {@linkcode parseProxyHeader}. */
export type ProxyParse =
  | { done: false }
  | { done: true; header: ProxyHeader; length: number };

function refuse(why: string): ProtocolError {
  return new ProtocolError("proxy", ERROR_CODE.BAD_VALUE, `Cannot read PROXY header: ${why}`);
}

const V1_PREFIX = "PROXY ";

/**
 * Parses a PROXY header at the start of `bytes`.
 *
 * @returns `{ done: false }` while more bytes are needed.
 * @throws {ProtocolError} If the bytes cannot start a header of an accepted version, or the header is malformed.
 *
 * @example
 * ```ts
 * import { parseProxyHeader } from "./proxy_protocol.ts";
 * const r = parseProxyHeader(
 *   new TextEncoder().encode("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n\x16\x03"),
 *   "any",
 * );
 * if (!r.done || r.header.source?.address !== "192.168.0.1" || r.length !== 47) throw new Error();
 * ```
 */
export function parseProxyHeader(bytes: Uint8Array, mode: ProxyProtocolMode): ProxyParse {
  const n = Math.min(bytes.length, 12);
  const couldBeV2 = mode !== "v1" && sameStart(bytes, PROXY_V2_SIGNATURE, n);
  const couldBeV1 = mode !== "v2" && sameStart(bytes, asciiBytes(V1_PREFIX), Math.min(n, 6));
  if (!couldBeV1 && !couldBeV2) {
    const what = mode === "any" ? "version 1 or 2" : `version ${mode.slice(1)}`;
    throw refuse(`the connection does not start with a PROXY protocol ${what} header`);
  }
  if (couldBeV2) {
    if (bytes.length < 16) return { done: false };
    return parseV2(bytes);
  }
  if (bytes.length < 6) return { done: false };
  return parseV1(bytes);
}

function asciiBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function sameStart(bytes: Uint8Array, prefix: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function parseV1(bytes: Uint8Array): ProxyParse {
  const limit = Math.min(bytes.length, PROXY_V1_MAX_LENGTH);
  let end = -1;
  for (let i = 0; i + 1 < limit; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    if (bytes.length >= PROXY_V1_MAX_LENGTH) {
      throw refuse(`version 1 line has no CRLF within ${PROXY_V1_MAX_LENGTH} bytes`);
    }
    return { done: false };
  }
  const line = String.fromCharCode(...bytes.subarray(0, end));
  if (/[^\x20-\x7e]/.test(line)) throw refuse("version 1 line holds non-printable characters");
  const parts = line.split(" ");
  const length = end + 2;
  const proto = parts[1];
  if (proto === "UNKNOWN") return { done: true, header: { version: 1, command: "local" }, length };
  if ((proto !== "TCP4" && proto !== "TCP6") || parts.length !== 6) {
    throw refuse(
      `version 1 line "${line.slice(0, 60)}" is not "PROXY TCP4|TCP6 src dst sport dport"`,
    );
  }
  const [src, dst, sport, dport] = [parts[2]!, parts[3]!, parts[4]!, parts[5]!];
  const family = proto === "TCP4" ? 4 : 6;
  return {
    done: true,
    header: {
      version: 1,
      command: "proxy",
      source: { address: v1Address(src, family), port: v1Port(sport) },
      destination: { address: v1Address(dst, family), port: v1Port(dport) },
    },
    length,
  };
}

function v1Address(text: string, family: 4 | 6): string {
  if (family === 4) {
    const parts = text.split(".");
    if (
      parts.length === 4 &&
      parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)
    ) return text;
    throw refuse(`"${text}" is not an IPv4 address`);
  }
  const bytes = parseIpv6(text);
  if (bytes === undefined) throw refuse(`"${text}" is not an IPv6 address`);
  return formatIpv6(bytes);
}

function v1Port(text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) {
    throw refuse(`"${text}" is not a port number`);
  }
  return Number(text);
}

function parseV2(bytes: Uint8Array): ProxyParse {
  const verCmd = bytes[12] ?? 0;
  const famProto = bytes[13] ?? 0;
  const len = ((bytes[14] ?? 0) << 8) | (bytes[15] ?? 0);
  if (verCmd >> 4 !== 2) throw refuse(`version 2 header has version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) throw refuse(`version 2 header has unknown command ${command}`);
  if (bytes.length < 16 + len) return { done: false };
  const length = 16 + len;
  if (command === 0) return { done: true, header: { version: 2, command: "local" }, length };
  const body = bytes.subarray(16, length);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (famProto) {
    case 0x11: // TCP over IPv4
      if (len < 12) throw refuse(`version 2 TCP4 address block is ${len} bytes, needs 12`);
      return {
        done: true,
        header: {
          version: 2,
          command: "proxy",
          source: { address: Array.from(body.subarray(0, 4)).join("."), port: view.getUint16(8) },
          destination: {
            address: Array.from(body.subarray(4, 8)).join("."),
            port: view.getUint16(10),
          },
        },
        length,
      };
    case 0x21: // TCP over IPv6
      if (len < 36) throw refuse(`version 2 TCP6 address block is ${len} bytes, needs 36`);
      return {
        done: true,
        header: {
          version: 2,
          command: "proxy",
          source: { address: formatIpv6(body.slice(0, 16)), port: view.getUint16(32) },
          destination: { address: formatIpv6(body.slice(16, 32)), port: view.getUint16(34) },
        },
        length,
      };
    case 0x00: // UNSPEC: the receiver must use the real connection's addresses.
      return { done: true, header: { version: 2, command: "local" }, length };
    default:
      throw refuse(
        `version 2 family/transport 0x${famProto.toString(16).padStart(2, "0")} is not TCP`,
      );
  }
}

/**
 * Encodes a version 2 PROXY header for TCP (tests and tools that stand in
 * for a load balancer).
 */
export function encodeProxyV2(
  source: { address: string; port: number },
  destination: { address: string; port: number },
): Uint8Array {
  const v6 = source.address.includes(":");
  const addr = (a: string) => v6 ? parseIpv6(a)! : new Uint8Array(a.split(".").map(Number));
  const len = v6 ? 36 : 12;
  const out = new Uint8Array(16 + len);
  out.set(PROXY_V2_SIGNATURE);
  out[12] = 0x21;
  out[13] = v6 ? 0x21 : 0x11;
  out[14] = 0;
  out[15] = len;
  const alen = v6 ? 16 : 4;
  out.set(addr(source.address), 16);
  out.set(addr(destination.address), 16 + alen);
  const view = new DataView(out.buffer);
  view.setUint16(16 + 2 * alen, source.port);
  view.setUint16(18 + 2 * alen, destination.port);
  return out;
}
