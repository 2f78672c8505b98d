/**
 * HTTP CONNECT through a web proxy (MS-SSTP 4.5; docs/interop.md#http-proxies): for networks
 * that reach the outside only through an HTTPS proxy.
 *
 * ```
 * CONNECT vpn.example.com:443 HTTP/1.1
 * Host: vpn.example.com:443
 * SSTPVERSION: 1.0
 * [Proxy-Authorization: Basic …]
 * ```
 *
 * A `200` answer turns the socket into a tunnel to the server; TLS then runs
 * over it. The configured port is used (sstpc hard-codes 443). A `407` is
 * reported as such, naming whether credentials were sent.
 *
 * @module
 */
import { quotePeerText } from "../peer_text.ts";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { ERROR_CODE, ProtocolError } from "../errors.ts";

/** Where the proxy is and how to log in to it. */
export interface HttpProxyOptions {
  /** Proxy host name or IP address. */
  host: string;
  /** Proxy TCP port. */
  port: number;
  /** User and password for Basic authentication, if the proxy wants them. */
  user?: string;
  /** Password for Basic authentication (sent only with `user`; never logged). */
  password?: string;
}

const MAX_RESPONSE_HEADER = 8192;

/** Builds the CONNECT request for `host:port`. */
export function buildConnectRequest(
  host: string,
  port: number,
  auth?: { user: string; password: string },
): string {
  const target = host.includes(":") && !host.startsWith("[")
    ? `[${host}]:${port}`
    : `${host}:${port}`;
  if (/[\r\n\s]/.test(target)) throw new TypeError(`Cannot build CONNECT: bad target "${target}"`);
  const authLine = auth
    ? `Proxy-Authorization: Basic ${
      Buffer.from(`${auth.user}:${auth.password}`, "utf8").toString("base64")
    }\r\n`
    : "";
  return `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nSSTPVERSION: 1.0\r\n${authLine}\r\n`;
}

/**
 * Parses the proxy's answer header; `null` while incomplete.
 *
 * @throws {ProtocolError} layer "http" for a malformed or over-long header.
 */
export function parseConnectResponse(
  bytes: Uint8Array,
): { status: number; reason: string; consumed: number } | null {
  const text = new TextDecoder("latin1").decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) {
    if (bytes.length > MAX_RESPONSE_HEADER) {
      throw new ProtocolError("http", ERROR_CODE.BAD_HTTP, "Proxy answer header is over 8 KiB");
    }
    return null;
  }
  const first = text.slice(0, text.indexOf("\r\n"));
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(first);
  if (!m) {
    throw new ProtocolError(
      "http",
      ERROR_CODE.BAD_HTTP,
      `Proxy answered CONNECT with ${quotePeerText(first, 80)}`,
    );
  }
  return { status: Number(m[1]), reason: m[2] ?? "", consumed: end + 4 };
}

/**
 * Opens a TCP connection to the proxy and asks it for a tunnel to
 * `host:port`. Resolves with the raw socket once the proxy says 200.
 */
export function connectThroughProxy(
  proxy: HttpProxyOptions,
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<net.Socket> {
  const auth = proxy.user !== undefined
    ? { user: proxy.user, password: proxy.password ?? "" }
    : undefined;
  const request = buildConnectRequest(host, port, auth);
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    let buffered = new Uint8Array(0);
    const timer = setTimeout(() =>
      fail(
        new ProtocolError(
          "http",
          ERROR_CODE.TIMEOUT,
          `Proxy ${proxy.host}:${proxy.port} gave no tunnel within ${timeoutMs} ms`,
        ),
      ), timeoutMs);
    const onAbort = () => fail(signal?.reason ?? new DOMException("Aborted", "AbortError"));
    signal?.addEventListener("abort", onAbort, { once: true });
    function cleanup() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("data", onData);
      socket.off("error", fail);
      socket.off("close", onClose);
    }
    function fail(e: unknown) {
      cleanup();
      socket.destroy();
      reject(e);
    }
    function onClose() {
      fail(new Error(`Proxy ${proxy.host}:${proxy.port} closed the connection during CONNECT`));
    }
    function onData(chunk: Uint8Array) {
      const next = new Uint8Array(buffered.length + chunk.length);
      next.set(buffered);
      next.set(chunk, buffered.length);
      buffered = next;
      let answer;
      try {
        answer = parseConnectResponse(buffered);
      } catch (e) {
        return fail(e);
      }
      if (answer === null) return;
      if (answer.status !== 200) {
        const why = answer.status === 407
          ? (auth ? " (proxy refused the credentials)" : " (proxy wants credentials)")
          : "";
        return fail(
          new ProtocolError(
            "http",
            ERROR_CODE.BAD_HTTP,
            `Proxy refused CONNECT ${host}:${port}: HTTP ${answer.status} ${answer.reason}${why}`,
          ),
        );
      }
      if (answer.consumed !== buffered.length) {
        return fail(
          new ProtocolError("http", ERROR_CODE.BAD_HTTP, "Proxy sent data before the tunnel began"),
        );
      }
      cleanup();
      resolve(socket);
    }
    socket.on("data", onData);
    socket.on("error", fail);
    socket.on("close", onClose);
    socket.once("connect", () => socket.write(request));
  });
}
