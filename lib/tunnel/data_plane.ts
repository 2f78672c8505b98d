/**
 * The PPP data plane of a session: what happens to each IP packet between the
 * SSTP framer and the TUN device, as pure functions of the bytes and the
 * session's state (no I/O, no clock).
 *
 * Inbound, {@linkcode DataPlane.decapsulate} turns the payload of one SSTP
 * data packet (a PPP frame) into one of:
 * - `ip4` / `ip6`: an IP packet to write to the TUN device (a view into the
 *   frame; the TCP MSS clamped in place when clamping is on);
 * - `control`: any other PPP frame (LCP, IPCP, a malformed header, ...), for
 *   the engine;
 * - `drop`: an IP packet that must not reach the TUN device, with the reason:
 *   the protocol's gate is closed (MS-SSTP 3.2.7.2 / 3.3.7.1: no IP before
 *   Call Connected and the NCP opened), the frame is empty, longer than our
 *   MRU, or its source address is refused.
 *
 * Outbound, {@linkcode DataPlane.encapsulate} turns a batch of IP packets read
 * from the TUN device into ONE buffer of SSTP data packets (SSTP header, PPP
 * header FF 03 + protocol, the packet), skipping packets whose gate is closed
 * or that exceed the peer's MRU, and clamping the MSS of TCP SYNs.
 *
 * PPP header forms accepted inbound (RFC 1661 6.5, 6.6): with or without
 * Address/Control (ACFC), one- or two-byte Protocol (PFC). Outbound always
 * uses the uncompressed four-byte header, which every peer accepts.
 *
 * @module
 */
import { PROTOCOL } from "../ppp/constants.ts";
import { writePppHeader } from "../ppp/frame.ts";
import { writeSstpDataHeader } from "../sstp/packet.ts";
import { SSTP_MAX_PACKET_LENGTH } from "../sstp/constants.ts";
import { clampTcpMss, mssForMtu } from "./tcp_mss.ts";

/** Bytes of SSTP (4) plus PPP (FF 03 + 2-byte protocol) headers per data packet. */
export const DATA_HEADER_BYTES = 8;

/** Why {@linkcode DataPlane.decapsulate} dropped an IP frame. */
export type DropReason =
  /** The protocol's NCP is not open, or the SSTP call is not connected. */
  | "gate-closed"
  /** The frame carries no IP bytes. */
  | "empty"
  /** The IP packet is longer than our MRU. */
  | "too-long"
  /** The source address is not one the session may use ({@linkcode DataPlaneOptions.allowSource}). */
  | "source";

/** What one inbound PPP frame is. */
export type Decapsulated =
  | { readonly kind: "ip4"; readonly packet: Uint8Array }
  | { readonly kind: "ip6"; readonly packet: Uint8Array }
  | { readonly kind: "control" }
  | { readonly kind: "drop"; readonly reason: DropReason };

/** The engine state the data plane reads (a {@linkcode TunnelEngine} has it). */
export interface DataPlaneGate {
  /** True when IPv4 data may flow both ways. */
  readonly isIpv4Open: boolean;
  /** True when IPv6 data may flow both ways. */
  readonly isIpv6Open: boolean;
  /** The peer's MRU: larger outbound packets are dropped. */
  readonly peerMru: number;
}

/** Options of {@linkcode DataPlane}. */
export interface DataPlaneOptions {
  /** The gate and the peer's MRU, read per packet (they change as the NCPs open and close). */
  gate: DataPlaneGate;
  /**
   * Largest IP packet accepted from the peer. Default: the largest an SSTP
   * packet can carry with an uncompressed PPP header (4095 - 4 - 4).
   */
  mru?: number;
  /**
   * Source-address check for inbound IPv4 packets (issue 10 point 11): return
   * false to drop the packet with reason `source`. Not set: every source is
   * accepted.
   */
  allowSource?: (ip4Packet: Uint8Array) => boolean;
}

/** The result of {@linkcode DataPlane.encapsulate}. */
export interface Encapsulated {
  /** The SSTP data packets, back to back; empty when nothing was kept. */
  bytes: Uint8Array;
  /** How many IP packets were kept. */
  packets: number;
  /** Their IP bytes (without the 8 header bytes each). */
  ipBytes: number;
  /** How many were dropped (gate closed, larger than the peer's MRU, not IP). */
  dropped: number;
}

const CONTROL: Decapsulated = Object.freeze({ kind: "control" });
const DROP: Readonly<Record<DropReason, Decapsulated>> = Object.freeze({
  "gate-closed": Object.freeze({ kind: "drop", reason: "gate-closed" }),
  "empty": Object.freeze({ kind: "drop", reason: "empty" }),
  "too-long": Object.freeze({ kind: "drop", reason: "too-long" }),
  "source": Object.freeze({ kind: "drop", reason: "source" }),
});
const EMPTY = new Uint8Array(0);

