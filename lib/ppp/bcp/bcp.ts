/**
 * The Bridging Control Protocol (RFC 3518 5) on the generic automaton: it
 * opens the link for Ethernet frames (protocol 0x0031) between a Linux
 * bridge on each side. Options:
 *
 * - MAC-Support (3): we ask for and accept only IEEE 802.3 (type 1);
 * - Tinygram-Compression (4) and IEEE-802-Tagged-Frame (8): accepted either
 *   way, since decoding handles both; never requested;
 * - Bridge-/Line-/LAN-Identification, MAC-Address, Spanning-Tree-Protocol,
 *   Management-Inline and unknown types: Configure-Rejected (a Linux bridge
 *   runs its own spanning tree over the port).
 *
 * @module
 */
import { type CpTimingOptions, FsmControlProtocol } from "../control_protocol.ts";
import { type FsmActionName, PppFsm } from "../fsm.ts";
import { ACK, type OptionHandler, type OptionVerdict, REJECT } from "../option_handler.ts";
import { BCP_PROTOCOL, MAC_TYPE_ETHERNET } from "./bridged_frame.ts";

/** BCP Configuration Option types (RFC 3518 5). */
export const BCP_OPTION = {
  BRIDGE_IDENTIFICATION: 1,
  LINE_IDENTIFICATION: 2,
  MAC_SUPPORT: 3,
  TINYGRAM_COMPRESSION: 4,
  LAN_IDENTIFICATION: 5,
  MAC_ADDRESS: 6,
  SPANNING_TREE_PROTOCOL: 7,
  IEEE_802_TAGGED_FRAME: 8,
  MANAGEMENT_INLINE: 9,
} as const;

class MacSupportHandler implements OptionHandler {
  readonly type = BCP_OPTION.MAC_SUPPORT;
  request(): Uint8Array {
    return new Uint8Array([MAC_TYPE_ETHERNET]);
  }
  onAck(): void {}
  onNak(): undefined {
    return undefined;
  }
  onReject(): undefined {
    // A peer that rejects MAC-Support still bridges 802.3 (its default).
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    return data.length === 1 && data[0] === MAC_TYPE_ETHERNET ? ACK : REJECT;
  }
  onAckSent(): void {}
  reset(): void {}
  describe(data: Uint8Array): string {
    return `mac-support ${data[0] ?? "?"}`;
  }
}

/** Accepts an enable (1) / disable (2) option without asking for it. */
class AcceptFlagHandler implements OptionHandler {
  readonly type: number;
  readonly #name: string;
  constructor(type: number, name: string) {
    this.type = type;
    this.#name = name;
  }
  request(): undefined {
    return undefined;
  }
  onAck(): void {}
  onNak(): undefined {
    return undefined;
  }
  onReject(): undefined {
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    return data.length === 1 && (data[0] === 1 || data[0] === 2) ? ACK : REJECT;
  }
  onAckSent(): void {}
  reset(): void {}
  describe(data: Uint8Array): string {
    return `${this.#name} ${data[0] === 1 ? "on" : "off"}`;
  }
}

/** The BCP option handlers (also used to describe BCP packets in debug logs). */
export function bcpOptionHandlers(): OptionHandler[] {
  return [
    new MacSupportHandler(),
    new AcceptFlagHandler(BCP_OPTION.TINYGRAM_COMPRESSION, "tinygram"),
    new AcceptFlagHandler(BCP_OPTION.IEEE_802_TAGGED_FRAME, "802.1q"),
  ];
}

/** Construction options of {@linkcode Bcp}. */
export interface BcpOptions extends CpTimingOptions {
  /** Observes every RFC 1661 action (tracing, tests). */
  trace?: (action: FsmActionName) => void;
}

/**
 * BCP for one link.
 *
 * @example
 * ```ts
 * import { Bcp } from "./bcp.ts";
 * const bcp = new Bcp({});
 * bcp.open(0);
 * if (bcp.up(0)[0]?.type !== "send") throw new Error();
 * ```
 */
export class Bcp extends FsmControlProtocol {
  /** 0x8031 */
  readonly protocol: number = BCP_PROTOCOL.BCP;
  /** The automaton with the BCP option handlers. */
  protected readonly fsm: PppFsm;

  /**
   * Creates BCP in the Initial state.
   *
   * @param options RFC 1661 4.6 timer and counters, logging and tracing.
   */
  constructor(options: BcpOptions) {
    super();
    this.fsm = new PppFsm({
      ...options,
      protocol: BCP_PROTOCOL.BCP,
      name: "BCP",
      layer: "ppp",
      handlers: bcpOptionHandlers(),
    });
  }
}
