/**
 * The server's sessions as the target of RFC 5176 Disconnect- and
 * CoA-Requests: found by User-Name, Acct-Session-Id and Framed-IP-Address.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { DynamicTarget, SessionSelector } from "../radius/radius_incoming.ts";
import type { ServerSession } from "./_session.ts";

/** A {@linkcode DynamicTarget} over `sessions()`. */
export function sessionsTarget(
  sessions: () => readonly ServerSession[],
  clock: Clock,
): DynamicTarget {
  const matching = (s: SessionSelector) =>
    sessions().filter((x) =>
      x.acctSessionId !== undefined &&
      (s.user === undefined || x.user === s.user) &&
      (s.acctSessionId === undefined || x.acctSessionId === s.acctSessionId) &&
      (s.framedIpAddress === undefined || x.peerAddress === s.framedIpAddress)
    );
  const byId = (id: string) => sessions().find((x) => x.acctSessionId === id);
  return {
    find: (s) => matching(s).map((x) => x.acctSessionId!),
    disconnect: (id, why) => byId(id)?.close(why),
    setSessionTimeout: (id, ms) => {
      const x = byId(id);
      if (x?.profile === undefined) return;
      // The sweep measures from connectedMs: the new limit counts from now.
      const elapsed = x.connectedMs === undefined ? 0 : clock.now() - x.connectedMs;
      x.profile = { ...x.profile, sessionTimeoutMs: ms === 0 ? null : elapsed + ms };
      x.log.info(`RADIUS CoA: session-timeout now ${Math.round(ms / 1000)} s from now`);
    },
  };
}
