/**
 * The one place that loads `@peculiar/x509`: it needs `reflect-metadata`
 * imported first and a WebCrypto provider set once.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export { x509 };

/** `der` typed as backed by an `ArrayBuffer` (copied only when it is not). */
export function bufferSource(der: Uint8Array): Uint8Array<ArrayBuffer> {
  return der.buffer instanceof ArrayBuffer
    ? new Uint8Array(der.buffer, der.byteOffset, der.byteLength)
    : new Uint8Array(der);
}
