/**
 * Reads the PROXY protocol header that a load balancer puts first on a
 * connection (parsed by the pure {@linkcode parseProxyHeader}), for both
 * listeners that accept one: PROXY + TLS and cleartext (TLS offload).
 *
 * @module
 */
import type * as net from "node:net";
import type { Logger } from "../log.ts";
import { ProtocolError } from "../errors.ts";
import {
  parseProxyHeader,
  PROXY_V1_MAX_LENGTH,
  type ProxyHeader,
  type ProxyProtocolMode,
} from "./proxy_protocol.ts";

/** Largest PROXY header read (v2 with TLVs); HAProxy's are far smaller. */
const MAX_HEADER_BYTES = 4096;

/**
 * Buffers `raw`'s first bytes until they hold a complete PROXY header of
 * `mode`, then stops reading them and calls `onHeader` in the same turn
 * with the header and the bytes that followed it (often the client's first
 * request, sent in the same segment). A malformed or overlong header is
 * logged as a refusal of `peer` and the socket destroyed.
 */
export function readProxyHeader(
  raw: net.Socket,
  mode: ProxyProtocolMode,
  peer: string,
  logger: Logger,
  onHeader: (header: ProxyHeader, rest: Uint8Array) => void,
): void {
  let buffered = new Uint8Array(0);
  const onData = (chunk: Uint8Array) => {
    const next = new Uint8Array(buffered.length + chunk.length);
    next.set(buffered);
    next.set(chunk, buffered.length);
    buffered = next;
    let r;
    try {
      r = parseProxyHeader(buffered, mode);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      logger.warn(`refused ${peer}: ${e.message}`);
      raw.destroy();
      return;
    }
    if (!r.done) {
      if (
        buffered.length > MAX_HEADER_BYTES ||
        (mode === "v1" && buffered.length > PROXY_V1_MAX_LENGTH)
      ) {
        logger.warn(`refused ${peer}: PROXY header longer than allowed`);
        raw.destroy();
      }
      return;
    }
    raw.off("data", onData);
    onHeader(r.header, buffered.subarray(r.length));
  };
  raw.on("data", onData);
}
