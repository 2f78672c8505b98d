/**
 * Keeps the layers honest with grep-level checks over the tree: the pure core
 * (bytes, SSTP, PPP, tunnel engines) turns bytes and time into actions and
 * never touches I/O, timers or clocks, so it can be tested exhaustively and
 * replayed; imports only point down the layers listed in `LAYERS`.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** Every file under `dir` whose name matches `names`, skipping dot folders and node_modules. */
async function* walk(
  dir: URL,
  names = /\.ts$/,
): AsyncGenerator<{ path: string; text: string }> {
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) {
      if (e.name === "node_modules" || e.name.startsWith(".")) continue;
      yield* walk(url, names);
    } else if (names.test(e.name)) {
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
 * Where processes may be spawned: `lib/net/` runs `ip` to configure the
 * host's network, and `lib/demo/` builds its own namespaces and runs `sstp`
 * and `ping` in them. Nothing else in `lib/`, `ffi/` or `main.ts` does.
 */
const COMMAND_DIRS = ["lib/net/", "lib/demo/"];

Deno.test("architecture: Deno.dlopen, TLS and Deno.Command stay in their files", async () => {
  const offenders: string[] = [];
  for (const f of await sources()) {
    if (f.path.endsWith("_test.ts") || f.path.startsWith("test/") || f.path.startsWith("bench/")) {
      continue;
    }
    const c = code(f.text);
    if (/Deno\.dlopen/.test(c) && f.path !== "ffi/libc.ts") {
      offenders.push(`${f.path}: Deno.dlopen`);
    }
    if (/Deno\.(connectTls|listenTls)/.test(c) && !f.path.startsWith("lib/transport/")) {
      offenders.push(`${f.path}: Deno TLS`);
    }
    if (/\bDeno\.Command\b/.test(c) && !COMMAND_DIRS.some((d) => f.path.startsWith(d))) {
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

/**
 * The layers, lowest first. A file may import its own layer and the layers
 * below it, never one above: the protocol core knows nothing of sockets or
 * configuration, the I/O and configuration layer nothing of the programs that
 * use it, the programs nothing of the commands that start them.
 * `lib/*.ts` (errors, log, clock, platform seam, TUN seam, command context) is
 * the foundation under everything.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["lib/*.ts"],
  ["lib/bytes/", "lib/sstp/", "lib/ppp/", "lib/tunnel/", "lib/ipv6/"],
  [
    "lib/pipeline/",
    "lib/transport/",
    "lib/net/",
    "lib/config/",
    "lib/cert/",
    "lib/radius/",
    "ffi/",
  ],
  ["lib/client/", "lib/server/", "lib/control/", "lib/demo/", "lib/ops/"],
  ["lib/cli/", "lib/commands/"],
  ["main.ts"],
];

/** The layer index of a repository path, or `undefined` when no layer claims it. */
function layerOf(path: string): number | undefined {
  const topLevel = /^lib\/[^/]+\.ts$/.test(path);
  const i = LAYERS.findIndex((layer) =>
    layer.some((p) =>
      p === path || (p === "lib/*.ts" ? topLevel : p.endsWith("/") && path.startsWith(p))
    )
  );
  return i < 0 ? undefined : i;
}

/** Relative module specifiers of static imports, re-exports and literal dynamic imports. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of code(text).matchAll(re)) out.push(m[1]!);
  return out;
}

/** Resolves `spec` against the directory of repository path `from`. */
function resolve(from: string, spec: string): string {
  return new URL(spec, new URL(from, "file:///")).pathname.slice(1);
}

Deno.test("architecture: every lib/ folder has a layer", async () => {
  const unplaced = new Set<string>();
  for (const f of await sources()) {
    if (!f.path.startsWith("lib/") && !f.path.startsWith("ffi/") && f.path !== "main.ts") continue;
    if (layerOf(f.path) === undefined) unplaced.add(f.path.replace(/[^/]+$/, ""));
  }
  assert.deepEqual([...unplaced], [], "add each folder to LAYERS in test/architecture_test.ts");
});

Deno.test("architecture: nothing imports a layer above its own", async () => {
  const offenders: string[] = [];
  for (const f of await sources()) {
    if (f.path.endsWith("_test.ts")) continue;
    const from = layerOf(f.path);
    if (from === undefined) continue;
    for (const spec of relativeImports(f.text)) {
      const target = resolve(f.path, spec);
      const to = layerOf(target);
      if (to !== undefined && to > from) offenders.push(`${f.path} -> ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("architecture: the layer rule sees upward imports", () => {
  assert.equal(layerOf("lib/ppp/fsm.ts"), 1);
  assert.equal(layerOf("lib/errors.ts"), 0);
  assert.equal(layerOf("main.ts"), 5);
  assert.deepEqual(
    relativeImports(
      'import { a } from "../cli/x.ts";\nexport { b } from "./y.ts";\n// from "../z.ts"',
    ),
    ["../cli/x.ts", "./y.ts"],
  );
  assert.equal(resolve("lib/demo/demo.ts", "../commands/context.ts"), "lib/commands/context.ts");
  assert.ok(layerOf("lib/demo/demo.ts")! < layerOf("lib/commands/context.ts")!);
});

/**
 * The design notes and interop notebook the project started from are not in
 * the repository; a comment states its reason itself or cites `docs/`.
 */
const PRIVATE_NOTES = new RegExp(
  String.raw`\b(?:${["DESIGN", "NOTES"].join("|")})(?:\.md\b|\s+\d|\))`,
);

Deno.test("architecture: no file cites notes that are not in the repository", async () => {
  const offenders: string[] = [];
  for await (const f of walk(ROOT, /\.(?:ts|md|txt|hex|json|yaml|sh)$/)) {
    if (!/^(?:lib|ffi|test|bench)\/|^main\.ts$/.test(f.path)) continue;
    if (f.path.startsWith("bench/results/")) continue;
    const lines = f.text.split("\n");
    lines.forEach((line, i) => {
      if (PRIVATE_NOTES.test(line)) offenders.push(`${f.path}:${i + 1}`);
    });
  }
  assert.deepEqual(offenders, []);
  assert.ok(PRIVATE_NOTES.test("(NOT" + "ES 4.4 #24)") && PRIVATE_NOTES.test("DES" + "IGN.md 3.3"));
});
