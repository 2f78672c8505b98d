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
 *   MRU, its source address is refused, or it is over the upload rate
 *   ({@linkcode DataPlane.setPolicy}).
 *
 * Outbound, {@linkcode DataPlane.encapsulate} turns a batch of IP packets read
 * from the TUN device into ONE buffer of SSTP data packets (SSTP header, PPP
 * header FF 03 + protocol, the packet), skipping packets whose gate is closed
 * or that exceed the peer's MRU, and clamping the MSS of TCP SYNs.
 *
 * Bridged Ethernet frames (RFC 3518, PPP protocol 0x0031) take the same
 * paths once BCP is open: {@linkcode DataPlane.decapsulate} returns `eth`
 * (the frame for the TAP device) and {@linkcode DataPlane.encapsulateBridged}
 * frames a batch read from the TAP device.
 *
 * Policy (server, from link-up on, {@linkcode DataPlane.setPolicy}): the
 * source check of inbound IPv4 and the upload policer of inbound IP. When
 * neither is set, an inbound IP packet costs no call beyond the header
 * checks; time (`nowMs`) is read only by the policer and MP reassembly, and
 * the caller reads its clock once per chunk, not per packet.
 *
 * PPP header forms accepted inbound (RFC 1661 6.5, 6.6): with or without
 * Address/Control (ACFC), one- or two-byte Protocol (PFC). Outbound uses the
 * uncompressed four-byte header, which every peer accepts, until
 * {@linkcode DataPlane.setFraming} says which compressions the peer agreed to
 * receive.
 *
 * Multilink (RFC 1990), once set: an outbound packet larger than the link
 * MTU but within the peer's MRRU is sent as MP fragments (protocol 0x003d)
 * whose payload fits the link MTU; inbound MP fragments are reassembled
 * (bounded by our MRRU, a gap or a stall drops the partial packet) and the
 * packet inside is classified like any other frame.
 *
 * @module
 */
import { PROTOCOL } from "../ppp/constants.ts";
import {
  type PppFrameOptions,
  pppHeaderLength,
  writePppHeader,
  writePppHeaderWith,
} from "../ppp/frame.ts";
import {
  type MpDropReason,
  MpFragmenter,
  MpReassembler,
  type MpSequenceFormat,
} from "../ppp/multilink/mp.ts";
import { writeSstpDataHeader } from "../sstp/packet.ts";
import { SSTP_MAX_PACKET_LENGTH } from "../sstp/constants.ts";
import { clampTcpMss, mssForMtu } from "./tcp_mss.ts";
import { decodeBridgedFrame, MAC_TYPE_ETHERNET } from "../ppp/bcp/bridged_frame.ts";

/** Bytes of the bridged-PDU header (flags, MAC type) in front of each Ethernet frame. */
export const BRIDGED_HEADER_BYTES = 2;
/** Smallest Ethernet frame: destination and source MAC, EtherType. */
const ETHERNET_HEADER_BYTES = 14;

/** Bytes of SSTP (4) plus PPP (FF 03 + 2-byte protocol) headers per data packet. */
export const DATA_HEADER_BYTES = 8;

/** Bytes of the SSTP data packet header. */
const SSTP_DATA_HEADER_BYTES = 4;

/** Multilink (RFC 1990) on this link, as LCP negotiated it. */
export interface MultilinkFraming {
  /** Largest PPP information field per frame on the link: larger packets are fragmented. */
  linkMtu: number;
  /** The peer's MRRU (we acked it), or undefined: we send no MP. */
  peerMrru: number | undefined;
  /** Our MRRU (the peer acked it), or undefined: MP from the peer is not reassembled. */
  localMrru: number | undefined;
  /** Sequence format towards the peer (it asked for short numbers and we acked). */
  sendFormat: MpSequenceFormat;
  /** Sequence format from the peer (we asked for short numbers and it acked). */
  receiveFormat: MpSequenceFormat;
  /** How long a partly received packet may wait for its fragments (default 2,000 ms). */
  reassemblyTimeoutMs?: number;
}

