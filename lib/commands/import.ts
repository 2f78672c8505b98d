/**
 * `sstp import routeros EXPORT.rsc`: translates a RouterOS `/export` into
 * `sstp serve` YAML on standard output, and reports on standard error every
 * line it did not translate, with its line number.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type CommandContext, EXIT_CODE } from "../command_context.ts";
import { importRouterOs } from "../ops/routeros/import_routeros.ts";

const HELP = `Usage: sstp import routeros EXPORT.rsc [--client-dir DIR] [--certificate-dir DIR]

Translates a RouterOS export (/export or /export file=...; "-" reads standard
input) into sstp YAML. The server configuration (/interface sstp-server
server, /interface sstp-server, /ppp secret, /ppp profile, /ip pool) goes to
standard output:

  sstp import routeros backup.rsc > /etc/sstp/sstp-server.yaml

Each /interface sstp-client becomes DIR/NAME.yaml with --client-dir (the only
one goes to standard output when there is no server part). Every line that
is not translated is reported on standard error as FILE:LINE: reason;
certificates must be exported separately and put in --certificate-dir
(/etc/sstp).

  --client-dir DIR        write one sstp connect YAML per sstp-client
  --certificate-dir DIR   where the certificates will be (/etc/sstp)
  -h, --help              show this help`;

/** Runs `sstp import`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      "client-dir": { type: "string" },
      "certificate-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    ctx.print(HELP);
    return EXIT_CODE.OK;
  }
  const [kind, file, ...rest] = positionals;
  if (kind !== "routeros") {
    throw new TypeError(`Cannot import "${kind ?? ""}": only "routeros" exports are understood`);
  }
  if (file === undefined) throw new TypeError("Cannot import: give the export file (or -)");
  if (rest.length > 0) throw new TypeError(`Cannot parse arguments: unexpected "${rest[0]}"`);
  const text = file === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(file);
  const certDir = values["certificate-dir"];
  const result = importRouterOs(text, certDir === undefined ? {} : { certificateDir: certDir });
  for (const n of result.notes) {
    ctx.printError(n.line > 0 ? `${file}:${n.line}: ${n.message}` : `${file}: ${n.message}`);
  }
  const header =
    `# Translated by "sstp import routeros ${file}"; check the lines reported above.\n`;
  if (result.serverYaml !== "") ctx.print((header + result.serverYaml).trimEnd());
  const dir = values["client-dir"];
  for (const c of result.clients) {
    if (dir !== undefined) {
      const path = `${dir}/${c.name}.yaml`;
      // It holds a password.
      await Deno.writeTextFile(path, header + c.yaml, { mode: 0o600 });
      ctx.printError(`sstp-client ${c.name}: wrote ${path} (sstp connect --config ${path})`);
    } else if (result.serverYaml === "" && result.clients.length === 1) {
      ctx.print((header + c.yaml).trimEnd());
    } else {
      ctx.printError(`sstp-client ${c.name}: not written; use --client-dir DIR`);
    }
  }
  if (result.serverYaml === "" && result.clients.length === 0) {
    ctx.printError(`${file}: nothing to translate (no SSTP, PPP or pool settings)`);
    return EXIT_CODE.USAGE;
  }
  return result.notes.some((n) => n.line === 0) ? EXIT_CODE.FAILURE : EXIT_CODE.OK;
}
