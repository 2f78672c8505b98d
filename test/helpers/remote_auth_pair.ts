/**
 * Test support: a peer against an authenticator whose answers come from a
 * remote service (RADIUS, an EAP server), on a simulated clock.
 *
 * @module
 */
import type {
  AuthAuthenticator,
  AuthOutput,
  AuthPeer,
  AuthResult,
} from "../../lib/ppp/auth/auth_types.ts";

/** What {@linkcode runRemotePair} saw: both outcomes and the simulated clock at the end. */
export interface RemotePairRun {
  /** The authenticator's outcome; undefined when it never finished. */
  authResult: AuthResult | undefined;
  /** The peer's outcome; undefined when it never finished. */
  peerResult: AuthResult | undefined;
  /** Simulated time of the last timer fired, ms. */
  now: number;
}

/**
 * Runs a peer against an authenticator whose answers come from a remote
 * service (a Promise that settles later): between rounds it yields to the
 * event loop so the service's answer can land, and it fires the
 * authenticator's poll and retransmission timers at once on a simulated
 * clock, as the link would once they expire. Stops when the authenticator
 * has a result and nothing is in flight, or after 200 rounds.
 */
export async function runRemotePair(
  peer: AuthPeer,
  auth: AuthAuthenticator,
): Promise<RemotePairRun> {
  let now = 0;
  let authTimer: number | null = null;
  const toPeer: Uint8Array[] = [];
  const toAuth: Uint8Array[] = [];
  let authResult: AuthResult | undefined;
  let peerResult: AuthResult | undefined;
  const onAuth = (o: AuthOutput) => {
    toPeer.push(...o.send);
    if (o.timerMs !== undefined) authTimer = o.timerMs === null ? null : now + o.timerMs;
    authResult ??= o.result;
  };
  const onPeer = (o: AuthOutput) => {
    toAuth.push(...o.send);
    peerResult ??= o.result;
  };
  onAuth(auth.start(now));
  onPeer(peer.start(now));
  for (let round = 0; round < 200 && (authResult === undefined || toPeer.length > 0); round++) {
    while (toAuth.length > 0) onAuth(auth.receive(toAuth.shift()!, now));
    while (toPeer.length > 0) onPeer(peer.receive(toPeer.shift()!, now));
    await new Promise((r) => setTimeout(r, 0));
    if (authTimer !== null && authResult === undefined) {
      now = authTimer;
      authTimer = null;
      onAuth(auth.timeout(now));
    }
  }
  return { authResult, peerResult, now };
}
