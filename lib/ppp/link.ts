/**
 * The PPP link: phases and the routing of frames between LCP, the
 * authentication protocol and the network control protocols (RFC 1661 3).
 *
 * ```
 * Dead ──start──► Establish ──LCP Opened──► Authenticate ──ok──► Network
 *   ▲                 │                          │ fail            │
 *   └──── LCP Finished ◄──────── Terminate ◄─────┴─────────────────┘
 * ```
 *
 * - LCP frames are always handled. PAP/CHAP/EAP frames are taken only in the
 *   Authenticate phase and IPCP/IPV6CP only in the Network phase; outside
 *   them they are silently discarded (a late retransmit is no reason to
 *   Protocol-Reject; docs/interop.md#late-and-unknown-protocols).
 * - Protocols we do not run (CCP, IPV6CP when disabled, anything
 *   unknown) are Protocol-Rejected once LCP is Opened (RFC 1661 5.7).
 * - Control frames go out with `FF 03` and a 2-byte protocol, which every
 *   peer accepts (SoftEther requires it), except when the peer asked for
 *   ACFC/PFC and we acked (RFC 1661 6.5, 6.6): then, once LCP is Opened,
 *   non-LCP frames are compressed as agreed (LCP frames never are).
 *
 * Pure: takes frames and time, returns {@linkcode LinkAction}s.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { quotePeerText } from "../peer_text.ts";
import { PPP_DEFAULTS, PROTOCOL } from "./constants.ts";
import type { ControlProtocol, CpAction } from "./control_protocol.ts";
import { describeCpPacket } from "./describe.ts";
import { decodePppFrame, encodePppFrame } from "./frame.ts";
import { Ipcp, type IpcpResult } from "./ipcp/ipcp.ts";
import { Ipv6cp, type Ipv6cpResult } from "./ipv6cp/ipv6cp.ts";
import { Bcp } from "./bcp/bcp.ts";
import { Lcp, type LcpResult } from "./lcp/lcp.ts";
import type {
  AuthAuthenticator,
  AuthMethod,
  AuthOutput,
  AuthPeer,
  PasswordLookup,
  RandomBytes,
} from "./auth/auth_types.ts";
import { createAuthPeer } from "./auth/create_auth_peer.ts";
import type { AuthAuthenticatorOptions } from "./auth/create_auth.ts";
import type { RemoteAuthenticate } from "./auth/remote_auth.ts";
import type { RemoteEap } from "./auth/eap_relay.ts";
import type { FlagOptions } from "./lcp/_flag_option.ts";
import { pickDefined } from "./_pick.ts";

/** RFC 1661 3.2 link phases. */
export type LinkPhase = "Dead" | "Establish" | "Authenticate" | "Network" | "Terminate";

/** Addresses the server hands to an authenticated user. */
export interface AddressAssignment {
  /** The server's address on the link, dotted quad. */
  localAddress: string;
  /** The address given to the client, dotted quad. */
  peerAddress: string;
  /** DNS servers offered in IPCP (MS-DNS options); none when absent. */
  dns?: readonly [primary?: string, secondary?: string];
}

/** Options common to both roles. */
export interface LinkCommonOptions {
  /** Source of magic numbers, challenges and interface identifiers. */
  randomBytes: RandomBytes;
  /** Our MRU (RouterOS `max-mru`). */
  mru?: number;
  /**
   * Run IPV6CP (default false: IPV6CP is Protocol-Rejected). A function is
   * asked when the Network phase begins (the server knows the user's profile
   * then): false rejects IPV6CP, an object runs it with that identifier.
   */
  ipv6?: boolean | (() => false | { interfaceId?: Uint8Array });
  /** A fixed IPV6CP Interface-Identifier to request (8 non-zero bytes); default random. */
  ipv6InterfaceId?: Uint8Array;
  /** Where negotiation steps and failures are logged. */
  logger: Logger;
  /** Restart timer for every control protocol (ms, default 3000). */
  restartTimerMs?: number;
  /**
   * Run BCP (RFC 3518) for bridged Ethernet frames (default false: BCP is
   * Protocol-Rejected). A function is asked when the Network phase begins
   * (the server knows the user's profile only after authentication).
   */
  bridge?: boolean | (() => boolean);
  /** LCP PFC policy (default: do not request, accept the peer's). */
  pfc?: FlagOptions;
  /** LCP ACFC policy (default: do not request, accept the peer's). */
  acfc?: FlagOptions;
  /** Multilink MRRU (RouterOS `mrru`); undefined: no multilink. */
  mrru?: number;
  /** With `mrru`: ask the peer for short MP sequence numbers (default false). */
  requestShortSequence?: boolean;
}

