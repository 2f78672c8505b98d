/**
 * The Link Control Protocol (RFC 1661): the generic automaton with the LCP
 * option handlers, plus the LCP-only codes 8-11.
 *
 * - Options we negotiate: MRU, Authentication-Protocol, Magic-Number, PFC,
 *   ACFC (one handler file each), and with `mrru` configured the multilink
 *   options MRRU and Short-Sequence-Number-Header-Format (RFC 1990 5.1;
 *   rejected without it). Everything else (ACCM, Quality-Protocol, Callback,
 *   Endpoint-Discriminator, unknown types) is Configure-Rejected, in the
 *   peer's order.
 * - Protocol-Reject (RFC 1661 5.7): sent for protocols we do not run, only in
 *   Opened; received ones become `protocolRejected` actions (RXJ+), or RXJ-
 *   when the peer rejects LCP itself.
 * - Echo-Request (RFC 1661 5.8) is answered with our magic in Opened and
 *   silently discarded otherwise; Discard-Request is ignored (RXR).
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import type { AuthMethod, RandomBytes } from "../auth/auth_types.ts";
import { CP_CODE, PPP_DEFAULTS, PROTOCOL } from "../constants.ts";
import { type CpPacket, decodeCpPacket, encodeCpPacket } from "../cp_packet.ts";
import { type CpAction, type CpTimingOptions, FsmControlProtocol } from "../control_protocol.ts";
import { cpTiming, PppFsm } from "../fsm.ts";
import { readUint, writeUint } from "../option_handler.ts";
import { AcfcHandler } from "./acfc.ts";
import { AuthProtocolHandler } from "./auth_protocol.ts";
import { MagicNumberHandler } from "./magic_number.ts";
import { MruHandler } from "./mru.ts";
import { MrruHandler, ShortSequenceHandler } from "./mrru.ts";
import { PfcHandler } from "./pfc.ts";
import { pickDefined } from "../_pick.ts";
import type { FlagOptions } from "./_flag_option.ts";

/** Construction options of {@linkcode Lcp}. */
export interface LcpOptions extends CpTimingOptions {
  /** Randomness for the Magic-Number. */
  randomBytes: RandomBytes;
  /** Our MRU (RouterOS `max-mru`); default 1500, at most 4091. */
  mru?: number;
  /** Put MRU in our Configure-Request (default true). */
  requestMru?: boolean;
  /** Largest peer MRU we ack (default 4091). */
  maxPeerMru?: number;
  /** Put Magic-Number in our Configure-Request (default true). */
  requestMagic?: boolean;
  /** Requests carrying our own magic in a row before `LOOPBACK` (default 5). */
  loopbackLimit?: number;
  /** Methods we require the peer to authenticate with, preferred first (server). */
  authenticatePeerWith?: readonly AuthMethod[];
  /** Methods we agree to authenticate ourselves with, strongest first (client). */
  acceptAuth?: readonly AuthMethod[];
  /** PFC policy (default: do not request, accept). */
  pfc?: FlagOptions;
  /** ACFC policy (default: do not request, accept). */
  acfc?: FlagOptions;
  /**
   * Multilink MRRU (RouterOS `mrru`, RFC 1990): requested and the peer's
   * acked; undefined (default) rejects both multilink options.
   */
  mrru?: number;
  /** With `mrru`: ask the peer to send short sequence numbers (default false). */
  requestShortSequence?: boolean;
}

/** What LCP negotiated; values are defaults until Opened. */
export interface LcpResult {
  /** MRU the peer acked for us (1500 when not negotiated). */
  localMru: number;
  /** MRU we acked for the peer: the largest frame we may send (1500 when not negotiated). */
  peerMru: number;
  /** Our magic as acked, 0 when not negotiated. */
  localMagic: number;
  /** The peer's magic as acked, 0 when not negotiated. */
  peerMagic: number;
  /** Method we authenticate the peer with (server), if any. */
  authAsAuthenticator?: AuthMethod;
  /** Method we authenticate ourselves with (client), if any. */
  authAsPeer?: AuthMethod;
  /** We acked the peer's PFC: we may send one-byte protocol fields. */
  sendPfc: boolean;
  /** We acked the peer's ACFC: we may omit FF 03. */
  sendAcfc: boolean;
  /** The peer acked our MRRU: it may send us MP packets up to this size. */
  localMrru?: number;
  /** We acked the peer's MRRU: we may send it MP packets up to this size. */
  peerMrru?: number;
  /** The peer acked our short-sequence request: MP from it uses 12-bit numbers. */
  receiveShortSequence?: true;
  /** We acked the peer's short-sequence request: MP to it uses 12-bit numbers. */
  sendShortSequence?: true;
}

