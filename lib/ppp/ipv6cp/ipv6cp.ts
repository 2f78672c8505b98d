/**
 * The IPv6 Control Protocol (RFC 5072) on the generic automaton. Only
 * Interface-Identifier is negotiated; IPv6-Compression-Protocol and unknown
 * types are Configure-Rejected.
 *
 * @module
 */
import type { RandomBytes } from "../auth/auth_types.ts";
import { PROTOCOL } from "../constants.ts";
import { type CpTimingOptions, FsmControlProtocol } from "../control_protocol.ts";
import { cpTiming, PppFsm } from "../fsm.ts";
import { pickDefined } from "../_pick.ts";
import { InterfaceIdentifierHandler, linkLocalAddress } from "./interface_identifier.ts";

/** Construction options of {@linkcode Ipv6cp}. */
export interface Ipv6cpOptions extends CpTimingOptions {
  /** Randomness for Interface-Identifiers. */
  randomBytes: RandomBytes;
  /** A fixed identifier to request (8 non-zero bytes). */
  localIdentifier?: Uint8Array;
}

/** What IPV6CP negotiated (undefined until acked). */
export interface Ipv6cpResult {
  /** Our Interface-Identifier. */
  localIdentifier?: Uint8Array;
  /** The peer's Interface-Identifier. */
  peerIdentifier?: Uint8Array;
  /** fe80:: address built from `localIdentifier`. */
  localLinkLocal?: string;
  /** fe80:: address built from `peerIdentifier`. */
  peerLinkLocal?: string;
}

/**
 * IPV6CP for one link.
 *
 * @example
 * ```ts
 * import { Ipv6cp } from "./ipv6cp.ts";
 * const v6 = new Ipv6cp({ randomBytes: (n) => new Uint8Array(n).fill(1) });
 * v6.open(0);
 * if (v6.up(0)[0]?.type !== "send") throw new Error();
 * ```
 */
export class Ipv6cp extends FsmControlProtocol {
  /** 0x8057 */
  readonly protocol: number = PROTOCOL.IPV6CP;
  /** The automaton over the Interface-Identifier handler. */
  protected readonly fsm: PppFsm;
  readonly #iid: InterfaceIdentifierHandler;

  /**
   * IPV6CP in the Initial state.
   *
   * @throws {RangeError} For a bad `localIdentifier` or counters.
   */
  constructor(options: Ipv6cpOptions) {
    super();
    this.#iid = new InterfaceIdentifierHandler({
      randomBytes: options.randomBytes,
      ...pickDefined(options, ["localIdentifier"]),
    });
    this.fsm = new PppFsm({
      ...cpTiming(options),
      protocol: PROTOCOL.IPV6CP,
      name: "IPV6CP",
      layer: "ipv6cp",
      handlers: [this.#iid],
    });
  }

  /** The negotiated identifiers. */
  get result(): Ipv6cpResult {
    const r: Ipv6cpResult = {};
    const local = this.#iid.localIdentifier;
    if (local !== undefined) {
      r.localIdentifier = local;
      r.localLinkLocal = linkLocalAddress(local);
    }
    const peer = this.#iid.peerIdentifier;
    if (peer !== undefined) {
      r.peerIdentifier = peer;
      r.peerLinkLocal = linkLocalAddress(peer);
    }
    return r;
  }
}
