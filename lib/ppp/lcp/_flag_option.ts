/**
 * Shared logic of the data-less LCP options PFC (RFC 1661 6.5) and ACFC
 * (RFC 1661 6.6): Length is 2 and the option's presence is the request.
 *
 * @module
 */
import type { ProtocolError } from "../../errors.ts";
import { ACK, type OptionHandler, type OptionVerdict, REJECT } from "../option_handler.ts";

/** Options of a flag option handler. */
export interface FlagOptions {
  /** Ask the peer to let us receive compressed frames (default false). */
  request?: boolean;
  /** Let the peer receive compressed frames from us (default true). */
  accept?: boolean;
}

/** A handler for an option without data. */
export class FlagOptionHandler implements OptionHandler {
  readonly type: number;
  readonly #label: string;
  readonly #isRequesting: boolean;
  readonly #isAccepting: boolean;
  #isRejected = false;
  #weAccepted = false;
  #peerAccepted = false;

  /**
   * A handler for option `type`, rendered as `label` in logs.
   *
   * @param options Whether to request the option and to accept the peer's.
   */
  constructor(type: number, label: string, options: FlagOptions) {
    this.type = type;
    this.#label = label;
    this.#isRequesting = options.request ?? false;
    this.#isAccepting = options.accept ?? true;
  }

  /** The peer acked our request: it may send us compressed frames. */
  get localAccepts(): boolean {
    return this.#peerAccepted;
  }
  /** We acked the peer's request: we may send it compressed frames. */
  get peerAccepts(): boolean {
    return this.#weAccepted;
  }

  request(): Uint8Array | undefined {
    return this.#isRequesting && !this.#isRejected ? new Uint8Array() : undefined;
  }
  onAck(): void {
    this.#peerAccepted = true;
  }
  onNak(): ProtocolError | undefined {
    // RFC 1661 6.5/6.6 define no values to suggest; a Nak leaves the request as it is.
    return undefined;
  }
  onReject(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    return this.#isAccepting && data.length === 0 ? ACK : REJECT;
  }
  onAckSent(): void {
    this.#weAccepted = true;
  }
  reset(): void {
    this.#isRejected = false;
    this.#weAccepted = false;
    this.#peerAccepted = false;
  }
  describe(data: Uint8Array): string {
    return data.length === 0
      ? this.#label
      : `opt 0x${this.type.toString(16)} len=${data.length + 2}`;
  }
}
