/**
 * A bounds-checked big-endian cursor over a `Uint8Array`. Every read past the
 * end throws {@linkcode ProtocolError} with code `TRUNCATED`, so decoders built
 * on it throw only `ProtocolError`.
 *
 * @module
 */
import { ERROR_CODE, type ErrorLayer, ProtocolError } from "../errors.ts";

/** Cursor over bytes; reads are big-endian (network order). */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #layer: ErrorLayer;
  readonly #what: string;
  #offset: number;

  /**
   * Reads `bytes` from offset 0; `layer` and `what` name the data in the
   * `ProtocolError` (code `TRUNCATED`) that a read past the end throws.
   *
   * @param bytes What to read (not copied).
   * @param layer Layer named in errors.
   * @param what Noun named in errors, e.g. "SSTP packet".
   *
   * @example
   * ```ts
   * import { ByteReader } from "./byte_reader.ts";
   * const r = new ByteReader(new Uint8Array([0x10, 0x01, 0x00, 0x0e]), "sstp", "SSTP packet");
   * if (r.u8() !== 0x10 || r.u8() !== 1 || r.u16() !== 14) throw new Error();
   * ```
   */
  constructor(bytes: Uint8Array, layer: ErrorLayer, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#layer = layer;
    this.#what = what;
    this.#offset = 0;
  }

  /** Bytes already consumed. */
  get offset(): number {
    return this.#offset;
  }
  /** Bytes left. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #need(n: number, field: string): void {
    if (this.#offset + n > this.#bytes.length) {
      throw new ProtocolError(
        this.#layer,
        ERROR_CODE.TRUNCATED,
        `Cannot decode ${this.#what}: ${field} needs ${n} bytes at offset ${this.#offset} but ${this.remaining} remain`,
      );
    }
  }

  /** Reads one byte. */
  u8(field = "u8"): number {
    this.#need(1, field);
    return this.#view.getUint8(this.#offset++);
  }
  /** Reads a big-endian 16-bit integer. */
  u16(field = "u16"): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return v;
  }
  /** Reads a big-endian 32-bit integer. */
  u32(field = "u32"): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return v;
  }
  /** Returns a view (not a copy) of the next `n` bytes. */
  bytes(n: number, field = "bytes"): Uint8Array {
    this.#need(n, field);
    const v = this.#bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return v;
  }
  /** Returns a view of everything left. */
  rest(): Uint8Array {
    const v = this.#bytes.subarray(this.#offset);
    this.#offset = this.#bytes.length;
    return v;
  }
  /** Skips `n` bytes. */
  skip(n: number, field = "bytes"): void {
    this.#need(n, field);
    this.#offset += n;
  }
}
