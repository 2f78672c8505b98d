/**
 * LCP options of the Multilink Protocol (RFC 1990 5.1): Multilink-MRRU (17)
 * and Short-Sequence-Number-Header-Format (18).
 *
 * ```
 * | Type=17 | Length=4 | Max-Receive-Reconstructed-Unit (16 bits) |
 * | Type=18 | Length=2 |
 * ```
 *
 * - With `mrru` configured (RouterOS `mrru`), we put MRRU in our request
 *   (the peer may then send us MP fragments up to that size) and ack the
 *   peer's MRRU (we may then send MP to it); without it both are rejected,
 *   as before multilink support.
 * - Short sequence numbers: we ask for them when configured, and ack the
 *   peer's request whenever we do MP. Each direction is independent.
 *
 * @module
 */
import type { ProtocolError } from "../../errors.ts";
import { LCP_OPTION } from "../constants.ts";
import {
  ACK,
  type OptionHandler,
  type OptionVerdict,
  readUint,
  REJECT,
  writeUint,
} from "../option_handler.ts";

/** RFC 1990 5.1.2 Short-Sequence-Number-Header-Format option type. */
export const SHORT_SEQUENCE_OPTION = 18;
/** Smallest MRRU accepted (RFC 1661 6.1's smallest MRU). */
export const MIN_MRRU = 128;
/** Largest MRRU: the reconstructed packet must still fit one TUN read or write. */
export const MAX_MRRU = 16_384;

/** The Multilink-MRRU handler. */
export class MrruHandler implements OptionHandler {
  readonly type: number = LCP_OPTION.MRRU;
  readonly #mrru: number | undefined;
  #isRejected = false;
  #localMrru: number | undefined;
  #peerMrru: number | undefined;

  /**
   * Creates the handler; `mrru` undefined disables multilink.
   *
   * @throws {RangeError} for an MRRU outside [128, 16384]
   */
  constructor(mrru: number | undefined) {
    if (mrru !== undefined && (!Number.isInteger(mrru) || mrru < MIN_MRRU || mrru > MAX_MRRU)) {
      throw new RangeError(
        `Cannot configure LCP: mrru ${mrru} is outside [${MIN_MRRU}, ${MAX_MRRU}]`,
      );
    }
    this.#mrru = mrru;
  }

  /** The MRRU the peer acked for us: it may send us MP packets up to this size. */
  get localMrru(): number | undefined {
    return this.#localMrru;
  }
  /** The peer's MRRU that we acked: we may send it MP packets up to this size. */
  get peerMrru(): number | undefined {
    return this.#peerMrru;
  }

  /** Our MRRU, unless disabled or rejected. */
  request(): Uint8Array | undefined {
    return this.#mrru !== undefined && !this.#isRejected ? writeUint(this.#mrru, 2) : undefined;
  }
  /** The peer will reassemble nothing for us unless it acked. */
  onAck(data: Uint8Array): void {
    this.#localMrru = readUint(data);
  }
  /** A Nak'd MRRU is taken when it is still a size we can reassemble. */
  onNak(data: Uint8Array): ProtocolError | undefined {
    const v = data.length === 2 ? readUint(data) : 0;
    if (v < MIN_MRRU || v > MAX_MRRU) this.#isRejected = true;
    return undefined;
  }
  /** The peer does no multilink: neither do we. */
  onReject(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  /** Acks the peer's MRRU when multilink is configured. */
  onRequest(data: Uint8Array): OptionVerdict {
    if (this.#mrru === undefined || data.length !== 2) return REJECT;
    return readUint(data) >= MIN_MRRU ? ACK : REJECT;
  }
  /** Commits the peer's MRRU. */
  onAckSent(data: Uint8Array): void {
    this.#peerMrru = readUint(data);
  }
  /** Forgets the negotiation. */
  reset(): void {
    this.#isRejected = false;
    this.#localMrru = undefined;
    this.#peerMrru = undefined;
  }
  /** `mrru 1600`. */
  describe(data: Uint8Array): string {
    return data.length === 2 ? `mrru ${readUint(data)}` : `mrru <len=${data.length}>`;
  }
}

/** The Short-Sequence-Number-Header-Format handler (RFC 1990 5.1.2). */
export class ShortSequenceHandler implements OptionHandler {
  readonly type: number = SHORT_SEQUENCE_OPTION;
  readonly #isMultilink: boolean;
  readonly #isWanted: boolean;
  #isRejected = false;
  #localShort = false;
  #peerShort = false;

  /**
   * Creates the handler.
   *
   * @param isMultilink Multilink is configured (else the option is rejected).
   * @param isWanted Ask the peer to send us short sequence numbers.
   */
  constructor(isMultilink: boolean, isWanted: boolean) {
    this.#isMultilink = isMultilink;
    this.#isWanted = isMultilink && isWanted;
  }

  /** The peer sends us 12-bit sequence numbers. */
  get localShort(): boolean {
    return this.#localShort;
  }
  /** We send the peer 12-bit sequence numbers. */
  get peerShort(): boolean {
    return this.#peerShort;
  }
  /** Empty data when wanted. */
  request(): Uint8Array | undefined {
    return this.#isWanted && !this.#isRejected ? new Uint8Array() : undefined;
  }
  /** The peer will use short numbers towards us. */
  onAck(): void {
    this.#localShort = true;
  }
  /** A Nak of a flag option means no. */
  onNak(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  /** The peer sends long numbers. */
  onReject(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  /** Acked whenever multilink is configured. */
  onRequest(data: Uint8Array): OptionVerdict {
    return this.#isMultilink && data.length === 0 ? ACK : REJECT;
  }
  /** We send short numbers. */
  onAckSent(): void {
    this.#peerShort = true;
  }
  /** Forgets the negotiation. */
  reset(): void {
    this.#isRejected = false;
    this.#localShort = false;
    this.#peerShort = false;
  }
  /** `short-seq`. */
  describe(): string {
    return "short-seq";
  }
}
