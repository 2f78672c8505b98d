/**
 * One client connection attempt, from TCP to teardown.
 *
 * Flow:
 * 1. TCP + TLS (`dialTls`: SNI, verification, the leaf DER of THIS connection
 *    for the crypto binding).
 * 2. HTTP: `SSTP_DUPLEX_POST` out, `HTTP/1.1 200` in (60 s, MS-SSTP 4.1);
 *    bytes after the header are kept for the framer.
 * 3. The engine and runner: SSTP call, LCP, authentication, IPCP.
 * 4. Link up: the TUN device is opened with the negotiated MTU, gets its
 *    point-to-point address, and routes as `tunnel_routes.ts` plans them (a
 *    host route to the server through the original gateway before the split
 *    default routes, so the tunnel does not route into itself; host routes
 *    to the peer DNS servers); DNS only when `use-peer-dns`. Each change is
 *    journaled to the state file first (`net_state.ts`).
 * 5. End: everything added is removed (TUN closed, routes, DNS restored),
 *    whatever the reason, and the state file with it.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { Platform, PlatformTun } from "../platform.ts";
import type { ConnectOptions } from "../config/client_config.ts";
import type { IpConfig } from "../tunnel/events.ts";
import { systemClock, systemTimers } from "../clock.ts";
import { dialTls, type TlsSessionCache } from "../transport/tls_client.ts";
import type { TlsEngineDialer } from "../tls_engine.ts";
import { readPreamble } from "../transport/preamble.ts";
import { buildSstpHttpRequest, parseSstpHttpResponse } from "../sstp/http_preamble.ts";
import type * as CryptoBinding from "../sstp/crypto_binding.ts";
import type * as ClientEngine from "../tunnel/client_engine.ts";
import type { SessionEngine } from "../tunnel/session_engine.ts";
import type * as Runner from "../pipeline/runner.ts";
import type { TunnelRunner } from "../pipeline/runner.ts";
import {
  type NetChangeRecord,
  NetCommandError,
  NetConfig,
  type RouteSpec,
} from "../net/net_config.ts";
import type { NetStateFile } from "./net_state.ts";
import type * as BridgePort from "../net/bridge_port.ts";
import { planTunnelRoutes, SPLIT_DEFAULT_IPV4, SPLIT_DEFAULT_IPV6 } from "./tunnel_routes.ts";
import { asError, ERROR_CODE, ProtocolError } from "../errors.ts";
import { parseFingerprint } from "../cert/fingerprint.ts";
import type * as ClientIpv6 from "./client_ipv6.ts";
import type { ClientIpv6Info } from "./client_ipv6.ts";

/** Live information about a session, for `sstp status`. */
export interface ClientSessionInfo {
  /** Where the session is: TCP connect, TLS handshake, HTTP preamble, SSTP/PPP negotiation, up, ending. */
  phase: "connecting" | "tls" | "http" | "negotiating" | "connected" | "disconnecting";
  /** The server as configured, `host:port`. */
  server: string;
  /** IP:port the TLS connection reached (the server, or the proxy); set once connected. */
  remoteAddress?: string;
  /**
   * Our end of the TCP connection, `address:port`: what the server sees as
   * RouterOS `caller-id` (unless a NAT or the proxy stands between).
   */
  callerId?: string;
  /** Negotiated TLS version, once the handshake is done. */
  tlsVersion?: string;
  /** Negotiated cipher suite, once the handshake is done. */
  cipher?: string;
  /** SSTPCORRELATIONID sent in the HTTP request; ties the server's log lines to this session. */
  correlationId: string;
  /** Clock time the link came up, ms; absent until then. */
  connectedAtMs?: number;
  /** Addresses, DNS servers and MTU from IPCP, once the link is up. */
  ip?: IpConfig;
  /** How the default route is installed ("none" without `add-default-route`). */
  defaultRoute?: string;
  /** Host routes to the peer DNS servers through the tunnel. */
  dnsRoutes?: string[];
  /** IPv6 (`use-ipv6` and IPV6CP Opened): link-locals, SLAAC addresses, prefixes. */
  ipv6?: ClientIpv6Info;
  /** The protocol engine, once negotiation has started (SSTP and PPP states). */
  engine?: SessionEngine;
  /** The data path runner, once negotiation has started (traffic counters). */
  runner?: TunnelRunner;
}

