/**
 * `deno task install` into a temporary root, then the installed `sstp`
 * runs `--version` and the completion scripts are checked.
 */
import assert from "node:assert/strict";
import { run } from "../helpers/sstp_process.ts";
import { COMPLETED_COMMANDS, completionScript } from "../../lib/ops/completions.ts";
import { gitCommit, VERSION } from "../../lib/ops/version.ts";
import { SSTP_V8_FLAGS } from "../../lib/runtime_flags.ts";
import type { CommandContext } from "../../lib/command_context.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));

Deno.test("deno task install puts an sstp command with the V8 flags that prints version and commit", async () => {
  const root = await Deno.makeTempDir({ prefix: "sstp-install-" });
  try {
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install"],
      cwd: ROOT,
      env: { DENO_INSTALL_ROOT: root, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    assert.ok(install.success, new TextDecoder().decode(install.stderr));
    const launcher = await Deno.readTextFile(`${root}/bin/sstp`);
    assert.match(launcher, new RegExp(`--v8-flags=${SSTP_V8_FLAGS}`));
    assert.match(launcher, /--allow-all/);
    // The launcher runs "deno" from PATH: give it this Deno only.
    const r = await run([`${root}/bin/sstp`, "--version"], {
      PATH: `${root}/bin:${denoDir}:/usr/bin:/bin`,
    });
    assert.equal(r.code, 0, r.stderr);
    const commit = await gitCommit(ROOT);
    assert.ok(commit !== undefined, "the test runs from a git checkout");
    assert.equal(r.stdout.split("\n")[0], `sstp ${VERSION} (commit ${commit})`);
    // The same commit git reports, when git is here.
    const git = await run(["git", "-C", ROOT, "rev-parse", "HEAD"]).catch(() => undefined);
    if (git?.code === 0) assert.equal(commit, git.stdout.trim());
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("gitCommit: reads a worktree-style .git file, packed refs and detached heads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-git-" });
  try {
    const a = "a".repeat(40);
    const b = "b".repeat(40);
    await Deno.mkdir(`${dir}/repo/.git/refs/heads`, { recursive: true });
    await Deno.writeTextFile(`${dir}/repo/.git/HEAD`, "ref: refs/heads/main\n");
    await Deno.writeTextFile(`${dir}/repo/.git/packed-refs`, `# pack-refs\n${a} refs/heads/main\n`);
    await Deno.mkdir(`${dir}/repo/sub/deeper`, { recursive: true });
    assert.equal(await gitCommit(`${dir}/repo/sub/deeper`), a);
    await Deno.writeTextFile(`${dir}/repo/.git/refs/heads/main`, `${b}\n`);
    assert.equal(await gitCommit(`${dir}/repo`), b);
    // A worktree: .git is a file, HEAD in its own dir, refs in the common dir.
    await Deno.mkdir(`${dir}/repo/.git/worktrees/wt`, { recursive: true });
    await Deno.writeTextFile(`${dir}/repo/.git/worktrees/wt/HEAD`, "ref: refs/heads/main\n");
    await Deno.writeTextFile(`${dir}/repo/.git/worktrees/wt/commondir`, "../..\n");
    await Deno.mkdir(`${dir}/wt`);
    await Deno.writeTextFile(`${dir}/wt/.git`, `gitdir: ${dir}/repo/.git/worktrees/wt\n`);
    assert.equal(await gitCommit(`${dir}/wt`), b);
    await Deno.writeTextFile(`${dir}/wt/.git`, "garbage\n");
    assert.equal(await gitCommit(`${dir}/wt`), undefined);
    await Deno.writeTextFile(`${dir}/repo/.git/HEAD`, `${a}\n`);
    assert.equal(await gitCommit(`${dir}/repo`), a);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function helpOf(command: string): Promise<string> {
  const lines: string[] = [];
  const ctx = {
    print: (l: string) => lines.push(l),
    printError: (l: string) => lines.push(l),
    env: {},
  } as unknown as CommandContext;
  const mod = await import(new URL(`../../lib/commands/${command}.ts`, import.meta.url).href) as {
    main(argv: string[], ctx: CommandContext): Promise<number>;
  };
  await mod.main(["--help"], ctx);
  return lines.join("\n");
}

Deno.test("completions offer only options each command's --help documents", async () => {
  for (const c of COMPLETED_COMMANDS) {
    const help = await helpOf(c.name);
    for (const o of c.options) {
      if (o === "--help") continue;
      assert.ok(help.includes(o), `sstp ${c.name} --help does not mention ${o}`);
    }
    for (const w of c.words ?? []) assert.ok(help.includes(w), `sstp ${c.name}: ${w}`);
  }
});

Deno.test("bash completion script completes commands and options", async () => {
  const script = completionScript("bash");
  const probe = `${script}
COMP_WORDS=(sstp se); COMP_CWORD=1; _sstp; echo "\${COMPREPLY[*]}"
COMP_WORDS=(sstp serve --con); COMP_CWORD=2; _sstp; echo "\${COMPREPLY[*]}"
COMP_WORDS=(sstp completions z); COMP_CWORD=2; _sstp; echo "\${COMPREPLY[*]}"`;
  const r = await run(["bash", "-c", probe]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["serve", "--config --control-socket", "zsh"]);
  for (const shell of ["zsh", "fish"] as const) {
    const s = completionScript(shell);
    for (const c of COMPLETED_COMMANDS) assert.ok(s.includes(c.name), `${shell}: ${c.name}`);
  }
  const zsh = await run(["sh", "-c", "command -v zsh"]);
  if (zsh.code === 0) {
    const z = await run(["zsh", "-n", "-c", completionScript("zsh")]);
    assert.equal(z.code, 0, z.stderr);
  }
});

Deno.test("deno task compile includes every module the operating commands load lazily", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  const included = new Set(
    [...config.tasks.compile!.matchAll(/--include (\S+)/g)].map((m) => m[1]!),
  );
  const lazy = /import\(\s*new URL\(\s*"([^"]+)",\s*import\.meta\.url\)\.href/g;
  const files = [
    "main.ts",
    "lib/commands/serve.ts",
    "lib/commands/connect.ts",
    "lib/commands/doctor.ts",
    "lib/ops/ops_listeners.ts",
    "lib/ops/doctor/client_checks.ts",
  ];
  let seen = 0;
  for (const file of files) {
    const base = new URL(file, `file://${ROOT}`);
    for (const m of (await Deno.readTextFile(base)).matchAll(lazy)) {
      const target = new URL(m[1]!, base).pathname.slice(ROOT.length);
      await Deno.stat(`${ROOT}${target}`);
      assert.ok(included.has(target), `${file} loads ${target} lazily: add --include ${target}`);
      seen++;
    }
  }
  assert.ok(seen >= 8, `found ${seen} lazy imports`);
});
