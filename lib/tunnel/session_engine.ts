/**
 * One SSTP session as a pure engine: an SSTP call state machine (client or
 * server, MS-SSTP 3.2/3.3) composed with a {@linkcode PppLink}.
 *
 * Glue rules:
 * - SSTP `pppStart` (Call Connect Ack sent or received) starts the PPP link;
 *   PPP control frames pass only while the call allows them.
 * - PPP `authenticated` hands the HLAK to the SSTP machine: the client sends
 *   Call Connected, the server verifies the (possibly held) Call Connected.
 * - `linkUp` is emitted once both the call is connected and IPCP is Opened,
 *   whichever comes last; IP flows only then (MS-SSTP 3.2.7.2, 3.3.7.1).
 * - PPP failure (authentication, negotiation) aborts the call with Call
 *   Abort; the call ending takes the link down.
 * - A local close sends LCP Terminate-Request and Call Disconnect.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { ERROR_CODE, isAuthError, ProtocolError } from "../errors.ts";
import type { SstpAction, SstpTimer } from "../sstp/actions.ts";
import type { SstpClientStateMachine } from "../sstp/client_state.ts";
import type { SstpServerStateMachine } from "../sstp/server_state.ts";
import type { LinkAction, LinkTimer, PppLink } from "../ppp/link.ts";
import type { IpcpResult } from "../ppp/ipcp/ipcp.ts";
import type { AuthMethod } from "../ppp/auth/auth_types.ts";
import type { Ipv6cpResult } from "../ppp/ipv6cp/ipv6cp.ts";
import type {
  IpConfig,
  Ipv6LinkConfig,
  TimerName,
  TunnelAction,
  TunnelEngine,
  TunnelEvent,
} from "./events.ts";

/** Bytes of the bridged-PDU header (RFC 3518 4.3.1: flags, MAC type). */
const BRIDGED_HEADER_BYTES = 2;
/** A full-size Ethernet frame without FCS: 1500 bytes of payload and a 14-byte header. */
const FULL_ETHERNET_FRAME = 1514;
import type { LinkFraming } from "./data_plane.ts";

/** The SSTP side of a session: either role. */
export type SstpCallMachine = SstpClientStateMachine | SstpServerStateMachine;

const SSTP_TIMERS: ReadonlySet<TimerName> = new Set<SstpTimer>([
  "negotiation",
  "hello",
  "abort",
  "disconnect",
]);
/** Runs from authentication until the link is up (see `linkUpMs`). */
const LINK_UP_TIMER: TimerName = "linkUp";
const LINK_TIMERS: ReadonlySet<TimerName> = new Set<LinkTimer>([
  "lcp",
  "auth",
  "ipcp",
  "ipv6cp",
  "bcp",
]);

function isSstpTimer(timer: TimerName): timer is SstpTimer {
  return SSTP_TIMERS.has(timer);
}

/** Options of {@linkcode SessionEngine}. */
export interface SessionEngineOptions {
  /** The SSTP call machine (client or server role). */
  sstp: SstpCallMachine;
  /** The PPP link (LCP, authentication, NCPs) carried inside SSTP. */
  link: PppLink;
  /** Where protocol steps and failures of this session are logged. */
  logger: Logger;
  /** Upper bound on the interface MTU (RouterOS `max-mtu`). */
  maxMtu?: number;
  /**
   * Deadline from authentication to link-up (Call Connected and IPCP
   * Opened), in ms; the session is aborted when it passes. Undefined: none.
   */
  linkUpMs?: number;
  /**
   * Client: the server's IP address. An IPCP address equal to it is refused
   * (the host route to the server would then point into the tunnel itself).
   */
  serverAddress?: string;
  /** Server: told at once when the peer fails to authenticate (login throttling). */
  onAuthFailure?: (error: ProtocolError) => void;
}

/** Client or server session engine (see the module doc). */
export class SessionEngine implements TunnelEngine {
  readonly #sstp: SstpCallMachine;
  readonly #link: PppLink;
  readonly #log: Logger;
  readonly #maxMtu: number;
  /** A cap learnt after LCP (RADIUS Framed-MTU), applied to the interface MTU. */
  #mtuLimit = Infinity;
  readonly #linkUpMs: number | undefined;
  readonly #serverAddress: string | undefined;
  readonly #onAuthFailure: ((error: ProtocolError) => void) | undefined;
  #ip: IpcpResult | undefined;
  #ip6: Ipv6LinkConfig | undefined;
  #linkUpSent = false;
  #bridgeUp = false;
  #bridgeUpSent = false;
  #ipv6UpSent = false;
  #closed = false;
  #authenticated: { user: string; method: AuthMethod } | undefined;
  #error: Error | undefined;