/** Why a session ended. */
export interface ClientSessionResult {
  /** Undefined after a clean local disconnect. */
  error?: Error;
  /** True once the link had come up (for backoff resets). */
  wasConnected: boolean;
}

/** Dependencies of {@linkcode runClientSession}. */
export interface ClientSessionDeps {
  /** Opens the TUN device and configures addresses and routes. */
  platform: Platform;
  /** Where the session's progress and failures are logged. */
  logger: Logger;
  /** Reads a file (CA bundle, client certificate). */
  readTextFile(path: string): string;
  /** For tests: run `ip` inside this namespace. */
  netns?: string;
  /** Crash-recovery journal of the network changes (none: not kept). */
  stateFile?: NetStateFile;
  /**
   * Receives the session's network changes instead of `stateFile` (the
   * client merges them with its kill switch's before writing the file).
   */
  journal?: (records: readonly NetChangeRecord[]) => void;
  /** Basic credentials for `http-proxy` (from the environment, never the command line). */
  proxyCredentials?: { user: string; password: string };
  /** Called whenever `info` changes. */
  onInfo?(info: ClientSessionInfo): void;
  /** Dial-on-demand: the device and routes exist already (see {@linkcode DemandLink}). */
  demand?: DemandLink;
  /** The TLS session to resume on this dial and to keep for the next (reconnects). */
  tlsSessions?: TlsSessionCache;
}

/**
 * What a dial-on-demand client lends a session: the TUN device (which
 * already carries the placeholder address and the split default routes) and
 * hooks to swap the placeholder address for the negotiated one and back.
 * The negotiated address is added before the placeholder goes and the
 * placeholder is back before the negotiated one goes: the kernel flushes an
 * interface's routes when its last IPv4 address is removed.
 */
export interface DemandLink {
  /** The session's view of the shared device (its `close()` hands the device back). */
  openTun(local: string): PlatformTun;
  /** The negotiated address is on the device: the placeholder may go. */
  linkUp(local: string): Promise<void>;
  /** The session ends: the placeholder comes back (before the negotiated address goes). */
  linkDown(): Promise<void>;
}

const HTTP_RESPONSE_TIMEOUT_MS = 60_000;

let duid: Uint8Array | undefined;
/**
 * The DHCPv6 DUID of this `sstp connect` process: the same across its
 * reconnects, so the server sees one client. A DUID-UUID (RFC 6355: type 4
 * and 16 random bytes): a PPP link has no link-layer address for a DUID-LL.
 * Made here rather than in client_dhcpv6_pd.ts, which loads with the IPv6
 * code only when IPV6CP opens.
 */
function processDuid(): Uint8Array {
  if (duid === undefined) {
    duid = new Uint8Array(18);
    duid[1] = 4;
    crypto.getRandomValues(duid.subarray(2));
  }
  return duid;
}

function randomGuid(): string {
  return crypto.randomUUID().toUpperCase();
}

/** The OpenSSL engine, or undefined with one warning when the platform has none. */
async function tlsEngine(
  platform: Platform,
  log: Logger,
  name: "openssl" | "openssl-worker",
): Promise<TlsEngineDialer | undefined> {
  const engine = platform.tlsEngine === undefined
    ? "this platform has no OpenSSL binding"
    : await platform.tlsEngine(name);
  if (typeof engine !== "string") return engine;
  log.warn(`tls-engine ${name} unavailable (${engine}): using node:tls`);
  return undefined;
}

/**
 * The SSTP/PPP engine and the data path (about half of the client's own
 * modules), loaded by `URL` so that they are not in the start-up graph of
 * `sstp connect`: the session starts loading them once its ClientHello is
 * out (as it dials, with another TLS engine or a proxy), and the JS thread
 * compiles them while the handshake and the HTTP exchange wait on the
 * network (bench/README.md, "Connect start-up").
 */
function loadProtocol(): Promise<{
  certHashes: typeof CryptoBinding.certHashes;
  createClientEngine: typeof ClientEngine.createClientEngine;
  TunnelRunner: typeof Runner.TunnelRunner;
}> {
  return Promise.all([
    import(new URL("../sstp/crypto_binding.ts", import.meta.url).href) as Promise<
      typeof CryptoBinding
    >,
    import(new URL("../tunnel/client_engine.ts", import.meta.url).href) as Promise<
      typeof ClientEngine
    >,
    import(new URL("../pipeline/runner.ts", import.meta.url).href) as Promise<typeof Runner>,
  ]).then(([binding, engine, runner]) => ({
    certHashes: binding.certHashes,
    createClientEngine: engine.createClientEngine,
    TunnelRunner: runner.TunnelRunner,
  }));
}

