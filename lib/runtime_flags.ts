/**
 * The V8 flags `sstp` runs with: the `sstp`, `demo` and `compile` tasks of
 * deno.json, the processes `sstp demo` starts, and the benchmark's `sstp`
 * processes (test/startup_imports_test.ts checks deno.json against this).
 *
 * `--max-semi-space-size=4` caps V8's young generation at 2 x 4 MiB. A server
 * holding thousands of long-lived sessions otherwise grows it to its 2 x 29 MiB
 * maximum during set-up and gives it back only 15-20 s later: measured at
 * 2,000 sessions, 87.7 KiB of RSS per session without it and 57.0 KiB with it,
 * set-up 206 and 250 sessions/s, throughput within run-to-run noise
 * (bench/README.md, "RSS per session"). Flags cannot be changed once the
 * process runs (`node:v8` `setFlagsFromString` has no effect on the heap's
 * size), so they travel on the command line.
 *
 * @module
 */

/** The V8 flags, as `--v8-flags=` takes them. */
export const SSTP_V8_FLAGS = "--max-semi-space-size=4";

/** `deno run` arguments that apply {@linkcode SSTP_V8_FLAGS}. */
export const SSTP_DENO_RUN_FLAGS: readonly string[] = [`--v8-flags=${SSTP_V8_FLAGS}`];
