/**
 * One server session after the HTTP 200: engine + runner, the interface,
 * and everything undone at the end.
 *
 * Flow:
 * 1. The engine authenticates the user against the {@linkcode SecretBook};
 *    once authenticated, `assignAddresses` enforces `only-one` and takes the
 *    addresses (secret, profile or pool).
 * 2. `linkUp` (IPCP Opened and a valid Call Connected): the TUN device is
 *    opened on the server's one reactor, named after the static interface
 *    or `sstp-USER`, given its addresses and the secret's routes, and
 *    proxy-ARP on the LAN interface when configured.
 * 3. The runner ends (peer, timeout, admin, shutdown): the TUN is closed
 *    and awaited (routes and addresses go with it), proxy-ARP entries are
 *    removed, the addresses go back to their pools, the entry leaves the
 *    registry.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { quotePeerText } from "../peer_text.ts";
import type { Platform, PlatformReactor, PlatformTun } from "../platform.ts";
import type { TunDevice } from "../tun.ts";
import type { ByteDuplex } from "../duplex.ts";
import type { IpConfig, Ipv6LinkConfig } from "../tunnel/events.ts";
import type { AddressAssignment } from "../ppp/link.ts";
import type { CertHashes } from "../sstp/crypto_binding.ts";
import type { PppProfile, ServerConfig } from "../config/server_config.ts";
import type { SessionEngine } from "../tunnel/session_engine.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { createServerEngine } from "../tunnel/server_engine.ts";
import { TunnelRunner } from "../pipeline/runner.ts";
import { formatDuration } from "../config/duration.ts";
import { NetConfig } from "../net/net_config.ts";
import { joinBridge } from "../net/bridge_port.ts";
import type { AddressPools } from "./address_pool.ts";
import type { SecretBook, SessionAddresses } from "./secrets.ts";
import type { SessionEntry, SessionRegistry } from "./session_registry.ts";
import type { LinkSetup } from "./_link_setup.ts";
import type { RadiusAaa, SessionAccounting } from "./radius_aaa.ts";
import {
  framedMtuCap,
  framedRoutes,
  radiusAddresses,
  radiusProfile,
  terminateCause,
} from "./radius_session.ts";
import { isIpv6Route, type PppRoute } from "../config/ppp_routes.ts";
import { framedIpv6Prefixes, framedIpv6Routes } from "./radius_ipv6_session.ts";
import type { RadiusAuthorization } from "../radius/radius_auth.ts";
import type { AuthThrottle } from "./auth_throttle.ts";
import { SessionSources } from "./session_sources.ts";
import type { Ipv6LinkService, RunResult } from "../pipeline/runner.ts";
import type { PppSecret } from "../config/server_config.ts";
import { canonicalAddress } from "./secrets.ts";
import type { SecretState } from "./secret_state.ts";
import { buildDataPlanePolicy, type DataPlanePolicySpec } from "../tunnel/data_plane_policy.ts";
import { TokenBucket } from "../tunnel/token_bucket.ts";
import { applyTcRateLimit, policerBucketBytes } from "../net/tc_rate_limit.ts";
import { runTool, type ToolRunner } from "../net/tool_runner.ts";
import { addToAddressList, removeFromAddressList } from "../net/address_list.ts";
import { runSessionScript, type SessionScriptEnv } from "../net/session_script.ts";
import type { Ipv6PrefixPool } from "../ipv6/prefix_pool.ts";
import { startServerIpv6 } from "./_ipv6_link.ts";
import type { SharedLink } from "./_shared_link.ts";
import type { SharedIpv6Link } from "./_ipv6_link.ts";
import type { SharedTunPort } from "../tunnel/shared_tun.ts";
import type { RateLimitDirection } from "../config/rate_limit.ts";

/** A session as the server keeps it. */
export interface ServerSession extends SessionEntry {
  /** The client's TLS connection. */
  readonly duplex: ByteDuplex;
  /** SSTP + PPP protocol state. */
  readonly engine: SessionEngine;
  /** The data path between the connection and the TUN device (traffic counters). */
  readonly runner: TunnelRunner;
  /** Logger tagged with the correlation id and caller. */
  readonly log: Logger;
  /** The session's TUN device, once the link is up. */
  tun?: PlatformTun;
  /** Addresses taken from a pool (or fixed) for this session, once authenticated. */
  addresses?: SessionAddresses;
  /** Profile at login (timeouts apply from it). */
  profile?: PppProfile;
  /** Local secret at login (`limit-bytes-in`/`-out` apply from it). */
  secret?: PppSecret;
  /** Set when the session has asked to end (timeouts, admin, shutdown). */
  endReason?: string;
  /** Settles when everything of the session is released. */
  done: Promise<void>;
  /** RADIUS: Acct-Session-Id, the Access-Accept's authorization, accounting. */
  acctSessionId?: string;
  /** What the Access-Accept said (addresses, timeouts, rate limit), when RADIUS authenticated the user. */
  radius?: RadiusAuthorization;
  /** Framed-Route and Framed-IPv6-Route routes of the Access-Accept, added through the session's device. */
  radiusRoutes?: PppRoute[];
  /** The secret's and RADIUS's routes to the client, IPv4 and IPv6 (for status). */
  routes: () => PppRoute[];
  /** Framed-IPv6-Prefix: the /64 advertised to the client instead of one from a pool. */
  radiusIpv6Prefix?: string;
  /** Sends Interim-Update and Stop for this session, when RADIUS accounting is on. */
  accounting?: SessionAccounting;
  /** IPv6 (IPV6CP Opened): the client's link-local and the /64 routed to it. */
  ipv6?: {
    peerLinkLocal: string;
    localLinkLocal: string;
    prefix?: string;
    /** The prefix delegated by DHCPv6-PD (`dhcpv6-pd-pool`), routed via the session. */
    delegatedPrefix?: string;
  };
}

