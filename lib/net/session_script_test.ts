import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { runSessionScript } from "./session_script.ts";

const ENV = {
  USER: "alice",
  CALLER_ID: "198.18.1.2",
  LOCAL_ADDRESS: "198.19.0.1",
  REMOTE_ADDRESS: "198.19.0.10",
  INTERFACE: "sstp-alice",
};

function logger() {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", (_l, line) => lines.push(line)) };
}

Deno.test("runSessionScript() passes the session's variables and logs the output", async () => {
  const { lines, log } = logger();
  const code = await runSessionScript(
    "on-up",
    'echo "$USER $CALLER_ID $LOCAL_ADDRESS $REMOTE_ADDRESS $INTERFACE"',
    ENV,
    log,
  );
  assert.equal(code, 0);
  assert.ok(
    lines.some((l) =>
      l.includes("on-up script stdout: alice 198.18.1.2 198.19.0.1 198.19.0.10 sstp-alice")
    ),
    lines.join("\n"),
  );
});

Deno.test("runSessionScript() logs a failure and kills a script that runs too long", async () => {
  const { lines, log } = logger();
  assert.equal(await runSessionScript("on-down", "echo oops >&2; exit 4", ENV, log), 4);
  assert.ok(lines.some((l) => l.includes("on-down script stderr: oops")));
  assert.ok(lines.some((l) => l.includes("on-down script failed: exit code 4")));
  const t0 = performance.now();
  assert.equal(await runSessionScript("on-up", "exec sleep 30", ENV, log, 300), null);
  assert.ok(performance.now() - t0 < 10_000);
  assert.ok(lines.some((l) => l.includes("on-up script killed after 300 ms")));
});
