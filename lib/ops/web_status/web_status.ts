/**
 * `web-status`: one read-only page with the sessions (user, caller,
 * addresses, interface, uptime), per-session and total throughput as live
 * charts, and the recent set-up failures.
 *
 * `GET /` is the page; `GET /events` is a server-sent event stream that
 * pushes one JSON snapshot a second to each open page (one timer per
 * viewer, nothing per session, no polling). `GET /status.json` is the same
 * snapshot once. With `web-status-auth-file`, every request needs HTTP basic
 * auth matching a `user:password` line of that file (compared in constant
 * time); the file is read at start.
 *
 * @module
 */
import type { Logger } from "../../log.ts";
import type { SstpServer } from "../../server/server.ts";
import type { ServerMetrics } from "../metrics/server_metrics.ts";
import { type HttpListener, startHttpListener } from "../http_listener.ts";
import { STATUS_PAGE_HTML } from "./page.ts";

/** One session in a snapshot. */
export interface WebSession {
  id: string;
  user: string;
  callerId: string;
  interface: string;
  address: string;
  localAddress: string;
  state: string;
  uptimeS: number;
  rxBytes: number;
  txBytes: number;
}

/** What the page receives each second. */
export interface WebSnapshot {
  atMs: number;
  uptimeS: number;
  sessions: WebSession[];
  total: { rxBytes: number; txBytes: number };
  failures: { atMs: number; callerId: string; user: string; reason: string; detail: string }[];
}

/** Builds one snapshot. */
export function webSnapshot(server: SstpServer, metrics: ServerMetrics): WebSnapshot {
  const total = metrics.totals(server.sessions);
  return {
    atMs: Date.now(),
    uptimeS: Math.round(server.uptimeMs / 1000),
    sessions: server.status().map((s) => ({
      id: s.correlationId,
      user: s.user,
      callerId: s.callerId,
      interface: s.name,
      address: s.address,
      localAddress: s.localAddress,
      state: s.state,
      uptimeS: Math.round(s.uptimeMs / 1000),
      rxBytes: s.rxBytes,
      txBytes: s.txBytes,
    })),
    total: { rxBytes: total.rxBytes, txBytes: total.txBytes },
    failures: [...metrics.recentFailures].reverse(),
  };
}

/** Reads `user:password` lines (`#` comments and blank lines skipped). */
export function parseAuthFile(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`Cannot read ${file}:${i + 1}: expected "user:password"`);
    out.set(line.slice(0, colon), line.slice(colon + 1));
  });
  if (out.size === 0) throw new Error(`Cannot use ${file}: it has no "user:password" line`);
  return out;
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** True when `header` (an Authorization value) matches an entry of `users`. */
export function basicAuthOk(header: string | null, users: Map<string, string>): boolean {
  if (header === null || !header.startsWith("Basic ")) return false;
  let decoded: string;
  try {
    decoded = atob(header.slice(6).trim());
  } catch {
    return false;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return false;
  const expected = users.get(decoded.slice(0, colon));
  // Compare against something even for unknown users, so timing does not tell.
  return constantTimeEqual(decoded.slice(colon + 1), expected ?? "\0".repeat(32)) &&
    expected !== undefined;
}

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
};

/** Starts the status page listener. */
export async function startWebStatus(o: {
  hostname: string;
  port: number;
  authFile: string | undefined;
  server: SstpServer;
  metrics: ServerMetrics;
  logger: Logger;
  /** Snapshot period (default 1,000 ms). */
  periodMs?: number;
}): Promise<HttpListener> {
  const users = o.authFile === undefined
    ? undefined
    : parseAuthFile(await Deno.readTextFile(o.authFile), o.authFile);
  const period = o.periodMs ?? 1000;
  const streams = new Set<() => void>();
  const listener = startHttpListener({
    hostname: o.hostname,
    port: o.port,
    logger: o.logger,
    what: "web-status",
    handler: (request) => {
      if (users !== undefined && !basicAuthOk(request.headers.get("authorization"), users)) {
        return new Response("authentication required\n", {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="sstp status", charset="UTF-8"' },
        });
      }
      const path = new URL(request.url).pathname;
      if (path === "/") {
        return new Response(STATUS_PAGE_HTML, {
          headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8" },
        });
      }
      if (path === "/status.json") {
        return Response.json(webSnapshot(o.server, o.metrics), { headers: SECURITY_HEADERS });
      }
      if (path === "/events") {
        let timer: ReturnType<typeof setInterval> | undefined;
        let stop = () => {};
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            const enc = new TextEncoder();
            const send = () => {
              try {
                const data = JSON.stringify(webSnapshot(o.server, o.metrics));
                controller.enqueue(enc.encode(`data: ${data}\n\n`));
              } catch {
                stop();
              }
            };
            stop = () => {
              clearInterval(timer);
              streams.delete(stop);
              try {
                controller.close();
              } catch { /* already closed */ }
            };
            streams.add(stop);
            send();
            timer = setInterval(send, period);
          },
          cancel() {
            stop();
          },
        });
        request.signal.addEventListener("abort", () => stop());
        return new Response(body, {
          headers: { ...SECURITY_HEADERS, "content-type": "text/event-stream" },
        });
      }
      return undefined;
    },
  });
  return {
    hostname: listener.hostname,
    port: listener.port,
    async close() {
      for (const stop of [...streams]) stop();
      await listener.close();
    },
  };
}
