/**
 * `sstp demo`: see {@linkcode runDemo}.
 *
 * @module
 */
import type { CommandContext } from "../command_context.ts";
import { EXIT_CODE } from "../command_context.ts";
import { runDemo } from "../demo/demo.ts";

const HELP = `Usage: sstp demo

Builds two fresh network namespaces joined by a veth pair (198.18.0.0/15),
runs a zero-configuration "sstp serve" in one and "sstp connect" in the other,
shows the phases, a ping and a short throughput figure through the tunnel,
and removes everything it made. Needs root and /dev/net/tun.`;

/** Runs `sstp demo`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    ctx.print(HELP);
    return EXIT_CODE.OK;
  }
  if (argv.length > 0) {
    ctx.printError(`sstp demo: unexpected argument "${argv[0]}"\n\n${HELP}`);
    return EXIT_CODE.USAGE;
  }
  return await runDemo(ctx);
}
