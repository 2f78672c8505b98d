/**
 * `sstp connect` subscribes to SIGINT and SIGTERM before its status socket
 * and its metrics listener accept: Deno sets its signal handling up on the
 * first subscription and aborts the process ("Too many open files" panic)
 * when a flood of connections has taken every descriptor by then (as
 * test/serve_signals_test.ts for `sstp serve`). Runs the command in this
 * process against a closed port on 127.0.0.1, with a platform that opens
 * nothing.
 */
import assert from "node:assert/strict";
import { main } from "../lib/commands/connect.ts";
import type { CommandContext, SignalName } from "../lib/command_context.ts";
import { freePort, INERT_PLATFORM } from "./helpers/inert_platform.ts";

/** Whether something accepts on 127.0.0.1:`port`. */
async function isListening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("sstp connect subscribes to its signals before its status socket and metrics listen, and unsubscribes on exit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-connect-signals-" });
  try {
    const metricsPort = freePort();
    const lines: string[] = [];
    const handlers = new Map<SignalName, () => void>();
    let first: Promise<{ metrics: boolean; status: boolean }> | undefined;
    const ctx: CommandContext = {
      platform: INERT_PLATFORM,
      print: () => {},
      printError: (line) => lines.push(line),
      env: { SSTP_PASSWORD: "pw", SSTP_RUN_DIR: dir },
      onSignal(signal, handler) {
        if (first === undefined) {
          // Read now: the socket file's absence at the first subscription is what counts.
          const status = [...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".sock"));
          first = isListening(metricsPort).then((metrics) => ({ metrics, status }));
        }
        handlers.set(signal, handler);
        return () => handlers.delete(signal);
      },
    };
    const run = main([
      `127.0.0.1:${freePort()}`,
      "--user",
      "u",
      "--name",
      "sig",
      "--metrics",
      `127.0.0.1:${metricsPort}`,
    ], ctx);
    for (let i = 0; i < 200 && !lines.some((l) => /metrics on/.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(lines.some((l) => /metrics on/.test(l)), lines.join("\n"));
    assert.ok(await isListening(metricsPort), "metrics listener up");
    assert.deepEqual(await first, { metrics: false, status: false }, lines.join("\n"));
    assert.deepEqual([...handlers.keys()].sort(), ["SIGINT", "SIGTERM"]);
    handlers.get("SIGTERM")!();
    await run;
    assert.equal(handlers.size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
