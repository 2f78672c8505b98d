/**
 * A growable big-endian writer. `patchU16` back-patches a length field once
 * the body is known.
 *
 * @module
 */

/** Big-endian byte writer. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;

  /**
   * Starts with room for `capacity` bytes; the buffer doubles as writes need it.
   *
   * @param capacity Initial capacity; grows as needed.
   *
   * @example
   * ```ts
   * import { ByteWriter } from "./byte_writer.ts";
   * const w = new ByteWriter();
   * w.u8(0x10); w.u8(1); const at = w.length; w.u16(0); w.patchU16(at, w.length);
   * if (w.finish().join(",") !== "16,1,0,4") throw new Error();
   * ```
   */
  constructor(capacity = 64) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #ensure(n: number): void {
    const need = this.#length + n;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Writes one byte. */
  u8(v: number): this {
    this.#ensure(1);
    this.#view.setUint8(this.#length, v);
    this.#length += 1;
    return this;
  }
  /** Writes a big-endian 16-bit integer. */
  u16(v: number): this {
    this.#ensure(2);
    this.#view.setUint16(this.#length, v);
    this.#length += 2;
    return this;
  }
  /** Writes a big-endian 32-bit integer. */
  u32(v: number): this {
    this.#ensure(4);
    this.#view.setUint32(this.#length, v);
    this.#length += 4;
    return this;
  }
  /** Writes bytes. */
  bytes(v: Uint8Array): this {
    this.#ensure(v.length);
    this.#buf.set(v, this.#length);
    this.#length += v.length;
    return this;
  }
  /** Writes `n` zero bytes. */
  zeros(n: number): this {
    this.#ensure(n);
    this.#buf.fill(0, this.#length, this.#length + n);
    this.#length += n;
    return this;
  }
  /** Overwrites a big-endian 16-bit integer at `offset`. */
  patchU16(offset: number, v: number): this {
    if (offset < 0 || offset + 2 > this.#length) {
      throw new RangeError(`Cannot patch u16 at ${offset}: only ${this.#length} bytes written`);
    }
    this.#view.setUint16(offset, v);
    return this;
  }
  /** Returns the written bytes (a view of the internal buffer). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }
}
