/**
 * Who besides the owner may read a file, from its mode bits: for the
 * start-up warnings about configuration files (passwords) and private keys.
 *
 * @module
 */

/**
 * "its group", "other users", "its group and other users", or `undefined`
 * when only the owner may read the file (or the mode is unknown).
 *
 * @example
 * ```ts
 * import { readableBeyondOwner } from "./file_mode.ts";
 * if (readableBeyondOwner(0o640) !== "its group") throw new Error();
 * if (readableBeyondOwner(0o600) !== undefined) throw new Error();
 * ```
 */
export function readableBeyondOwner(mode: number | null): string | undefined {
  if (mode === null) return undefined;
  const group = (mode & 0o040) !== 0;
  const others = (mode & 0o004) !== 0;
  if (group && others) return "its group and other users";
  if (group) return "its group";
  if (others) return "other users";
  return undefined;
}

/** The warning for `path` holding `what` (e.g. "passwords"), or `undefined` when private. */
export function permissionWarning(
  path: string,
  mode: number | null,
  what: string,
): string | undefined {
  const who = readableBeyondOwner(mode);
  if (who === undefined) return undefined;
  return `${path} is readable by ${who} and holds ${what}: chmod 600 ${path}`;
}
