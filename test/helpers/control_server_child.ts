/**
 * A child process for test/control_server_fd_test.ts: a control server on
 * the socket path given as argument (answers `status` with `{ ok: true }`),
 * its log on stderr, `ready` on stdout. Runs until killed.
 *
 * @module
 */
import { createLogger } from "../../lib/log.ts";
import { startControlServer } from "../../lib/control/control_server.ts";

// Deno sets its signal handling up on first use and panics without a
// descriptor then; `sstp serve` subscribes before it accepts, so does this.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

const [path] = Deno.args;
if (path === undefined) throw new TypeError("usage: control_server_child.ts SOCKET");
const encoder = new TextEncoder();
await startControlServer({
  path,
  logger: createLogger(
    "info",
    (_level, line) => Deno.stderr.writeSync(encoder.encode(`${line}\n`)),
  ),
  handle: () => ({ ok: true }),
});
Deno.stdout.writeSync(encoder.encode("ready\n"));
