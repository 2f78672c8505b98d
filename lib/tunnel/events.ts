/**
 * What the tunnel engines take and return (boringtun's `TunnResult` shape):
 * the runner feeds {@linkcode TunnelEvent}s with the current time and carries
 * out the returned {@linkcode TunnelAction}s. Engines never touch sockets,
 * timers or the clock.
 *
 * @module
 */
import type { SstpControlMessage } from "../sstp/control_message.ts";
import type { SstpPacket } from "../sstp/packet.ts";
import type { SstpTimer } from "../sstp/actions.ts";
import type { LinkTimer } from "../ppp/link.ts";
import type { LinkFraming } from "./data_plane.ts";

/** Names of the timers an engine may start: the SSTP call's and the PPP link's. */
export type TimerName = SstpTimer | LinkTimer | EngineTimer;

/** The engine's own timer: the deadline from authentication to link-up. */
export type EngineTimer = "linkUp";

/** Input to an engine. */
export type TunnelEvent =
  /** The transport is up and the HTTP preamble is done. */
  | { type: "start" }
  /** An SSTP control message arrived. */
  | { type: "control"; message: SstpControlMessage }
  /** An SSTP data packet arrived that the fast path did not take (non-IP PPP). */
  | { type: "ppp"; frame: Uint8Array }
  /** A timer the engine started has expired. */
  | { type: "timer"; timer: TimerName }
  /** The local side wants a graceful disconnect (SIGTERM, admin). */
  | { type: "close"; reason?: string }
  /** The transport failed or the peer closed TCP. */
  | { type: "transportClosed"; error?: Error };

/** IP settings negotiated by IPCP (and IPV6CP). */
export interface IpConfig {
  /** Our address on the link. */
  localAddress: string;
  /** The peer's address on the link. */
  peerAddress: string;
  /** DNS servers offered by the peer (client) or handed out (server). */
  dns: string[];
  /** MTU for the TUN device: min(our MRU-derived limit, peer MRU). */
  mtu: number;
}

/** What IPV6CP negotiated (RFC 5072): the Interface-Identifiers and link-locals. */
export interface Ipv6LinkConfig {
  /** Our Interface-Identifier (8 bytes). */
  localInterfaceId: Uint8Array;
  /** The peer's Interface-Identifier (8 bytes). */
  peerInterfaceId: Uint8Array;
  /** fe80:: + our identifier, as text. */
  localLinkLocal: string;
  /** fe80:: + the peer's identifier, as text. */
  peerLinkLocal: string;
}

/** Output of an engine. */
export type TunnelAction =
  /** Send this SSTP packet (control packets go before queued data). */
  | { type: "send"; packet: SstpPacket }
  | { type: "startTimer"; timer: TimerName; ms: number }
  | { type: "stopTimer"; timer: TimerName }
  /** IPCP opened and the SSTP call is connected: configure TUN, open the gate. */
  | { type: "linkUp"; ip: IpConfig }
  /**
   * BCP opened and the SSTP call is connected: open the bridge port (TAP
   * device) and let bridged Ethernet frames flow.
   */
  | { type: "bridgeUp" }
  /**
   * IPV6CP opened and the SSTP call is connected: IPv6 may flow. Comes after
   * `linkUp` (IPv4 is what the link is for; a peer without IPV6CP never sends it).
   */
  | { type: "ipv6Up"; ip6: Ipv6LinkConfig }
  /** IPV6CP left Opened (the peer terminated it): IPv6 stops. */
  | { type: "ipv6Down" }
  /** The session is over: flush output, close the transport. */
  | { type: "closed"; error?: Error };

/** The common shape of the client and server engines. */
export interface TunnelEngine {
  /** Handles one event at time `nowMs` and returns what to do. */
  handle(event: TunnelEvent, nowMs: number): TunnelAction[];
  /** Records that a packet arrived (keeps the Hello timer quiet); cheap. */
  noteReceive(nowMs: number): void;
  /** True when IPv4 data may flow in both directions. */
  readonly isIpv4Open: boolean;
  /** True when IPv6 data may flow in both directions. */
  readonly isIpv6Open: boolean;
  /** The peer's MRU: data frames larger than this are dropped. */
  readonly peerMru: number;
  /** True when bridged Ethernet frames (BCP) may flow in both directions. */
  readonly isBridgeOpen?: boolean;
  /**
   * How data frames are built from link-up on (header compression the peer
   * accepts, multilink); absent: uncompressed, no multilink.
   */
  readonly framing?: LinkFraming;
}
