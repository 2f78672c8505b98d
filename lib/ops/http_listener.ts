/**
 * A small read-only HTTP listener for `metrics` and `web-status`: loopback
 * unless configured otherwise, GET and HEAD only.
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** A running listener. */
export interface HttpListener {
  readonly hostname: string;
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** Answers one request; `undefined` means 404. */
export type HttpHandler = (request: Request) => Response | Promise<Response> | undefined;

/**
 * Listens on `hostname:port` (port 0 picks one).
 *
 * @throws {Deno.errors.AddrInUse} and other bind errors.
 */
export function startHttpListener(
  o: { hostname: string; port: number; logger: Logger; what: string; handler: HttpHandler },
): HttpListener {
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: o.hostname,
    port: o.port,
    signal: controller.signal,
    onListen: () => {},
    onError: (e) => {
      o.logger.warn(`${o.what}: ${e instanceof Error ? e.message : String(e)}`);
      return new Response("internal error\n", { status: 500 });
    },
  }, async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const r = await o.handler(request);
    return r ?? new Response("not found\n", { status: 404 });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    hostname: addr.hostname,
    port: addr.port,
    async close() {
      controller.abort();
      await server.finished;
    },
  };
}
