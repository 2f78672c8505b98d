/**
 * The per-option plug-in of the generic automaton ({@linkcode PppFsm}), in
 * the manner of accel-ppp's one-file-per-option modules. One handler owns one
 * option type in both directions:
 *
 * - *Our* request: {@linkcode OptionHandler.request} supplies the data we put
 *   in our Configure-Request; the peer's answer arrives through `onAck`,
 *   `onNak` or `onReject` (RFC 1661 5.2-5.4).
 * - *The peer's* request: {@linkcode OptionHandler.onRequest} judges the
 *   peer's option; `onAckSent` commits the value once the whole
 *   Configure-Request has been acknowledged.
 *
 * @module
 */
import type { ProtocolError } from "../errors.ts";

/** How a handler answers one option of the peer's Configure-Request. */
export type OptionVerdict =
  | { kind: "ack" }
  /** Acceptable option, unacceptable value: suggest `data` (RFC 1661 5.3). */
  | { kind: "nak"; data: Uint8Array }
  /** Unrecognised or not negotiable (RFC 1661 5.4). */
  | { kind: "reject" }
  /** Negotiation cannot succeed (e.g. a looped-back link): close the layer. */
  | { kind: "fail"; error: ProtocolError };

/** Shorthand verdicts. */
export const ACK: OptionVerdict = { kind: "ack" };
/** Shorthand verdict. */
export const REJECT: OptionVerdict = { kind: "reject" };
/** Builds a Nak verdict. */
export function nak(data: Uint8Array): OptionVerdict {
  return { kind: "nak", data };
}

/** One Configuration Option's negotiation logic. */
export interface OptionHandler {
  /** Option type this handler owns. */
  readonly type: number;
  /**
   * Data for this option in our next Configure-Request, or `undefined` to
   * leave it out.
   */
  request(): Uint8Array | undefined;
  /** The peer acknowledged our Configure-Request containing `data`. */
  onAck(data: Uint8Array): void;
  /**
   * The peer Nak'd this option suggesting `data`. `requested` is false when
   * the peer appended an option we did not ask for (RFC 1661 5.3).
   * Returns an error to give up negotiating.
   */
  onNak(data: Uint8Array, requested: boolean): ProtocolError | undefined;
  /** The peer rejected this option. Returns an error to give up negotiating. */
  onReject(): ProtocolError | undefined;
  /**
   * Judges the peer's option. May update loop counters, but negotiated values
   * are committed only in `onAckSent`.
   */
  onRequest(data: Uint8Array): OptionVerdict;
  /** We sent a Configure-Ack for a request containing this option with `data`. */
  onAckSent(data: Uint8Array): void;
  /** A negotiation starts afresh (This-Layer-Started/Down/Finished): forget results. */
  reset(): void;
  /** Renders the option for trace lines, e.g. `mru 1500`. */
  describe(data: Uint8Array): string;
}

/** Reads a big-endian unsigned integer of `data.length` (≤ 4) bytes. */
export function readUint(data: Uint8Array): number {
  let v = 0;
  for (const b of data) v = v * 256 + b;
  return v;
}

/** Writes a big-endian unsigned integer into `n` bytes. */
export function writeUint(value: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  return out;
}
