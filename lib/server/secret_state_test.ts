import assert from "node:assert/strict";
import { NOOP_LOGGER } from "../log.ts";
import { SECRET_STATE_FILE, SecretState, WRITE_INTERVAL_MS } from "./secret_state.ts";

Deno.test("SecretState keeps last-logged-out and last-caller-id across reopening", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-secret-state-" });
  try {
    const s = await SecretState.open(dir, NOOP_LOGGER);
    assert.deepEqual(s.get("alice"), {});
    await s.loggedIn("alice", "198.18.1.2");
    await s.loggedOut("alice", Date.UTC(2026, 0, 2, 3, 4, 5));
    const again = await SecretState.open(dir, NOOP_LOGGER);
    assert.deepEqual(again.get("alice"), {
      lastCallerId: "198.18.1.2",
      lastLoggedOut: "2026-01-02T03:04:05.000Z",
    });
    await Deno.writeTextFile(`${dir}/${SECRET_STATE_FILE}`, "{not json");
    const lines: string[] = [];
    const broken = await SecretState.open(dir, { ...NOOP_LOGGER, warn: (l) => lines.push(l) });
    assert.deepEqual(broken.get("alice"), {});
    assert.match(lines[0] ?? "", /Cannot read .*starting empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SecretState writes a burst of changes together, and every change reaches the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-secret-state-" });
  try {
    const s = await SecretState.open(dir, NOOP_LOGGER);
    const renames: string[] = [];
    const rename = Deno.rename;
    Deno.rename = (from, to) => {
      renames.push(String(to));
      return rename(from, to);
    };
    try {
      const writes = Array.from({ length: 50 }, (_, i) => s.loggedIn(`user${i}`, `198.18.1.${i}`));
      await Promise.all(writes);
      await s.flush();
    } finally {
      Deno.rename = rename;
    }
    assert.ok(renames.length <= 2, `${renames.length} writes for one burst`);
    const again = await SecretState.open(dir, NOOP_LOGGER);
    for (let i = 0; i < 50; i++) assert.equal(again.get(`user${i}`).lastCallerId, `198.18.1.${i}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SecretState writes at most once a second while logins keep coming", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-secret-state-" });
  try {
    const s = await SecretState.open(dir, NOOP_LOGGER);
    // Six logins 150 ms apart: back to back they would be six writes.
    const renames = await renameTimes(async () => {
      for (let i = 0; i < 6; i++) {
        void s.loggedIn(`user${i}`, `198.18.1.${i}`);
        await new Promise((r) => setTimeout(r, 150));
      }
      await s.flush();
    });
    assert.ok(renames.length <= 2, `${renames.length} writes`);
    if (renames.length === 2) assert.ok(renames[1]! - renames[0]! >= WRITE_INTERVAL_MS - 50);
    const again = await SecretState.open(dir, NOOP_LOGGER);
    for (let i = 0; i < 6; i++) assert.equal(again.get(`user${i}`).lastCallerId, `198.18.1.${i}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** When `Deno.rename` (the file's replacement) ran during `fn`. */
async function renameTimes(fn: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  const rename = Deno.rename;
  Deno.rename = (from, to) => {
    times.push(performance.now());
    return rename(from, to);
  };
  try {
    await fn();
  } finally {
    Deno.rename = rename;
  }
  return times;
}
