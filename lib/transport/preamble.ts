/**
 * Reads the SSTP HTTP preamble off a byte stream (MS-SSTP 3.2.4.1/3.3.4.1).
 *
 * The pure parsers live in `lib/sstp/http_preamble.ts`; this loop only reads
 * until one of them reports a complete header, enforces a deadline and a size
 * cap, and returns the bytes that followed the header in the same read (the
 * first SSTP packets may share a TLS record with it:
 * docs/interop.md#sstp-bytes-behind-the-http-header). The reader
 * lock is released so the data path can take the stream over.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { concatBytes } from "../bytes/hex.ts";

/** A header parser: null while incomplete. */
export type HeaderParser<T> = (bytes: Uint8Array) => { consumed: number } & T | null;

/**
 * Reads from `readable` until `parse` accepts a header.
 *
 * @throws {ProtocolError} layer "http": `TIMEOUT` after `timeoutMs`,
 *   `BAD_HTTP` when the stream ends first or the parser rejects the header.
 */
export async function readPreamble<T>(
  readable: ReadableStream<Uint8Array>,
  parse: HeaderParser<T>,
  timeoutMs: number,
  what: string,
): Promise<{ header: T; leftover: Uint8Array }> {
  const reader = readable.getReader();
  let buffered: Uint8Array = new Uint8Array(0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() =>
      reject(
        new ProtocolError(
          "http",
          ERROR_CODE.TIMEOUT,
          `Cannot read ${what}: nothing complete within ${timeoutMs} ms`,
        ),
      ), timeoutMs);
  });
  try {
    for (;;) {
      const { value, done } = await Promise.race([reader.read(), deadline]);
      if (done) {
        throw new ProtocolError(
          "http",
          ERROR_CODE.BAD_HTTP,
          `Cannot read ${what}: connection closed after ${buffered.length} bytes`,
        );
      }
      buffered = buffered.length === 0 ? value : concatBytes(buffered, value);
      const parsed = parse(buffered);
      if (parsed) {
        return { header: parsed, leftover: buffered.slice(parsed.consumed) };
      }
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}
