/**
 * The HTTP exchange that opens an SSTP connection (MS-SSTP 3.2.4.1, 4.1):
 *
 * ```
 * SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1
 * Host: vpn.example
 * Content-Length: 18446744073709551615
 * SSTPCORRELATIONID: {GUID}
 *
 * HTTP/1.1 200 OK
 * Content-Length: 18446744073709551615
 * Server: Microsoft-HTTPAPI/2.0
 * Date: Thu, 09 Nov 2006 00:51:09 GMT
 * ```
 *
 * Pure bytes ↔ records. The parsers return `null` until the blank line that
 * ends the header has arrived, then `consumed`: the bytes after it already
 * belong to the SSTP stream and the caller must keep them
 * (docs/interop.md#sstp-bytes-behind-the-http-header).
 * Header names are matched case-insensitively, in any order; CRLF and bare
 * LF line ends are accepted.
 *
 * @module
 */
import { quotePeerText } from "../peer_text.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";

/** The URI every SSTP server listens on (MS-SSTP 3.2.4.1). */
export const SSTP_HTTP_PATH = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/";

/** The SSTP HTTP method (MS-SSTP 3.2.4.1). */
export const SSTP_HTTP_METHOD = "SSTP_DUPLEX_POST";

/** ULONGLONG_MAX, the Content-Length of both directions (MS-SSTP 3.2.4.1, 4.1). */
export const SSTP_CONTENT_LENGTH = "18446744073709551615";

/** Longest header accepted, request or response line included. */
export const MAX_HTTP_HEADER_BYTES = 8192;

/** A parsed SSTP HTTP request. */
export interface SstpHttpRequest {
  /** Method, as sent (case-sensitive). */
  method: string;
  /** Request target, as sent (query included). */
  path: string;
  /** Version, e.g. "HTTP/1.1". */
  version: string;
  /** Headers by lowercase name; repeated headers are joined with ", ". */
  headers: Map<string, string>;
  /** SSTPCORRELATIONID, trimmed, when GUID-shaped (braces or not, as the client sent it). */
  correlationId?: string;
  /** Host without its port (and without IPv6 brackets). */
  host?: string;
}

/** A parsed HTTP response. */
export interface SstpHttpResponse {
  /** Version, e.g. "HTTP/1.1". */
  version: string;
  /** Status code. */
  status: number;
  /** Reason phrase, possibly empty. */
  reason: string;
  /** Headers by lowercase name. */
  headers: Map<string, string>;
}

function bad(message: string): ProtocolError {
  return new ProtocolError("http", ERROR_CODE.BAD_HTTP, message);
}

/** Finds the end of the header: index after the blank line, or -1. */
function headerEnd(bytes: Uint8Array): number {
  const limit = Math.min(bytes.length, MAX_HTTP_HEADER_BYTES + 4);
  for (let i = 0; i < limit; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** Splits the header into lines, checking size and characters. */
function headerLines(
  bytes: Uint8Array,
  what: string,
): { lines: string[]; consumed: number } | null {
  const end = headerEnd(bytes);
  if (end < 0) {
    if (bytes.length > MAX_HTTP_HEADER_BYTES) {
      throw bad(`Cannot parse HTTP ${what}: header exceeds ${MAX_HTTP_HEADER_BYTES} bytes`);
    }
    return null;
  }
  if (end > MAX_HTTP_HEADER_BYTES) {
    throw bad(`Cannot parse HTTP ${what}: header of ${end} bytes exceeds ${MAX_HTTP_HEADER_BYTES}`);
  }
  let text = "";
  for (let i = 0; i < end; i++) {
    const b = bytes[i] ?? 0;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) {
      throw bad(`Cannot parse HTTP ${what}: control byte 0x${b.toString(16)} at offset ${i}`);
    }
    text += String.fromCharCode(b);
  }
  const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  // Drop the two empty entries produced by the blank line and the split.
  lines.length -= 2;
  if (lines.some((l) => l.includes("\r"))) throw bad(`Cannot parse HTTP ${what}: stray CR`);
  return { lines, consumed: end };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseHeaders(lines: string[], what: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) {
      throw bad(`Cannot parse HTTP ${what}: malformed header line ${quotePeerText(line, 40)}`);
    }
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prior = headers.get(key);
    headers.set(key, prior === undefined ? value : `${prior}, ${value}`);
  }
  return headers;
}

