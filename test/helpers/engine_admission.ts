/**
 * The `admit` hook of a TLS engine's listener for tests that call an
 * engine's `listen` directly: the shared {@linkcode HandshakeAdmission}
 * (what `listenTls` answers it with), its log lines kept in `lines`.
 *
 * @module
 */
import type { TlsEngineListenOptions } from "../../lib/tls_engine.ts";
import { systemClock } from "../../lib/clock.ts";
import { createLogger } from "../../lib/log.ts";
import { type AdmittedSocket, HandshakeAdmission } from "../../lib/transport/_raw_listener.ts";
import { admitEngineConnection } from "../../lib/transport/engine_admission.ts";

/** An admission for an engine's listener; `close()` ends what is still admitted. */
export interface TestEngineAdmission {
  /** The hook to pass as `admit`. */
  admit: TlsEngineListenOptions["admit"];
  /** The admission's log lines (refusals, evictions, deadlines), debug level and up. */
  lines: string[];
  /** Admitted connections not finished. */
  readonly size: number;
  /** Closes every admitted connection and clears their deadlines. */
  close(): void;
}

/** Caps default to 1000 each (no cap in a test that does not ask for one). */
export function testEngineAdmission(o: {
  handshakeTimeoutMs: number;
  maxHandshakes?: number;
  maxHandshakesPerSource?: number;
}): TestEngineAdmission {
  const lines: string[] = [];
  const handshakes = new HandshakeAdmission<AdmittedSocket>({
    maxHandshakes: o.maxHandshakes ?? 1000,
    maxHandshakesPerSource: o.maxHandshakesPerSource ?? 1000,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    clock: systemClock,
    logger: createLogger("debug", (_level, line) => lines.push(line)),
  });
  return {
    admit: (peer, close) => admitEngineConnection(handshakes, peer, close),
    lines,
    get size() {
      return handshakes.size;
    },
    close: () => handshakes.closeAll(),
  };
}
