/**
 * `sstp serve` subscribes to SIGTERM, SIGINT and SIGHUP before its listener
 * accepts: Deno 2.9.6 sets its signal handling up on the first subscription
 * and aborts the process ("Too many open files" panic) when a connection
 * flood has taken every descriptor by then, which a server started into a
 * flood met (seen with `prlimit --nofile=96`, 1 start in 10). Runs the
 * command in this process on 127.0.0.1 with a platform that opens nothing.
 */
import assert from "node:assert/strict";
import { main } from "../lib/commands/serve.ts";
import type { CommandContext, SignalName } from "../lib/command_context.ts";
import { freePort, INERT_PLATFORM } from "./helpers/inert_platform.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";

Deno.test("sstp serve subscribes to its signals before it listens, and unsubscribes on exit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-serve-signals-" });
  try {
    const c = await createSelfSignedServerCertificate({
      commonName: "signals.test",
      ipAddresses: ["127.0.0.1"],
    });
    await Deno.writeTextFile(`${dir}/server.pem`, c.certPem + c.keyPem, { mode: 0o600 });
    await Deno.writeTextFile(
      `${dir}/sstp.yaml`,
      `sstp-server:
  certificate: ${dir}/server.pem
  port: ${freePort()}
  listen: 127.0.0.1
  state-dir: ${dir}/state
  control-socket: ${dir}/control/sstp-server.sock
profiles:
  - { name: default, local-address: 198.19.0.1, remote-address: pool1 }
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.20 }
secrets:
  - { name: real, password: r }
`,
      { mode: 0o600 },
    );
    const lines: string[] = [];
    const handlers = new Map<SignalName, () => void>();
    let listeningAtFirstSubscription: boolean | undefined;
    const ctx: CommandContext = {
      platform: INERT_PLATFORM,
      print: () => {},
      printError: (line) => lines.push(line),
      env: {},
      onSignal(signal, handler) {
        listeningAtFirstSubscription ??= lines.some((l) => /listening on/.test(l));
        handlers.set(signal, handler);
        return () => handlers.delete(signal);
      },
    };
    const run = main(["--config", `${dir}/sstp.yaml`], ctx);
    for (let i = 0; i < 200 && !lines.some((l) => /listening on/.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(lines.some((l) => /listening on/.test(l)), lines.join("\n"));
    assert.equal(listeningAtFirstSubscription, false, lines.join("\n"));
    assert.deepEqual([...handlers.keys()].sort(), ["SIGHUP", "SIGINT", "SIGTERM"]);
    handlers.get("SIGTERM")!();
    assert.equal(await run, 0, lines.join("\n"));
    assert.equal(handlers.size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