/** Client-side link options. */
export interface ClientLinkOptions extends LinkCommonOptions {
  /** Tells client options from server options. */
  role: "client";
  /** User name to authenticate as. */
  user: string;
  /** Plain-text password (never logged). */
  password: string;
  /** Methods we accept (RouterOS `authentication`), strongest first. */
  acceptAuth: readonly AuthMethod[];
  /** Ask for DNS servers in IPCP (default true). */
  requestDns?: boolean;
}

/** Server-side link options. */
export interface ServerLinkOptions extends LinkCommonOptions {
  /** Tells server options from client options. */
  role: "server";
  /** Methods we offer, preferred first. */
  authenticateWith: readonly AuthMethod[];
  /** Local secrets: a user's plain-text password, or undefined when unknown. */
  lookupPassword: PasswordLookup;
  /** RADIUS hook: asked about users `lookupPassword` does not know. */
  remoteAuthenticate?: RemoteAuthenticate;
  /** RADIUS hook for EAP: relays the conversation of users `lookupPassword` does not know. */
  remoteEap?: RemoteEap;
  /**
   * Builds the authenticator of the method LCP agreed on: `createAuthAuthenticator`
   * of `auth/create_auth.ts`. Injected so that the client, which never
   * authenticates a peer, does not load the RADIUS fallback and EAP relay.
   */
  createAuthenticator(method: AuthMethod, options: AuthAuthenticatorOptions): AuthAuthenticator;
  /** Our name in CHAP challenges. */
  serverName: string;
  /**
   * Called once the peer has authenticated: returns the addresses for IPCP,
   * or a ProtocolError (pool exhausted, only-one, disabled) that ends the link.
   */
  assignAddresses(user: string): AddressAssignment | ProtocolError;
}

/** Options of {@linkcode PppLink}. */
export type PppLinkOptions = ClientLinkOptions | ServerLinkOptions;

/** What the link asks its owner to do. */
export type LinkAction =
  /** Send this PPP frame in an SSTP data packet. */
  | { type: "sendFrame"; frame: Uint8Array }
  | { type: "startTimer"; timer: LinkTimer; ms: number }
  | { type: "stopTimer"; timer: LinkTimer }
  /** Authentication succeeded; `hlak` feeds the SSTP crypto binding. */
  | { type: "authenticated"; user: string; method: AuthMethod; hlak: Uint8Array }
  /** IPCP is Opened. */
  | { type: "ipUp"; ip: IpcpResult }
  /** IPV6CP is Opened. */
  | { type: "ipv6Up"; ip: Ipv6cpResult }
  /** IPCP left Opened. */
  | { type: "ipDown" }
  /** BCP is Opened: bridged frames (0x0031) may flow. */
  | { type: "bridgeUp" }
  /** BCP left Opened. */
  | { type: "bridgeDown" }
  /** IPV6CP left Opened. */
  | { type: "ipv6Down" }
  /** The link is Dead again; `error` says why when it failed. */
  | { type: "dead"; error?: ProtocolError };

/** Timer names used by the link. */
export type LinkTimer = "lcp" | "auth" | "ipcp" | "ipv6cp" | "bcp";

/** LCP states reached when the peer restarts negotiation from Opened (RFC 1661 4.1 RCR/RCA/RCN). */
const RENEGOTIATING: ReadonlySet<string> = new Set(["ReqSent", "AckRcvd", "AckSent"]);

const CP_NAME: Record<number, LinkTimer> = {
  [PROTOCOL.LCP]: "lcp",
  [PROTOCOL.IPCP]: "ipcp",
  [PROTOCOL.IPV6CP]: "ipv6cp",
  [PROTOCOL.BCP]: "bcp",
};