/**
 * Runs one session until it ends. `signal` asks for a graceful disconnect.
 * Never throws for network or peer errors: they are in the result.
 */
export async function runClientSession(
  o: ConnectOptions,
  deps: ClientSessionDeps,
  signal: AbortSignal,
): Promise<ClientSessionResult> {
  const log = deps.logger;
  const info: ClientSessionInfo = {
    phase: "connecting",
    server: `${o.connectTo.host}:${o.connectTo.port}`,
    correlationId: `{${randomGuid()}}`,
  };
  const update = () => deps.onInfo?.(info);
  update();
  const net = new NetConfig({
    logger: log,
    ...(deps.netns ? { netns: deps.netns } : {}),
    // Address and routes without spawning `ip` before the tunnel is up.
    netlink: () => deps.platform.openNetlink(),
    ...(deps.journal
      ? { journal: deps.journal }
      : deps.stateFile
      ? { journal: (records) => deps.stateFile!.write(records) }
      : {}),
  });
  let tun: PlatformTun | undefined;
  let demandUp = false;
  /** The TAP device joined to `bridge` (BCP), once BCP is open. */
  let tap: PlatformTun | undefined;
  let wasConnected = false;
  const dialAbort = new AbortController();
  const onAbort = () => dialAbort.abort();
  signal.addEventListener("abort", onAbort);
  // Loaded once the ClientHello is out (or after the HTTP exchange, when the
  // dial had no such moment); a failed dial must not leave it unhandled.
  let protocol: ReturnType<typeof loadProtocol> | undefined;
  const startProtocolLoad = () => {
    if (protocol === undefined) {
      protocol = loadProtocol();
      protocol.catch(() => {});
    }
    return protocol;
  };
  try {
    // With add-default-route, the server's host route is pinned before the
    // dial when its address is known (given as an IP, no proxy): the TCP
    // connection then takes its source address from the uplink even while
    // another tunnel's split routes are up, so this tunnel does not ride
    // inside that one and survives its loss.
    const pinFirst = o.addDefaultRoute && o.httpProxy === undefined &&
      (o.connectTo.kind === "ipv4" || o.connectTo.kind === "ipv6");
    if (pinFirst) await net.pinHostRoute(o.connectTo.host);
    log.info(
      `connecting to ${info.server}` +
        (o.comment === undefined ? "" : ` (comment: ${JSON.stringify(o.comment)})`),
    );
    const tls = o.tlsEngine === "deno" ? undefined : await tlsEngine(
      deps.platform,
      log,
      // The data-plane Worker moves IP packets itself: bridged frames (BCP) stay on this thread.
      o.tlsEngine === "openssl-worker" && o.bridge === undefined ? "openssl-worker" : "openssl",
    );
    // No ClientHello moment to wait for (dialTls reports it for node:tls dialled directly).
    if (tls !== undefined || o.httpProxy !== undefined) startProtocolLoad();
    const conn = await dialTls({
      ...(tls === undefined ? {} : { engine: tls }),
      host: o.connectTo.host,
      port: o.connectTo.port,
      sni: o.sni === undefined ? false : o.sni,
      verifyServerCertificate: o.verifyServerCertificate,
      verifyServerAddress: o.verifyServerAddressFromCertificate,
      ...(o.ca ? { caPem: deps.readTextFile(o.ca) } : {}),
      ...(o.serverFingerprint
        ? { serverFingerprintSha256: parseFingerprint(`sha256:${o.serverFingerprint}`).bytes }
        : {}),
      ...(o.crl ? { crlPem: deps.readTextFile(o.crl) } : {}),
      ...(o.certificate ? { clientCertPem: deps.readTextFile(o.certificate) } : {}),
      ...(o.certificateKey
        ? { clientKeyPem: deps.readTextFile(o.certificateKey) }
        : o.certificate
        ? { clientKeyPem: deps.readTextFile(o.certificate) }
        : {}),
      tlsPolicy: {
        tlsVersion: o.tlsVersion,
        pfs: o.pfs,
        ciphers: o.ciphers,
        forceAes: o.forceAes,
      },
      ...(o.httpProxy
        ? {
          httpProxy: {
            ...o.httpProxy,
            ...(deps.proxyCredentials ?? {}),
          },
        }
        : {}),
      connectTimeoutMs: 30_000,
      signal: dialAbort.signal,
      logger: log,
      ...(deps.tlsSessions === undefined ? {} : { sessionCache: deps.tlsSessions }),
      onClientHello: startProtocolLoad,
    }).catch((e) => {
      throw clientCertificateRefusal(e, o.certificate, "handshake") ?? e;
    });
    const duplex = conn.duplex;
    info.phase = "tls";
    info.remoteAddress = `${duplex.remoteAddr.hostname}:${duplex.remoteAddr.port}`;
    info.callerId = formatAddr(duplex.localAddr.hostname, duplex.localAddr.port);
    info.tlsVersion = conn.tlsVersion;
    info.cipher = conn.cipher;
    update();

    // HTTP preamble (MS-SSTP 3.2.4.1).
    info.phase = "http";
    const hostHeader = o.connectTo.kind === "ipv6" ? `[${o.connectTo.host}]` : o.connectTo.host;
    const w = duplex.writable.getWriter();
    await w.write(buildSstpHttpRequest({ host: hostHeader, correlationId: info.correlationId }));
    w.releaseLock();
    let leftover: Uint8Array;
    const offload = conn.offload;
    try {
      const got = await readPreamble(
        duplex.readable,
        parseSstpHttpResponse,
        HTTP_RESPONSE_TIMEOUT_MS,
        "SSTP HTTP response",
      );
      if (got.header.response.status !== 200) {
        throw new ProtocolError(
          "http",
          ERROR_CODE.BAD_HTTP,
          `Server refused the SSTP request: HTTP ${got.header.response.status} ${got.header.response.reason}`,
        );
      }
      leftover = got.leftover;
    } catch (e) {
      duplex.close();
      throw clientCertificateRefusal(e, o.certificate, "preamble") ?? e;
    }
    log.info(`HTTP 200: SSTP call starting (correlation id ${info.correlationId})`);

    info.phase = "negotiating";
    update();
    const { certHashes, createClientEngine, TunnelRunner } = await startProtocolLoad();
    const engine = createClientEngine({
      certHashes: certHashes(conn.peerCertDer),
      user: o.user,
      password: o.password,
      authentication: o.authentication,
      // The Hello timer sends an Echo Request after one interval of silence and
      // gives up after a second one (MS-SSTP 3.1.2.3), so half the keepalive
      // timeout detects a dead link within keepalive-timeout.
      helloMs: o.keepaliveTimeoutMs === null ? null : Math.max(1000, o.keepaliveTimeoutMs / 2),
      mru: o.maxMru,
      maxMtu: o.maxMtu,
      ...(o.mrru !== undefined ? { mrru: o.mrru } : {}),
      // As pppd's usepeerdns: ask only when the answer is used (one IPCP round
      // trip less against servers that reject the DNS options).
      requestDns: o.usePeerDns,
      serverAddress: duplex.remoteAddr.hostname,
      ...(o.bridge !== undefined ? { bridge: true } : {}),
      ...(o.useIpv6 ? { ipv6: true } : {}),
      randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
      logger: log,
    });
    info.engine = engine;
    /** The IPv4 DNS servers written to resolv.conf (kept when IPv6 ones are added). */
    let appliedDns: readonly string[] = [];
    /** The IPv6 side's undo while it runs (IPV6CP down or the session's end). */
    let ipv6Closing: Promise<void> = Promise.resolve();
    const runner = new TunnelRunner({
      engine,
      transport: duplex,
      // With the data path in a Worker, the Worker frames these bytes first.
      ...(offload === undefined ? { leftover } : {}),
      clock: systemClock,
      logger: log,
      clampTcpMss: o.changeTcpMss,
      onLinkUp: async (ip) => {
        const demand = deps.demand;
        if (demand) {
          tun = demand.openTun(ip.localAddress);
          await net.setMtu(tun.name, ip.mtu);
        } else {
          tun = deps.platform.openTun({ name: o.name, mtu: ip.mtu, txQueueLen: 5000, up: true });
        }
        await net.addPointToPointAddress(tun.name, ip.localAddress, ip.peerAddress);
        if (demand) {
          demandUp = true;
          await demand.linkUp(ip.localAddress);
        }
        const serverIp = duplex.remoteAddr.hostname;
        const plan = planTunnelRoutes({
          dev: tun.name,
          addDefaultRoute: o.addDefaultRoute,
          distance: o.defaultRouteDistance,
          usePeerDns: o.usePeerDns,
          dns: ip.dns,
          peerAddress: ip.peerAddress,
          server: serverIp,
          // IPv6 routes are client_ipv6.ts's, once a Router Advertisement
          // says the server routes IPv6 (router lifetime > 0).
          ipv6: false,
        });
        for (const warning of plan.warnings) log.warn(warning);
        if (plan.pinServer && !pinFirst) await net.pinHostRoute(serverIp);
        const dnsRoutes: string[] = [];
        for (const route of plan.routes) {
          // On demand, the split default routes exist with the device already.
          if (demand && isSplitDefault(route.dst) && route.dst.includes(".")) continue;
          if (await addTunnelRoute(net, route)) {
            if (!isSplitDefault(route.dst)) dnsRoutes.push(`${route.dst} via ${tun.name}`);
          } else log.warn(`route ${route.dst} exists already (not ours): left alone`);
        }
        if (ip.dns.length > 0) {
          const applied = o.usePeerDns && plan.dnsServers.length > 0;
          log.info(`peer DNS: ${ip.dns.join(", ")}${applied ? " (applied)" : ""}`);
          if (applied) {
            await net.setDns(plan.dnsServers);
            appliedDns = plan.dnsServers;
          }
        }
        info.phase = "connected";
        info.ip = ip;
        info.defaultRoute = plan.defaultRoute;
        if (dnsRoutes.length > 0) info.dnsRoutes = dnsRoutes;
        info.connectedAtMs = systemClock.now();
        wasConnected = true;
        update();
        log.info(
          `up: ${tun.name} ${ip.localAddress} peer ${ip.peerAddress} mtu ${ip.mtu}` +
            (o.addDefaultRoute ? `, default route ${plan.defaultRoute}` : ""),
        );
        return offload?.adoptTun(tun, o.changeTcpMss ? { clampMssMtu: ip.mtu } : {}) ?? tun;
      },
      onBridgeUp: async () => {
        const bridge = o.bridge;
        if (bridge === undefined) throw new Error("BCP opened without a configured bridge");
        tap = deps.platform.openTun({ name: "sstp-brc%d", txQueueLen: 5000, mode: "tap" });
        // Bridging code loads only for a session that opens BCP (start-up of `sstp connect`).
        const { joinBridge } = await import(
          new URL("../net/bridge_port.ts", import.meta.url).href
        ) as typeof BridgePort;
        await joinBridge(net, tap.name, { bridge });
        log.info(`bridge: ${tap.name} joined ${bridge}`);
        return tap;
      },
      onIpv6Up: async (ip6, tunDevice, send) => {
        // The IPv6 code (SLAAC, NDP, packet parsing) loads only for a session
        // that opens IPV6CP: it is not on the start-up path of `sstp connect`.
        const { startClientIpv6 } = await import(
          new URL("./client_ipv6.ts", import.meta.url).href
        ) as typeof ClientIpv6;
        const service = await startClientIpv6({
          ip6,
          tunName: tunDevice.name,
          net,
          addDefaultRoute: o.addDefaultRoute,
          distance: o.defaultRouteDistance,
          usePeerDns: o.usePeerDns,
          ipv4Dns: () => appliedDns,
          send,
          log,
          clock: systemClock,
          timers: systemTimers,
          ...(o.dhcpv6Pd
            ? { dhcpv6Pd: { duid: processDuid(), downstreamInterface: o.dhcpv6PdInterface } }
            : {}),
          onInfo: (v6) => {
            info.ipv6 = v6;
            update();
          },
        });
        return {
          intercept: (packet) => service.intercept(packet),
          close: () => {
            // IPV6CP closed (IPv4 stays) or the session ends: the undo runs
            // now, and the session's network cleanup waits for it.
            ipv6Closing = service.close().then(() => {
              delete info.ipv6;
              update();
            });
          },
        };
      },
    });
    info.runner = runner;
    if (offload !== undefined) {
      offload.prepend(leftover);
      offload.attach(engine, runner.counters, () => systemClock.now());
    }
    const stop = () => {
      info.phase = "disconnecting";
      update();
      runner.close("disconnect requested");
    };
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    const result = await runner.run();
    await ipv6Closing;
    signal.removeEventListener("abort", stop);
    await duplex.closed.catch(() => {});
    const error = result.error ?? engine.error;
    return error && !signal.aborted ? { error, wasConnected } : { wasConnected };
  } catch (e) {
    const error = asError(e);
    return signal.aborted ? { wasConnected } : { error, wasConnected };
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (demandUp) {
      await deps.demand?.linkDown().catch((e) =>
        log.warn(`placeholder address: ${(e as Error).message}`)
      );
    }
    if (tun) {
      tun.close();
      await tun.closed.catch(() => {});
    }
    // Closing the TAP device deletes it, which takes it out of the bridge.
    if (tap) {
      tap.close();
      await tap.closed.catch(() => {});
    }
    await net.cleanup().catch((e) => log.warn(`cleanup: ${(e as Error).message}`));
  }
}

