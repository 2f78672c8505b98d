/**
 * The SSTP server: TLS listener, HTTP preamble, sessions, limits, reload,
 * status and shutdown. `lib/commands/serve.ts` builds it from the
 * configuration; tests build it directly.
 *
 * Flow of one connection:
 * 1. TLS handshake inside `listenTls` (bounded by `handshakeTimeoutMs`,
 *    `max-handshakes` and `max-handshakes-per-source`).
 * 2. Admission: a connection counts as unauthenticated until its user has
 *    logged in. One from an address that already has
 *    `max-unauthenticated-per-source` such connections is closed at once;
 *    at `max-unauthenticated` in all, the oldest one is closed to make room
 *    (a flood churns through the slots instead of freezing them); each must
 *    log in within `authentication-deadline` of its TCP accept.
 * 3. HTTP preamble within `preambleTimeoutMs`: a malformed or oversized
 *    header gets 400, a wrong path 404, a known method 405, an unknown one
 *    501 (`buildSstpHttpResponse`), then the connection is closed; a timeout
 *    closes it silently. With `max-sessions` reached: 503.
 * 4. HTTP 200, then `startSession` (see `_session.ts`).
 *
 * One sweep timer for all sessions enforces `session-timeout` and
 * `idle-timeout` (a timer per session would be thousands of timers).
 *
 * @module
 */
import { peerText } from "../peer_text.ts";
import type { Clock } from "../clock.ts";
import { systemClock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Platform, PlatformReactor } from "../platform.ts";
import type { ServerConfig } from "../config/server_config.ts";
import type { ByteDuplex, TransportAddr } from "../duplex.ts";
import { listenTls, type TlsListener } from "../transport/tls_server.ts";
import { describeNegotiated } from "../transport/tls_policy.ts";
import { RefusalLog, sourceKey, SourceLimiter } from "../transport/source_limiter.ts";
import { readPreamble } from "../transport/preamble.ts";
import {
  buildSstpHttpResponse,
  parseSstpHttpRequest,
  validateSstpHttpRequest,
} from "../sstp/http_preamble.ts";
import { type CertHashes, certHashes } from "../sstp/crypto_binding.ts";
import { leafCertificateDer } from "../cert/pem.ts";
import { formatDuration } from "../config/duration.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { SecretHistoryStatus, ServerSessionStatus } from "../control/protocol.ts";
import { formatPppRoutes } from "../config/ppp_routes.ts";
import { AddressPools } from "./address_pool.ts";
import { Ipv6PrefixPool } from "../ipv6/prefix_pool.ts";
import { formatIpv6Prefix } from "../ipv6/address.ts";
import type { Ipv6PoolConfig } from "../config/server_config.ts";
import { SecretBook } from "./secrets.ts";
import { SessionRegistry } from "./session_registry.ts";
import { type ServerSession, type SessionContext, startSession } from "./_session.ts";
import { RadiusAaa } from "./radius_aaa.ts";
import { listenProxyTls } from "../transport/proxy_tls_listener.ts";
import { listenPlainTcp } from "../transport/plain_tcp_listener.ts";
import { sessionsTarget } from "./radius_target.ts";
import { authThrottleFor, type AuthThrottleObserver } from "./auth_throttle.ts";
import type { RadiusObserver } from "../radius/radius_observer.ts";
import { ipLinkSetup, type LinkSetup, netlinkLinkSetup } from "./_link_setup.ts";
import { SharedLink } from "./_shared_link.ts";
import type { TlsEngineServer } from "../tls_engine.ts";
import { SecretState } from "./secret_state.ts";
import { runTool, type ToolRunner } from "../net/tool_runner.ts";
import { addressListProblem } from "../net/address_list.ts";

