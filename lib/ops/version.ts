/**
 * `sstp --version`: the release number and the git commit of the source
 * that runs.
 *
 * `deno install -g` (the `install` task) installs a launcher that runs
 * `main.ts` from the checkout it was installed from, so the commit is read
 * from that checkout's git metadata each time `--version` asks, not embedded
 * at install time: after a `git pull` the installed command runs, and
 * reports, the new commit. The files are read directly (HEAD, loose refs,
 * packed-refs, worktree `.git` files) rather than by running `git`, which
 * may be absent on a server or refuse a checkout owned by another user.
 * A compiled binary or a copy without `.git` reports `unknown`.
 *
 * @module
 */

/** The release number. */
export const VERSION = "0.1.0";

/** The first line `sstp --version` prints. */
export function versionLine(commit: string | undefined): string {
  return `sstp ${VERSION} (commit ${commit ?? "unknown"})`;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

const HEX40 = /^[0-9a-f]{40}$/;

/**
 * The commit checked out in the git work tree containing `dir` (searched
 * upwards), or `undefined` when there is none or it cannot be read.
 */
export async function gitCommit(dir: string): Promise<string | undefined> {
  let current = dir.replace(/\/+$/, "") || "/";
  for (let depth = 0; depth < 64; depth++) {
    const found = await commitAt(current);
    if (found !== null) return found;
    if (current === "/") return undefined;
    current = current.slice(0, current.lastIndexOf("/")) || "/";
  }
  return undefined;
}

/** `null`: no `.git` here; `undefined`: one here but unreadable. */
async function commitAt(dir: string): Promise<string | undefined | null> {
  const dotGit = `${dir === "/" ? "" : dir}/.git`;
  let gitDir: string;
  try {
    const info = await Deno.stat(dotGit);
    if (info.isDirectory) {
      gitDir = dotGit;
    } else {
      // A worktree or submodule: ".git" is a file "gitdir: PATH".
      const m = /^gitdir:\s*(.+)$/m.exec((await readText(dotGit)) ?? "");
      if (m === null) return undefined;
      const p = m[1]!.trim();
      gitDir = p.startsWith("/") ? p : `${dir}/${p}`;
    }
  } catch {
    return null;
  }
  const head = (await readText(`${gitDir}/HEAD`))?.trim();
  if (head === undefined) return undefined;
  if (HEX40.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (ref === undefined) return undefined;
  // Branch refs of a worktree live in the main repository ("commondir").
  const common = (await readText(`${gitDir}/commondir`))?.trim();
  const commonDir = common === undefined
    ? gitDir
    : common.startsWith("/")
    ? common
    : `${gitDir}/${common}`;
  for (const base of [gitDir, commonDir]) {
    const loose = (await readText(`${base}/${ref}`))?.trim();
    if (loose !== undefined && HEX40.test(loose)) return loose;
  }
  const packed = (await readText(`${commonDir}/packed-refs`)) ?? "";
  for (const line of packed.split("\n")) {
    const [hash, name] = line.split(" ");
    if (name === ref && hash !== undefined && HEX40.test(hash)) return hash;
  }
  return undefined;
}
