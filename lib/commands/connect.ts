/**
 * `sstp connect`: the client command. Parses RouterOS `/interface
 * sstp-client` properties, runs {@linkcode SstpClient} in the foreground, and
 * maps how it ended to an exit code.
 *
 * @module
 */
import type { CommandContext } from "../command_context.ts";
import { EXIT_CODE } from "../command_context.ts";
import { isHelpRequested, parseConnectOptions } from "../cli/connect_args.ts";
import type * as ConnectHelp from "../cli/connect_help.ts";
import { createLogger, type Logger } from "../log.ts";
import { formattedSink } from "../config/log_format.ts";
import { readableFileProblem } from "../config/file_check.ts";
import { SstpClient } from "../client/sstp_client.ts";
import { serveClientStatus } from "../client/client_status.ts";
import { currentNetnsTag, NetStateFile, netStatePath } from "../client/net_state.ts";
import { DEFAULT_CONTROL_DIR } from "../control/protocol.ts";

const OUTCOME_EXIT = {
  stopped: EXIT_CODE.OK,
  auth: EXIT_CODE.AUTH,
  certificate: EXIT_CODE.CERTIFICATE,
  // A TLS policy the server cannot meet is a configuration problem: retrying cannot fix it.
  "tls-policy": EXIT_CODE.USAGE,
  network: EXIT_CODE.NETWORK,
} as const;

/** Runs `sstp connect ARGS`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  if (isHelpRequested(argv)) {
    // By URL, so that a connect does not load the help text (test/startup_imports_test.ts).
    const help = await import(
      new URL("../cli/connect_help.ts", import.meta.url).href
    ) as typeof ConnectHelp;
    ctx.print(help.CONNECT_HELP);
    return EXIT_CODE.OK;
  }
  let options;
  try {
    options = await parseConnectOptions(argv, ctx.env, (p) => Deno.readTextFileSync(p), {
      fileProblem: readableFileProblem,
    });
  } catch (e) {
    ctx.printError(`sstp connect: ${(e as Error).message}`);
    return EXIT_CODE.USAGE;
  }
  const logger = createLogger(
    options.logLevel,
    formattedSink(options.logFormat, "sstp-client", ctx.printError),
  ).child(options.name);
  for (const w of options.warnings) logger.warn(w);
  if (options.disabled) {
    logger.info("disabled=yes: not connecting");
    return EXIT_CODE.OK;
  }
  const runDir = ctx.env.SSTP_RUN_DIR || DEFAULT_CONTROL_DIR;
  const client = new SstpClient(options, {
    platform: ctx.platform,
    logger,
    readTextFile: (p) => Deno.readTextFileSync(p),
    stateFile: new NetStateFile(
      netStatePath(runDir, options.name, currentNetnsTag()),
      options.name,
    ),
    ...(ctx.env.SSTP_HTTP_PROXY_USER
      ? {
        proxyCredentials: {
          user: ctx.env.SSTP_HTTP_PROXY_USER,
          password: ctx.env.SSTP_HTTP_PROXY_PASSWORD ?? "",
        },
      }
      : {}),
  });
  // Signal listeners before the status socket and the metrics listener
  // accept: Deno sets its signal handling up on the first listener and
  // aborts the process ("Too many open files" panic) when a flood of
  // connections has taken every descriptor by then. A stop that comes
  // before run() makes it return at once.
  const stop = () => client.stop();
  const unsubscribe = [
    ctx.onSignal("SIGINT", stop),
    ctx.onSignal("SIGTERM", stop),
  ];
  const status = await serveClientStatus(client, options, logger, runDir);
  let metrics: { close(): Promise<void> } | undefined;
  if (options.metrics !== undefined) {
    try {
      metrics = await startClientMetrics(client, options.metrics, logger);
    } catch (e) {
      for (const u of unsubscribe) u();
      await status?.close();
      logger.error(`Cannot serve metrics: ${(e as Error).message}`);
      return EXIT_CODE.OS;
    }
  }
  try {
    const outcome = await client.run();
    return OUTCOME_EXIT[outcome.kind];
  } finally {
    for (const u of unsubscribe) u();
    await metrics?.close();
    await status?.close();
  }
}

/** Loaded only with --metrics: keeps the HTTP server code off the start-up path. */
async function startClientMetrics(
  client: SstpClient,
  where: { hostname: string; port: number },
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const { ClientMetrics } = await import(
    new URL("../ops/metrics/client_metrics.ts", import.meta.url).href
  ) as typeof import("../ops/metrics/client_metrics.ts");
  const { startHttpListener } = await import(
    new URL("../ops/http_listener.ts", import.meta.url).href
  ) as typeof import("../ops/http_listener.ts");
  const { EXPOSITION_CONTENT_TYPE } = await import(
    new URL("../ops/metrics/exposition.ts", import.meta.url).href
  ) as typeof import("../ops/metrics/exposition.ts");
  const m = new ClientMetrics(client);
  const l = startHttpListener({
    ...where,
    logger,
    what: "metrics",
    handler: (request) =>
      new URL(request.url).pathname === "/metrics"
        ? new Response(m.render(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } })
        : undefined,
  });
  logger.info(`metrics on http://${where.hostname}:${l.port}/metrics`);
  return l;
}