/** Options of {@linkcode SstpServer.start}. */
export interface SstpServerOptions {
  /** The parsed configuration (listeners, users, pools, limits). */
  config: ServerConfig;
  /** Certificate chain, PEM, leaf first. */
  certPem: string;
  /** The leaf's private key, PEM. */
  keyPem: string;
  /** PEM CA bundle for `verify-client-certificate`. */
  caPem?: string;
  /** TUN devices, reactor and netlink (real on Linux, fakes in tests). */
  platform: Platform;
  /** Where the server and its sessions log. */
  logger: Logger;
  /** Time source; the system clock when absent. */
  clock?: Clock;
  /** TLS handshake limit (default 10,000 ms). */
  handshakeTimeoutMs?: number;
  /** TLS by another library (the system OpenSSL) instead of node:tls; not with client certificates. */
  tlsEngine?: TlsEngineServer;
  /** HTTP request limit after the handshake (default 10,000 ms). */
  preambleTimeoutMs?: number;
  /** Period of the session/idle timeout sweep (default 1,000 ms). */
  sweepIntervalMs?: number;
  /**
   * Where `last-logged-out` / `last-caller-id` are kept across restarts
   * (`sstp serve` passes `state-dir`); absent: in memory only.
   */
  stateDir?: string;
  /** Runs `tc` and `nft` for `rate-limit` and `address-list` (default: the real tools). */
  tool?: ToolRunner;
  /** Told about refused connections and started sessions (metrics). */
  observer?: ServerObserver;
}

/**
 * What the server tells an observer (`lib/ops/metrics`): the server only
 * calls these; counting, timing and formatting happen in the observer.
 */
export interface ServerObserver {
  /**
   * A connection was turned away before it had a session: `per-source-limit`,
   * `preamble` (no valid HTTP request in time), `http-NNN` (answered with that
   * status), `max-sessions` or `shutting-down`.
   */
  refused(reason: string): void;
  /** A session started after the HTTP 200; its `done` settles when it has ended. */
  sessionStarted(session: ServerSession): void;
  /**
   * A TLS handshake was accepted `ms` after its TCP accept (every listener
   * that does a handshake: node:tls, `proxy-protocol`, the OpenSSL engine).
   */
  tlsHandshake?(ms: number): void;
  /** Told about login throttling (`auth-throttle`). */
  readonly authThrottle?: AuthThrottleObserver;
  /** Told about RADIUS requests, when RADIUS is configured. */
  readonly radius?: RadiusObserver;
}

const DEFAULTS = { handshakeMs: 10_000, preambleMs: 10_000, sweepMs: 1000 };

/** A connection that has not authenticated yet. */
interface Unauthenticated {
  /** Closes it at once (an unauthenticated peer waits for no Call Disconnect Ack). */
  close(reason: string): void;
}

