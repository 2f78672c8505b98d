/**
 * `sstp status [--json] [NAME]`: what every running `sstp serve` and
 * `sstp connect` reports over its control socket.
 *
 * Without NAME every socket in the control directory is asked: the server
 * prints its sessions as a table (`/interface sstp-server print`), each
 * client its `monitor` lines. NAME picks a socket path, a socket name
 * (`sstp-server`, `client-sstp-out1`), a client interface (`sstp-out1`), or
 * a server session by interface or user (printed `monitor` style).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type CommandContext, EXIT_CODE } from "../command_context.ts";
import { controlRequest, listControlSockets } from "../control/control_client.ts";
import {
  clientSocketName,
  DEFAULT_CONTROL_DIR,
  type SecretHistoryStatus,
  type ServerSessionStatus,
} from "../control/protocol.ts";
import {
  formatClientMonitor,
  formatSeconds,
  formatSecretHistory,
  formatSessionMonitor,
  formatSessionTable,
} from "../control/status_format.ts";

const HELP = `Usage: sstp status [--json] [--dir DIR] [NAME]

Shows the running server's sessions and each running client's state.
NAME: a server session's interface or user, a client's interface, or a
control socket name or path. --dir: control socket directory (${DEFAULT_CONTROL_DIR}).`;

interface Answer {
  socket: string;
  reply: Record<string, unknown>;
}

/** Runs `sstp status`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      json: { type: "boolean" },
      dir: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    ctx.print(HELP);
    return EXIT_CODE.OK;
  }
  if (positionals.length > 1) throw new TypeError("Cannot show status: give at most one NAME");
  const dir = values.dir ?? DEFAULT_CONTROL_DIR;
  const name = positionals[0];
  const direct = name === undefined ? undefined : await directSocket(dir, name);
  const sockets = direct !== undefined ? [direct] : await listControlSockets(dir);
  if (sockets.length === 0) {
    ctx.printError(`sstp status: nothing is running (no control socket in ${dir})`);
    return EXIT_CODE.FAILURE;
  }
  const answers: Answer[] = [];
  let failures = 0;
  for (const socket of sockets) {
    try {
      answers.push({ socket, reply: await controlRequest(socket, { op: "status" }) });
    } catch (e) {
      failures++;
      ctx.printError(`${socket}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // A NAME that is not a socket selects server sessions by interface or user.
  const pick = name !== undefined && direct === undefined ? name : undefined;
  if (pick !== undefined) return printPicked(ctx, answers, pick, values.json ?? false);
  if (values.json) {
    ctx.print(JSON.stringify(answers.map((a) => ({ socket: a.socket, ...a.reply })), null, 2));
  } else {
    for (const a of answers) printAnswer(ctx, a);
  }
  return failures > 0 && answers.length === 0 ? EXIT_CODE.FAILURE : EXIT_CODE.OK;
}

async function directSocket(dir: string, name: string): Promise<string | undefined> {
  const candidates = name.includes("/")
    ? [name]
    : [`${dir}/${name}`, `${dir}/${name}.sock`, `${dir}/${clientSocketName(name)}`];
  for (const c of candidates) {
    try {
      if ((await Deno.stat(c)).isSocket) return c;
    } catch {
      // Not this one.
    }
  }
  return name.includes("/") ? name : undefined;
}

function sessionsOf(reply: Record<string, unknown>): ServerSessionStatus[] | undefined {
  return Array.isArray(reply.sessions) ? reply.sessions as ServerSessionStatus[] : undefined;
}

function secretsOf(reply: Record<string, unknown>): SecretHistoryStatus[] {
  return Array.isArray(reply.secrets) ? reply.secrets as SecretHistoryStatus[] : [];
}

function printAnswer(ctx: CommandContext, a: Answer): void {
  if (a.reply.ok !== true) {
    ctx.printError(`${a.socket}: ${String(a.reply.error ?? "request failed")}`);
    return;
  }
  const sessions = sessionsOf(a.reply);
  if (sessions !== undefined) {
    ctx.print(
      `server (${a.socket}): up ${formatSeconds(a.reply.uptimeMs)}, ${sessions.length} sessions`,
    );
    if (sessions.length > 0) { for (const line of formatSessionTable(sessions)) ctx.print(line); }
    const secrets = secretsOf(a.reply);
    if (secrets.length > 0) { for (const line of formatSecretHistory(secrets)) ctx.print(line); }
  } else {
    ctx.print(`client (${a.socket}):`);
    for (const line of formatClientMonitor(a.reply)) ctx.print(line);
  }
  ctx.print("");
}

function printPicked(ctx: CommandContext, answers: Answer[], pick: string, json: boolean): number {
  const found = answers.flatMap((a) =>
    (sessionsOf(a.reply) ?? []).filter((s) => s.name === pick || s.user === pick)
  );
  const history = answers.flatMap((a) => secretsOf(a.reply).filter((s) => s.name === pick));
  if (found.length === 0 && history.length > 0) {
    // A user with no session now: its `/ppp secret` history, as RouterOS prints it.
    if (json) ctx.print(JSON.stringify(history, null, 2));
    else for (const line of formatSecretHistory(history)) ctx.print(line);
    return EXIT_CODE.OK;
  }
  if (found.length === 0) {
    ctx.printError(`sstp status: no session, client or socket named "${pick}"`);
    return EXIT_CODE.FAILURE;
  }
  if (json) ctx.print(JSON.stringify(found, null, 2));
  else {
    found.forEach((s, i) => {
      if (i > 0) ctx.print("");
      for (const line of formatSessionMonitor(s)) ctx.print(line);
    });
  }
  return EXIT_CODE.OK;
}
