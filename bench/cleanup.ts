/**
 * Teardown registry for the benchmark: every namespace and process the bench
 * creates registers an undo function here, so that a normal end, an error and
 * SIGINT/SIGTERM all leave the machine as it was (`ip netns list` clean).
 *
 * @module
 */

type Undo = () => Promise<void> | void;

const undos = new Set<Undo>();
let isInstalled = false;
let isExiting = false;

/** Registers `undo`; returns a function that unregisters it. */
export function onCleanup(undo: Undo): () => void {
  undos.add(undo);
  return () => undos.delete(undo);
}

/** Runs every registered undo function, newest first; each at most `perStepMs`. */
export async function runCleanups(perStepMs = 10_000): Promise<void> {
  const list = [...undos].reverse();
  undos.clear();
  for (const undo of list) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(undo),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, perStepMs))),
      ]);
    } catch (e) {
      // A failed undo must not stop the others.
      // deno-lint-ignore no-console
      console.error(`cleanup: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Installs SIGINT/SIGTERM handlers that run the cleanups and exit with
 * 128 + signal number. Idempotent.
 */
export function installSignalCleanup(): void {
  if (isInstalled) return;
  isInstalled = true;
  const handler = (signal: "SIGINT" | "SIGTERM", code: number) => () => {
    if (isExiting) return;
    isExiting = true;
    // deno-lint-ignore no-console
    console.error(`\n${signal}: cleaning up namespaces and processes`);
    runCleanups().finally(() => Deno.exit(code));
  };
  Deno.addSignalListener("SIGINT", handler("SIGINT", 130));
  Deno.addSignalListener("SIGTERM", handler("SIGTERM", 143));
}
