import assert from "node:assert/strict";
import { SSTP_DENO_RUN_FLAGS, SSTP_V8_FLAGS } from "./runtime_flags.ts";

Deno.test("deno.json runs sstp, the demo, the installed command and the compiled binary with the shipped V8 flags", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  for (const task of ["sstp", "demo", "compile", "install"]) {
    const words = config.tasks[task]?.split(/\s+/) ?? [];
    assert.ok(words.includes(`--v8-flags=${SSTP_V8_FLAGS}`), `task ${task}: ${config.tasks[task]}`);
    assert.ok(
      words.indexOf(`--v8-flags=${SSTP_V8_FLAGS}`) < words.indexOf("main.ts"),
      `task ${task}: the flag must come before main.ts`,
    );
  }
  assert.deepEqual(SSTP_DENO_RUN_FLAGS, [`--v8-flags=${SSTP_V8_FLAGS}`]);
});