/** One PPP link over one SSTP call. */
export class PppLink {
  readonly #o: PppLinkOptions;
  readonly #log: Logger;
  readonly #lcp: Lcp;
  #phase: LinkPhase = "Dead";
  #auth: AuthPeer | AuthAuthenticator | undefined;
  #authMethod: AuthMethod | undefined;
  #user: string | undefined;
  #ipcp: Ipcp | undefined;
  #ipv6cp: Ipv6cp | undefined;
  #bcp: Bcp | undefined;
  /** Whether this link bridges: decided when the Network phase begins. */
  #bridging = false;
  /** Whether IPV6CP runs: decided when the Network phase begins. */
  #ipv6Enabled = false;
  #failure: ProtocolError | undefined;
  /** Set once authentication has completed (both roles). */
  #wasAuthenticated = false;

  /** Creates a link in the Dead phase. */
  constructor(options: PppLinkOptions) {
    this.#o = options;
    this.#log = options.logger;
    const timing = { restartTimerMs: options.restartTimerMs ?? 3000, log: options.logger };
    const framing = pickDefined(options, ["pfc", "acfc", "mrru", "requestShortSequence"]);
    this.#lcp = options.role === "client"
      ? new Lcp({
        ...timing,
        ...framing,
        randomBytes: options.randomBytes,
        ...(options.mru !== undefined ? { mru: options.mru } : {}),
        acceptAuth: options.acceptAuth,
      })
      : new Lcp({
        ...timing,
        ...framing,
        randomBytes: options.randomBytes,
        ...(options.mru !== undefined ? { mru: options.mru } : {}),
        authenticatePeerWith: options.authenticateWith,
      });
  }

  /** Current RFC 1661 phase. */
  get phase(): LinkPhase {
    return this.#phase;
  }
  /** What LCP negotiated. */
  get lcp(): LcpResult {
    return this.#lcp.result;
  }
  /** True once IPCP is Opened. */
  get isIpv4Open(): boolean {
    return this.#ipcp?.isOpened ?? false;
  }
  /** True once IPV6CP is Opened. */
  get isIpv6Open(): boolean {
    return this.#ipv6cp?.isOpened ?? false;
  }
  /** True once BCP is Opened (bridged Ethernet frames may flow). */
  get isBridgeOpen(): boolean {
    return this.#bcp?.isOpened ?? false;
  }
  /** The authenticated user (server) or our user (client), once known. */
  get user(): string | undefined {
    return this.#user;
  }
  /** The negotiated authentication method, once known. */
  get authMethod(): AuthMethod | undefined {
    return this.#authMethod;
  }

