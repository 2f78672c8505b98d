/**
 * The client's lifetime: connect, run, and on loss reconnect with exponential
 * backoff and jitter (RouterOS keeps an sstp-client dialling). Failures that
 * retrying cannot fix end the client instead of hammering the server: an
 * authentication refusal and a certificate that fails verification.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { ConnectOptions } from "../config/client_config.ts";
import { ProtocolError } from "../errors.ts";
import { isAuthError } from "../tunnel/session_engine.ts";
import { recoverNetState } from "./net_state.ts";
import {
  type ClientSessionDeps,
  type ClientSessionInfo,
  type ClientSessionResult,
  runClientSession,
} from "./client_session.ts";

/** How the client ended. */
export type ClientOutcome =
  | { kind: "stopped" }
  | { kind: "auth"; error: Error }
  | { kind: "certificate"; error: Error }
  | { kind: "network"; error: Error };

/** Backoff schedule: first delay, cap, and jitter fraction. */
export interface BackoffOptions {
  /** Delay before the first retry, ms; doubles with each failed attempt. */
  initialMs: number;
  /** Largest delay, ms, before jitter. */
  maxMs: number;
  /** Fraction (0..1) the delay varies by either way, at random. */
  jitter: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, jitter: 0.25 };

/** Classifies a session error for exit codes and retry policy. */
export function classifyError(error: Error): "auth" | "certificate" | "network" {
  if (isAuthError(error) && !(error instanceof ProtocolError && error.layer === "tls")) {
    return "auth";
  }
  if (
    error instanceof ProtocolError && error.layer === "tls" && error.detail?.startsWith("TLS_CERT")
  ) {
    return "certificate";
  }
  return "network";
}

/** The delay before attempt `n` (0-based) with jitter from `random()` in [0, 1). */
export function backoffDelay(n: number, b: BackoffOptions, random: () => number): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(n, 30));
  return Math.round(base * (1 - b.jitter + 2 * b.jitter * random()));
}

/** Runs the client until stopped or a permanent failure. */
export class SstpClient {
  readonly #o: ConnectOptions;
  readonly #deps: ClientSessionDeps;
  readonly #log: Logger;
  readonly #backoff: BackoffOptions;
  readonly #stop = new AbortController();
  #info: ClientSessionInfo | undefined;
  #attempts = 0;
  #startedMs = performance.now();

  /** Prepares a client. */
  constructor(options: ConnectOptions, deps: ClientSessionDeps, backoff?: BackoffOptions) {
    this.#o = options;
    this.#deps = deps;
    this.#log = deps.logger;
    this.#backoff = backoff ?? DEFAULT_BACKOFF;
  }

  /** The current session's information. */
  get info(): ClientSessionInfo | undefined {
    return this.#info;
  }
  /** Connection attempts so far. */
  get attempts(): number {
    return this.#attempts;
  }
  /** When the client started (performance.now() ms). */
  get startedMs(): number {
    return this.#startedMs;
  }

  /** Asks for a graceful stop (Call Disconnect, cleanup). */
  stop(): void {
    this.#stop.abort();
  }

  /** Runs until stopped or a permanent failure. */
  async run(): Promise<ClientOutcome> {
    let failures = 0;
    this.#startedMs = performance.now();
    if (this.#deps.stateFile) {
      // A client of this name killed earlier may have left routes and resolv.conf behind.
      await recoverNetState(this.#deps.stateFile, this.#log, { netns: this.#deps.netns });
    }
    while (!this.#stop.signal.aborted) {
      this.#attempts++;
      const result: ClientSessionResult = await runClientSession(this.#o, {
        ...this.#deps,
        onInfo: (i) => {
          this.#info = i;
          this.#deps.onInfo?.(i);
        },
      }, this.#stop.signal);
      this.#info = undefined;
      if (this.#stop.signal.aborted) break;
      const error = result.error ?? new Error("Connection ended");
      const kind = classifyError(error);
      if (kind !== "network") {
        this.#log.error(error.message);
        return { kind, error };
      }
      if (!this.#o.reconnect) {
        this.#log.error(error.message);
        return { kind, error };
      }
      failures = result.wasConnected ? 0 : failures + 1;
      const delay = backoffDelay(failures, this.#backoff, Math.random);
      this.#log.warn(`${error.message}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await this.#sleep(delay);
    }
    this.#log.info("stopped");
    return { kind: "stopped" };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const signal = this.#stop.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
