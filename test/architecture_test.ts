/**
 * Keeps the pure core pure (DESIGN.md 3.7): a grep-level check over the tree.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function* walk(dir: URL): AsyncGenerator<{ path: string; text: string }> {
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) {
      if (e.name === "node_modules" || e.name.startsWith(".")) continue;
      yield* walk(url);
    } else if (e.name.endsWith(".ts")) {
      yield { path: url.pathname.slice(ROOT.pathname.length), text: await Deno.readTextFile(url) };
    }
  }
}

async function sources(): Promise<{ path: string; text: string }[]> {
  const out = [];
  for await (const f of walk(ROOT)) out.push(f);
  return out;
}

/** Strips comments so documentation may mention forbidden names. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const PURE_DIRS = ["lib/bytes/", "lib/sstp/", "lib/ppp/", "lib/tunnel/"];
const FORBIDDEN_IN_PURE: [RegExp, string][] = [
  [/\bDeno\./, "Deno."],
  [/\bsetTimeout\b|\bsetInterval\b/, "timers"],
  [/\bDate\.now\b/, "Date.now"],
  [/\bconsole\./, "console"],
  [
    /from\s+["'][./]*(?:\.\.\/)*(?:ffi|lib\/transport|lib\/pipeline|lib\/cli|transport|pipeline|cli)\//,
    "I/O imports",
  ],
];

Deno.test("architecture: the pure core uses no I/O, timers or clocks", async () => {
  const offenders: string[] = [];
  for (const f of await sources()) {
    if (!PURE_DIRS.some((d) => f.path.startsWith(d)) || f.path.endsWith("_test.ts")) continue;
    const c = code(f.text);
    for (const [re, what] of FORBIDDEN_IN_PURE) {
      if (re.test(c)) offenders.push(`${f.path}: ${what}`);
    }
  }
  assert.deepEqual(offenders, []);
});

/**
 * The C libraries: libc, and the system OpenSSL (a TLS library of its own,
 * opened in its own file so that a machine without it loses only that transport).
 */
const DLOPEN_FILES = ["ffi/libc.ts", "ffi/openssl.ts"];

const COMMAND_FILES = ["lib/cli/net_config.ts", "lib/demo/demo.ts"];

Deno.test("architecture: Deno.dlopen, TLS and Deno.Command stay in their files", async () => {
  const offenders: string[] = [];
  for (const f of await sources()) {
    if (f.path.endsWith("_test.ts") || f.path.startsWith("test/") || f.path.startsWith("bench/")) {
      continue;
    }
    const c = code(f.text);
    if (/Deno\.dlopen/.test(c) && !DLOPEN_FILES.includes(f.path)) {
      offenders.push(`${f.path}: Deno.dlopen`);
    }
    if (/Deno\.(connectTls|listenTls)/.test(c) && !f.path.startsWith("lib/transport/")) {
      offenders.push(`${f.path}: Deno TLS`);
    }
    // `ip` for network configuration, and the demo's own namespaces and processes.
    if (/new Deno\.Command/.test(c) && !COMMAND_FILES.includes(f.path)) {
      offenders.push(`${f.path}: Deno.Command`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("architecture: lib/ never imports ffi/ and never writes to the console", async () => {
  const offenders: string[] = [];
  for (const f of await sources()) {
    if (!f.path.startsWith("lib/") || f.path.endsWith("_test.ts")) continue;
    const c = code(f.text);
    if (/from\s+["'](?:\.\.\/)+ffi\//.test(c)) offenders.push(`${f.path}: imports ffi/`);
    if (/\bconsole\./.test(c)) offenders.push(`${f.path}: console`);
  }
  assert.deepEqual(offenders, []);
});
