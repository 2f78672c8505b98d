// deno-lint-ignore-file no-console
/**
 * `sstp`: an SSTP VPN client and server for Linux.
 *
 * The only file that binds console, Deno.exit and signals. Picks the
 * subcommand from the command line.
 *
 * @module
 */
import "reflect-metadata";

const USAGE = `usage: sstp <command> [options]

commands:
  connect     run the SSTP client (RouterOS /interface sstp-client properties)
  serve       run the SSTP server (RouterOS /interface sstp-server)
  status      show running tunnels (like RouterOS monitor)
  disconnect  end one server session
  cert        create and inspect certificates
  demo        client and server in two fresh network namespaces

Run "sstp <command> --help" for a command's options.`;

if (import.meta.main) {
  const [command] = Deno.args;
  switch (command) {
    case undefined:
    case "-h":
    case "--help":
    case "help":
      console.log(USAGE);
      break;
    default:
      console.error(`sstp: unknown command "${command}"\n\n${USAGE}`);
      Deno.exit(64);
  }
}
