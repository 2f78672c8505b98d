/**
 * LCP Magic-Number option (RFC 1661 6.4).
 *
 * ```
 * | Type=5 | Length=6 | Magic-Number (32 bits) |
 * ```
 *
 * - Our magic is random (injected `randomBytes`) and never zero.
 * - A peer request carrying our own magic hints at a looped-back link: we Nak
 *   it with a new value and pick a new one ourselves; after `loopbackLimit`
 *   such requests in a row negotiation fails with `LOOPBACK`.
 * - Zero from the peer is illegal and Nak'd (RFC 1661 6.4).
 * - A peer that rejects the option (SoftEther) gets requests without it; our
 *   magic is then 0 in Echo packets (RFC 1661 5.8).
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import type { RandomBytes } from "../auth/auth_types.ts";
import { LCP_OPTION } from "../constants.ts";
import {
  ACK,
  nak,
  type OptionHandler,
  type OptionVerdict,
  readUint,
  REJECT,
  writeUint,
} from "../option_handler.ts";

/** Options of {@linkcode MagicNumberHandler}. */
export interface MagicNumberOptions {
  /** Randomness for magic numbers. */
  randomBytes: RandomBytes;
  /** Put Magic-Number in our Configure-Request (default true). */
  requestMagic?: boolean;
  /** Consecutive requests with our own magic before `LOOPBACK` (default 5). */
  loopbackLimit?: number;
}

/** Renders Magic-Number data, e.g. `magic 0x5a3c9e01`. */
export function describeMagicNumber(data: Uint8Array): string {
  return data.length === 4
    ? `magic 0x${readUint(data).toString(16)}`
    : `magic <len=${data.length}>`;
}

/** The Magic-Number handler. */
export class MagicNumberHandler implements OptionHandler {
  /** Magic-Number, option 5 (RFC 1661 6.4). */
  readonly type: typeof LCP_OPTION.MAGIC_NUMBER = LCP_OPTION.MAGIC_NUMBER;
  readonly #randomBytes: RandomBytes;
  readonly #isRequesting: boolean;
  readonly #loopbackLimit: number;
  #wanted = 0;
  #isRejected = false;
  #loops = 0;
  #localMagic = 0;
  #peerMagic = 0;

  /** A handler that draws a random non-zero magic number from `options.randomBytes`. */
  constructor(options: MagicNumberOptions) {
    this.#randomBytes = options.randomBytes;
    this.#isRequesting = options.requestMagic ?? true;
    this.#loopbackLimit = options.loopbackLimit ?? 5;
    this.#wanted = this.#fresh();
  }

  /** Our magic as acked by the peer; 0 when not negotiated (RFC 1661 5.8). */
  get localMagic(): number {
    return this.#localMagic;
  }
  /** The peer's magic as we acked it; 0 when not negotiated. */
  get peerMagic(): number {
    return this.#peerMagic;
  }

  /** A random non-zero magic number different from the current one. */
  #fresh(): number {
    for (let i = 0; i < 8; i++) {
      const v = readUint(this.#randomBytes(4).subarray(0, 4)) >>> 0;
      if (v !== 0 && v !== this.#wanted) return v;
    }
    // A broken random source must not hang us: step to a different non-zero value.
    return (this.#wanted % 0xffffffff) + 1;
  }

  request(): Uint8Array | undefined {
    return this.#isRequesting && !this.#isRejected ? writeUint(this.#wanted, 4) : undefined;
  }
  onAck(data: Uint8Array): void {
    this.#localMagic = readUint(data);
  }
  onNak(_data: Uint8Array, requested: boolean): ProtocolError | undefined {
    // RFC 1661 6.4: on a Nak a new Magic-Number MUST be chosen.
    if (requested) this.#wanted = this.#fresh();
    return undefined;
  }
  onReject(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    if (data.length !== 4) return REJECT;
    const v = readUint(data);
    if (v === 0) return nak(writeUint(this.#fresh(), 4));
    if (this.request() !== undefined && v === this.#wanted) {
      this.#loops++;
      if (this.#loops >= this.#loopbackLimit) {
        return {
          kind: "fail",
          error: new ProtocolError(
            "lcp",
            ERROR_CODE.LOOPBACK,
            `Cannot negotiate LCP: the link is looped back (own magic seen ${this.#loops} times)`,
          ),
        };
      }
      this.#wanted = this.#fresh();
      return nak(writeUint(this.#fresh(), 4));
    }
    this.#loops = 0;
    return ACK;
  }
  onAckSent(data: Uint8Array): void {
    this.#peerMagic = readUint(data);
  }
  reset(): void {
    this.#isRejected = false;
    this.#loops = 0;
    this.#localMagic = 0;
    this.#peerMagic = 0;
  }
  describe(data: Uint8Array): string {
    return describeMagicNumber(data);
  }
}