/** How outbound frames are built, from what LCP negotiated ({@linkcode DataPlane.setFraming}). */
export interface LinkFraming {
  /** The peer accepts frames without FF 03 (we acked its ACFC, RFC 1661 6.6). */
  acfc: boolean;
  /** The peer accepts one-byte protocol fields (we acked its PFC, RFC 1661 6.5). */
  pfc: boolean;
  /** Multilink, when LCP negotiated an MRRU either way. */
  multilink?: MultilinkFraming;
}

/** Why {@linkcode DataPlane.decapsulate} dropped an IP frame. */
export type DropReason =
  /** The protocol's NCP is not open, or the SSTP call is not connected. */
  | "gate-closed"
  /** The frame carries no IP bytes. */
  | "empty"
  /** The IP packet is longer than our MRU. */
  | "too-long"
  /** The source address is not one the session may use ({@linkcode SourceCheck}). */
  | "source"
  /** Over the session's upload rate ({@linkcode UploadPolicer}). */
  | "policed"
  /** A bridged frame that does not decode (RFC 3518 4.3.1: MAC type, lengths). */
  | "malformed"
  /** MP fragments discarded: a sequence gap, a stall, too long, malformed or no first fragment. */
  | "reassembly";

/** What one inbound PPP frame is. */
export type Decapsulated =
  | { readonly kind: "ip4"; readonly packet: Uint8Array }
  | { readonly kind: "ip6"; readonly packet: Uint8Array }
  /** A bridged Ethernet frame (without FCS) for the TAP device. */
  | { readonly kind: "eth"; readonly packet: Uint8Array }
  /** Not IP: for the engine; `frame` is set when it came out of MP reassembly. */
  | { readonly kind: "control"; readonly frame?: Uint8Array }
  /** An MP fragment kept until its packet is complete. */
  | { readonly kind: "held" }
  | { readonly kind: "drop"; readonly reason: DropReason };

/** The engine state the data plane reads (a {@linkcode TunnelEngine} has it). */
export interface DataPlaneGate {
  /** True when IPv4 data may flow both ways. */
  readonly isIpv4Open: boolean;
  /** True when IPv6 data may flow both ways. */
  readonly isIpv6Open: boolean;
  /** The peer's MRU: larger outbound packets are dropped. */
  readonly peerMru: number;
  /** True when bridged Ethernet frames may flow both ways (BCP open); absent: never. */
  readonly isBridgeOpen?: boolean;
}

/** Which sources a session's inbound IPv4 and IPv6 packets may have (a `SourceFilter`). */
export interface SourceCheck {
  /** True when `ipPacket` may go on; false drops it with reason `source`. */
  allows(ipPacket: Uint8Array): boolean;
}

/**
 * The upload half of a session's `rate-limit` (a `TokenBucket`): asked once
 * per inbound IP packet that passed every other check.
 */
export interface UploadPolicer {
  /** True (the bytes are taken) when `bytes` conform at `nowMs`; false drops the packet (`policed`). */
  take(bytes: number, nowMs: number): boolean;
}

/** What {@linkcode DataPlane.setPolicy} sets; an absent member is off. */
export interface DataPlanePolicy {
  /** Source check of inbound IP packets (IPv4 and IPv6). */
  sourceCheck?: SourceCheck | undefined;
  /** Upload policer of inbound IP packets (IPv4 and IPv6). */
  uploadPolicer?: UploadPolicer | undefined;
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
   * Source-address check for inbound IPv4 and IPv6 packets from the start:
   * return false to drop the packet with reason `source`. Not set: every
   * source is accepted until {@linkcode DataPlane.setPolicy} sets a check.
   */
  allowSource?: (ipPacket: Uint8Array) => boolean;
}

