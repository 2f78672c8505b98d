/**
 * Keeps heavy modules off the start-up path of `sstp connect`:
 * `@peculiar/x509` and `reflect-metadata` (~350 ms, bench/README.md "Connect
 * time"), `yaml` (~30 ms, only for `--config`) and the other commands; the
 * server's authenticators and the optional client features; and the SSTP/PPP
 * engine and data path, which a session loads as it dials.
 *
 * Deno loads (reads and compiles, without running) the graph of every
 * `import("literal")` together with the module that contains it, so a lazy
 * module must be imported by a `URL` that the graph does not follow
 * (`import(new URL("./x.ts", import.meta.url).href)`). The walk below
 * therefore follows dynamic edges too: whatever it reaches is paid for at
 * start-up. The lazily loaded files are checked to exist by scanning the
 * sources for those `new URL(...)` imports.
 *
 * The graph comes from `deno info --json`, which lists each module's
 * dependencies with `isDynamic` set on `import()` ones and type-only imports
 * under `type` (not `code`), which `deno run` does not load.
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
    n.startsWith("npm:reflect-metadata@") || n.startsWith("npm:yaml@") ||
    n === "lib/config/yaml_source.ts" || n.startsWith("npm:des.js@") ||
    n === "lib/transport/_tls_verify_detail.ts"
  );
}

/** What a session loads as it dials (`loadProtocol` in lib/client/client_session.ts). */
const CONNECT_PROTOCOL = [
  "lib/sstp/crypto_binding.ts",
  "lib/tunnel/client_engine.ts",
  "lib/pipeline/runner.ts",
];

async function reachableFrom(roots: string[]): Promise<Set<string>> {
  const all = new Set<string>();
  for (const root of roots) for (const n of reachable(await info(root), true)) all.add(n);
  return all;
}

Deno.test("sstp connect loads no x509, yaml or des.js at start-up or as it dials, not even through import()", async () => {
  const startup = reachable(await info("lib/commands/connect.ts"), true);
  assert.ok(startup.has("lib/transport/tls_client.ts"), "the walk reaches the TLS client");
  const protocol = await reachableFrom(CONNECT_PROTOCOL);
  assert.ok(protocol.has("lib/ppp/crypto/des.ts"), "the walk reaches MS-CHAP's DES");
  assert.deepEqual(heavy(startup), []);
  assert.deepEqual(heavy(protocol), []);
});

Deno.test("the SSTP/PPP engine and data path are not in sstp connect's start-up graph", async () => {
  const startup = reachable(await info("lib/commands/connect.ts"), true);
  const engine = [...startup].filter((n) =>
    n.startsWith("lib/ppp/") && n !== "lib/ppp/auth/auth_types.ts" ||
    n.startsWith("lib/pipeline/") || CONNECT_PROTOCOL.includes(n) ||
    ["lib/sstp/client_state.ts", "lib/tunnel/session_engine.ts", "lib/tunnel/data_plane.ts"]
      .includes(n)
  );
  assert.deepEqual(engine, []);
});

/**
 * Code `sstp connect` loads only when a session uses it (or never: the
 * server's authenticators), each a module or a folder prefix of one.
 */
const CONNECT_LAZY = [
  // The server side of authentication: injected into the server's PPP link.
  "lib/ppp/auth/create_auth.ts",
  "lib/ppp/auth/remote_auth.ts",
  "lib/ppp/auth/eap_relay.ts",
  "lib/server/",
  "lib/radius/",
  // IPv6 (IPV6CP opened), DHCPv6-PD, kill switch, dial-on-demand, bridging.
  "lib/client/client_ipv6.ts",
  "lib/client/client_dhcpv6_pd.ts",
  "lib/ipv6/dhcpv6",
  "lib/ipv6/slaac.ts",
  "lib/client/kill_switch.ts",
  "lib/client/demand_tun.ts",
  "lib/net/bridge_port.ts",
  // --help, http-proxy, a server given by name (getaddrinfo).
  "lib/cli/connect_help.ts",
  "lib/transport/http_proxy.ts",
  "node:dns/promises",
];

function lazyIn(names: Set<string>): string[] {
  return [...names].filter((n) => CONNECT_LAZY.some((lazy) => n.startsWith(lazy)));
}

