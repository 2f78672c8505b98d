/**
 * LCP Maximum-Receive-Unit option (RFC 1661 6.1).
 *
 * ```
 * | Type=1 | Length=4 | Maximum-Receive-Unit (16 bits) |
 * ```
 *
 * - We ask for our MRU (default 1500, at most the SSTP bound 4091).
 * - We ack a peer MRU in [128, `maxPeerMru`] and Nak anything else with our
 *   own MRU. The acked value bounds what we send (`peerMru`).
 *
 * @module
 */
import type { ProtocolError } from "../../errors.ts";
import { LCP_OPTION, PPP_DEFAULTS } from "../constants.ts";
import {
  ACK,
  nak,
  type OptionHandler,
  type OptionVerdict,
  readUint,
  REJECT,
  writeUint,
} from "../option_handler.ts";

/** Options of {@linkcode MruHandler}. */
export interface MruOptions {
  /** What we can receive (RouterOS `max-mru`); default 1500. */
  mru?: number;
  /** Put MRU in our Configure-Request (default true). */
  requestMru?: boolean;
  /** Largest peer MRU we ack (default 4091, the SSTP bound). */
  maxPeerMru?: number;
}

/** Renders MRU option data, e.g. `mru 1500`. */
export function describeMru(data: Uint8Array): string {
  return data.length === 2 ? `mru ${readUint(data)}` : `mru <len=${data.length}>`;
}

/** The Maximum-Receive-Unit handler. */
export class MruHandler implements OptionHandler {
  /** Maximum-Receive-Unit, option 1 (RFC 1661 6.1). */
  readonly type: typeof LCP_OPTION.MRU = LCP_OPTION.MRU;
  readonly #mru: number;
  readonly #maxPeerMru: number;
  readonly #isRequesting: boolean;
  #wanted: number;
  #isRejected = false;
  #localMru: number = PPP_DEFAULTS.MRU;
  #peerMru: number = PPP_DEFAULTS.MRU;

  /**
   * A handler for receiving up to `options.mru` bytes (both directions start at the default 1500).
   *
   * @throws {RangeError} For an MRU outside [128, 4091].
   */
  constructor(options: MruOptions = {}) {
    this.#mru = checkMru(options.mru ?? PPP_DEFAULTS.MRU, "mru");
    this.#maxPeerMru = checkMru(options.maxPeerMru ?? PPP_DEFAULTS.MAX_MRU, "maxPeerMru");
    this.#isRequesting = options.requestMru ?? true;
    this.#wanted = this.#mru;
  }

  /** The MRU the peer acked for us (what the peer may send us); 1500 if not negotiated. */
  get localMru(): number {
    return this.#localMru;
  }
  /** The MRU we acked for the peer (the largest frame we may send); 1500 if not negotiated. */
  get peerMru(): number {
    return this.#peerMru;
  }

  request(): Uint8Array | undefined {
    return this.#isRequesting && !this.#isRejected ? writeUint(this.#wanted, 2) : undefined;
  }
  onAck(data: Uint8Array): void {
    this.#localMru = readUint(data);
  }
  onNak(data: Uint8Array): ProtocolError | undefined {
    const suggested = data.length === 2 ? readUint(data) : 0;
    // RFC 1661 6.1: the peer suggests another MRU; take it if we can receive it.
    if (suggested >= PPP_DEFAULTS.MIN_MRU && suggested <= PPP_DEFAULTS.MAX_MRU) {
      this.#wanted = suggested;
    }
    return undefined;
  }
  onReject(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    if (data.length !== 2) return REJECT;
    const v = readUint(data);
    if (v < PPP_DEFAULTS.MIN_MRU || v > this.#maxPeerMru) return nak(writeUint(this.#mru, 2));
    return ACK;
  }
  onAckSent(data: Uint8Array): void {
    this.#peerMru = readUint(data);
  }
  reset(): void {
    this.#wanted = this.#mru;
    this.#isRejected = false;
    this.#localMru = PPP_DEFAULTS.MRU;
    this.#peerMru = PPP_DEFAULTS.MRU;
  }
  describe(data: Uint8Array): string {
    return describeMru(data);
  }
}

function checkMru(v: number, name: string): number {
  if (!Number.isInteger(v) || v < PPP_DEFAULTS.MIN_MRU || v > PPP_DEFAULTS.MAX_MRU) {
    throw new RangeError(
      `Cannot configure LCP: ${name} ${v} is outside [${PPP_DEFAULTS.MIN_MRU}, ${PPP_DEFAULTS.MAX_MRU}]`,
    );
  }
  return v;
}
