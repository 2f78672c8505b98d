/**
 * {@linkcode readableFileProblem}: whether a file named in a configuration
 * can be read, checked at start so a missing certificate, CA or CRL is a
 * configuration mistake (named with its property) rather than a failure found
 * later on every connection attempt.
 *
 * @module
 */

/**
 * Returns why `path` cannot be read as a file ("no such file", "permission
 * denied", "is a directory", ...), or `undefined` when it can.
 *
 * @example
 * ```ts
 * import { readableFileProblem } from "./file_check.ts";
 * if (readableFileProblem("/nonexistent/ca.pem") !== "no such file") throw new Error();
 * ```
 */
export function readableFileProblem(path: string): string | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "no such file";
    if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
    return e instanceof Error ? e.message : String(e);
  }
  try {
    return file.statSync().isFile ? undefined : "not a regular file";
  } finally {
    file.close();
  }
}
