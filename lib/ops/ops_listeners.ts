/**
 * Starts the HTTP listeners `sstp serve` runs beside the server: `metrics`
 * (Prometheus text at `/metrics`) and `web-status` (the live status page).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { SstpServer } from "../server/server.ts";
import type { OpsConfig } from "./ops_config.ts";
import type { ServerMetrics } from "./metrics/server_metrics.ts";
import { EXPOSITION_CONTENT_TYPE } from "./metrics/exposition.ts";
import { type HttpListener, startHttpListener } from "./http_listener.ts";

/** The running listeners. */
export interface OpsListeners {
  readonly metrics: HttpListener | undefined;
  readonly webStatus: HttpListener | undefined;
  close(): Promise<void>;
}

/**
 * Starts what `ops` asks for.
 *
 * @throws the bind error of either; nothing stays open.
 */
export async function startOpsListeners(o: {
  ops: OpsConfig;
  metrics: ServerMetrics;
  server: SstpServer;
  logger: Logger;
}): Promise<OpsListeners> {
  const started: HttpListener[] = [];
  try {
    let metrics: HttpListener | undefined;
    if (o.ops.metrics !== undefined) {
      metrics = startHttpListener({
        ...o.ops.metrics,
        logger: o.logger,
        what: "metrics",
        handler: (request) => {
          if (new URL(request.url).pathname !== "/metrics") return undefined;
          return new Response(o.metrics.render(o.server.sessions), {
            headers: { "content-type": EXPOSITION_CONTENT_TYPE },
          });
        },
      });
      started.push(metrics);
      o.logger.info(`metrics on http://${hostPort(metrics)}/metrics`);
    }
    let webStatus: HttpListener | undefined;
    if (o.ops.webStatus !== undefined) {
      const { startWebStatus } = await import(
        new URL("./web_status/web_status.ts", import.meta.url).href
      ) as typeof import("./web_status/web_status.ts");
      webStatus = await startWebStatus({
        ...o.ops.webStatus,
        authFile: o.ops.webStatusAuthFile,
        server: o.server,
        metrics: o.metrics,
        logger: o.logger,
      });
      started.push(webStatus);
      o.logger.info(`status page on http://${hostPort(webStatus)}/`);
    }
    return {
      metrics,
      webStatus,
      async close() {
        await Promise.all(started.map((l) => l.close()));
      },
    };
  } catch (e) {
    await Promise.all(started.map((l) => l.close()));
    throw e;
  }
}

function hostPort(l: HttpListener): string {
  return l.hostname.includes(":") ? `[${l.hostname}]:${l.port}` : `${l.hostname}:${l.port}`;
}