/**
 * A GUID with or without braces (sstpc sends none, Windows and
 * Open-SSTP-Client send them). The id tags every log line of the session
 * and shows in status output, so anything else from the peer is dropped
 * and the server makes one up.
 */
const GUID =
  /^(?:\{[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}|[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})$/;

/** Strips the port and IPv6 brackets from a Host value. */
function hostName(host: string): string {
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    return close > 0 ? host.slice(1, close) : host;
  }
  const colon = host.indexOf(":");
  return colon >= 0 && host.indexOf(":", colon + 1) < 0 ? host.slice(0, colon) : host;
}

/**
 * Parses an HTTP request header.
 *
 * @example
 * ```ts
 * import { parseSstpHttpRequest } from "./http_preamble.ts";
 * const text = "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n" +
 *   "host: vpn.test:443\r\nSSTPCORRELATIONID: {5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31}\r\n\r\n";
 * const bytes = new TextEncoder().encode(text + "\x10\x01");
 * const parsed = parseSstpHttpRequest(bytes);
 * if (parsed?.request.host !== "vpn.test" || parsed.consumed !== bytes.length - 2) throw new Error();
 * ```
 *
 * @returns `null` while the header is incomplete.
 * @throws {ProtocolError} `BAD_HTTP` (layer "http") when malformed or over 8 KiB.
 */
export function parseSstpHttpRequest(
  bytes: Uint8Array,
): { request: SstpHttpRequest; consumed: number } | null {
  const split = headerLines(bytes, "request");
  if (split === null) return null;
  const [first = "", ...rest] = split.lines;
  const parts = first.split(" ");
  const [method = "", path = "", version = ""] = parts;
  if (parts.length !== 3 || !TOKEN.test(method) || path === "" || !/^HTTP\/\d\.\d$/.test(version)) {
    throw bad(`Cannot parse HTTP request: malformed request line ${quotePeerText(first, 80)}`);
  }
  const headers = parseHeaders(rest, "request");
  const request: SstpHttpRequest = { method, path, version, headers };
  const correlationId = headers.get("sstpcorrelationid");
  if (correlationId !== undefined && GUID.test(correlationId)) {
    request.correlationId = correlationId;
  }
  const host = headers.get("host");
  if (host !== undefined && host !== "") request.host = hostName(host);
  return { request, consumed: split.consumed };
}

/** Methods HTTP defines; any other is answered 501 (RFC 9110 9.1). */
const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

/**
 * Decides the status to answer a request with: 200 for SSTP_DUPLEX_POST on
 * the /sra_ URI (case-insensitive, query ignored) over HTTP/1.1; 404 for
 * another path; 405 for a known HTTP method; 501 for an unknown one; 400 for
 * another HTTP version (MS-SSTP 4.1).
 *
 * @example
 * ```ts
 * import { validateSstpHttpRequest } from "./http_preamble.ts";
 * const status = validateSstpHttpRequest({
 *   method: "GET", path: "/", version: "HTTP/1.1", headers: new Map(),
 * });
 * if (status !== 404) throw new Error();
 * ```
 */
export function validateSstpHttpRequest(request: SstpHttpRequest): 200 | 400 | 404 | 405 | 501 {
  if (request.version !== "HTTP/1.1") return 400;
  const query = request.path.indexOf("?");
  const path = query >= 0 ? request.path.slice(0, query) : request.path;
  if (path.toLowerCase() !== SSTP_HTTP_PATH.toLowerCase()) return 404;
  if (request.method === SSTP_HTTP_METHOD) return 200;
  return KNOWN_METHODS.has(request.method) ? 405 : 501;
}

function checkField(value: string, what: string): void {
  if (/[\r\n\0]/.test(value) || value === "") {
    throw new TypeError(`Cannot build SSTP HTTP request: ${what} is empty or holds CR, LF or NUL`);
  }
}

