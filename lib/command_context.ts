/**
 * What `main.ts` hands every command: the platform, output sinks and signal
 * subscriptions. Commands return an exit code and never call `Deno.exit`.
 *
 * @module
 */
import type { Platform } from "./platform.ts";

/** Signals a command may subscribe to. */
export type SignalName = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Everything a command may use besides its arguments. */
export interface CommandContext {
  /** TUN devices, reactors and netlink (real on Linux, fakes in tests). */
  platform: Platform;
  /** Writes a line to standard output (results, tables, JSON). */
  print(line: string): void;
  /** True when standard output is a terminal (not a pipe, file or the journal). */
  isOutputTerminal?: boolean;
  /** Writes a line to standard error (logs, errors). */
  printError(line: string): void;
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /** Subscribes to a signal; returns the unsubscribe function. */
  onSignal(signal: SignalName, handler: () => void): () => void;
}

/** Exit codes (sysexits-like), documented in the README. */
export const EXIT_CODE = {
  OK: 0,
  /** Anything unexpected. */
  FAILURE: 1,
  /** Bad command line or configuration (EX_USAGE). */
  USAGE: 64,
  /** Authentication refused by the peer. */
  AUTH: 65,
  /** Server certificate failed verification. */
  CERTIFICATE: 66,
  /** Network failure: cannot connect, connection lost, protocol error. */
  NETWORK: 69,
  /** Missing privilege or OS facility (not root, no /dev/net/tun). */
  OS: 71,
} as const;
