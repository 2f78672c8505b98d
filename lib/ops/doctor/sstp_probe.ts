/**
 * Opens a TLS connection to a server and sends the SSTP HTTP request, to
 * tell whether the far end speaks SSTP (HTTP 200 to `SSTP_DUPLEX_POST`).
 * The connection is closed right after the reply: no PPP is started.
 *
 * @module
 */
import { connect } from "node:tls";
import {
  buildSstpHttpRequest,
  parseSstpHttpResponse,
  SSTP_HTTP_PATH,
} from "../../sstp/http_preamble.ts";

/** What the probe found. */
export interface SstpProbe {
  /** The server answered 200 to the SSTP request. */
  sstp: boolean;
  /** `HTTP 200`, `HTTP 404`, or the error. */
  detail: string;
}

/**
 * Probes `host:port` (certificate not verified: this checks the protocol;
 * verification is its own check).
 */
export function probeSstp(
  o: { host: string; port: number; verify: false; sni?: string; timeoutMs?: number },
): Promise<SstpProbe> {
  return new Promise((resolve) => {
    let buffered = new Uint8Array(0);
    let settled = false;
    const socket = connect({
      host: o.host,
      port: o.port,
      rejectUnauthorized: false,
      ...(o.sni === undefined ? {} : { servername: o.sni }),
    });
    const done = (r: SstpProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => done({ sstp: false, detail: "no answer in time" }),
      o.timeoutMs ?? 5000,
    );
    socket.on("secureConnect", () => {
      socket.write(buildSstpHttpRequest({
        host: o.sni ?? o.host,
        correlationId: `{${crypto.randomUUID().toUpperCase()}}`,
        path: SSTP_HTTP_PATH,
      }));
    });
    socket.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(buffered.length + chunk.length);
      next.set(buffered);
      next.set(chunk, buffered.length);
      buffered = next;
      try {
        const parsed = parseSstpHttpResponse(buffered);
        if (parsed === null) return;
        const status = parsed.response.status;
        done({ sstp: status === 200, detail: `HTTP ${status}` });
      } catch (e) {
        done({ sstp: false, detail: `not HTTP: ${(e as Error).message}` });
      }
    });
    socket.on("error", (e: Error) => done({ sstp: false, detail: e.message }));
    socket.on("close", () => done({ sstp: false, detail: "connection closed without an answer" }));
  });
}
