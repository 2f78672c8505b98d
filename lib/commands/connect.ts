/**
 * `sstp connect`: the client command. Parses RouterOS `/interface
 * sstp-client` properties, runs {@linkcode SstpClient} in the foreground, and
 * maps how it ended to an exit code.
 *
 * @module
 */
import type { CommandContext } from "./context.ts";
import { EXIT_CODE } from "./context.ts";
import { isHelpRequested, parseConnectOptions } from "../cli/connect_options.ts";
import { CONNECT_HELP } from "../cli/connect_help.ts";
import { readableFileProblem } from "../config/file_check.ts";
import { createLogger } from "../log.ts";
import { SstpClient } from "../client/sstp_client.ts";
import { serveClientStatus } from "../client/client_status.ts";

const OUTCOME_EXIT = {
  stopped: EXIT_CODE.OK,
  auth: EXIT_CODE.AUTH,
  certificate: EXIT_CODE.CERTIFICATE,
  network: EXIT_CODE.NETWORK,
} as const;

/** Runs `sstp connect ARGS`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  if (isHelpRequested(argv)) {
    ctx.print(CONNECT_HELP);
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
    (level, line) => ctx.printError(`${new Date().toISOString()} ${level.padEnd(5)} ${line}`),
  ).child(options.name);
  for (const w of options.warnings) logger.warn(w);
  if (options.disabled) {
    logger.info("disabled=yes: not connecting");
    return EXIT_CODE.OK;
  }
  const client = new SstpClient(options, {
    platform: ctx.platform,
    logger,
    readTextFile: (p) => Deno.readTextFileSync(p),
    ...(ctx.env.SSTP_HTTP_PROXY_USER
      ? {
        proxyCredentials: {
          user: ctx.env.SSTP_HTTP_PROXY_USER,
          password: ctx.env.SSTP_HTTP_PROXY_PASSWORD ?? "",
        },
      }
      : {}),
  });
  const status = await serveClientStatus(
    client,
    options,
    logger,
    ctx.env.SSTP_RUN_DIR || undefined,
  );
  const stop = () => client.stop();
  const unsubscribe = [
    ctx.onSignal("SIGINT", stop),
    ctx.onSignal("SIGTERM", stop),
  ];
  try {
    const outcome = await client.run();
    return OUTCOME_EXIT[outcome.kind];
  } finally {
    for (const u of unsubscribe) u();
    await status?.close();
  }
}
