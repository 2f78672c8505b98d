/**
 * Keeps `@peculiar/x509` (and `reflect-metadata`) off the static module graph
 * of `sstp connect`: importing them costs ~350 ms of start-up
 * (bench/README.md "Connect time"). They may be reached through dynamic
 * `import()` only (tls_client.ts loads `_tls_verify_detail.ts` to word a
 * failure or to check CRLs).
 *
 * The graph comes from `deno info --json`, which lists each module's
 * dependencies with `isDynamic` set on `import()` ones.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

interface Dependency {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface Module {
  specifier: string;
  dependencies?: Dependency[];
  npmPackage?: string;
}
interface Info {
  roots: string[];
  modules: Module[];
  redirects: Record<string, string>;
}

async function info(path: string): Promise<Info> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", path],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Names of the modules reachable from the root: files relative to the repo, npm packages as `npm:name@version`. */
function reachable(graph: Info, followDynamic: boolean): Set<string> {
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const resolve = (s: string) => graph.redirects[s] ?? s;
  const seen = new Set<string>();
  const names = new Set<string>();
  const stack = graph.roots.map(resolve);
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    const module = bySpecifier.get(specifier);
    names.add(
      module?.npmPackage !== undefined
        ? `npm:${module.npmPackage}`
        : specifier.replace(ROOT.href, ""),
    );
    for (const dep of module?.dependencies ?? []) {
      if (dep.code === undefined || (dep.isDynamic && !followDynamic)) continue;
      stack.push(resolve(dep.code.specifier));
    }
  }
  return names;
}

function heavy(names: Set<string>): string[] {
  return [...names].filter((n) =>
    n === "lib/cert/_x509.ts" || n.startsWith("npm:@peculiar/") ||
    n.startsWith("npm:reflect-metadata@")
  );
}

Deno.test("sstp connect loads @peculiar/x509 and reflect-metadata only through dynamic import()", async () => {
  const graph = await info("lib/commands/connect.ts");
  const staticNames = reachable(graph, false);
  assert.ok(staticNames.has("lib/transport/tls_client.ts"), "the walk reaches the TLS client");
  assert.deepEqual(heavy(staticNames), []);
  // The detailed verifier stays reachable, lazily.
  const all = reachable(graph, true);
  assert.ok(all.has("lib/transport/_tls_verify_detail.ts"));
  assert.ok(all.has("lib/cert/_x509.ts"));
});

Deno.test("main.ts does not import reflect-metadata or @peculiar/x509 for every command", async () => {
  assert.deepEqual(heavy(reachable(await info("main.ts"), false)), []);
});

Deno.test("the import-graph walk sees @peculiar/x509 where it is static (sstp cert)", async () => {
  const names = heavy(reachable(await info("lib/commands/cert.ts"), false));
  assert.ok(names.includes("lib/cert/_x509.ts"), names.join(", "));
  assert.ok(names.some((n) => n.startsWith("npm:@peculiar/x509@")), names.join(", "));
  assert.ok(names.some((n) => n.startsWith("npm:reflect-metadata@")), names.join(", "));
});