/** What a session needs from its server. */
export interface SessionContext {
  /** The current configuration (it changes on reload). */
  config: () => ServerConfig;
  /** The current users and profiles (they change on reload). */
  secrets: () => SecretBook;
  /** Address pools shared by all sessions. */
  pools: AddressPools;
  /** Every session, for `only-one`, status and disconnect. */
  registry: SessionRegistry<ServerSession>;
  /** Opens TUN devices. */
  platform: Platform;
  /** The wake-up source all sessions' TUN devices share. */
  reactor: PlatformReactor;
  /** Configures each session's interface. */
  linkSetup: LinkSetup;
  /** Hashes of the certificate this connection was served with (for the crypto binding). */
  certHashes: CertHashes;
  /** Time source for timeouts and counters. */
  clock: Clock;
  /** The server's logger; sessions log through a child of it. */
  logger: Logger;
  /** RADIUS service (`radius` + `ppp-aaa`), when configured. */
  aaa?: RadiusAaa;
  /** Login throttling shared by all sessions (absent: `auth-throttle: no`). */
  throttle?: AuthThrottle;
  /** `last-logged-out` / `last-caller-id` per user (absent: not kept). */
  secretState?: SecretState;
  /** Runs `tc` and `nft` (injected in tests; default: the real tools). */
  tool?: ToolRunner;
  /** `ipv6-pools` by name. */
  ipv6Pools?: () => ReadonlyMap<string, Ipv6PrefixPool>;
  /** The server's DHCPv6 DUID (stable for the server's life). */
  dhcpv6Duid?: Uint8Array;
  /** `interface-mode: shared`: the one device every session attaches to (absent: one per session). */
  sharedLink?: SharedLink;
}

