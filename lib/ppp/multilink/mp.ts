/**
 * The Multilink Protocol (RFC 1990) as this project uses it: one SSTP link
 * whose LCP negotiated an MRRU larger than the link MTU, so a packet up to
 * MRRU bytes crosses as several MP fragments (PPP protocol 0x003d) and is
 * reassembled on the far side. This lets a 1,500-byte IP packet with DF set
 * cross a tunnel whose TUN MTU is 1,400 without IP fragmentation.
 *
 * ```
 * RFC 1990 3, long sequence number format:   | B | E | 0 0 0 0 0 0 | sequence (24) |
 * RFC 1990 3, short sequence number format:  | B | E | 0 0 | sequence (12) |
 * followed by a slice of the packet's PPP protocol field and information
 * ```
 *
 * B marks the first fragment of a packet and E the last. With one link over
 * TCP, fragments arrive in order and unduplicated unless the peer misbehaves,
 * so the receiver's rule (RFC 1990 4.1, for a single link) is simple: a
 * sequence gap means lost fragments, and the packet being built is
 * discarded; a fragment that does not continue a packet (no B after a
 * completed one) is discarded until the next B. Buffers are bounded by MRRU
 * and a reassembly that stalls is dropped after `reassemblyTimeoutMs`.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";

/** PPP protocol number of MP fragments (RFC 1990 3). */
export const MP_PROTOCOL = 0x003d;

/** Sequence number format. */
export type MpSequenceFormat = "long" | "short";

/** A decoded MP fragment header. */
export interface MpFragment {
  /** B: first fragment of a packet. */
  begin: boolean;
  /** E: last fragment of a packet. */
  end: boolean;
  /** 24-bit (long) or 12-bit (short) sequence number. */
  sequence: number;
  /** The slice of the packet this fragment carries. */
  data: Uint8Array;
}

const MASK = { long: 0xffffff, short: 0x0fff } as const;

/** Bytes of the MP header for a format. */
export function mpHeaderLength(format: MpSequenceFormat): number {
  return format === "long" ? 4 : 2;
}

/** Encodes one fragment (MP header and data; the caller adds the PPP protocol 0x003d). */
export function encodeMpFragment(f: MpFragment, format: MpSequenceFormat): Uint8Array {
  const h = mpHeaderLength(format);
  const out = new Uint8Array(h + f.data.length);
  const flags = (f.begin ? 0x80 : 0) | (f.end ? 0x40 : 0);
  const seq = f.sequence & MASK[format];
  if (format === "long") {
    out[0] = flags;
    out[1] = seq >> 16;
    out[2] = (seq >> 8) & 0xff;
    out[3] = seq & 0xff;
  } else {
    out[0] = flags | (seq >> 8);
    out[1] = seq & 0xff;
  }
  out.set(f.data, h);
  return out;
}

/**
 * Decodes one fragment.
 *
 * @throws {ProtocolError} TRUNCATED when shorter than the header
 */
export function decodeMpFragment(bytes: Uint8Array, format: MpSequenceFormat): MpFragment {
  const h = mpHeaderLength(format);
  if (bytes.length < h) {
    throw new ProtocolError(
      "ppp",
      ERROR_CODE.TRUNCATED,
      `Cannot decode MP fragment: ${bytes.length} bytes is shorter than the ${h}-byte header`,
    );
  }
  const b0 = bytes[0] ?? 0;
  const sequence = format === "long"
    ? ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)
    : ((b0 & 0x0f) << 8) | (bytes[1] ?? 0);
  return {
    begin: (b0 & 0x80) !== 0,
    end: (b0 & 0x40) !== 0,
    sequence,
    data: bytes.subarray(h),
  };
}

/** Splits packets into MP fragments with consecutive sequence numbers. */
export class MpFragmenter {
  readonly #format: MpSequenceFormat;
  #next = 0;

  /**
   * Creates a fragmenter whose sequence numbers start at 0.
   *
   * @param format The sequence format LCP negotiated for the peer's receive side.
   */
  constructor(format: MpSequenceFormat) {
    this.#format = format;
  }