  /** Lower layer up: Establish phase, LCP Open + Up (RFC 1661 3.3). */
  start(nowMs: number): LinkAction[] {
    if (this.#phase !== "Dead") return [];
    this.#phase = "Establish";
    return [
      ...this.#cp(this.#lcp, this.#lcp.open(nowMs), nowMs),
      ...this.#cp(this.#lcp, this.#lcp.up(nowMs), nowMs),
    ];
  }

  /** Administrative close: LCP Terminate (RFC 1661 3.7). */
  close(nowMs: number, reason: string): LinkAction[] {
    if (this.#phase === "Dead") return [];
    return this.#cp(this.#lcp, this.#lcp.close(nowMs, reason), nowMs);
  }

  /** The lower layer is gone: everything goes Down without sending. */
  lowerDown(nowMs: number): LinkAction[] {
    if (this.#phase === "Dead") return [];
    const out: LinkAction[] = [];
    if (this.#ipcp) out.push(...this.#cp(this.#ipcp, this.#ipcp.down(nowMs), nowMs));
    if (this.#ipv6cp) out.push(...this.#cp(this.#ipv6cp, this.#ipv6cp.down(nowMs), nowMs));
    if (this.#bcp) out.push(...this.#cp(this.#bcp, this.#bcp.down(nowMs), nowMs));
    out.push(...this.#cp(this.#lcp, this.#lcp.down(nowMs), nowMs));
    if ((this.#phase as LinkPhase) !== "Dead") {
      this.#phase = "Dead";
      out.push({ type: "dead" });
    }
    return out;
  }

  /** A timer this link started has expired. */
  timer(name: LinkTimer, nowMs: number): LinkAction[] {
    switch (name) {
      case "lcp":
        return this.#cp(this.#lcp, this.#lcp.timeout(nowMs), nowMs);
      case "ipcp":
        return this.#ipcp ? this.#cp(this.#ipcp, this.#ipcp.timeout(nowMs), nowMs) : [];
      case "ipv6cp":
        return this.#ipv6cp ? this.#cp(this.#ipv6cp, this.#ipv6cp.timeout(nowMs), nowMs) : [];
      case "bcp":
        return this.#bcp ? this.#cp(this.#bcp, this.#bcp.timeout(nowMs), nowMs) : [];
      case "auth":
        return this.#auth ? this.#authOutput(this.#auth.timeout(nowMs), nowMs) : [];
    }
  }

  /** A received PPP frame (with or without FF 03, 1- or 2-byte protocol). */
  receive(frame: Uint8Array, nowMs: number): LinkAction[] {
    if (this.#phase === "Dead") return [];
    let protocol: number;
    let info: Uint8Array;
    try {
      ({ protocol, information: info } = decodePppFrame(frame));
    } catch (e) {
      this.#log.debug(`discard malformed PPP frame: ${(e as Error).message}`);
      return [];
    }
    if (
      protocol !== PROTOCOL.IPV4 && protocol !== PROTOCOL.IPV6 && protocol !== PROTOCOL.BRIDGED
    ) {
      this.#trace("recv", protocol, info);
    }
    switch (protocol) {
      case PROTOCOL.LCP:
        return this.#cp(this.#lcp, this.#lcp.receive(info, nowMs), nowMs);
      case PROTOCOL.PAP:
      case PROTOCOL.CHAP:
      case PROTOCOL.EAP:
        if (this.#phase === "Authenticate" && this.#auth?.protocol === protocol) {
          return this.#authOutput(this.#auth.receive(info, nowMs), nowMs);
        }
        this.#log.debug(`discard ${protocol.toString(16)} frame outside its phase`);
        return [];
      case PROTOCOL.IPCP:
        if (this.#phase === "Network" && this.#ipcp) {
          return this.#cp(this.#ipcp, this.#ipcp.receive(info, nowMs), nowMs);
        }
        this.#log.debug("discard IPCP frame outside the Network phase");
        return [];
      case PROTOCOL.IPV6CP:
        if (
          this.#ipv6Enabled ||
          (this.#phase !== "Network" && this.#o.ipv6 !== undefined && this.#o.ipv6 !== false)
        ) {
          if (this.#phase === "Network" && this.#ipv6cp) {
            return this.#cp(this.#ipv6cp, this.#ipv6cp.receive(info, nowMs), nowMs);
          }
          return [];
        }
        return this.#reject(protocol, info, nowMs);
      case PROTOCOL.BCP:
        if (this.#phase === "Network" && this.#bcp) {
          return this.#cp(this.#bcp, this.#bcp.receive(info, nowMs), nowMs);
        }
        if (this.#phase !== "Network" && this.#o.bridge) {
          this.#log.debug("discard BCP frame outside the Network phase");
          return [];
        }
        return this.#reject(protocol, info, nowMs);
      case PROTOCOL.BRIDGED:
        // Bridged frames on the slow path: BCP is not open (or not run).
        if (this.#bridging) return [];
        return this.#reject(protocol, info, nowMs);
      case PROTOCOL.IPV4:
      case PROTOCOL.IPV6:
        // IP on the slow path means its network layer is not open: drop.
        return [];
      default:
        return this.#reject(protocol, info, nowMs);
    }
  }

  #reject(protocol: number, info: Uint8Array, nowMs: number): LinkAction[] {
    if (!this.#lcp.isOpened) return [];
    return this.#cp(this.#lcp, this.#lcp.protocolReject(protocol, info), nowMs);
  }

  #trace(dir: "send" | "recv", protocol: number, packet: Uint8Array): void {
    if (this.#log.enabled("debug")) {
      this.#log.debug(`${dir} [${describeCpPacket(protocol, packet)}]`);
    }
  }

  #frame(protocol: number, packet: Uint8Array): LinkAction {
    const fitted = fitControlPacket(packet);
    if (fitted !== packet) {
      this.#log.debug(`truncated a ${packet.length}-byte control packet to fit an SSTP packet`);
    }
    this.#trace("send", protocol, fitted);
    // RFC 1661 6.5/6.6: compression applies once negotiated, never to LCP
    // (encodePppFrame leaves LCP frames whole).
    const r = this.#lcp.isOpened ? this.#lcp.result : undefined;
    const options = r ? { acfc: r.sendAcfc, pfc: r.sendPfc } : {};
    return { type: "sendFrame", frame: encodePppFrame(protocol, fitted, options) };
  }

  /** Carries out a control protocol's actions and the phase changes they cause. */
  #cp(cp: ControlProtocol, actions: CpAction[], nowMs: number): LinkAction[] {
    const timer = CP_NAME[cp.protocol] ?? "lcp";
    const out: LinkAction[] = [];
    for (const a of actions) {
      switch (a.type) {
        case "send":
          out.push(this.#frame(a.protocol, a.packet));
          break;
        case "startTimer":
          out.push({ type: "startTimer", timer, ms: a.ms });
          break;
        case "stopTimer":
          out.push({ type: "stopTimer", timer });
          break;
        case "thisLayerUp":
          out.push(...this.#layerUp(cp, nowMs));
          break;
        case "thisLayerDown":
          out.push(...this.#layerDown(cp, nowMs));
          if (cp === this.#lcp && this.#wasAuthenticated && RENEGOTIATING.has(this.#lcp.state)) {
            // RFC 1661 lets a peer renegotiate LCP at any time, but the
            // authentication that follows could not be bound to the SSTP call
            // again (the crypto binding is sent once) and would hand out a
            // second set of addresses. End the link instead: the rest of this
            // batch (our Configure-Request/-Ack) is dropped and a
            // Terminate-Request goes out in its place.
            return [
              ...out,
              ...this.#fail(
                new ProtocolError(
                  "lcp",
                  ERROR_CODE.UNEXPECTED_MESSAGE,
                  "Cannot renegotiate LCP after authentication: ending the link",
                ),
                nowMs,
              ),
            ];
          }
          break;
        case "thisLayerStarted":
          break;
        case "thisLayerFinished":
          if (cp === this.#lcp) out.push(...this.#lcpFinished(a.error));
          else if (cp === this.#ipcp && this.#phase === "Network") {
            // IPv4 is what the link is for: once IPCP has given up (address
            // rejected, Max-Configure reached, the peer's Terminate-Request),
            // nothing would restart it and the link would idle on keepalives
            // forever, holding its session and address. RFC 1661 3.7 ends
            // the link when the network protocols are done.
            out.push(...this.#fail(
              a.error ??
                new ProtocolError("ipcp", ERROR_CODE.NEGOTIATION_FAILED, "IPCP was terminated"),
              nowMs,
            ));
          } else if (cp === this.#bcp && this.#phase === "Network") {
            // Both sides were configured to bridge: a session that silently
            // lost its bridging (Max-Configure, the peer's Terminate-Request)
            // is not what either administrator configured.
            out.push(...this.#fail(
              new ProtocolError(
                "ppp",
                ERROR_CODE.NEGOTIATION_FAILED,
                `Cannot bridge: BCP ${a.error ? `failed: ${a.error.message}` : "was terminated"}`,
              ),
              nowMs,
            ));
          } else if (a.error) this.#log.warn(`${timer.toUpperCase()} failed: ${a.error.message}`);
          break;
        case "protocolRejected":
          if (a.protocol === PROTOCOL.IPV6CP && this.#ipv6cp) {
            this.#log.info("peer rejected IPV6CP: IPv6 stays off");
            out.push(...this.#cp(this.#ipv6cp, this.#ipv6cp.down(nowMs), nowMs));
            this.#ipv6cp = undefined;
          } else if (a.protocol === PROTOCOL.BCP && this.#bcp) {
            // Both sides must bridge: a bridged session without bridging is
            // not what either administrator configured.
            out.push(...this.#fail(
              new ProtocolError(
                "ppp",
                ERROR_CODE.NEGOTIATION_FAILED,
                "Cannot bridge: the peer rejected BCP (configure bridge on both sides)",
              ),
              nowMs,
            ));
          } else if (a.protocol === PROTOCOL.IPCP) {
            out.push(...this.#fail(
              new ProtocolError("ipcp", ERROR_CODE.NEGOTIATION_FAILED, "Peer rejected IPCP"),
              nowMs,
            ));
          }
          break;
        case "echoReply":
          break;
      }
    }
    return out;
  }

  #layerUp(cp: ControlProtocol, nowMs: number): LinkAction[] {
    if (cp === this.#lcp) {
      const r = this.#lcp.result;
      this.#log.info(
        `LCP Opened: mru ${r.localMru}, peer mru ${r.peerMru}` +
          (r.authAsPeer ? `, auth ${r.authAsPeer}` : "") +
          (r.authAsAuthenticator ? `, auth ${r.authAsAuthenticator}` : "") +
          (r.localMrru !== undefined || r.peerMrru !== undefined
            ? `, mrru ${r.localMrru ?? "-"}, peer mrru ${r.peerMrru ?? "-"}`
            : "") +
          (r.sendPfc || r.sendAcfc
            ? `, sending${r.sendPfc ? " pcomp" : ""}${r.sendAcfc ? " accomp" : ""}`
            : ""),
      );
      return this.#beginAuthenticate(nowMs);
    }
    if (cp === this.#ipcp) {
      const ip = this.#ipcp.result;
      this.#log.info(
        `IPCP Opened: local ${ip.localAddress}, peer ${ip.peerAddress}` +
          (ip.dns.length ? `, dns ${ip.dns.join(" ")}` : ""),
      );
      return [{ type: "ipUp", ip }];
    }
    if (cp === this.#ipv6cp) {
      const ip = this.#ipv6cp.result;
      this.#log.info(`IPV6CP Opened: local ${ip.localLinkLocal}, peer ${ip.peerLinkLocal}`);
      return [{ type: "ipv6Up", ip }];
    }
    if (cp === this.#bcp) {
      this.#log.info("BCP Opened: bridging Ethernet frames");
      return [{ type: "bridgeUp" }];
    }
    return [];
  }

  #layerDown(cp: ControlProtocol, nowMs: number): LinkAction[] {
    if (cp === this.#ipcp) return [{ type: "ipDown" }];
    if (cp === this.#bcp) return [{ type: "bridgeDown" }];
    if (cp === this.#ipv6cp) return [{ type: "ipv6Down" }];
    if (cp !== this.#lcp) return [];
    // RFC 1661 3.7: LCP leaving Opened takes the network layer down with it.
    this.#phase = "Terminate";
    const out: LinkAction[] = [{ type: "stopTimer", timer: "auth" }];
    if (this.#ipcp) out.push(...this.#cp(this.#ipcp, this.#ipcp.down(nowMs), nowMs));
    if (this.#ipv6cp) out.push(...this.#cp(this.#ipv6cp, this.#ipv6cp.down(nowMs), nowMs));
    if (this.#bcp) out.push(...this.#cp(this.#bcp, this.#bcp.down(nowMs), nowMs));
    return out;
  }

  #lcpFinished(error: ProtocolError | undefined): LinkAction[] {
    if (this.#phase === "Dead") return [];
    this.#phase = "Dead";
    const e = this.#failure ?? error;
    return [e ? { type: "dead", error: e } : { type: "dead" }];
  }

  #fail(error: ProtocolError, nowMs: number): LinkAction[] {
    this.#failure ??= error;
    return this.close(nowMs, error.message);
  }

  #beginAuthenticate(nowMs: number): LinkAction[] {
    const o = this.#o;
    const r = this.#lcp.result;
    this.#phase = "Authenticate";
    if (o.role === "client") {
      const method = r.authAsPeer;
      this.#user = o.user;
      if (!method) {
        // The server asked for no authentication: HLAK is 32 zero bytes
        // (MS-SSTP 3.2.5.2.2, 3.2.5.2.4).
        this.#wasAuthenticated = true;
        return [
          { type: "authenticated", user: o.user, method: "pap", hlak: new Uint8Array(32) },
          ...this.#beginNetwork(nowMs),
        ];
      }
      this.#authMethod = method;
      this.#auth = createAuthPeer(method, {
        user: o.user,
        password: o.password,
        randomBytes: o.randomBytes,
      });
    } else {
      const method = r.authAsAuthenticator;
      if (!method) {
        return this.#fail(
          new ProtocolError(
            "auth",
            ERROR_CODE.AUTH_NEGOTIATION_FAILED,
            "Cannot authenticate peer: no authentication method acceptable to both sides",
          ),
          nowMs,
        );
      }
      this.#authMethod = method;
      this.#auth = o.createAuthenticator(method, {
        lookupPassword: o.lookupPassword,
        randomBytes: o.randomBytes,
        name: o.serverName,
        ...(o.remoteAuthenticate ? { remote: o.remoteAuthenticate } : {}),
        ...(o.remoteEap ? { remoteEap: o.remoteEap } : {}),
      });
    }
    return this.#authOutput(this.#auth.start(nowMs), nowMs);
  }

  #authOutput(out: AuthOutput, nowMs: number): LinkAction[] {
    const auth = this.#auth;
    if (!auth) return [];
    const actions: LinkAction[] = out.send.map((p) => this.#frame(auth.protocol, p));
    if (out.timerMs === null) actions.push({ type: "stopTimer", timer: "auth" });
    else if (out.timerMs !== undefined) {
      actions.push({ type: "startTimer", timer: "auth", ms: out.timerMs });
    }
    const result = out.result;
    if (!result || this.#phase !== "Authenticate") return actions;
    actions.push({ type: "stopTimer", timer: "auth" });
    if (!result.ok) {
      this.#log.warn(result.error.message);
      return [...actions, ...this.#fail(result.error, nowMs)];
    }
    this.#user = result.user;
    this.#wasAuthenticated = true;
    // Auth packets are ignored outside the Authenticate phase: drop the
    // challenge/response state (a server keeps thousands of links).
    this.#auth = undefined;
    this.#log.info(`Authenticated ${quotePeerText(result.user)} with ${this.#authMethod}`);
    actions.push({
      type: "authenticated",
      user: result.user,
      method: this.#authMethod ?? "pap",
      hlak: result.hlak,
    });
    return [...actions, ...this.#beginNetwork(nowMs)];
  }

  #beginNetwork(nowMs: number): LinkAction[] {
    const o = this.#o;
    const timing = { restartTimerMs: o.restartTimerMs ?? 3000, log: o.logger };
    if (o.role === "client") {
      this.#ipcp = new Ipcp({ ...timing, role: "client", requestDns: o.requestDns ?? true });
    } else {
      const assigned = o.assignAddresses(this.#user ?? "");
      if (assigned instanceof ProtocolError) return this.#fail(assigned, nowMs);
      this.#ipcp = new Ipcp({
        ...timing,
        role: "server",
        localAddress: assigned.localAddress,
        peerAddress: assigned.peerAddress,
        ...(assigned.dns ? { dns: assigned.dns } : {}),
      });
    }
    this.#phase = "Network";
    const out = [
      ...this.#cp(this.#ipcp, this.#ipcp.open(nowMs), nowMs),
      ...this.#cp(this.#ipcp, this.#ipcp.up(nowMs), nowMs),
    ];
    const v6 = typeof o.ipv6 === "function" ? o.ipv6() : o.ipv6 === true ? {} : false;
    if (v6 !== false) {
      this.#ipv6Enabled = true;
      const interfaceId = v6.interfaceId ?? o.ipv6InterfaceId;
      this.#ipv6cp = new Ipv6cp({
        ...timing,
        randomBytes: o.randomBytes,
        ...(interfaceId !== undefined ? { localIdentifier: interfaceId } : {}),
      });
      out.push(
        ...this.#cp(this.#ipv6cp, this.#ipv6cp.open(nowMs), nowMs),
        ...this.#cp(this.#ipv6cp, this.#ipv6cp.up(nowMs), nowMs),
      );
    }
    this.#bridging = typeof o.bridge === "function" ? o.bridge() : o.bridge === true;
    if (this.#bridging) {
      this.#bcp = new Bcp(timing);
      out.push(
        ...this.#cp(this.#bcp, this.#bcp.open(nowMs), nowMs),
        ...this.#cp(this.#bcp, this.#bcp.up(nowMs), nowMs),
      );
    }
    return out;
  }
}

/**
 * A control packet cut to {@linkcode PPP_DEFAULTS.MAX_CONTROL_PACKET} with
 * its Length field rewritten. Every control packet we send (LCP/IPCP codes,
 * PAP and CHAP) is code, identifier, length, data, and the data of the
 * packets that can grow with peer input (rejects quoting the peer, messages,
 * reasons) stays meaningful when cut; without this an oversized reply would
 * not fit its SSTP packet and the encoder would throw.
 */
export function fitControlPacket(packet: Uint8Array): Uint8Array {
  const max = PPP_DEFAULTS.MAX_CONTROL_PACKET;
  if (packet.length <= max) return packet;
  const cut = packet.slice(0, max);
  cut[2] = max >> 8;
  cut[3] = max & 0xff;
  return cut;
}
