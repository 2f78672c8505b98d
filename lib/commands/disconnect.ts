/**
 * `sstp disconnect NAME|USER`: asks the running server to end the session
 * on interface NAME, or every session of USER (Call Disconnect, then the
 * interface is removed).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type CommandContext, EXIT_CODE } from "../command_context.ts";
import { controlRequest } from "../control/control_client.ts";
import { DEFAULT_CONTROL_DIR, SERVER_SOCKET_NAME } from "../control/protocol.ts";

const HELP = `Usage: sstp disconnect [--socket PATH] NAME|USER

Ends the server session on interface NAME, or every session of USER.
--socket: the server's control socket (${DEFAULT_CONTROL_DIR}/${SERVER_SOCKET_NAME}).`;

/** Runs `sstp disconnect`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { socket: { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  if (values.help) {
    ctx.print(HELP);
    return EXIT_CODE.OK;
  }
  const [target, ...extra] = positionals;
  if (target === undefined || extra.length > 0) {
    throw new TypeError("Cannot disconnect: give exactly one interface or user name");
  }
  const socket = values.socket ?? `${DEFAULT_CONTROL_DIR}/${SERVER_SOCKET_NAME}`;
  let reply: Record<string, unknown>;
  try {
    reply = await controlRequest(socket, { op: "disconnect", target });
  } catch (e) {
    ctx.printError(
      `sstp disconnect: cannot reach the server at ${socket}: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
    return EXIT_CODE.FAILURE;
  }
  if (reply.ok !== true) {
    ctx.printError(`sstp disconnect: ${String(reply.error ?? "refused")}`);
    return EXIT_CODE.FAILURE;
  }
  const names = Array.isArray(reply.disconnected) ? reply.disconnected.map(String) : [];
  ctx.print(`disconnecting ${names.join(", ")}`);
  return EXIT_CODE.OK;
}
