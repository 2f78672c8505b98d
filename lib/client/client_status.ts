/**
 * What `sstp status` shows for a running client (RouterOS
 * `/interface sstp-client monitor`), and the control socket that serves it.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { ConnectOptions } from "../config/client_config.ts";
import type { SstpClient } from "./sstp_client.ts";
import { describeNegotiated } from "../transport/tls_policy.ts";
import { startControlServer } from "../control/control_server.ts";
import {
  clientSocketName,
  type ClientStatusReply,
  DEFAULT_CONTROL_DIR,
} from "../control/protocol.ts";

/** Builds the status reply of `client` at `nowMs` (performance.now() time). */
export function clientStatus(
  client: SstpClient,
  o: ConnectOptions,
  nowMs: number,
): ClientStatusReply {
  const i = client.info;
  const c = i?.runner?.counters;
  const reply: ClientStatusReply = {
    ok: true,
    role: "client",
    name: o.name,
    status: i ? i.phase : client.waitingStatus ?? "waiting to reconnect",
    server: `${o.connectTo.host}:${o.connectTo.port}`,
    user: o.user,
    attempts: client.attempts,
  };
  if (o.comment !== undefined) reply.comment = o.comment;
  if (i?.remoteAddress) reply.remoteAddress = i.remoteAddress;
  if (i?.callerId) reply.callerId = i.callerId;
  if (i?.tlsVersion) {
    reply.encoding = describeNegotiated({ name: i.cipher ?? "?", version: i.tlsVersion });
  }
  if (i?.correlationId) reply.correlationId = i.correlationId;
  if (i?.engine) {
    reply.sstpState = i.engine.sstpState;
    reply.pppPhase = i.engine.pppPhase;
  }
  if (i?.ip) {
    reply.localAddress = i.ip.localAddress;
    reply.peerAddress = i.ip.peerAddress;
    reply.dns = i.ip.dns;
    reply.mtu = i.ip.mtu;
  }
  if (i?.defaultRoute !== undefined) reply.defaultRoute = i.defaultRoute;
  if (o.killSwitch) reply.killSwitch = i?.phase === "connected" ? "armed" : "blocking";
  if (i?.ipv6 !== undefined) {
    reply.ipv6LinkLocal = i.ipv6.localLinkLocal;
    reply.ipv6PeerLinkLocal = i.ipv6.peerLinkLocal;
    reply.ipv6Addresses = i.ipv6.addresses;
    reply.ipv6Prefixes = i.ipv6.prefixes;
    if (i.ipv6.dns.length > 0) reply.ipv6Dns = i.ipv6.dns;
    reply.ipv6DefaultRoute = i.ipv6.defaultRoute;
    const d = i.ipv6.delegated;
    if (d !== undefined) {
      reply.ipv6DelegatedPrefix = d.prefix;
      if (d.downstream !== undefined) reply.ipv6DelegatedTo = d.downstream;
    }
  }
  if (i?.dnsRoutes !== undefined) reply.dnsRoutes = i.dnsRoutes;
  if (i?.connectedAtMs !== undefined) {
    reply.uptimeMs = Math.round(nowMs - i.connectedAtMs);
    if (c) reply.idleTimeMs = Math.round(nowMs - Math.max(c.lastDataMs, i.connectedAtMs));
  }
  if (c) {
    reply.rxBytes = c.rxBytes;
    reply.txBytes = c.txBytes;
    reply.rxPackets = c.rxPackets;
    reply.txPackets = c.txPackets;
  }
  return reply;
}

/** A running status endpoint. */
export interface StatusEndpoint {
  /** Stops serving, ends open connections and removes the socket file; resolves when all is done. */
  close(): Promise<void>;
}

/**
 * Serves the client's status on `<dir>/client-<name>.sock` (root only).
 * Returns undefined, with a warning, when the socket cannot be created: the
 * tunnel matters more than its status display.
 */
export async function serveClientStatus(
  client: SstpClient,
  o: ConnectOptions,
  log: Logger,
  dir: string = DEFAULT_CONTROL_DIR,
): Promise<StatusEndpoint | undefined> {
  const path = `${dir}/${clientSocketName(o.name)}`;
  try {
    const server = await startControlServer({
      path,
      logger: log,
      handle: (request) =>
        request.op === "status"
          ? clientStatus(client, o, performance.now())
          : { ok: false, error: `"${request.op}" is not supported by a client` },
    });
    return {
      close: async () => {
        server.close();
        await server.closed;
      },
    };
  } catch (e) {
    log.warn(`Cannot serve status on ${path}: ${(e as Error).message}`);
    return undefined;
  }
}