Deno.test("sstp connect loads no server-side or optional client code at start-up or as it dials", async () => {
  const loaded = await reachableFrom(["lib/commands/connect.ts", ...CONNECT_PROTOCOL]);
  assert.ok(loaded.has("lib/ppp/auth/create_auth_peer.ts"), "the walk reaches the auth peers");
  assert.deepEqual(lazyIn(loaded), []);
});

Deno.test("the import-graph walk sees the server's authenticators and IPv6 code where they are static", async () => {
  const server = lazyIn(reachable(await info("lib/tunnel/server_engine.ts"), false));
  for (const m of ["lib/ppp/auth/remote_auth.ts", "lib/ppp/auth/eap_relay.ts"]) {
    assert.ok(server.includes(m), server.join(", "));
  }
  const ipv6 = lazyIn(reachable(await info("lib/client/client_ipv6.ts"), false));
  assert.ok(ipv6.includes("lib/client/client_dhcpv6_pd.ts"), ipv6.join(", "));
  const tls = lazyIn(reachable(await info("lib/transport/http_proxy_test.ts"), false));
  assert.ok(tls.includes("lib/transport/http_proxy.ts"), tls.join(", "));
});

Deno.test("main.ts loads no command module before it picks one", async () => {
  const loaded = [...reachable(await info("main.ts"), true)];
  // ffi/ shares lib/log.ts; no command, client, server or npm code comes with it.
  assert.deepEqual(
    loaded.filter((n) => (n.startsWith("lib/") && n !== "lib/log.ts") || n.startsWith("npm:")),
    [],
  );
});

Deno.test("every lazily imported URL names an existing module", async () => {
  const lazy = /import\(\s*new URL\(\s*"([^"]+)",\s*import\.meta\.url\)\.href/g;
  const found: string[] = [];
  const files = [
    "main.ts",
    "lib/commands/connect.ts",
    "lib/cli/_connect_sources.ts",
    "lib/client/client_session.ts",
    "lib/client/sstp_client.ts",
    "lib/transport/tls_client.ts",
  ];
  for (const file of files) {
    const base = new URL(file, ROOT);
    for (const m of (await Deno.readTextFile(base)).matchAll(lazy)) {
      const target = new URL(m[1]!, base);
      await Deno.stat(target); // throws NotFound for a stale path
      found.push(target.href.replace(ROOT.href, ""));
    }
  }
  const lazyModules = [
    "lib/config/yaml_source.ts",
    "lib/transport/_tls_verify_detail.ts",
    "lib/transport/http_proxy.ts",
    "lib/cli/connect_help.ts",
    "lib/client/client_ipv6.ts",
    ...CONNECT_PROTOCOL,
  ];
  for (const expected of lazyModules) {
    assert.ok(found.includes(expected), `${expected} is imported lazily: ${found.join(", ")}`);
  }
  // main.ts names its commands in a table of paths, resolved the same way.
  const main = await Deno.readTextFile(new URL("main.ts", ROOT));
  for (const m of main.matchAll(/^\s+\w+: "(\.\/lib\/[^"]+\.ts)",$/gm)) {
    await Deno.stat(new URL(m[1]!, ROOT));
    found.push(m[1]!);
  }
  assert.ok(found.includes("./lib/commands/connect.ts"), found.join(", "));
  // `deno compile` sees no URL import: each target must be named with --include.
  const compile = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks.compile;
  const missing = found.map((f) => f.replace(/^\.\//, ""))
    .filter((f) => !compile.includes(`--include ${f} `));
  assert.deepEqual(missing, [], "modules loaded by URL that the compile task does not include");
});

Deno.test("the import-graph walk sees @peculiar/x509 where it is static (sstp cert)", async () => {
  const names = heavy(reachable(await info("lib/commands/cert.ts"), false));
  assert.ok(names.includes("lib/cert/_x509.ts"), names.join(", "));
  assert.ok(names.some((n) => n.startsWith("npm:@peculiar/x509@")), names.join(", "));
  assert.ok(names.some((n) => n.startsWith("npm:reflect-metadata@")), names.join(", "));
});