/**
 * The PPP header of `frame`: its protocol and length, or undefined when the
 * header is cut short or malformed (RFC 1661 2, 6.5, 6.6). Does not throw:
 * a malformed header goes to the engine, which rejects it as PPP requires.
 */
export function readPppHeader(frame: Uint8Array): { protocol: number; length: number } | undefined {
  const code = pppHeaderCode(frame);
  return code < 0 ? undefined : { protocol: code >> 3, length: code & 7 };
}

/** {@linkcode readPppHeader} without an allocation: `protocol << 3 | length`, or -1. */
function pppHeaderCode(frame: Uint8Array): number {
  let o = 0;
  if (frame[0] === 0xff) {
    if (frame[1] !== 0x03) return -1;
    o = 2;
  }
  const first = frame[o];
  if (first === undefined) return -1;
  if ((first & 1) === 1) return (first << 3) | (o + 1);
  const second = frame[o + 1];
  if (second === undefined || (second & 1) === 0) return -1;
  return (((first << 8) | second) << 3) | (o + 2);
}

/** The data plane of one session (see the module documentation). */
export class DataPlane {
  readonly #gate: DataPlaneGate;
  readonly #mru: number;
  readonly #allowSource: ((ip4Packet: Uint8Array) => boolean) | undefined;
  #mss4 = 0;
  #mss6 = 0;

  /** Creates the data plane; MSS clamping is off until {@linkcode clampMssFor}. */
  constructor(options: DataPlaneOptions) {
    this.#gate = options.gate;
    this.#mru = options.mru ?? SSTP_MAX_PACKET_LENGTH - 8;
    this.#allowSource = options.allowSource;
  }

  /**
   * Clamps the MSS of TCP SYNs both ways to fit `mtu` from now on (RouterOS
   * `change-tcp-mss`).
   */
  clampMssFor(mtu: number): void {
    this.#mss4 = mssForMtu(mtu, 4);
    this.#mss6 = mssForMtu(mtu, 6);
  }

  /** Classifies one inbound PPP frame (the payload of an SSTP data packet). */
  decapsulate(frame: Uint8Array): Decapsulated {
    const code = pppHeaderCode(frame);
    if (code < 0) return CONTROL;
    const protocol = code >> 3;
    const length = code & 7;
    let v6: boolean;
    if (protocol === PROTOCOL.IPV4) v6 = false;
    else if (protocol === PROTOCOL.IPV6) v6 = true;
    else return CONTROL;
    if (!(v6 ? this.#gate.isIpv6Open : this.#gate.isIpv4Open)) return DROP["gate-closed"];
    const size = frame.length - length;
    if (size <= 0) return DROP.empty;
    if (size > this.#mru) return DROP["too-long"];
    const packet = frame.subarray(length);
    if (!v6 && this.#allowSource !== undefined && !this.#allowSource(packet)) {
      return DROP.source;
    }
    if (this.#mss4 > 0) clampTcpMss(packet, v6 ? this.#mss6 : this.#mss4);
    return v6 ? { kind: "ip6", packet } : { kind: "ip4", packet };
  }

  /** The PPP protocol for an outbound IP packet, or undefined to drop it. */
  #protocolOf(packet: Uint8Array): number | undefined {
    const version = (packet[0] ?? 0) >> 4;
    const v6 = version === 6;
    if (!v6 && version !== 4) return undefined;
    if (!(v6 ? this.#gate.isIpv6Open : this.#gate.isIpv4Open)) return undefined;
    if (packet.length > this.#gate.peerMru) return undefined;
    return v6 ? PROTOCOL.IPV6 : PROTOCOL.IPV4;
  }

  /**
   * Frames a batch of outbound IP packets into ONE buffer (one copy per
   * packet), clamping the MSS of TCP SYNs in place when clamping is on.
   */
  encapsulate(packets: readonly Uint8Array[]): Encapsulated {
    let total = 0;
    let kept = 0;
    const protocols: (number | undefined)[] = new Array(packets.length);
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      const protocol = this.#protocolOf(p);
      protocols[i] = protocol;
      if (protocol === undefined) continue;
      total += DATA_HEADER_BYTES + p.length;
      kept++;
    }
    const dropped = packets.length - kept;
    if (kept === 0) return { bytes: EMPTY, packets: 0, ipBytes: 0, dropped };
    const bytes = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < packets.length; i++) {
      const protocol = protocols[i];
      if (protocol === undefined) continue;
      const p = packets[i]!;
      if (this.#mss4 > 0) clampTcpMss(p, protocol === PROTOCOL.IPV6 ? this.#mss6 : this.#mss4);
      writeSstpDataHeader(bytes, o, 4 + p.length);
      writePppHeader(bytes, o + 4, protocol);
      bytes.set(p, o + DATA_HEADER_BYTES);
      o += DATA_HEADER_BYTES + p.length;
    }
    return { bytes, packets: kept, ipBytes: total - kept * DATA_HEADER_BYTES, dropped };
  }
}
