/**
 * Incremental SSTP framer: cuts a byte stream of any chunking into packets
 * (MS-SSTP 2.2.1, 3.1.7.2 "Receive HTTPS stream").
 *
 * Flow of one `pushEach(chunk)`:
 * 1. Bytes left from a control message that failed to decode are fed first.
 * 2. A partial packet buffered from earlier chunks is completed from the head
 *    of the chunk (the only copy the framer makes).
 * 3. Whole packets in the rest of the chunk are handed out as views into the
 *    chunk: data payloads are `subarray`s, not copies, so the caller must not
 *    reuse the chunk's buffer while it holds them.
 * 4. A trailing partial packet is copied into the framer (at most 4094 bytes).
 *
 * Errors:
 * - `BAD_VERSION` or `BAD_LENGTH` (< 4): the stream cannot be delineated. The
 *   framer stays failed and rethrows; close the connection without Call
 *   Abort (MS-SSTP 3.1.5.1).
 * - Any other code: one control packet was delineated but its message is
 *   malformed. The packet is skipped, the bytes after it are kept, and the
 *   next `push` continues (push an empty chunk to drain). Answer with Call
 *   Abort (MS-SSTP 3.1.5.1). `pushEach` has delivered the packets before it;
 *   `push` loses them with the throw.
 *
 * @module
 */
import { SSTP_HEADER_LENGTH, SSTP_MAX_PACKET_LENGTH } from "./constants.ts";
import { decodeSstpControlBody } from "./control_message.ts";
import type { SstpPacket } from "./packet.ts";
import { readSstpHeaderIsControl, readSstpHeaderLength } from "./_header.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { concatBytes } from "../bytes/hex.ts";

/** Incremental, zero-copy SSTP packet framer. */
export class SstpFramer {
  /**
   * Partial packet carried between chunks; `#pendingLength` bytes are valid.
   * Allocated on the first split packet: most sessions of a busy server sit
   * idle and never need it (4 KiB each).
   */
  #pending: Uint8Array | null = null;
  #pendingLength = 0;
  /** Bytes after a malformed control packet, fed before the next chunk. */
  #resume: Uint8Array | null = null;
  /** Set once the stream cannot be delineated. */
  #failure: ProtocolError | null = null;

  /** Bytes buffered for an incomplete packet (and after a malformed one). */
  get bufferedLength(): number {
    return this.#pendingLength + (this.#resume?.length ?? 0);
  }

  /**
   * Feeds a chunk and returns the whole packets it completes.
   *
   * @example
   * ```ts
   * import { SstpFramer } from "./framer.ts";
   * const framer = new SstpFramer();
   * const bytes = new Uint8Array([0x10, 0x00, 0x00, 0x06, 0xff, 0x03]);
   * if (framer.push(bytes.subarray(0, 3)).length !== 0) throw new Error();
   * const [p] = framer.push(bytes.subarray(3));
   * if (p?.kind !== "data" || p.data.length !== 2) throw new Error();
   * ```
   *
   * @throws {ProtocolError} See the module documentation.
   */
  push(chunk: Uint8Array): SstpPacket[] {
    const out: SstpPacket[] = [];
    this.pushEach(chunk, (p) => out.push(p));
    return out;
  }

  /**
   * Feeds a chunk and calls `onPacket` for each whole packet, in order,
   * without allocating an array. `onPacket` must not throw.
   *
   * @throws {ProtocolError} See the module documentation.
   */
  pushEach(chunk: Uint8Array, onPacket: (packet: SstpPacket) => void): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#resume !== null) {
      // Rare: only after a malformed control message. One input keeps the
      // rest of `chunk` safe should the resumed bytes fail again.
      const input = concatBytes(this.#resume, chunk);
      this.#resume = null;
      this.#feed(input, onPacket);
      return;
    }
    this.#feed(chunk, onPacket);
  }

  #feed(chunk: Uint8Array, onPacket: (packet: SstpPacket) => void): void {
    let offset = 0;
    if (this.#pendingLength > 0) {
      offset = this.#completePending(chunk, onPacket);
      if (offset < 0) return;
    }
    const end = chunk.length;
    while (end - offset >= SSTP_HEADER_LENGTH) {
      const length = this.#headerLength(chunk, offset);
      if (end - offset < length) break;
      const start = offset;
      offset += length;
      this.#emit(chunk, start, length, chunk, offset, onPacket);
    }
    if (offset < end) {
      this.#pending ??= new Uint8Array(SSTP_MAX_PACKET_LENGTH);
      this.#pending.set(chunk.subarray(offset), 0);
      this.#pendingLength = end - offset;
    }
  }

  /** Completes the buffered packet; returns the chunk offset after it, or -1 if still partial. */
  #completePending(chunk: Uint8Array, onPacket: (packet: SstpPacket) => void): number {
    const pending = this.#pending!;
    let offset = 0;
    if (this.#pendingLength < SSTP_HEADER_LENGTH) {
      const take = Math.min(SSTP_HEADER_LENGTH - this.#pendingLength, chunk.length);
      pending.set(chunk.subarray(0, take), this.#pendingLength);
      this.#pendingLength += take;
      offset = take;
      if (this.#pendingLength < SSTP_HEADER_LENGTH) return -1;
    }
    const length = this.#headerLength(pending, 0);
    const take = Math.min(length - this.#pendingLength, chunk.length - offset);
    pending.set(chunk.subarray(offset, offset + take), this.#pendingLength);
    this.#pendingLength += take;
    offset += take;
    if (this.#pendingLength < length) return -1;
    this.#pendingLength = 0;
    // The pending buffer is reused, so the packet gets its own copy.
    const packet = pending.slice(0, length);
    this.#emit(packet, 0, length, chunk, offset, onPacket);
    return offset;
  }

  #headerLength(bytes: Uint8Array, offset: number): number {
    try {
      return readSstpHeaderLength(bytes, offset);
    } catch (error) {
      this.#failure = error instanceof ProtocolError ? error : new ProtocolError(
        "sstp",
        ERROR_CODE.BAD_LENGTH,
        "Cannot delineate SSTP stream",
        { cause: error },
      );
      this.#pendingLength = 0;
      this.#resume = null;
      throw this.#failure;
    }
  }

  /** Hands out the packet at `bytes[start, start+length)`; `rest` from `restOffset` is kept on error. */
  #emit(
    bytes: Uint8Array,
    start: number,
    length: number,
    rest: Uint8Array,
    restOffset: number,
    onPacket: (packet: SstpPacket) => void,
  ): void {
    const body = bytes.subarray(start + SSTP_HEADER_LENGTH, start + length);
    if (!readSstpHeaderIsControl(bytes, start)) {
      onPacket({ kind: "data", data: body });
      return;
    }
    let packet: SstpPacket;
    try {
      packet = { kind: "control", message: decodeSstpControlBody(body) };
    } catch (error) {
      // The packet was delineated, so the stream goes on after it.
      if (restOffset < rest.length) this.#resume = rest.slice(restOffset);
      throw error;
    }
    onPacket(packet);
  }
}