  /**
   * Cuts `packet` (PPP protocol field plus information) into fragments whose
   * MP payload (header and data) is at most `maxFragment` bytes: the MTU
   * left for a PPP information field on the link.
   *
   * @throws {RangeError} when `maxFragment` leaves no room for data
   */
  fragment(packet: Uint8Array, maxFragment: number): Uint8Array[] {
    const room = maxFragment - mpHeaderLength(this.#format);
    if (room < 1) {
      throw new RangeError(`Cannot fragment for MP: ${maxFragment} bytes leaves no room`);
    }
    const out: Uint8Array[] = [];
    for (let at = 0; at < packet.length || out.length === 0; at += room) {
      const data = packet.subarray(at, Math.min(packet.length, at + room));
      out.push(encodeMpFragment({
        begin: at === 0,
        end: at + room >= packet.length,
        sequence: this.#next,
        data,
      }, this.#format));
      this.#next = (this.#next + 1) & MASK[this.#format];
    }
    return out;
  }
}

/** Why the reassembler dropped data (counted by the caller). */
export type MpDropReason = "gap" | "no-begin" | "too-long" | "timeout" | "malformed";

/** What one received fragment produced. */
export interface MpReceiveResult {
  /** A complete packet (PPP protocol field plus information), if one finished. */
  packet?: Uint8Array;
  /** Set when data was discarded. */
  dropped?: MpDropReason;
}

/** Reassembles MP fragments from one link (RFC 1990 4.1, single-link case). */
export class MpReassembler {
  readonly #format: MpSequenceFormat;
  readonly #mrru: number;
  readonly #timeoutMs: number;
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #expected: number | undefined;
  #building = false;
  #startedMs = 0;

  /**
   * Creates a reassembler.
   *
   * @param format The sequence format we asked the peer to use.
   * @param mrru The largest reassembled packet we accept (our MRRU).
   * @param reassemblyTimeoutMs How long a partial packet may wait (default 2,000 ms).
   */
  constructor(format: MpSequenceFormat, mrru: number, reassemblyTimeoutMs = 2000) {
    this.#format = format;
    this.#mrru = mrru;
    this.#timeoutMs = reassemblyTimeoutMs;
  }

  /** True while a packet is partly received. */
  get isBuilding(): boolean {
    return this.#building;
  }

  /** Feeds one fragment (the bytes after PPP protocol 0x003d). Never throws on peer input. */
  receive(bytes: Uint8Array, nowMs: number): MpReceiveResult {
    let f: MpFragment;
    try {
      f = decodeMpFragment(bytes, this.#format);
    } catch {
      return this.#drop("malformed");
    }
    let dropped: MpDropReason | undefined;
    if (this.#building && nowMs - this.#startedMs >= this.#timeoutMs) {
      dropped = this.#reset("timeout");
    }
    if (this.#expected !== undefined && f.sequence !== this.#expected && this.#building) {
      dropped = this.#reset("gap");
    }
    this.#expected = (f.sequence + 1) & MASK[this.#format];
    if (f.begin) {
      if (this.#building) dropped = this.#reset("gap");
      this.#building = true;
      this.#startedMs = nowMs;
    } else if (!this.#building) {
      return { dropped: dropped ?? "no-begin" };
    }
    this.#bytes += f.data.length;
    if (this.#bytes > this.#mrru + 2) { // MRRU counts the information field; +2 for the protocol
      return { dropped: this.#reset("too-long") };
    }
    this.#parts.push(f.data.slice());
    if (!f.end) return dropped ? { dropped } : {};
    const packet = new Uint8Array(this.#bytes);
    let at = 0;
    for (const p of this.#parts) {
      packet.set(p, at);
      at += p.length;
    }
    this.#reset(undefined);
    return dropped ? { packet, dropped } : { packet };
  }

  /**
   * When the partial packet times out (its first fragment's time plus the
   * reassembly timeout), or undefined when none is being built. The runner
   * arms a timer for it and calls {@linkcode expire} then, so a stalled
   * packet's buffers go without waiting for the peer's next fragment.
   */
  get deadlineMs(): number | undefined {
    return this.#building ? this.#startedMs + this.#timeoutMs : undefined;
  }

  /** Drops a partial packet that waited too long; call from the runner's timer. */
  expire(nowMs: number): MpReceiveResult {
    return this.#building && nowMs - this.#startedMs >= this.#timeoutMs
      ? { dropped: this.#reset("timeout") }
      : {};
  }

  #drop(reason: MpDropReason): MpReceiveResult {
    return { dropped: reason };
  }

  #reset<T extends MpDropReason | undefined>(reason: T): T {
    this.#parts = [];
    this.#bytes = 0;
    this.#building = false;
    return reason;
  }
}