  /** Composes the two machines. */
  constructor(options: SessionEngineOptions) {
    this.#sstp = options.sstp;
    this.#link = options.link;
    this.#log = options.logger;
    this.#maxMtu = options.maxMtu ?? 4091;
    this.#linkUpMs = options.linkUpMs;
    this.#serverAddress = options.serverAddress;
    this.#onAuthFailure = options.onAuthFailure;
  }

  /** SSTP state name (for status displays). */
  get sstpState(): string {
    return this.#sstp.state;
  }
  /** PPP link phase. */
  get pppPhase(): string {
    return this.#link.phase;
  }
  /** Authenticated user and method, once known. */
  get authenticated(): { user: string; method: AuthMethod } | undefined {
    return this.#authenticated;
  }
  /** Negotiated IPv4 settings, once IPCP is Opened. */
  get ip(): IpcpResult | undefined {
    return this.#ip;
  }
  /** What IPV6CP negotiated, while it is Opened. */
  get ip6(): Ipv6LinkConfig | undefined {
    return this.#ip6;
  }
  /** The error that ended the session, if any. */
  get error(): Error | undefined {
    return this.#error;
  }
  get isIpv4Open(): boolean {
    return this.#linkUpSent && this.#sstp.isDataAllowed && this.#link.isIpv4Open;
  }
  get isIpv6Open(): boolean {
    return this.#ipv6UpSent && this.#sstp.isDataAllowed && this.#link.isIpv6Open;
  }
  /** True when bridged Ethernet frames may flow both ways (BCP Opened, call connected). */
  get isBridgeOpen(): boolean {
    return this.#bridgeUpSent && this.#sstp.isDataAllowed && this.#link.isBridgeOpen;
  }
  get peerMru(): number {
    return this.#link.lcp.peerMru;
  }
  /**
   * The MTU for the interface: what both sides can carry. With multilink
   * negotiated both ways it is the smaller MRRU: larger packets than the
   * link MTU then cross as MP fragments (RFC 1990).
   */
  get mtu(): number {
    const l = this.#link.lcp;
    if (l.localMrru !== undefined && l.peerMrru !== undefined) {
      return Math.min(l.localMrru, l.peerMrru, this.#mtuLimit);
    }
    return Math.min(this.#linkMtu, this.#mtuLimit);
  }

  /**
   * Caps the interface MTU below what LCP negotiated (RADIUS Framed-MTU,
   * known only after authentication, when LCP is already Opened; pppd and
   * accel-ppp apply it the same way, to the interface). Takes effect at
   * link-up: the device's MTU and the TCP MSS clamp follow it.
   */
  limitMtu(mtu: number): void {
    this.#mtuLimit = Math.min(this.#mtuLimit, mtu);
  }

  /** The largest frame information field both sides carry without MP. */
  get #linkMtu(): number {
    const l = this.#link.lcp;
    return Math.min(l.peerMru, l.localMru, this.#maxMtu);
  }

  /** What LCP negotiated for data frames (read at link-up). */
  get framing(): LinkFraming {
    const l = this.#link.lcp;
    const framing: LinkFraming = { acfc: l.sendAcfc, pfc: l.sendPfc };
    if (l.localMrru !== undefined || l.peerMrru !== undefined) {
      framing.multilink = {
        linkMtu: this.#linkMtu,
        peerMrru: l.peerMrru,
        localMrru: l.localMrru,
        sendFormat: l.sendShortSequence ? "short" : "long",
        receiveFormat: l.receiveShortSequence ? "short" : "long",
      };
    }
    return framing;
  }

  noteReceive(nowMs: number): void {
    this.#sstp.noteReceive(nowMs);
  }

  handle(event: TunnelEvent, nowMs: number): TunnelAction[] {
    if (this.#closed) return [];
    const out: TunnelAction[] = [];
    switch (event.type) {
      case "start":
        this.#sstpActions(this.#sstp.start(nowMs), nowMs, out);
        break;
      case "control":
        this.#sstpActions(this.#sstp.receive(event.message, nowMs), nowMs, out);
        break;
      case "ppp":
        if (this.#sstp.isPppControlAllowed) {
          this.#linkActions(this.#link.receive(event.frame, nowMs), nowMs, out);
        } else this.#log.debug("discard PPP frame before the call allows it");
        break;
      case "timer":
        if (event.timer === LINK_UP_TIMER) {
          this.#linkUpExpired(nowMs, out);
        } else if (isSstpTimer(event.timer)) {
          this.#sstpActions(this.#sstp.timer(event.timer, nowMs), nowMs, out);
        } else if (LINK_TIMERS.has(event.timer)) {
          this.#linkActions(this.#link.timer(event.timer as LinkTimer, nowMs), nowMs, out);
        }
        break;
      case "close":
        this.#log.info(`disconnecting: ${event.reason ?? "local close"}`);
        this.#linkActions(this.#link.close(nowMs, event.reason ?? "local close"), nowMs, out);
        this.#sstpActions(this.#sstp.disconnect(nowMs), nowMs, out);
        break;
      case "transportClosed":
        this.#sstpActions(this.#sstp.lowerLayerDown(nowMs, event.error), nowMs, out);
        if (!this.#closed) this.#finish(event.error, nowMs, out);
        break;
    }
    return out;
  }

  #sstpActions(actions: SstpAction[], nowMs: number, out: TunnelAction[]): void {
    for (const a of actions) {
      if (this.#closed) return;
      switch (a.type) {
        case "send":
          out.push({ type: "send", packet: { kind: "control", message: a.message } });
          break;
        case "startTimer":
        case "stopTimer":
          out.push(a); // the same shape as the TunnelAction
          break;
        case "pppStart":
          this.#linkActions(this.#link.start(nowMs), nowMs, out);
          break;
        case "callConnected":
          this.#log.info(`SSTP ${this.#sstp.state}`);
          this.#maybeLinkUp(out);
          this.#maybeBridgeUp(out);
          break;
        case "closed":
          this.#finish(a.error, nowMs, out);
          break;
      }
    }
  }

  #linkActions(actions: LinkAction[], nowMs: number, out: TunnelAction[]): void {
    for (const a of actions) {
      if (this.#closed) return;
      switch (a.type) {
        case "sendFrame":
          out.push({ type: "send", packet: { kind: "data", data: a.frame } });
          break;
        case "startTimer":
        case "stopTimer":
          out.push(a); // the same shape as the TunnelAction
          break;
        case "authenticated":
          this.#authenticated = { user: a.user, method: a.method };
          if (this.#linkUpMs !== undefined && !this.#linkUpSent) {
            out.push({ type: "startTimer", timer: LINK_UP_TIMER, ms: this.#linkUpMs });
          }
          this.#sstpActions(this.#sstp.authenticated(a.hlak, nowMs), nowMs, out);
          break;
        case "ipUp":
          if (this.#serverAddress !== undefined && a.ip.localAddress === this.#serverAddress) {
            this.#abortWith(
              new ProtocolError(
                "ipcp",
                ERROR_CODE.NO_ADDRESS,
                `Cannot use address ${a.ip.localAddress} from the server: it is the server's own ` +
                  "address, so the route to the server would point into the tunnel",
              ),
              nowMs,
              out,
            );
            return;
          }
          this.#ip = a.ip;
          this.#maybeLinkUp(out);
          break;
        case "ipv6Up": {
          const ip6 = ipv6LinkConfig(a.ip);
          if (ip6 === undefined) break;
          this.#ip6 = ip6;
          this.#maybeIpv6Up(out);
          break;
        }
        case "ipv6Down":
          this.#ip6 = undefined;
          if (this.#ipv6UpSent) {
            this.#ipv6UpSent = false;
            this.#log.info("IPV6CP down");
            out.push({ type: "ipv6Down" });
          }
          break;
        case "ipDown":
          this.#log.info("IPCP down");
          break;
        case "bridgeUp":
          this.#bridgeUp = true;
          this.#maybeBridgeUp(out);
          break;
        case "bridgeDown":
          this.#log.info("BCP down");
          break;
        case "dead":
          if (a.error && isAuthError(a.error) && this.#authenticated === undefined) {
            this.#onAuthFailure?.(a.error);
          }
          if (a.error) {
            this.#error ??= a.error;
            this.#sstpActions(this.#sstp.abort(a.error, nowMs), nowMs, out);
          } else if (!this.#sstp.isClosed) {
            this.#sstpActions(this.#sstp.disconnect(nowMs), nowMs, out);
          }
          break;
      }
    }
  }

  #maybeLinkUp(out: TunnelAction[]): void {
    if (this.#linkUpSent || !this.#ip || !this.#sstp.isDataAllowed) return;
    this.#linkUpSent = true;
    if (this.#linkUpMs !== undefined) out.push({ type: "stopTimer", timer: LINK_UP_TIMER });
    const ip: IpConfig = {
      localAddress: this.#ip.localAddress,
      peerAddress: this.#ip.peerAddress,
      dns: this.#ip.dns,
      mtu: this.mtu,
    };
    out.push({ type: "linkUp", ip });
    this.#maybeIpv6Up(out);
  }

  /** IPv6 goes up once IPv4 is up (the interface exists then) and IPV6CP is Opened. */
  #maybeIpv6Up(out: TunnelAction[]): void {
    if (this.#ipv6UpSent || !this.#linkUpSent || this.#ip6 === undefined) return;
    this.#ipv6UpSent = true;
    out.push({ type: "ipv6Up", ip6: this.#ip6 });
  }

  #maybeBridgeUp(out: TunnelAction[]): void {
    if (this.#bridgeUpSent || !this.#bridgeUp || !this.#sstp.isDataAllowed) return;
    this.#bridgeUpSent = true;
    const largest = this.#link.lcp.peerMru - BRIDGED_HEADER_BYTES;
    if (largest < FULL_ETHERNET_FRAME) {
      this.#log.warn(
        `bridged frames over ${largest} bytes will be dropped: the peer's MRU is ` +
          `${this.#link.lcp.peerMru}; set max-mru (and max-mtu) to at least ` +
          `${
            FULL_ETHERNET_FRAME + BRIDGED_HEADER_BYTES
          } on both sides for full-size Ethernet frames`,
      );
    }
    out.push({ type: "bridgeUp" });
  }

  /**
   * An authenticated peer that never completes IPCP (or the Call Connected)
   * would hold its addresses and a negotiating slot for ever: abort the call.
   */
  #linkUpExpired(nowMs: number, out: TunnelAction[]): void {
    if (this.#linkUpSent) return;
    const error = new ProtocolError(
      "ppp",
      ERROR_CODE.TIMEOUT,
      `Cannot bring the link up: not up ${
        Math.round((this.#linkUpMs ?? 0) / 1000)
      } s after authentication`,
    );
    this.#abortWith(error, nowMs, out);
  }

  /** Ends the link and aborts the call for a reason found here (not by PPP or SSTP). */
  #abortWith(error: ProtocolError, nowMs: number, out: TunnelAction[]): void {
    this.#log.warn(error.message);
    this.#error ??= error;
    this.#linkActions(this.#link.close(nowMs, error.message), nowMs, out);
    this.#sstpActions(this.#sstp.abort(error, nowMs), nowMs, out);
  }

  #finish(error: Error | undefined, nowMs: number, out: TunnelAction[]): void {
    if (this.#closed) return;
    // The link error (e.g. authentication) explains more than the SSTP abort it caused.
    const reason = this.#error ?? error;
    this.#error = reason;
    this.#linkActions(this.#link.lowerDown(nowMs), nowMs, out);
    this.#closed = true;
    for (const t of [...SSTP_TIMERS, ...LINK_TIMERS, LINK_UP_TIMER]) {
      out.push({ type: "stopTimer", timer: t });
    }
    out.push(reason ? { type: "closed", error: reason } : { type: "closed" });
  }
}

function ipv6LinkConfig(r: Ipv6cpResult): Ipv6LinkConfig | undefined {
  if (
    r.localIdentifier === undefined || r.peerIdentifier === undefined ||
    r.localLinkLocal === undefined || r.peerLinkLocal === undefined
  ) return undefined;
  return {
    localInterfaceId: r.localIdentifier,
    peerInterfaceId: r.peerIdentifier,
    localLinkLocal: r.localLinkLocal,
    peerLinkLocal: r.peerLinkLocal,
  };
}