/** `address:port`, with brackets around an IPv6 address. */
function formatAddr(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

function isSplitDefault(dst: string): boolean {
  return (SPLIT_DEFAULT_IPV4 as readonly string[]).includes(dst) ||
    (SPLIT_DEFAULT_IPV6 as readonly string[]).includes(dst);
}

/**
 * Adds one planned route. A host route to a DNS server that exists already
 * is someone else's: false, left alone. A split default route that exists
 * already belongs to another tunnel with the same distance: an error that
 * says so (the kernel keeps one route per prefix and metric).
 */
async function addTunnelRoute(net: NetConfig, route: RouteSpec): Promise<boolean> {
  try {
    await net.addRoute(route);
    return true;
  } catch (e) {
    if (!(e instanceof NetCommandError) || !e.stderr.includes("File exists")) throw e;
    if (!isSplitDefault(route.dst)) return false;
    throw new Error(
      `Cannot add default route ${route.dst} metric ${route.metric}: another route holds that ` +
        `prefix and metric (another tunnel?); give this one another default-route-distance`,
      { cause: e },
    );
  }
}

/**
 * Recognises a server that refused our client certificate (RouterOS
 * `verify-client-certificate`) and says so: exit 66, no retry loop on a
 * credential problem. Measured with Deno 2.9.6's node:tls against a server
 * that verifies clients: a TLS 1.2 alert (`certificate required`, `unknown
 * ca`, `bad certificate`) fails the handshake, often only as ECONNRESET
 * "before secure TLS connection was established"; in TLS 1.3 the client's
 * handshake completes before the server checks the certificate and the
 * alert arrives as a plain EOF before any HTTP byte.
 */
function clientCertificateRefusal(
  error: unknown,
  certificate: string | undefined,
  stage: "handshake" | "preamble",
): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const alert =
    /alert.*(certificate.?required|unknown.?ca|bad.?certificate|certificate.?unknown|access.?denied)/i
      .test(error.message);
  const resetInHandshake = stage === "handshake" && code === "ECONNRESET" &&
    /before secure TLS connection/.test(error.message);
  const closedBeforeHttp = stage === "preamble" && (
    (error instanceof ProtocolError && /connection closed after 0 bytes/.test(error.message)) ||
    code === "ECONNRESET"
  );
  if (!alert && !resetInHandshake && !closedBeforeHttp) return undefined;
  if (!alert && certificate === undefined) {
    // Also what an overloaded server does: a hint, but a network error (retried).
    return stage === "preamble"
      ? new Error(
        "Server closed the connection right after the TLS handshake, before any HTTP response " +
          "(a server that requires a client certificate does this: set certificate and certificate-key)",
        { cause: error },
      )
      : undefined;
  }
  const how = alert
    ? `TLS alert: ${error.message}`
    : stage === "handshake"
    ? "connection reset during the TLS handshake"
    : "connection closed right after the TLS handshake, before any HTTP response";
  const message = certificate === undefined
    ? `Server refused our client certificate: we have none and the server requires one (${how}); set certificate and certificate-key`
    : `Server refused our client certificate ${certificate} (${how}); is it issued by the CA the server trusts?`;
  return new ProtocolError("tls", ERROR_CODE.AUTH_FAILED, message, {
    detail: "TLS_CERT_CLIENT_REFUSED",
    cause: error,
  });
}