/** A running server. */
export class SstpServer {
  readonly #o: SstpServerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #registry = new SessionRegistry<ServerSession>({
    onAuthenticated: (session) => {
      const slot = this.#slotOf.get(session);
      if (slot !== undefined) this.#unauthenticated.release(slot);
    },
  });
  readonly #unauthenticated: SourceLimiter<Unauthenticated>;
  /** The admission slot of each session, released once it authenticates. */
  readonly #slotOf = new WeakMap<ServerSession, Unauthenticated>();
  readonly #refusals: RefusalLog;
  readonly #pools: AddressPools;
  #ipv6Pools: Map<string, Ipv6PrefixPool>;
  readonly #reactor: PlatformReactor;
  readonly #linkSetup: LinkSetup;
  readonly #ctx: SessionContext;
  /** {@linkcode SstpServer.#contextFor}'s contexts, by certificate hashes (they live as long). */
  readonly #contexts = new WeakMap<CertHashes, SessionContext>();
  readonly #startedMs: number;
  #config: ServerConfig;
  #secrets: SecretBook;
  #listener!: TlsListener;
  /** Chain of new connections, and the crypto-binding hashes of recent chains. */
  #certPem: string;
  readonly #hashes = new Map<string, CertHashes>();
  #acceptLoop: Promise<void> = Promise.resolve();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #isClosing = false;
  readonly #pending = new Set<Promise<void>>();
  /** nftables answered at start (an `address-list` can be used after a reload). */
  #nftablesChecked = false;

  private constructor(o: SstpServerOptions, linkSetup: LinkSetup, reactor: PlatformReactor) {
    this.#o = o;
    this.#log = o.logger;
    this.#clock = o.clock ?? systemClock;
    this.#config = o.config;
    this.#secrets = new SecretBook(o.config);
    this.#pools = new AddressPools(o.config.pools);
    this.#ipv6Pools = ipv6PoolsOf(o.config.ipv6Pools);
    this.#reactor = reactor;
    this.#linkSetup = linkSetup;
    this.#startedMs = this.#clock.now();
    this.#certPem = o.certPem;
    this.#unauthenticated = new SourceLimiter({
      max: o.config.sstpServer.maxUnauthenticated,
      maxPerSource: o.config.sstpServer.maxUnauthenticatedPerSource,
    });
    this.#refusals = new RefusalLog(o.logger, this.#clock);
    this.#ctx = {
      config: () => this.#config,
      secrets: () => this.#secrets,
      pools: this.#pools,
      ipv6Pools: () => this.#ipv6Pools,
      // DUID-UUID (RFC 8415 11.5): type 4 and 16 random bytes, for this server's life.
      dhcpv6Duid: new Uint8Array([0, 4, ...crypto.getRandomValues(new Uint8Array(16))]),
      registry: this.#registry,
      platform: o.platform,
      reactor,
      linkSetup,
      certHashes: this.#hashesOf(o.certPem),
      clock: this.#clock,
      logger: o.logger,
      // Login throttling (settings read at start; a reload keeps the counts).
      ...authThrottleFor(o.config, o.observer?.authThrottle),
    };
  }

  /**
   * Binds the listener and starts accepting.
   *
   * @throws {Deno.errors.AddrInUse} and other bind errors; nothing stays open.
   */
  static async start(o: SstpServerOptions): Promise<SstpServer> {
    let linkSetup: LinkSetup;
    try {
      linkSetup = netlinkLinkSetup(o.platform.openNetlink());
    } catch (e) {
      o.logger.warn(`rtnetlink unavailable (${String(e)}); configuring interfaces with ip`);
      linkSetup = ipLinkSetup();
    }
    const reactor = o.platform.createReactor();
    const server = new SstpServer(o, linkSetup, reactor);
    try {
      await server.#openSharedLink();
      await server.#openSessionState();
      await server.#startRadius();
      await server.#listen();
    } catch (e) {
      await server.#ctx.aaa?.close(0);
      await server.#ctx.sharedLink?.close();
      linkSetup.close();
      reactor.close();
      await reactor.closed;
      throw e;
    }
    return server;
  }

  /** `interface-mode: shared`: the one device, up and routed before the first session. */
  async #openSharedLink(): Promise<void> {
    const s = this.#config.sstpServer;
    if (s.interfaceMode !== "shared") return;
    this.#ctx.sharedLink = await SharedLink.open({
      platform: this.#o.platform,
      reactor: this.#reactor,
      netlink: this.#linkSetup.netlink,
      name: s.sharedInterface,
      mtu: s.maxMtu,
      pools: this.#config.pools,
      ipv6Pools: this.#config.ipv6Pools,
      logger: this.#log,
    });
  }

  /** Bound addresses. */
  get addrs(): TransportAddr[] {
    return this.#listener.addrs;
  }

  /** The sessions (read-only use). */
  get sessions(): readonly ServerSession[] {
    return this.#registry.all();
  }

  /**
   * `/ppp secret` history (state dir) and the tools of profile properties:
   * an `address-list` needs nftables, checked here so the server refuses to
   * start rather than ignore the key.
   */
  async #openSessionState(): Promise<void> {
    const dir = this.#o.stateDir;
    if (dir !== undefined) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    this.#ctx.secretState = await SecretState.open(dir, this.#log);
    this.#ctx.tool = this.#o.tool ?? runTool;
    const listed = this.#config.profiles.find((p) => p.addressList !== undefined);
    if (listed !== undefined) {
      const problem = await addressListProblem(this.#ctx.tool);
      if (problem !== undefined) {
        throw new Error(
          `Cannot use address-list of profile "${listed.name}": nftables is unusable: ${problem}`,
        );
      }
      this.#nftablesChecked = true;
    }
  }

  /** RADIUS hook: the `radius`/`ppp-aaa`/`radius-incoming` service, when configured. */
  async #startRadius(): Promise<void> {
    const aaa = await RadiusAaa.create({
      config: this.#config.radius,
      nasIdentifier: Deno.hostname(),
      clock: this.#clock,
      logger: this.#log,
      ...(this.#o.observer?.radius === undefined ? {} : { observer: this.#o.observer.radius }),
    });
    if (aaa === undefined) return;
    this.#ctx.aaa = aaa;
    aaa.accountingOn();
    await aaa.listenIncoming(sessionsTarget(() => this.#registry.all(), this.#clock));
  }

  async #listen(): Promise<void> {
    const s = this.#config.sstpServer;
    const common = {
      port: s.port,
      certPem: this.#o.certPem,
      keyPem: this.#o.keyPem,
      handshakeTimeoutMs: this.#o.handshakeTimeoutMs ?? DEFAULTS.handshakeMs,
      tlsVersion: s.tlsVersion,
      maxHandshakes: s.maxHandshakes,
      maxHandshakesPerSource: s.maxHandshakesPerSource,
      clock: this.#clock,
      logger: this.#log,
      ...(this.#o.observer?.tlsHandshake === undefined
        ? {}
        : { onHandshake: (ms: number) => this.#o.observer?.tlsHandshake?.(ms) }),
      ...(this.#o.tlsEngine === undefined ? {} : { engine: this.#o.tlsEngine }),
      tlsPolicy: { tlsVersion: s.tlsVersion, pfs: s.pfs, ciphers: s.ciphers, forceAes: s.forceAes },
      ...(s.verifyClientCertificate && this.#o.caPem !== undefined
        ? { clientCertificate: { caPem: this.#o.caPem } }
        : {}),
    };
    const wildcard = s.listen.length === 2 && s.listen.includes("0.0.0.0") &&
      s.listen.includes("::");
    const engine = this.#o.tlsEngine;
    if (engine !== undefined && (!s.tls || s.proxyProtocol !== "no")) {
      // Said once, so that an administrator who asked for the engine knows it is not in use.
      this.#log.warn(
        `tls-engine ${engine.name} serves direct TLS only: with ${
          s.tls ? `proxy-protocol: ${s.proxyProtocol}` : "tls: no"
        } the listener uses node:tls`,
      );
    }
    if (!s.tls) {
      this.#listener = await this.#listenOffloaded(wildcard);
    } else if (s.proxyProtocol !== "no") {
      // PROXY protocol hook: behind a load balancer, the header names the real client.
      const proxied = {
        ...common,
        mode: s.proxyProtocol === "yes" ? "any" as const : s.proxyProtocol,
        trusted: s.proxyProtocolFrom,
      };
      try {
        this.#listener = await listenProxyTls({
          ...proxied,
          hostname: wildcard ? ["::"] : s.listen,
        });
      } catch (e) {
        if (!wildcard) throw e;
        this.#listener = await listenProxyTls({ ...proxied, hostname: ["0.0.0.0"] });
      }
    } else if (wildcard) {
      // "::" is dual-stack on Linux and binding "0.0.0.0" beside it collides;
      // without IPv6 (a namespace with it disabled) fall back to IPv4 only.
      try {
        this.#listener = await listenTls({ ...common, hostname: "::" });
      } catch {
        this.#listener = await listenTls({ ...common, hostname: "0.0.0.0" });
      }
    } else {
      this.#listener = await listenTls({ ...common, hostname: s.listen });
    }
    const where = this.#listener.addrs.map((a) => `${a.hostname}:${a.port}`).join(", ");
    this.#log.info(
      `listening on ${where}; interfaces via ${this.#linkSetup.kind}` +
        `${s.interfaceMode === "shared" ? ` (shared: ${s.sharedInterface})` : ""}; ` +
        `${this.#secrets.size} secrets, max-sessions ${s.maxSessions}`,
    );
    this.#acceptLoop = this.#accept();
    this.#sweep = setInterval(() => this.#sweepTimeouts(), this.#o.sweepIntervalMs ?? 1000);
  }

  /**
   * TLS offload hook (`tls: no`): plain TCP behind a TLS-terminating
   * balancer; `certPem` is the balancer's certificate (`certificate-hash-from`).
   */
  async #listenOffloaded(wildcard: boolean) {
    const s = this.#config.sstpServer;
    const options = {
      port: s.port,
      certPem: this.#o.certPem,
      handshakeTimeoutMs: this.#o.handshakeTimeoutMs ?? DEFAULTS.handshakeMs,
      maxHandshakes: s.maxHandshakes,
      clock: this.#clock,
      logger: this.#log,
      ...(s.proxyProtocol === "no" ? {} : {
        proxy: {
          mode: s.proxyProtocol === "yes" ? "any" as const : s.proxyProtocol,
          trusted: s.proxyProtocolFrom,
        },
      }),
    };
    let listener: TlsListener;
    try {
      listener = await listenPlainTcp({ ...options, hostname: wildcard ? ["::"] : s.listen });
    } catch (e) {
      if (!wildcard) throw e;
      listener = await listenPlainTcp({ ...options, hostname: ["0.0.0.0"] });
    }
    const where = listener.addrs.map((a) => `${a.hostname}:${a.port}`).join(", ");
    this.#log.warn(
      `tls: no: SSTP is served WITHOUT TLS (cleartext HTTP and PPP) on ${where}; only the ` +
        "TLS-terminating load balancer may reach it: listen on a private address" +
        (wildcard ? " (listening on every address now)" : ""),
    );
    return listener;
  }

  async #accept(): Promise<void> {
    for await (const duplex of this.#listener) {
      this.#track(this.#admit(duplex), duplex);
    }
  }

  /** Keeps `task` (admission, then the session) for shutdown; a failure closes `duplex`. */
  #track(task: Promise<void>, duplex: ByteDuplex): void {
    const tracked = task.catch((e) => {
      this.#log.error(`connection handling failed: ${String(e)}`);
      duplex.close();
    });
    this.#pending.add(tracked);
    tracked.finally(() => this.#pending.delete(tracked));
  }

  async #admit(duplex: ByteDuplex): Promise<void> {
    const callerId = formatCallerId(duplex.remoteAddr);
    const log = this.#log.child(callerId);
    if (this.#isClosing) return duplex.close();
    const source = sourceKey(duplex.remoteAddr.hostname);
    const slot: Unauthenticated = {
      close: (reason) => {
        log.info(`dropped before login: ${reason}`);
        duplex.close();
      },
    };
    const admission = this.#unauthenticated.admit(
      source,
      slot,
      duplex.info.acceptedMs ?? this.#clock.now(),
    );
    if (!admission.admitted) {
      this.#refusals.refused(
        source,
        `max-unauthenticated-per-source ${this.#unauthenticated.limits.maxPerSource} reached`,
      );
      this.#o.observer?.refused("per-source-limit");
      return duplex.close();
    }
    admission.evicted?.close(
      `max-unauthenticated ${this.#unauthenticated.limits.max} reached; ` +
        "the oldest connection not logged in makes room",
    );
    let handedOver = false;
    try {
      handedOver = await this.#preambleAndSession(duplex, callerId, log, slot);
    } finally {
      if (!handedOver) this.#unauthenticated.release(slot);
    }
  }

  /** Reads the HTTP request and starts the session; false when it did not start. */
  async #preambleAndSession(
    duplex: ByteDuplex,
    callerId: string,
    log: Logger,
    slot: Unauthenticated,
  ): Promise<boolean> {
    let got;
    try {
      got = await readPreamble(
        duplex.readable,
        parseSstpHttpRequest,
        this.#o.preambleTimeoutMs ?? DEFAULTS.preambleMs,
        "SSTP HTTP request",
      );
    } catch (e) {
      const malformed = e instanceof ProtocolError && e.code === ERROR_CODE.BAD_HTTP &&
        !e.message.includes("connection closed");
      log.info(`dropped before SSTP: ${e instanceof Error ? e.message : String(e)}`);
      this.#o.observer?.refused("preamble");
      if (malformed) await respond(duplex, 400);
      duplex.close();
      return false;
    }
    const { request } = got.header;
    const status = validateSstpHttpRequest(request);
    if (status !== 200) {
      log.info(
        `HTTP ${peerText(request.method, 32)} ${peerText(request.path, 80)}: answered ${status}`,
      );
      this.#o.observer?.refused(`http-${status}`);
      await respond(duplex, status);
      duplex.close();
      return false;
    }
    const max = this.#config.sstpServer.maxSessions;
    if (this.#isClosing || this.#registry.size >= max) {
      log.warn(this.#isClosing ? "refused: shutting down" : `refused: max-sessions ${max} reached`);
      this.#o.observer?.refused(this.#isClosing ? "shutting-down" : "max-sessions");
      await respond(duplex, 503);
      duplex.close();
      return false;
    }
    if (!(await respond(duplex, 200))) {
      duplex.close();
      return false;
    }
    // Dropped (deadline, eviction) while the 200 was being written.
    if (!this.#unauthenticated.has(slot)) {
      duplex.close();
      return false;
    }
    const correlationId = request.correlationId ?? `local-${crypto.randomUUID()}`;
    // The crypto binding hashes the leaf this connection's handshake presented
    // (a certificate reload may have happened since).
    const served = this.#listener.certificateOf(duplex) ?? this.#certPem;
    const ctx = this.#contextFor(this.#hashesOf(served));
    const session = startSession(ctx, duplex, got.leftover, correlationId, callerId);
    session.log.info(`SSTP request accepted (host ${peerText(request.host ?? "-")}); negotiating`);
    this.#o.observer?.sessionStarted(session);
    // The slot stays taken until the session authenticates (the registry
    // then releases it) or ends.
    slot.close = (reason) => {
      session.close(reason);
      duplex.close();
    };
    this.#slotOf.set(session, slot);
    const release = () => this.#unauthenticated.release(slot);
    session.done.then(release, release);
    // Tracked on its own: this frame (HTTP header, preamble state) is not kept
    // for the life of the session.
    this.#track(session.done, duplex);
    return true;
  }

  #sweepTimeouts(): void {
    const now = this.#clock.now();
    const deadlineMs = this.#config.sstpServer.authenticationDeadlineMs;
    for (const late of this.#unauthenticated.takeExpired(now, deadlineMs)) {
      late.close(`authentication-deadline ${formatDuration(deadlineMs)} reached`);
    }
    for (const s of this.#registry.all()) {
      if (s.state !== "connected" || s.connectedMs === undefined || s.profile === undefined) {
        continue;
      }
      const { sessionTimeoutMs, idleTimeoutMs } = s.profile;
      // `limit-bytes-in`/`-out` of the secret: in = what the client sent (rx).
      const inLimit = s.secret?.limitBytesIn ?? null;
      const outLimit = s.secret?.limitBytesOut ?? null;
      if (inLimit !== null && s.runner.counters.rxBytes >= inLimit) {
        s.close(`limit-bytes-in ${inLimit} reached`);
      } else if (outLimit !== null && s.runner.counters.txBytes >= outLimit) {
        s.close(`limit-bytes-out ${outLimit} reached`);
      } else if (sessionTimeoutMs !== null && now - s.connectedMs >= sessionTimeoutMs) {
        s.close(`session-timeout ${formatDuration(sessionTimeoutMs)} reached`);
      } else if (idleTimeoutMs !== null && now - s.runner.counters.lastDataMs >= idleTimeoutMs) {
        s.close(`idle-timeout ${formatDuration(idleTimeoutMs)} reached`);
      }
    }
  }

  /**
   * Takes new secrets, profiles, pools and static interfaces (SIGHUP).
   * Sessions stay up; the `sstp-server` section needs a restart.
   */
  reload(config: ServerConfig): void {
    const listed = config.profiles.find((p) => p.addressList !== undefined);
    if (listed !== undefined && !this.#nftablesChecked) {
      this.#log.error(
        `configuration not reloaded: profile "${listed.name}" sets address-list, which was ` +
          "not checked against nftables at start; restart the server to use it",
      );
      return;
    }
    this.#config = { ...config, sstpServer: this.#config.sstpServer };
    this.#secrets = new SecretBook(config);
    this.#pools.replace(config.pools);
    this.#ipv6Pools = ipv6PoolsOf(config.ipv6Pools, this.#ipv6Pools);
    // interface-mode shared: pools the new file adds are routed into the one device too.
    this.#ctx.sharedLink?.routePools(config.pools, config.ipv6Pools).catch((e) =>
      this.#log.error(`interface-mode shared: Cannot route the new pools: ${String(e)}`)
    );
    this.#log.info(
      `configuration reloaded: ${this.#secrets.size} secrets, ${config.pools.length} pools; ` +
        `${this.#registry.size} sessions kept`,
    );
  }

  /**
   * Serves new connections with another certificate (SIGHUP); sessions keep
   * theirs, and the crypto binding of new sessions hashes the new leaf. The
   * caller checks the pair first (`loadServerCertificate`).
   *
   * @throws the listener's error; the old certificate then stays in use.
   */
  async setCertificate(certPem: string, keyPem: string, caPem?: string): Promise<void> {
    await this.#listener.setCertificate({
      certPem,
      keyPem,
      ...(caPem === undefined ? {} : { caPem }),
    });
    this.#certPem = certPem;
  }

  /**
   * The session context for connections served with `hashes`: one object
   * per certificate, not a copy per session (10,000 sessions kept 10,000).
   */
  #contextFor(hashes: CertHashes): SessionContext {
    let ctx = this.#contexts.get(hashes);
    if (ctx === undefined) {
      ctx = { ...this.#ctx, certHashes: hashes };
      this.#contexts.set(hashes, ctx);
    }
    return ctx;
  }

  #hashesOf(certPem: string): CertHashes {
    let hashes = this.#hashes.get(certPem);
    if (hashes === undefined) {
      hashes = certHashes(leafCertificateDer(certPem));
      // Connections still in their preamble may need the previous chain: keep a few.
      if (this.#hashes.size >= 4) this.#hashes.delete(this.#hashes.keys().next().value!);
      this.#hashes.set(certPem, hashes);
    }
    return hashes;
  }

  /** Ends the sessions on interface `target`, or of user `target`. */
  disconnect(target: string, reason = "disconnected by administrator"): string[] {
    const found = this.#registry.find(target);
    for (const s of found) s.close(reason);
    return found.map((s) => s.interfaceName ?? s.callerId);
  }

  /** Every session, as `sstp status` shows it. */
  status(): ServerSessionStatus[] {
    const now = this.#clock.now();
    return this.#registry.all().map((s) => {
      const c = s.runner.counters;
      const info = s.duplex.info;
      return {
        name: s.interfaceName ?? s.tun?.name ?? "",
        user: s.user ?? "",
        callerId: s.callerId,
        address: s.peerAddress ?? "",
        localAddress: s.localAddress ?? "",
        state: s.state,
        sstpState: s.engine.sstpState,
        uptimeMs: Math.round(now - (s.connectedMs ?? s.startedMs)),
        idleTimeMs: Math.round(now - c.lastDataMs),
        mtu: s.connectedMs === undefined ? 0 : s.engine.mtu,
        encoding: info.cipher === undefined ? (info.tlsVersion ?? "") : describeNegotiated({
          name: info.cipher,
          ...(info.tlsVersion === undefined ? {} : { version: info.tlsVersion }),
        }),
        correlationId: s.correlationId,
        rxBytes: c.rxBytes,
        txBytes: c.txBytes,
        rxPackets: c.rxPackets,
        txPackets: c.txPackets,
        ...(s.runner.tap !== undefined && s.profile?.bridge !== undefined
          ? { bridge: `${s.runner.tap.name} in ${s.profile.bridge}` }
          : {}),
        ...this.#sessionExtras(s),
        ...(s.ipv6 === undefined ? {} : { ipv6LinkLocal: s.ipv6.peerLinkLocal }),
        ...(s.ipv6?.prefix === undefined ? {} : { ipv6Prefix: s.ipv6.prefix }),
        ...(s.ipv6?.delegatedPrefix === undefined
          ? {}
          : { ipv6DelegatedPrefix: s.ipv6.delegatedPrefix }),
        ...routeStatus(formatPppRoutes(s.routes())),
      };
    });
  }

  /** The `/ppp secret` and profile fields of a session's status. */
  #sessionExtras(s: ServerSession): Partial<ServerSessionStatus> {
    const history = s.user === undefined ? {} : this.#ctx.secretState?.get(s.user) ?? {};
    const limitIn = s.secret?.limitBytesIn ?? null;
    const limitOut = s.secret?.limitBytesOut ?? null;
    return {
      ...(s.profile === undefined ? {} : { profile: s.profile.name }),
      ...(s.profile?.rateLimitText === undefined ? {} : { rateLimit: s.profile.rateLimitText }),
      ...(limitIn === null ? {} : { limitBytesIn: limitIn }),
      ...(limitOut === null ? {} : { limitBytesOut: limitOut }),
      ...(history.lastLoggedOut === undefined ? {} : { lastLoggedOut: history.lastLoggedOut }),
      ...(history.lastCallerId === undefined ? {} : { lastCallerId: history.lastCallerId }),
      droppedPoliced: s.runner.counters.droppedPoliced,
      droppedSpoofed: s.runner.counters.droppedSpoofed,
    };
  }

  /** `last-logged-out` / `last-caller-id` of the configured secrets that have any. */
  secretHistory(): SecretHistoryStatus[] {
    const state = this.#ctx.secretState;
    if (state === undefined) return [];
    return this.#config.secrets.flatMap((s) => {
      const h = state.get(s.name);
      return h.lastCallerId === undefined && h.lastLoggedOut === undefined
        ? []
        : [{ name: s.name, ...h }];
    });
  }

  /** Server uptime in ms. */
  get uptimeMs(): number {
    return this.#clock.now() - this.#startedMs;
  }

  /**
   * Stops accepting, sends Call Disconnect to every client, waits up to
   * `graceMs` for them, then cuts the rest; interfaces, routes, addresses and
   * the reactor are released before it resolves.
   */
  async shutdown(reason = "server shutting down", graceMs = 5000): Promise<void> {
    if (this.#isClosing) return;
    this.#isClosing = true;
    clearInterval(this.#sweep);
    this.#listener.close();
    const sessions = this.#registry.all();
    if (sessions.length > 0) this.#log.info(`disconnecting ${sessions.length} sessions`);
    for (const s of sessions) s.close(reason);
    const all = Promise.all(sessions.map((s) => s.done));
    if (!(await settlesWithin(all, graceMs))) {
      for (const s of this.#registry.all()) {
        s.log.warn("no Call Disconnect Ack in time; closing the connection");
        s.duplex.close();
      }
      await all;
    }
    // Let the connections flush their last bytes and TLS close_notify
    // (node:tls ends them gracefully) before the process may exit.
    await settlesWithin(Promise.all(sessions.map((s) => s.duplex.closed)), graceMs);
    await this.#listener.closed;
    await this.#acceptLoop;
    await Promise.all(this.#pending);
    await this.#ctx.aaa?.close();
    await this.#ctx.secretState?.flush();
    await this.#ctx.sharedLink?.close();
    this.#linkSetup.close();
    this.#reactor.close();
    await this.#reactor.closed;
    this.#log.info("server stopped");
  }
}

function formatCallerId(a: TransportAddr): string {
  const host = a.hostname.startsWith("::ffff:") ? a.hostname.slice(7) : a.hostname;
  return host.includes(":") ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

/** Writes an HTTP response; false when the connection is already gone. */
async function respond(duplex: ByteDuplex, status: number): Promise<boolean> {
  const writer = duplex.writable.getWriter();
  try {
    const bytes = buildSstpHttpResponse({ status, date: new Date() });
    return await settlesWithin(writer.write(bytes), 5000);
  } catch {
    return false;
  } finally {
    writer.releaseLock();
  }
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The `ipv6-pools` as pool objects. On reload a pool whose prefix and length
 * did not change is kept (with the prefixes its sessions hold); a changed
 * one starts empty, and sessions give their prefixes back to the old one.
 */
function ipv6PoolsOf(
  configs: readonly Ipv6PoolConfig[],
  previous?: ReadonlyMap<string, Ipv6PrefixPool>,
): Map<string, Ipv6PrefixPool> {
  const out = new Map<string, Ipv6PrefixPool>();
  for (const c of configs) {
    const old = previous?.get(c.name);
    const same = old !== undefined && old.prefixLength === c.prefixLength &&
      formatIpv6Prefix(old.prefix) === c.prefix;
    out.set(c.name, same ? old : new Ipv6PrefixPool(c.name, c.prefix, c.prefixLength));
  }
  return out;
}

/** A session's routes in its status: only the families it has. */
function routeStatus(r: { ipv4: string[]; ipv6: string[] }): Partial<ServerSessionStatus> {
  return {
    ...(r.ipv4.length === 0 ? {} : { routes: r.ipv4 }),
    ...(r.ipv6.length === 0 ? {} : { ipv6Routes: r.ipv6 }),
  };
}