/** Starts the session on `duplex` (the HTTP 200 is already sent). */
export function startSession(
  ctx: SessionContext,
  duplex: ByteDuplex,
  leftover: Uint8Array,
  correlationId: string,
  callerId: string,
): ServerSession {
  const config = ctx.config();
  const server = config.sstpServer;
  const id = ctx.registry.nextId();
  const log = ctx.logger.child(`${correlationId}/${callerId}`);
  let linkUpTask: Promise<unknown> | undefined;
  let isEnded = false;
  let proxyArp: NetConfig | undefined;
  /** The TAP device of a bridged session (profile `bridge`), once BCP is open. */
  let tap: PlatformTun | undefined;
  let bridgeUpTask: Promise<unknown> | undefined;
  // Login throttling: by the TCP peer's address (and the user names it tries).
  const source = duplex.remoteAddr.hostname;
  // RouterOS caller-id for SSTP: the client's address (the PROXY header's when present).
  const callerAddress = canonicalAddress(callerHost(callerId));
  const tool = ctx.tool ?? runTool;
  /** The nftables list the client address was added to, to remove at the end. */
  let addressListed: { list: string; address: string } | undefined;
  /** `on-up` ran: `on-down` runs at the end with the same variables. */
  let scriptEnv: SessionScriptEnv | undefined;
  let onUpTask: Promise<unknown> | undefined;
  const throttle = ctx.throttle;
  let attemptedUser = "";
  /** Set while the throttle holds the call back. */
  let pendingStart: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;
  let closeBeforeStart = false;
  /** The source check: IPv4 from link-up, IPv6 prefixes as they are routed and released. */
  const sources = new SessionSources();

  let addressesReleased = false;
  /** Gives the session's pool addresses back, once whatever path ends the session. */
  const releaseAddresses = (): void => {
    if (addressesReleased) return;
    addressesReleased = true;
    for (const a of session.addresses?.release ?? []) ctx.pools.release(a);
  };

  const assignAddresses = (user: string): AddressAssignment | ProtocolError => {
    throttle?.recordSuccess(source, user, ctx.clock.now());
    ctx.registry.setUser(session, user);
    const entry = ctx.secrets().find(user, callerAddress);
    // RADIUS hook: a user RADIUS accepted gets its addresses from the Access-Accept.
    if (entry === undefined && session.radius !== undefined) {
      return assignRadius(user, session.radius);
    }
    if (entry === undefined) {
      return new ProtocolError(
        "auth",
        ERROR_CODE.AUTH_FAILED,
        `User ${quotePeerText(user)} cannot log in`,
      );
    }
    log.info(`user ${quotePeerText(user)}: profile "${entry.profile.name}"`);
    const other = entry.profile.onlyOne ? ctx.registry.otherSessionOf(user, session) : undefined;
    if (other !== undefined) {
      log.warn(
        `only-one: user ${quotePeerText(user)} already has a session ` +
          `(${other.interfaceName ?? "negotiating"} from ${other.callerId}); refusing this login`,
      );
      return new ProtocolError(
        "auth",
        ERROR_CODE.AUTH_FAILED,
        `User ${quotePeerText(user)} already has a session (only-one)`,
      );
    }
    if (session.addresses !== undefined) {
      // The link asks once per session; a second request would overwrite
      // (and so leak) the addresses already taken from the pools.
      return new ProtocolError(
        "ipcp",
        ERROR_CODE.NO_ADDRESS,
        `Cannot assign addresses to ${quotePeerText(user)} twice in one session`,
      );
    }
    const addresses = ctx.secrets().assignAddresses(user, ctx.pools);
    if (addresses instanceof ProtocolError) {
      log.warn(`refusing ${quotePeerText(user)}: ${addresses.message}`);
      return addresses;
    }
    session.addresses = addresses;
    session.profile = entry.profile;
    session.secret = entry.secret;
    void ctx.secretState?.loggedIn(user, callerAddress);
    session.localAddress = addresses.localAddress;
    session.peerAddress = addresses.peerAddress;
    log.info(`address ${addresses.peerAddress} (local ${addresses.localAddress})`);
    const [dns1, dns2] = addresses.dns;
    return {
      localAddress: addresses.localAddress,
      peerAddress: addresses.peerAddress,
      ...(dns1 === undefined ? {} : { dns: dns2 === undefined ? [dns1] : [dns1, dns2] }),
    };
  };

  // RADIUS hook (`ppp-aaa use-radius`): local secrets first, then RADIUS.
  const aaa = ctx.aaa;
  const acctSessionId = aaa?.nextSessionId();
  const call = {
    callingStationId: callerHost(callerId),
    acctSessionId: acctSessionId ?? "",
    nasPort: id,
  };
  const assignRadius = (
    user: string,
    a: RadiusAuthorization,
  ): AddressAssignment | ProtocolError => {
    const base = ctx.config().profiles.find((p) => p.name === server.defaultProfile);
    if (base === undefined) {
      return new ProtocolError("auth", ERROR_CODE.AUTH_FAILED, `User "${user}" has no profile`);
    }
    const profile = radiusProfile(base, a);
    if (profile.onlyOne && ctx.registry.otherSessionOf(user, session) !== undefined) {
      log.warn(`only-one: RADIUS user "${user}" already has a session; refusing this login`);
      return new ProtocolError(
        "auth",
        ERROR_CODE.AUTH_FAILED,
        `User "${user}" already has a session (only-one)`,
      );
    }
    const addresses = radiusAddresses(a, profile, ctx.pools);
    if (addresses instanceof ProtocolError) {
      log.warn(`refusing RADIUS user "${user}": ${addresses.message}`);
      return addresses;
    }
    session.addresses = addresses;
    session.profile = profile;
    session.localAddress = addresses.localAddress;
    session.peerAddress = addresses.peerAddress;
    log.info(
      `RADIUS user "${user}": address ${addresses.peerAddress} (local ${addresses.localAddress})`,
    );
    const framed = framedRoutes(a.framedRoutes, addresses.peerAddress);
    for (const p of framed.problems) log.warn(`RADIUS user "${user}": ${p}; route ignored`);
    const framed6 = framedIpv6Routes(a.framedIpv6Routes ?? []);
    const prefixes6 = framedIpv6Prefixes(a.framedIpv6Prefixes ?? []);
    for (const p of [...framed6.problems, ...prefixes6.problems]) {
      log.warn(`RADIUS user "${user}": ${p}; ignored`);
    }
    const routes = [...framed.routes, ...framed6.routes, ...prefixes6.routes];
    if (routes.length > 0) session.radiusRoutes = routes;
    if (prefixes6.advertised !== undefined) session.radiusIpv6Prefix = prefixes6.advertised;
    if (a.framedMtu !== undefined) {
      // IPv6 is on with a pool, a Framed-IPv6-Prefix or an IPv6 route (the `ipv6` hook below).
      const ipv6 = profile.remoteIpv6PrefixPool !== undefined ||
        prefixes6.advertised !== undefined || routes.some(isIpv6Route);
      const mtu = framedMtuCap(a.framedMtu, ipv6);
      if (mtu.problem !== undefined) log.warn(`RADIUS user "${user}": ${mtu.problem}`);
      if (mtu.cap !== undefined) {
        engine.limitMtu(mtu.cap);
        log.info(`RADIUS user "${user}": Framed-MTU caps the interface MTU at ${mtu.cap}`);
      }
    }
    const [dns1, dns2] = addresses.dns;
    return {
      localAddress: addresses.localAddress,
      peerAddress: addresses.peerAddress,
      ...(dns1 === undefined ? {} : { dns: dns2 === undefined ? [dns1] : [dns1, dns2] }),
    };
  };

  const engine = createServerEngine({
    certHashes: ctx.certHashes,
    authentication: server.authentication,
    lookupPassword: (user) => {
      attemptedUser = user;
      if (throttle?.isRefused(source, user, ctx.clock.now())) {
        // Fails as a wrong password would: the prober learns nothing.
        log.debug(`auth-throttle: refusing ${quotePeerText(user)} without checking the password`);
        return undefined;
      }
      const problem = ctx.secrets().callerIdProblem(user, callerAddress);
      if (problem !== undefined) log.warn(`refusing ${quotePeerText(user)}: ${problem}`);
      return ctx.secrets().lookupPassword(user, callerAddress);
    },
    onAuthFailure: () => {
      const line = throttle?.recordFailure(source, attemptedUser, ctx.clock.now());
      if (line !== undefined) ctx.logger.warn(line);
    },
    ...(aaa?.useRadius
      ? {
        remoteAuthenticate: async (creds) => {
          attemptedUser = creds.user;
          if (throttle?.isRefused(source, creds.user, ctx.clock.now())) {
            // A throttled login is not sent to RADIUS either; it fails as a wrong password would.
            return {
              ok: false as const,
              error: new ProtocolError(
                "auth",
                ERROR_CODE.AUTH_FAILED,
                "Authentication failed: login throttled",
              ),
            };
          }
          const r = await aaa.authenticate(creds, call);
          if (r.authorization !== undefined) session.radius = r.authorization;
          return r.verdict;
        },
        // EAP hook (RFC 3579): the EAP conversation of a user not in the secrets goes to RADIUS.
        remoteEap: (identity: string) => {
          attemptedUser = identity;
          if (throttle?.isRefused(source, identity, ctx.clock.now())) {
            // Not sent to RADIUS; fails as a wrong password would.
            const error = new ProtocolError(
              "auth",
              ERROR_CODE.AUTH_FAILED,
              "Authentication failed: login throttled",
            );
            return { respond: () => Promise.resolve({ kind: "failure" as const, error }) };
          }
          return aaa.eapConversation(identity, call, (a) => session.radius = a);
        },
      }
      : {}),
    assignAddresses,
    // IPV6CP runs for users whose profile gives them an IPv6 prefix pool
    // (RouterOS: IPv6 is on when the profile has remote-ipv6-prefix-pool),
    // or who have IPv6 routes or a Framed-IPv6-Prefix; for the others it
    // is Protocol-Rejected and IPv4 works as before.
    ipv6: () => {
      const p = session.profile;
      if (p === undefined) return false;
      if (
        p.remoteIpv6PrefixPool === undefined && session.radiusIpv6Prefix === undefined &&
        sessionRoutes6().length === 0
      ) return false;
      return p.localIpv6InterfaceId === undefined ? {} : { interfaceId: p.localIpv6InterfaceId };
    },
    serverName: "sstp",
    helloMs: server.keepaliveTimeoutMs,
    mru: server.maxMru,
    maxMtu: server.maxMtu,
    ...(server.mrru !== undefined ? { mrru: server.mrru } : {}),
    linkUpMs: server.linkUpTimeoutMs,
    // Asked when the Network phase begins, after authentication chose the profile.
    bridge: () => session.profile?.bridge !== undefined,
    // MS-SSTP 2.2.10 bitmask: 2 = SHA-256 only, 3 = SHA-1 and SHA-256.
    hashBitmask: server.cryptoBinding === "sha256-only" ? 2 : 3,
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    logger: log,
  });

  /** The IPv6 prefixes accounting reports (Framed-IPv6-Prefix, Delegated-IPv6-Prefix). */
  const accountedIpv6: { prefix?: string; delegatedPrefix?: string } = {};
  /** The secret's and RADIUS's routes to the client (a router behind it), IPv4 and IPv6. */
  const allRoutes = (): PppRoute[] => [
    ...(ctx.secrets().find(session.user ?? "")?.secret.routes ?? []),
    ...(session.radiusRoutes ?? []),
  ];
  /** The IPv4 routes: added at link-up (IPCP). */
  const sessionRoutes = (): PppRoute[] => allRoutes().filter((r) => !isIpv6Route(r));
  /** The IPv6 routes: added once IPV6CP is up, sources inside them allowed from then on. */
  const sessionRoutes6 = (): PppRoute[] => allRoutes().filter(isIpv6Route);

  /**
   * `interface-mode: shared` IPv6: the link-local on the shared device, the
   * client's link-local, /64 and delegated prefix routed to the session's port.
   */
  const sharedIpv6 = (shared: SharedLink, ip6: Ipv6LinkConfig): SharedIpv6Link => {
    const port = session.tun as SharedTunPort;
    try {
      port.addPrefix(`${ip6.peerLinkLocal}/128`);
    } catch (e) {
      log.warn(`IPv6: ${(e as Error).message}`);
    }
    return {
      // One address for all only with a fixed `local-ipv6-interface-id`; random ones would pile
      // up on the device (RS, RA and DHCPv6 are answered in-process either way).
      addLinkLocal: (cidr) =>
        session.profile?.localIpv6InterfaceId === undefined
          ? Promise.resolve()
          : shared.addLinkLocal6(cidr),
      route: (prefix, on) => on ? port.addPrefix(prefix) : port.removePrefix(prefix),
      kernelRoute: (prefix, on, metric) => shared.route6(on ? "add" : "del", prefix, metric),
    };
  };

  /** `interface-mode: per-session`: the session's own TUN device, configured. */
  const openOwnDevice = async (ip: IpConfig, user: string): Promise<PlatformTun> => {
    const staticName = ctx.config().interfaces.find((i) => i.user === user)?.name;
    let name = staticName ?? ctx.registry.dynamicName(user);
    if (!ctx.registry.reserveName(session, name)) {
      name = ctx.registry.dynamicName(user);
      log.warn(`interface ${staticName} is in use; using ${name}`);
      ctx.registry.reserveName(session, name);
    }
    const tun = ctx.platform.openTun({ name, mtu: ip.mtu, txQueueLen: 5000, reactor: ctx.reactor });
    session.tun = tun;
    if (isEnded) throw new Error("session ended while the link came up");
    await ctx.linkSetup.configure({
      name: tun.name,
      localAddress: ip.localAddress,
      peerAddress: ip.peerAddress,
      // Both name the device: the kernel removes them with it at the session's end.
      routes: sessionRoutes(),
    }, log);
    const profile = session.profile;
    if (profile?.rateLimit !== undefined && profile.rateLimit.tx.rate > 0) {
      // Download half of `rate-limit`: a tbf qdisc on the session's device (gone with it).
      await applyTcRateLimit(tool, tun.name, profile.rateLimit, ip.mtu);
      log.info(`rate-limit ${profile.rateLimitText ?? ""}: download shaped on ${tun.name}`);
    }
    return tun;
  };

  /** `interface-mode: shared`: a port on the server's one device (no fd, no rtnetlink as a rule). */
  const attachShared = async (shared: SharedLink, ip: IpConfig): Promise<PlatformTun> => {
    const tx = session.profile?.rateLimit?.tx;
    const port = await shared.attach({
      localAddress: ip.localAddress,
      peerAddress: ip.peerAddress,
      mtu: ip.mtu,
      routes: sessionRoutes(),
      ...(tx === undefined || tx.rate === 0 ? {} : { downloadPolicer: tokenBucketFor(tx) }),
    }, log);
    session.tun = port;
    if (isEnded) throw new Error("session ended while the link came up");
    if (tx !== undefined && tx.rate > 0) {
      log.info(`rate-limit ${session.profile?.rateLimitText ?? ""}: download policed in-process`);
    }
    return port;
  };

  const onLinkUp = async (ip: IpConfig): Promise<TunDevice> => {
    const user = session.user ?? "";
    const tun = ctx.sharedLink === undefined
      ? await openOwnDevice(ip, user)
      : await attachShared(ctx.sharedLink, ip);
    const profile = session.profile;
    if (profile?.addressList !== undefined) {
      await addToAddressList(tool, profile.addressList, ip.peerAddress);
      addressListed = { list: profile.addressList, address: ip.peerAddress };
      log.info(`address-list ${profile.addressList}: ${ip.peerAddress} added`);
    }
    const lan = ctx.config().sstpServer.proxyArpInterface;
    if (lan !== undefined) {
      const net = new NetConfig({ logger: log });
      proxyArp = net;
      await net.addProxyNeighbour(ip.peerAddress, lan);
      log.info(`proxy-arp for ${ip.peerAddress} on ${lan}`);
    }
    session.state = "connected";
    session.connectedMs = ctx.clock.now();
    if (aaa?.accounting && session.radius !== undefined && acctSessionId !== undefined) {
      const c = runner.counters;
      session.accounting = aaa.startAccounting(
        {
          user,
          call,
          framedIpAddress: ip.peerAddress,
          classes: session.radius.classes,
          ipv6: () => accountedIpv6,
        },
        () => ({
          rxBytes: c.rxBytes,
          txBytes: c.txBytes,
          rxPackets: c.rxPackets,
          txPackets: c.txPackets,
        }),
        () => session.connectedMs ?? ctx.clock.now(),
        session.radius.acctInterimIntervalMs,
      );
    }
    scriptEnv = {
      USER: user,
      CALLER_ID: callerAddress,
      LOCAL_ADDRESS: ip.localAddress,
      REMOTE_ADDRESS: ip.peerAddress,
      INTERFACE: tun.name,
    };
    if (profile?.onUp !== undefined) {
      // Not awaited: a slow script must not hold the link (it is bounded in time).
      onUpTask = runSessionScript("on-up", profile.onUp, scriptEnv, log);
    }
    log.info(
      `up: ${tun.name} user ${
        quotePeerText(user)
      } ${ip.localAddress} → ${ip.peerAddress} mtu ${ip.mtu}`,
    );
    // tls-engine openssl-worker: the Worker takes the device, with the same checks.
    return duplex.offload?.adoptTun(tun, {
      ...(profile?.changeTcpMss ?? true ? { clampMssMtu: ip.mtu } : {}),
      policy: policySpec(),
    }) ?? tun;
  };

  /**
   * The inbound checks, read at link-up (after authentication chose the
   * profile): the client may send from its address and its secret's routes
   * only; the upload half of the profile's `rate-limit` is policed per packet.
   */
  const policySpec = (): DataPlanePolicySpec => {
    const peer = session.addresses?.peerAddress;
    // IPv4 routes of the secret and RADIUS, and the IPv6 prefixes routed to the client now.
    const routes = [...sessionRoutes().map((r) => r.dst), ...sources.ipv6Prefixes];
    const rx = session.profile?.rateLimit?.rx;
    return {
      ...(peer === undefined ? {} : { source: { assigned: peer, routes } }),
      ...(rx === undefined || rx.rate === 0 ? {} : {
        upload: {
          rateBps: rx.rate,
          burstBytes: policerBucketBytes(rx),
          ...(rx.burstRate > 0 ? { peakBps: rx.burstRate } : {}),
        },
      }),
    };
  };

  const onBridgeUp = async (): Promise<PlatformTun> => {
    const profile = session.profile;
    if (profile?.bridge === undefined) throw new Error("BCP opened without a profile bridge");
    const opened = ctx.platform.openTun({
      name: "sstp-br%d",
      txQueueLen: 5000,
      reactor: ctx.reactor,
      mode: "tap",
    });
    tap = opened;
    if (isEnded) throw new Error("session ended while the bridge port came up");
    await joinBridge(new NetConfig({ logger: log }), opened.name, {
      bridge: profile.bridge,
      ...(profile.bridgePathCost !== undefined ? { pathCost: profile.bridgePathCost } : {}),
      ...(profile.bridgePortPriority !== undefined
        ? { portPriority: profile.bridgePortPriority }
        : {}),
      ...(profile.bridgeHorizon !== undefined ? { horizon: profile.bridgeHorizon } : {}),
    });
    log.info(`bridge: ${opened.name} joined ${profile.bridge}`);
    return opened;
  };

  const runner = new TunnelRunner({
    engine,
    transport: duplex,
    // A copy: a view would keep the whole preamble read buffer for the session's life.
    // With the data path in a Worker, the Worker frames these bytes first.
    ...(duplex.offload === undefined ? { leftover: leftover.slice() } : {}),
    clock: ctx.clock,
    logger: log,
    // Read at link-up, after authentication chose the profile (`change-tcp-mss`, default yes).
    get clampTcpMss() {
      return session.profile?.changeTcpMss ?? true;
    },
    // Read at link-up too: the client may send from its address and its secret's routes only
    // (and, once IPV6CP is up, link-local and its IPv6 prefixes: SessionSources).
    get sourceFilter() {
      const peer = session.addresses?.peerAddress;
      if (peer === undefined) return undefined;
      return sources.filterFor(peer, sessionRoutes().map((r) => r.dst));
    },
    get uploadPolicer() {
      return buildDataPlanePolicy(policySpec()).uploadPolicer;
    },
    onLinkUp: (ip) => {
      const task = onLinkUp(ip);
      linkUpTask = task;
      return task;
    },
    onBridgeUp: () => {
      const task = onBridgeUp();
      bridgeUpTask = task;
      return task;
    },
    onIpv6Up: (ip6, tun, send) => {
      const profile = session.profile;
      if (profile === undefined) return Promise.resolve(undefined);
      session.ipv6 = { peerLinkLocal: ip6.peerLinkLocal, localLinkLocal: ip6.localLinkLocal };
      // The client may send from its /64, its delegated prefix and its IPv6 routes while they are routed.
      const followers = [sources.follower(), sources.follower()];
      const routeFollowers = new Map<string, (prefix: string | undefined) => void>();
      // tls-engine openssl-worker: the Worker checks sources with its own copy of the filter.
      const updateWorker = () => {
        const source = policySpec().source;
        if (source !== undefined) duplex.offload?.updateSources?.(source);
      };
      const follow = (which: 0 | 1, prefix: string | undefined) => {
        followers[which]!(prefix);
        updateWorker();
      };
      const routes = sessionRoutes6();
      // Accounting's Stop reports the prefixes IPv6 had when it closed: only a release
      // before then (a DHCPv6-PD lease ended) takes one out of the records.
      let isIpv6Closing = false;
      const account = (key: "prefix" | "delegatedPrefix", prefix: string | undefined) => {
        if (prefix !== undefined) accountedIpv6[key] = prefix;
        else if (!isIpv6Closing) delete accountedIpv6[key];
      };
      return startServerIpv6({
        ip6,
        tunName: tun.name,
        mtu: engine.mtu,
        profile,
        pools: ctx.ipv6Pools?.() ?? new Map(),
        send,
        log,
        net: new NetConfig({
          logger: log,
          ...(ctx.linkSetup.netlink ? { netlink: () => ctx.linkSetup.netlink! } : {}),
        }),
        ...(ctx.sharedLink === undefined ? {} : { shared: sharedIpv6(ctx.sharedLink, ip6) }),
        onPrefix: (prefix) => {
          follow(0, prefix);
          account("prefix", prefix);
          if (session.ipv6 === undefined) return;
          if (prefix === undefined) delete session.ipv6.prefix;
          else session.ipv6.prefix = prefix;
        },
        ...(session.radiusIpv6Prefix === undefined ? {} : { prefix: session.radiusIpv6Prefix }),
        ...(routes.length === 0 ? {} : { routes }),
        onRoute: (dst, routed) => {
          let f = routeFollowers.get(dst);
          if (f === undefined) routeFollowers.set(dst, f = sources.follower());
          f(routed ? dst : undefined);
          updateWorker();
        },
        ...(ctx.dhcpv6Duid === undefined ? {} : { serverDuid: ctx.dhcpv6Duid }),
        onDelegated: (prefix) => {
          follow(1, prefix);
          account("delegatedPrefix", prefix);
          if (session.ipv6 === undefined) return;
          if (prefix === undefined) delete session.ipv6.delegatedPrefix;
          else session.ipv6.delegatedPrefix = prefix;
        },
      }).then((link): Ipv6LinkService => ({
        intercept: (packet) => link.intercept(packet),
        close: () => {
          isIpv6Closing = true;
          link.close();
        },
      }));
    },
  });

  const session: ServerSession = {
    id,
    correlationId,
    callerId,
    ...(acctSessionId === undefined ? {} : { acctSessionId }),
    startedMs: ctx.clock.now(),
    state: "negotiating",
    duplex,
    engine,
    runner,
    log,
    done: Promise.resolve(),
    routes: allRoutes,
    close(reason: string) {
      if (session.endReason === undefined) session.endReason = reason;
      if (pendingStart !== undefined) {
        // Still held back by the throttle: end without starting the call.
        clearTimeout(pendingStart.timer);
        closeBeforeStart = true;
        pendingStart.resolve();
        pendingStart = undefined;
      }
      if (session.state !== "disconnecting") log.info(`disconnecting: ${reason}`);
      session.state = "disconnecting";
      runner.close(reason);
    },
  };
  ctx.registry.add(session);
  if (duplex.offload !== undefined) {
    duplex.offload.prepend(leftover);
    duplex.offload.attach(engine, runner.counters, () => ctx.clock.now());
  }

  // A throttled source waits before its call starts (a few seconds, doubling), or is
  // refused outright while blocked; a source with no failures starts at once.
  const decision = throttle?.check(source, ctx.clock.now()) ?? { action: "allow" as const };
  const started: Promise<RunResult> = decision.action === "allow"
    ? runner.run()
    : new Promise<void>((resolve) => {
      if (decision.action === "refuse") {
        log.debug(`auth-throttle: ${source} is blocked for ${Math.ceil(decision.ms / 1000)}s more`);
        closeBeforeStart = true;
        session.endReason = "auth-throttle: source blocked";
        return resolve();
      }
      log.debug(`auth-throttle: delaying ${source} by ${decision.ms} ms`);
      const timer = setTimeout(() => {
        pendingStart = undefined;
        resolve();
      }, decision.ms);
      pendingStart = { timer, resolve };
    }).then(() => {
      const run = runner.run();
      if (closeBeforeStart) duplex.close();
      return run;
    });

  // A `then`, not an async function awaiting run(): no suspended frame per session.
  session.done = started.then(async (result) => {
    isEnded = true;
    session.state = "disconnecting";
    await linkUpTask?.catch(() => {});
    await bridgeUpTask?.catch(() => {});
    const why = session.endReason ?? result.error?.message ?? "disconnected";
    const c = runner.counters;
    const uptime = session.connectedMs === undefined
      ? "never connected"
      : `uptime ${
        formatDuration(Math.round((ctx.clock.now() - session.connectedMs) / 1000) * 1000)
      }`;
    session.accounting?.stop(
      terminateCause(session.endReason, session.endReason?.includes("shutting down") ?? false),
    );
    try {
      // A data-plane Worker holds a duplicate of the TUN fd until it has ended.
      if (duplex.offload !== undefined) await duplex.closed.catch(() => {});
      const tun = session.tun;
      if (tun !== undefined) {
        tun.close();
        await tun.closed;
      }
      // Closing the TAP device deletes it, which takes it out of the bridge.
      if (tap !== undefined) {
        tap.close();
        await tap.closed;
      }
      await proxyArp?.cleanup().catch((e) => log.warn(`proxy-arp cleanup: ${String(e)}`));
      if (addressListed !== undefined) {
        const { list, address } = addressListed;
        await removeFromAddressList(tool, list, address).catch((e) =>
          log.warn(`address-list ${list}: ${String(e)}`)
        );
      }
      await onUpTask;
      const onDown = session.profile?.onDown;
      if (onDown !== undefined && scriptEnv !== undefined) {
        await runSessionScript("on-down", onDown, scriptEnv, log);
      }
    } finally {
      if (session.user !== undefined && session.connectedMs !== undefined) {
        void ctx.secretState?.loggedOut(session.user, Date.now());
      }
      releaseAddresses();
      ctx.registry.remove(session);
      duplex.close();
    }
    log.info(
      `closed${session.interfaceName ? ` ${session.interfaceName}` : ""}: ${why}; ${uptime}, ` +
        `rx ${c.rxBytes} B/${c.rxPackets} pkt, tx ${c.txBytes} B/${c.txPackets} pkt` +
        (c.droppedSpoofed > 0 ? `, ${c.droppedSpoofed} pkt dropped for a spoofed source` : "") +
        (c.droppedPoliced > 0 ? `, ${c.droppedPoliced} pkt over the upload rate-limit` : ""),
    );
  });
  return session;
}

/** A policer for one direction of `rate-limit`. */
function tokenBucketFor(d: RateLimitDirection): TokenBucket {
  return new TokenBucket({
    rateBps: d.rate,
    burstBytes: policerBucketBytes(d),
    ...(d.burstRate > 0 ? { peakBps: d.burstRate } : {}),
  });
}

/** The address part of a caller id ("198.18.7.7:50000", "[2001:2::7]:50000"). */
function callerHost(callerId: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(callerId) ?? /^(.*):\d+$/.exec(callerId);
  return m?.[1] ?? callerId;
}