/**
 * LCP for one link.
 *
 * @example
 * ```ts
 * import { Lcp } from "./lcp.ts";
 * const lcp = new Lcp({ randomBytes: (n) => new Uint8Array(n).fill(7), acceptAuth: ["pap"] });
 * lcp.open(0);
 * const [send] = lcp.up(0);
 * if (lcp.state !== "ReqSent" || send?.type !== "send") throw new Error();
 * ```
 */
export class Lcp extends FsmControlProtocol {
  /** 0xc021 */
  readonly protocol: number = PROTOCOL.LCP;
  /** The automaton over the MRU, Authentication-Protocol, Magic-Number, PFC and ACFC handlers. */
  protected readonly fsm: PppFsm;
  readonly #mru: MruHandler;
  readonly #auth: AuthProtocolHandler;
  readonly #magic: MagicNumberHandler;
  readonly #pfc: PfcHandler;
  readonly #acfc: AcfcHandler;
  readonly #mrru: MrruHandler;
  readonly #shortSequence: ShortSequenceHandler;

  /**
   * LCP in the Initial state.
   *
   * @throws {RangeError} For out-of-range MRU or counters.
   */
  constructor(options: LcpOptions) {
    super();
    this.#mru = new MruHandler(pickDefined(options, ["mru", "requestMru", "maxPeerMru"]));
    this.#auth = new AuthProtocolHandler(
      pickDefined(options, ["authenticatePeerWith", "acceptAuth"]),
    );
    this.#magic = new MagicNumberHandler({
      randomBytes: options.randomBytes,
      ...pickDefined(options, ["requestMagic", "loopbackLimit"]),
    });
    this.#pfc = new PfcHandler(options.pfc);
    this.#acfc = new AcfcHandler(options.acfc);
    this.#mrru = new MrruHandler(options.mrru);
    this.#shortSequence = new ShortSequenceHandler(
      options.mrru !== undefined,
      options.requestShortSequence ?? false,
    );
    this.fsm = new PppFsm({
      ...cpTiming(options),
      protocol: PROTOCOL.LCP,
      name: "LCP",
      layer: "lcp",
      handlers: [
        this.#mru,
        this.#auth,
        this.#magic,
        this.#pfc,
        this.#acfc,
        this.#mrru,
        this.#shortSequence,
      ],
      peerMru: () => this.#mru.peerMru,
    });
  }

  /** The negotiated values. */
  get result(): LcpResult {
    const r: LcpResult = {
      localMru: this.#mru.localMru,
      peerMru: this.#mru.peerMru,
      localMagic: this.#magic.localMagic,
      peerMagic: this.#magic.peerMagic,
      sendPfc: this.#pfc.peerAccepts,
      sendAcfc: this.#acfc.peerAccepts,
    };
    if (this.#shortSequence.localShort) r.receiveShortSequence = true;
    if (this.#shortSequence.peerShort) r.sendShortSequence = true;
    const localMrru = this.#mrru.localMrru;
    if (localMrru !== undefined) r.localMrru = localMrru;
    const peerMrru = this.#mrru.peerMrru;
    if (peerMrru !== undefined) r.peerMrru = peerMrru;
    const server = this.#auth.authAsAuthenticator;
    if (server !== undefined) r.authAsAuthenticator = server;
    const client = this.#auth.authAsPeer;
    if (client !== undefined) r.authAsPeer = client;
    return r;
  }

  /** A received LCP packet (code|id|length|data). Never throws on peer input. */
  override receive(bytes: Uint8Array, _nowMs: number): CpAction[] {
    let packet: CpPacket;
    try {
      packet = decodeCpPacket(bytes, "lcp");
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return this.fsm.receive(bytes); // the automaton logs and discards it
    }
    switch (packet.code) {
      case CP_CODE.PROTOCOL_REJECT:
        return this.#receiveProtocolReject(packet);
      case CP_CODE.ECHO_REQUEST:
        return this.#receiveEchoRequest(packet);
      case CP_CODE.ECHO_REPLY:
        return this.#receiveEchoReply(packet);
      case CP_CODE.DISCARD_REQUEST:
        // RFC 1661 5.9: silently discarded (RXR).
        return this.fsm.dispatch("rxr");
      default:
        return this.fsm.receive(bytes);
    }
  }

  /**
   * Sends an Echo-Request (RFC 1661 5.8) with our magic and `data`; only in
   * Opened, otherwise returns nothing.
   */
  echoRequest(data: Uint8Array = new Uint8Array()): CpAction[] {
    if (!this.isOpened) return [];
    return [this.#send(CP_CODE.ECHO_REQUEST, this.fsm.nextIdentifier(), this.#magicAnd(data))];
  }

  /**
   * Protocol-Rejects a received frame of an unsupported protocol (RFC 1661
   * 5.7): Rejected-Protocol and Rejected-Information, truncated to the peer's
   * MRU. Only in Opened, otherwise returns nothing.
   */
  protocolReject(protocol: number, information: Uint8Array): CpAction[] {
    if (!this.isOpened) return [];
    const fit = Math.min(this.#mru.peerMru, PPP_DEFAULTS.MAX_CONTROL_PACKET);
    const room = Math.max(0, fit - 4 - 2);
    const data = new Uint8Array(2 + Math.min(room, information.length));
    data.set(writeUint(protocol & 0xffff, 2));
    data.set(information.subarray(0, room), 2);
    return [this.#send(CP_CODE.PROTOCOL_REJECT, this.fsm.nextIdentifier(), data)];
  }

  #receiveProtocolReject(packet: CpPacket): CpAction[] {
    if (packet.data.length < 2) return [];
    const protocol = readUint(packet.data.subarray(0, 2));
    if (protocol === PROTOCOL.LCP) {
      // RFC 1661 5.7: rejecting LCP itself is catastrophic (RXJ-).
      const error = new ProtocolError(
        "lcp",
        ERROR_CODE.NEGOTIATION_FAILED,
        "Cannot run LCP: the peer Protocol-Rejected LCP",
      );
      return this.fsm.dispatch("rxjBad", { error });
    }
    return [{ type: "protocolRejected", protocol }, ...this.fsm.dispatch("rxjGood")];
  }

  #receiveEchoRequest(packet: CpPacket): CpAction[] {
    // RFC 1661 5.8: only answered in Opened; the data after the magic is echoed.
    if (!this.isOpened || packet.data.length < 4) return [];
    const echoReply = {
      code: CP_CODE.ECHO_REPLY,
      identifier: packet.identifier,
      data: this.#magicAnd(packet.data.subarray(4)),
    };
    return this.fsm.dispatch("rxr", { echoReply });
  }

  #receiveEchoReply(packet: CpPacket): CpAction[] {
    if (!this.isOpened || packet.data.length < 4) return [];
    return [
      {
        type: "echoReply",
        identifier: packet.identifier,
        magic: readUint(packet.data.subarray(0, 4)),
        data: packet.data.slice(4),
      },
      ...this.fsm.dispatch("rxr"),
    ];
  }

  #magicAnd(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(4 + data.length);
    out.set(writeUint(this.#magic.localMagic, 4));
    out.set(data, 4);
    return out;
  }

  #send(code: number, identifier: number, data: Uint8Array): CpAction {
    return {
      type: "send",
      protocol: PROTOCOL.LCP,
      packet: encodeCpPacket({ code, identifier, data }),
    };
  }
}