/**
 * Builds the client's request (MS-SSTP 3.2.4.1).
 *
 * @example
 * ```ts
 * import { buildSstpHttpRequest } from "./http_preamble.ts";
 * const bytes = buildSstpHttpRequest({ host: "vpn.test", correlationId: "{00000000-0000-0000-0000-000000000000}" });
 * if (!new TextDecoder().decode(bytes).startsWith("SSTP_DUPLEX_POST /sra_")) throw new Error();
 * ```
 *
 * @throws {TypeError} If a field is empty or contains CR, LF or NUL.
 */
export function buildSstpHttpRequest(
  options: { host: string; correlationId: string; path?: string },
): Uint8Array {
  const path = options.path ?? SSTP_HTTP_PATH;
  checkField(options.host, "host");
  checkField(options.correlationId, "correlationId");
  checkField(path, "path");
  if (/\s/.test(path)) throw new TypeError("Cannot build SSTP HTTP request: path holds whitespace");
  return new TextEncoder().encode(
    `${SSTP_HTTP_METHOD} ${path} HTTP/1.1\r\n` +
      `Host: ${options.host}\r\n` +
      `Content-Length: ${SSTP_CONTENT_LENGTH}\r\n` +
      `SSTPCORRELATIONID: ${options.correlationId}\r\n\r\n`,
  );
}

const REASON: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/**
 * Builds the server's response. 200 is the SSTP answer (MS-SSTP 4.1);
 * any other status is a short, bodiless error that closes the connection.
 *
 * @example
 * ```ts
 * import { buildSstpHttpResponse } from "./http_preamble.ts";
 * const text = new TextDecoder().decode(buildSstpHttpResponse({ status: 200 }));
 * if (!text.startsWith("HTTP/1.1 200 OK\r\n")) throw new Error();
 * ```
 *
 * @param options.date Optional Date header value; the caller owns the clock.
 * @throws {RangeError} For a status outside 100..599.
 */
export function buildSstpHttpResponse(
  options: { status: number; date?: Date | string },
): Uint8Array {
  const { status } = options;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`Cannot build HTTP response: status ${status} is outside 100..599`);
  }
  const date = options.date === undefined
    ? ""
    : `Date: ${typeof options.date === "string" ? options.date : options.date.toUTCString()}\r\n`;
  if (/[\r\n]/.test(date.slice(0, -2))) throw new TypeError("Cannot build HTTP response: bad date");
  const head = `HTTP/1.1 ${status} ${REASON[status] ?? "Error"}\r\n`;
  const text = status === 200
    ? `${head}Content-Length: ${SSTP_CONTENT_LENGTH}\r\nServer: Microsoft-HTTPAPI/2.0\r\n${date}\r\n`
    : `${head}${status === 405 ? `Allow: ${SSTP_HTTP_METHOD}\r\n` : ""}Content-Length: 0\r\n` +
      `Connection: close\r\n${date}\r\n`;
  return new TextEncoder().encode(text);
}

/**
 * Parses an HTTP response header.
 *
 * @example
 * ```ts
 * import { parseSstpHttpResponse } from "./http_preamble.ts";
 * const bytes = new TextEncoder().encode("HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n");
 * if (parseSstpHttpResponse(bytes)?.response.status !== 200) throw new Error();
 * ```
 *
 * @returns `null` while the header is incomplete.
 * @throws {ProtocolError} `BAD_HTTP` (layer "http") when malformed or over 8 KiB.
 */
export function parseSstpHttpResponse(
  bytes: Uint8Array,
): { response: SstpHttpResponse; consumed: number } | null {
  const split = headerLines(bytes, "response");
  if (split === null) return null;
  const [first = "", ...rest] = split.lines;
  const match = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(first);
  if (match === null) {
    throw bad(`Cannot parse HTTP response: malformed status line ${quotePeerText(first, 80)}`);
  }
  return {
    response: {
      version: match[1] ?? "",
      status: Number(match[2]),
      reason: match[3] ?? "",
      headers: parseHeaders(rest, "response"),
    },
    consumed: split.consumed,
  };
}
