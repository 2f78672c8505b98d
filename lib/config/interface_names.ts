/**
 * Linux interface names for SSTP tunnels.
 *
 * RouterOS shows a dynamic server interface as `<sstp-USER>`. Linux limits a
 * name to 15 bytes (`IFNAMSIZ` 16 including the NUL) and `ip` cannot take
 * `<` or `>` comfortably, so the dynamic name is `sstp-USER` with the user name
 * reduced to `[A-Za-z0-9_.-]`, truncated, and given a numeric suffix when it
 * collides with a name already in use.
 *
 * @module
 */

/** Longest Linux interface name in bytes (`IFNAMSIZ` - 1). */
export const MAX_INTERFACE_NAME_BYTES = 15;

const DYNAMIC_PREFIX = "sstp-";
const NAME_CHARS = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks a name for a tunnel interface: 1 to 15 bytes of `[A-Za-z0-9_.-]`, not
 * `.` or `..`, not starting with `-` (it would read as an option to `ip`).
 * The kernel allows more characters; this set is safe in every tool.
 *
 * @example
 * ```ts
 * import { interfaceNameProblem } from "./interface_names.ts";
 * if (interfaceNameProblem("sstp-out1") !== undefined) throw new Error();
 * if (interfaceNameProblem("a-very-long-interface") === undefined) throw new Error();
 * ```
 * @returns `undefined` when valid, else why not (a sentence fragment).
 */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === "") return "an interface name cannot be empty";
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > MAX_INTERFACE_NAME_BYTES) {
    return `"${name}" is ${bytes} bytes; an interface name must be at most ${MAX_INTERFACE_NAME_BYTES} bytes`;
  }
  if (!NAME_CHARS.test(name)) {
    return `"${name}" is not a valid interface name: use only letters, digits, "_", "." and "-"`;
  }
  if (name === "." || name === "..") return `"${name}" is not a valid interface name`;
  if (name.startsWith("-")) return `"${name}" is not a valid interface name: it starts with "-"`;
  return undefined;
}

/** `sstp-USER` with `suffix` (0: none), cut to fit 15 bytes. */
function dynamicCandidate(sanitized: string, suffix: number): string {
  const room = MAX_INTERFACE_NAME_BYTES - DYNAMIC_PREFIX.length;
  if (suffix === 0) return DYNAMIC_PREFIX + sanitized.slice(0, room);
  const text = String(suffix);
  return DYNAMIC_PREFIX + sanitized.slice(0, room - text.length) + text;
}

function sanitizeUser(user: string): string {
  // Non-ASCII letters become one "_" per UTF-16 unit; the result is ASCII, so
  // its length is its byte length.
  return user.replace(/[^A-Za-z0-9_.-]/g, "_") || "user";
}

/** Largest numeric suffix of a dynamic name. */
const MAX_SUFFIX = 999_999;

/**
 * Picks the interface name for a user's dynamic server tunnel: `sstp-USER`
 * within 15 bytes, not in `taken`. The caller adds the result to `taken`.
 *
 * Characters outside `[A-Za-z0-9_.-]` become `_`; an empty result becomes
 * `sstp-user`. On collision, `sstp-USER` becomes `sstp-USE1`, `sstp-US12`, …:
 * the user part is cut so the suffix always fits. The lowest free suffix is
 * used; `firstSuffix` (default 1) says below which suffix the caller knows
 * every name to be taken, so that a user with thousands of sessions costs
 * one lookup per login instead of one per session already up.
 *
 * @example
 * ```ts
 * import { dynamicInterfaceName } from "./interface_names.ts";
 * const taken = new Set(["sstp-alice"]);
 * if (dynamicInterfaceName("alice", taken) !== "sstp-alice1") throw new Error();
 * if (dynamicInterfaceName("bob@corp", taken) !== "sstp-bob_corp") throw new Error();
 * ```
 * @throws {RangeError} When every candidate is taken (more than a million collisions).
 */
export function dynamicInterfaceName(
  user: string,
  taken: ReadonlySet<string>,
  firstSuffix = 1,
): string {
  const sanitized = sanitizeUser(user);
  const base = dynamicCandidate(sanitized, 0);
  if (!taken.has(base)) return base;
  for (let n = Math.max(1, Math.floor(firstSuffix)); n <= MAX_SUFFIX; n++) {
    const candidate = dynamicCandidate(sanitized, n);
    if (!taken.has(candidate)) return candidate;
  }
  throw new RangeError(`Cannot name an interface for user "${user}": every candidate is taken`);
}

/**
 * The numeric suffix of `name` when it is one of `user`'s dynamic names with
 * a suffix (the inverse of {@linkcode dynamicInterfaceName}), else undefined.
 *
 * @example
 * ```ts
 * import { dynamicNameSuffix } from "./interface_names.ts";
 * if (dynamicNameSuffix("alice", "sstp-alice12") !== 12) throw new Error();
 * if (dynamicNameSuffix("alice", "sstp-alice") !== undefined) throw new Error();
 * ```
 */
export function dynamicNameSuffix(user: string, name: string): number | undefined {
  const sanitized = sanitizeUser(user);
  if (name === dynamicCandidate(sanitized, 0)) return undefined;
  let found: number | undefined;
  for (let length = 1; length <= String(MAX_SUFFIX).length && length < name.length; length++) {
    const digits = name.slice(-length);
    if (!/^[1-9][0-9]*$/.test(digits)) continue;
    const n = Number(digits);
    if (dynamicCandidate(sanitized, n) === name) found = Math.min(found ?? n, n);
  }
  return found;
}
