/**
 * The `admit` hook of a TLS engine's listener (lib/tls_engine.ts) answered
 * by {@linkcode HandshakeAdmission}, the node:tls listeners' admission: one
 * implementation of `max-handshakes` (oldest first),
 * `max-handshakes-per-source` (refused before any TLS object) and the
 * handshake deadline, with the same log lines, whichever library does the
 * handshake.
 *
 * @module
 */
import type { TlsEngineAdmission } from "../tls_engine.ts";
import { sourceKey } from "./source_limiter.ts";
import type { AdmittedSocket, HandshakeAdmission } from "./_raw_listener.ts";

/**
 * Admits the connection an engine accepted from `peer` through
 * `handshakes` (keyed by the peer's address), or closes it with `close`
 * and returns undefined. `close` is also what an eviction or the deadline
 * calls; the engine calls the result's `finish` once the handshake ends.
 */
export function admitEngineConnection(
  handshakes: HandshakeAdmission<AdmittedSocket>,
  peer: { hostname: string; port: number },
  close: () => void,
): TlsEngineAdmission | undefined {
  return handshakes.admit(engineSocket(peer, close), sourceKey(peer.hostname));
}

/**
 * An engine's accepted connection as {@linkcode HandshakeAdmission} sees
 * it. No `close` events: the engine reports the end of every handshake
 * through the ticket's `finish`.
 */
function engineSocket(
  peer: { hostname: string; port: number },
  close: () => void,
): AdmittedSocket {
  return {
    remoteAddress: peer.hostname,
    remotePort: peer.port,
    destroy: close,
    once: () => {},
    off: () => {},
  };
}
