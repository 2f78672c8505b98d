// deno-lint-ignore-file no-console
/**
 * `deno task doc-lint`: runs `deno doc --lint` over every module of lib/ and
 * ffi/ except tests, so each exported symbol needs JSDoc, an explicit type
 * and only exported types in its signature. Exits with `deno doc`'s status.
 *
 * `lib/cert/_x509.ts` is left out of the roots: it re-exports the
 * `@peculiar/x509` namespace, and linting it lints npm's type declarations
 * (hundreds of errors that are not ours). Its only own export,
 * `bufferSource`, is documented; every module importing it is still linted.
 *
 * ```sh
 * deno task doc-lint
 * ```
 *
 * @module
 */

/** Root-relative modules that re-export npm packages; see the module doc. */
const SKIP = new Set(["lib/cert/_x509.ts"]);

async function collect(dir: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) await collect(path, out);
    else if (e.isFile && path.endsWith(".ts") && !path.endsWith("_test.ts") && !SKIP.has(path)) {
      out.push(path);
    }
  }
}

const root = new URL("..", import.meta.url).pathname;
Deno.chdir(root);
const files: string[] = [];
for (const dir of ["lib", "ffi"]) await collect(dir, files);
files.sort();
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...files],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (code === 0) console.log(`deno doc --lint: ${files.length} modules clean`);
Deno.exit(code);
