/**
 * Reading a Prometheus exposition document in the metrics tests: its
 * samples by name, and `promtool check metrics` over it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { execCommand, isCi } from "./netns.ts";

/** `name{labels}` → value of an exposition document. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/**
 * Asserts that `promtool check metrics` accepts `text` without a word of
 * complaint. Without promtool it passes, except under CI where it fails.
 */
export async function assertPromtoolValid(text: string): Promise<void> {
  const check = await execCommand(
    ["sh", "-c", "command -v promtool >/dev/null || exit 127; promtool check metrics"],
    { stdin: text },
  );
  if (check.code === 127) {
    if (isCi()) assert.fail("promtool is missing: apt-get install prometheus");
    return;
  }
  const said = check.stdout + check.stderr;
  assert.equal(check.code, 0, said);
  assert.equal(said.trim(), "", said);
}