/** The result of {@linkcode DataPlane.encapsulate}. */
export interface Encapsulated {
  /** The SSTP data packets, back to back; empty when nothing was kept. */
  bytes: Uint8Array;
  /** How many IP packets were kept. */
  packets: number;
  /** Their IP bytes (without the 8 header bytes each). */
  ipBytes: number;
  /** How many were dropped (gate closed, larger than the peer's MRU or MRRU, not IP). */
  dropped: number;
}

const CONTROL: Decapsulated = Object.freeze({ kind: "control" });
const DROP: Readonly<Record<DropReason, Decapsulated>> = Object.freeze({
  "gate-closed": Object.freeze({ kind: "drop", reason: "gate-closed" }),
  "empty": Object.freeze({ kind: "drop", reason: "empty" }),
  "too-long": Object.freeze({ kind: "drop", reason: "too-long" }),
  "source": Object.freeze({ kind: "drop", reason: "source" }),
  "policed": Object.freeze({ kind: "drop", reason: "policed" }),
  "malformed": Object.freeze({ kind: "drop", reason: "malformed" }),
  "reassembly": Object.freeze({ kind: "drop", reason: "reassembly" }),
});
const HELD: Decapsulated = Object.freeze({ kind: "held" });
const UNCOMPRESSED: LinkFraming = Object.freeze({ acfc: false, pfc: false });
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
  #sourceCheck: SourceCheck | undefined;
  #policer: UploadPolicer | undefined;
  #mss4 = 0;
  #mss6 = 0;
  #framing: LinkFraming = UNCOMPRESSED;
  /** Header bytes (SSTP + PPP) of an IPv4 and an IPv6 data packet under `#framing`. */
  #header4 = DATA_HEADER_BYTES;
  #header6 = DATA_HEADER_BYTES;
  #fragmenter: MpFragmenter | undefined;
  #reassembler: MpReassembler | undefined;
  /** Largest packet sent whole, and largest sent as MP (0: no MP). */
  #linkMtu = Infinity;
  #peerMrru = 0;
  /** Reasons of the MP data the reassembler discarded, for the caller's counters. */
  readonly mpDrops: Partial<Record<MpDropReason, number>> = {};

  /** Creates the data plane; MSS clamping is off until {@linkcode clampMssFor}. */
  constructor(options: DataPlaneOptions) {
    this.#gate = options.gate;
    this.#mru = options.mru ?? SSTP_MAX_PACKET_LENGTH - 8;
    const allow = options.allowSource;
    this.#sourceCheck = allow !== undefined ? { allows: allow } : undefined;
  }

  /**
   * Sets the server's per-session policy from now on (at link-up, once the
   * client's address and profile are known): the source check of inbound
   * IPv4 and IPv6 and the upload policer. `{}` turns both off.
   */
  setPolicy(policy: DataPlanePolicy): void {
    this.#sourceCheck = policy.sourceCheck;
    this.#policer = policy.uploadPolicer;
  }

  /**
   * Clamps the MSS of TCP SYNs both ways to fit `mtu` from now on (RouterOS
   * `change-tcp-mss`).
   */
  clampMssFor(mtu: number): void {
    this.#mss4 = mssForMtu(mtu, 4);
    this.#mss6 = mssForMtu(mtu, 6);
  }

  /**
   * Sets how frames are built and read from now on (at link-up, from what LCP
   * negotiated): header compression towards the peer, and multilink.
   */
  setFraming(framing: LinkFraming): void {
    this.#framing = framing;
    const ppp: PppFrameOptions = { acfc: framing.acfc, pfc: framing.pfc };
    this.#header4 = SSTP_DATA_HEADER_BYTES + pppHeaderLength(PROTOCOL.IPV4, ppp);
    this.#header6 = SSTP_DATA_HEADER_BYTES + pppHeaderLength(PROTOCOL.IPV6, ppp);
    const mp = framing.multilink;
    this.#linkMtu = mp?.linkMtu ?? Infinity;
    this.#peerMrru = mp?.peerMrru ?? 0;
    this.#fragmenter = mp?.peerMrru !== undefined ? new MpFragmenter(mp.sendFormat) : undefined;
    this.#reassembler = mp?.localMrru !== undefined
      ? new MpReassembler(mp.receiveFormat, mp.localMrru, mp.reassemblyTimeoutMs)
      : undefined;
  }

  /**
   * Classifies one inbound PPP frame (the payload of an SSTP data packet);
   * `nowMs` times MP reassembly and the upload policer (one clock reading
   * per received chunk is precise enough for both).
   */
  decapsulate(frame: Uint8Array, nowMs = 0): Decapsulated {
    const code = pppHeaderCode(frame);
    if (code < 0) return CONTROL;
    const protocol = code >> 3;
    const length = code & 7;
    if (protocol === PROTOCOL.MP && this.#reassembler !== undefined) {
      return this.#reassemble(frame.subarray(length), nowMs);
    }
    return this.#classify(frame, protocol, length, this.#mru, nowMs);
  }

  /**
   * When a partial MP packet times out, or undefined when none waits: the
   * runner arms its timer for this and then calls {@linkcode expireReassembly}.
   */
  get reassemblyDeadlineMs(): number | undefined {
    return this.#reassembler?.deadlineMs;
  }

  /** Drops a partial MP packet that has waited too long; true when one was dropped. */
  expireReassembly(nowMs: number): boolean {
    const r = this.#reassembler?.expire(nowMs);
    if (r?.dropped === undefined) return false;
    this.mpDrops[r.dropped] = (this.mpDrops[r.dropped] ?? 0) + 1;
    return true;
  }

  #reassemble(fragment: Uint8Array, nowMs: number): Decapsulated {
    const r = this.#reassembler!.receive(fragment, nowMs);
    if (r.dropped !== undefined) this.mpDrops[r.dropped] = (this.mpDrops[r.dropped] ?? 0) + 1;
    const inner = r.packet;
    if (inner === undefined) return r.dropped === undefined ? HELD : DROP.reassembly;
    // The reassembled packet is a protocol field and information (RFC 1990 3):
    // a PPP frame without Address/Control, its protocol possibly compressed.
    const code = pppHeaderCode(inner);
    if (code < 0 || inner[0] === 0xff) return DROP.reassembly;
    const protocol = code >> 3;
    if (protocol === PROTOCOL.MP) return DROP.reassembly; // no MP inside MP
    const classified = this.#classify(inner, protocol, code & 7, Infinity, nowMs);
    return classified.kind === "control" ? { kind: "control", frame: inner } : classified;
  }

  #classify(
    frame: Uint8Array,
    protocol: number,
    length: number,
    mru: number,
    nowMs: number,
  ): Decapsulated {
    let v6: boolean;
    if (protocol === PROTOCOL.IPV4) v6 = false;
    else if (protocol === PROTOCOL.IPV6) v6 = true;
    else if (protocol === PROTOCOL.BRIDGED && this.#gate.isBridgeOpen === true) {
      return this.#decapsulateBridged(frame.subarray(length));
    } else return CONTROL;
    if (!(v6 ? this.#gate.isIpv6Open : this.#gate.isIpv4Open)) return DROP["gate-closed"];
    const size = frame.length - length;
    if (size <= 0) return DROP.empty;
    if (size > mru) return DROP["too-long"];
    const packet = frame.subarray(length);
    // SOURCE CHECK, then UPLOAD POLICER (server): a spoofed packet is not
    // charged to the session's rate.
    if (this.#sourceCheck !== undefined && !this.#sourceCheck.allows(packet)) {
      return DROP.source;
    }
    if (this.#policer !== undefined && !this.#policer.take(size, nowMs)) return DROP.policed;
    if (this.#mss4 > 0) clampTcpMss(packet, v6 ? this.#mss6 : this.#mss4);
    return v6 ? { kind: "ip6", packet } : { kind: "ip4", packet };
  }

  #decapsulateBridged(pdu: Uint8Array): Decapsulated {
    if (pdu.length === 0) return DROP.empty;
    if (pdu.length > this.#mru) return DROP["too-long"];
    try {
      return { kind: "eth", packet: decodeBridgedFrame(pdu) };
    } catch {
      return DROP.malformed;
    }
  }

  /**
   * Frames a batch of outbound Ethernet frames (read from the TAP device) as
   * bridged PDUs (RFC 3518 4.3.1: no FCS, no LAN ID, no pads, MAC type 1)
   * into ONE buffer. Frames are dropped while BCP is not open, when shorter
   * than an Ethernet header, or when the PDU would exceed the peer's MRU.
   */
  encapsulateBridged(frames: readonly Uint8Array[]): Encapsulated {
    const open = this.#gate.isBridgeOpen === true;
    const limit = this.#gate.peerMru - BRIDGED_HEADER_BYTES;
    let total = 0;
    let kept = 0;
    const keep: boolean[] = new Array(frames.length);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      const ok = open && f.length >= ETHERNET_HEADER_BYTES && f.length <= limit;
      keep[i] = ok;
      if (!ok) continue;
      total += DATA_HEADER_BYTES + BRIDGED_HEADER_BYTES + f.length;
      kept++;
    }
    const dropped = frames.length - kept;
    if (kept === 0) return { bytes: EMPTY, packets: 0, ipBytes: 0, dropped };
    const bytes = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < frames.length; i++) {
      if (!keep[i]) continue;
      const f = frames[i]!;
      writeSstpDataHeader(bytes, o, 4 + BRIDGED_HEADER_BYTES + f.length);
      writePppHeader(bytes, o + 4, PROTOCOL.BRIDGED);
      // Flags 0 (no FCS, no LAN ID, no tinygram, no pads), MAC type 1 (802.3).
      bytes[o + DATA_HEADER_BYTES] = 0;
      bytes[o + DATA_HEADER_BYTES + 1] = MAC_TYPE_ETHERNET;
      bytes.set(f, o + DATA_HEADER_BYTES + BRIDGED_HEADER_BYTES);
      o += DATA_HEADER_BYTES + BRIDGED_HEADER_BYTES + f.length;
    }
    return {
      bytes,
      packets: kept,
      ipBytes: total - kept * (DATA_HEADER_BYTES + BRIDGED_HEADER_BYTES),
      dropped,
    };
  }

  /** The PPP protocol for an outbound IP packet, or undefined to drop it. */
  #protocolOf(packet: Uint8Array): number | undefined {
    const version = (packet[0] ?? 0) >> 4;
    const v6 = version === 6;
    if (!v6 && version !== 4) return undefined;
    if (!(v6 ? this.#gate.isIpv6Open : this.#gate.isIpv4Open)) return undefined;
    if (packet.length > this.#gate.peerMru && packet.length > this.#peerMrru) return undefined;
    return v6 ? PROTOCOL.IPV6 : PROTOCOL.IPV4;
  }

  /** True when `packet` crosses as MP fragments (larger than the link MTU, within the MRRU). */
  #isMp(packet: Uint8Array): boolean {
    return this.#fragmenter !== undefined && packet.length > this.#linkMtu &&
      packet.length <= this.#peerMrru;
  }

  /**
   * The MP fragments of one packet, each framed as an SSTP data packet: the
   * packet's protocol field (uncompressed, which every receiver accepts) and
   * the packet are cut into fragments whose MP header and data fit the link
   * MTU (RFC 1990 3).
   */
  #fragments(protocol: number, packet: Uint8Array): Uint8Array[] {
    const inner = new Uint8Array(2 + packet.length);
    inner[0] = protocol >> 8;
    inner[1] = protocol & 0xff;
    inner.set(packet, 2);
    const ppp: PppFrameOptions = this.#framing;
    const pppHeader = pppHeaderLength(PROTOCOL.MP, ppp);
    const fragments = this.#fragmenter!.fragment(inner, this.#linkMtu);
    return fragments.map((f) => {
      const out = new Uint8Array(SSTP_DATA_HEADER_BYTES + pppHeader + f.length);
      writeSstpDataHeader(out, 0, pppHeader + f.length);
      const o = writePppHeaderWith(out, SSTP_DATA_HEADER_BYTES, PROTOCOL.MP, ppp);
      out.set(f, o);
      return out;
    });
  }

  /**
   * Frames a batch of outbound IP packets into ONE buffer (one copy per
   * packet), clamping the MSS of TCP SYNs in place when clamping is on.
   */
  encapsulate(packets: readonly Uint8Array[]): Encapsulated {
    // One packet (a ping, a lone ACK: the latency-bound case) needs no
    // per-batch bookkeeping.
    if (packets.length === 1 && this.#fragmenter === undefined) {
      return this.#encapsulateOne(packets[0]!);
    }
    let total = 0;
    let kept = 0;
    let ipBytes = 0;
    const protocols: (number | undefined)[] = new Array(packets.length);
    let fragmented: Map<number, Uint8Array[]> | undefined;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      const protocol = this.#protocolOf(p);
      protocols[i] = protocol;
      if (protocol === undefined) continue;
      kept++;
      ipBytes += p.length;
      if (this.#isMp(p)) {
        if (this.#mss4 > 0) clampTcpMss(p, protocol === PROTOCOL.IPV6 ? this.#mss6 : this.#mss4);
        const fragments = this.#fragments(protocol, p);
        (fragmented ??= new Map()).set(i, fragments);
        for (const f of fragments) total += f.length;
        continue;
      }
      total += (protocol === PROTOCOL.IPV6 ? this.#header6 : this.#header4) + p.length;
    }
    const dropped = packets.length - kept;
    if (kept === 0) return { bytes: EMPTY, packets: 0, ipBytes: 0, dropped };
    const bytes = new Uint8Array(total);
    const ppp: PppFrameOptions = this.#framing;
    let o = 0;
    for (let i = 0; i < packets.length; i++) {
      const protocol = protocols[i];
      if (protocol === undefined) continue;
      const fragments = fragmented?.get(i);
      if (fragments !== undefined) {
        for (const f of fragments) {
          bytes.set(f, o);
          o += f.length;
        }
        continue;
      }
      const p = packets[i]!;
      if (this.#mss4 > 0) clampTcpMss(p, protocol === PROTOCOL.IPV6 ? this.#mss6 : this.#mss4);
      const header = protocol === PROTOCOL.IPV6 ? this.#header6 : this.#header4;
      writeSstpDataHeader(bytes, o, header - SSTP_DATA_HEADER_BYTES + p.length);
      writePppHeaderWith(bytes, o + SSTP_DATA_HEADER_BYTES, protocol, ppp);
      bytes.set(p, o + header);
      o += header + p.length;
    }
    return { bytes, packets: kept, ipBytes, dropped };
  }

  /** {@linkcode encapsulate} of one packet on a link without multilink. */
  #encapsulateOne(p: Uint8Array): Encapsulated {
    const protocol = this.#protocolOf(p);
    if (protocol === undefined) return { bytes: EMPTY, packets: 0, ipBytes: 0, dropped: 1 };
    const v6 = protocol === PROTOCOL.IPV6;
    if (this.#mss4 > 0) clampTcpMss(p, v6 ? this.#mss6 : this.#mss4);
    const header = v6 ? this.#header6 : this.#header4;
    const bytes = new Uint8Array(header + p.length);
    writeSstpDataHeader(bytes, 0, header - SSTP_DATA_HEADER_BYTES + p.length);
    writePppHeaderWith(bytes, SSTP_DATA_HEADER_BYTES, protocol, this.#framing);
    bytes.set(p, header);
    return { bytes, packets: 1, ipBytes: p.length, dropped: 0 };
  }
}
