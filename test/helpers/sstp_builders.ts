/**
 * Independent SSTP test-packet builders (pg-protocol `test-buffers` analogue).
 * They write bytes straight from the MS-SSTP 2.2 field layouts and never
 * import the encoders under test, so codec tests compare two independent
 * renderings. Also: fixture loaders and a tiny seeded PRNG.
 *
 * @module
 */
import { fromHex } from "../../lib/bytes/hex.ts";

/** Big-endian u16 as two bytes. */
function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

/** Big-endian u32 as four bytes. */
function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** An SSTP data packet (MS-SSTP 2.2.3) around `payload`. */
export function buildData(payload: Uint8Array | number[]): Uint8Array {
  const body = [...payload];
  return new Uint8Array([0x10, 0x00, ...u16(4 + body.length), ...body]);
}

/** An SSTP control packet (MS-SSTP 2.2.2) from already built attributes. */
export function buildControl(messageType: number, attributes: Uint8Array[] = []): Uint8Array {
  const body = attributes.flatMap((a) => [...a]);
  return new Uint8Array([
    0x10,
    0x01,
    ...u16(8 + body.length),
    ...u16(messageType),
    ...u16(attributes.length),
    ...body,
  ]);
}

/** Encapsulated Protocol ID attribute (MS-SSTP 2.2.5). */
export function buildEncapsulatedProtocolId(protocolId = 1): Uint8Array {
  return new Uint8Array([0x00, 0x01, ...u16(6), ...u16(protocolId)]);
}

/** Status Info attribute (MS-SSTP 2.2.8). */
export function buildStatusInfo(
  attribId: number,
  status: number,
  value: number[] = [],
): Uint8Array {
  return new Uint8Array([
    0x00,
    0x02,
    ...u16(12 + value.length),
    0,
    0,
    0,
    attribId,
    ...u32(status),
    ...value,
  ]);
}

/** Crypto Binding Request attribute (MS-SSTP 2.2.6). */
export function buildCryptoBindingRequest(bitmask: number, nonce: Uint8Array): Uint8Array {
  return new Uint8Array([0x00, 0x04, ...u16(40), 0, 0, 0, bitmask, ...nonce]);
}

/** Crypto Binding attribute (MS-SSTP 2.2.7); hash and MAC are zero-padded to 32 bytes. */
export function buildCryptoBinding(
  hashProtocol: number,
  nonce: Uint8Array,
  certHash: Uint8Array,
  mac: Uint8Array,
): Uint8Array {
  const pad = (b: Uint8Array) => [...b, ...new Array(32 - b.length).fill(0)];
  return new Uint8Array([
    0x00,
    0x03,
    ...u16(104),
    0,
    0,
    0,
    hashProtocol,
    ...nonce,
    ...pad(certHash),
    ...pad(mac),
  ]);
}

/** An attribute with an arbitrary id and value (MS-SSTP 2.2.4). */
export function buildRawAttribute(attributeId: number, value: number[]): Uint8Array {
  return new Uint8Array([0x00, attributeId, ...u16(4 + value.length), ...value]);
}

const FIXTURES = new URL("../fixtures/", import.meta.url);

/** Every SSTP golden packet in test/fixtures, by file name. */
export const SSTP_FIXTURES = [
  "sstp_call_connect_request.hex",
  "sstp_call_connect_ack.hex",
  "sstp_call_connect_ack_sha1.hex",
  "sstp_call_connect_nak.hex",
  "sstp_call_connected.hex",
  "sstp_call_connected_sha1.hex",
  "sstp_abort_status.hex",
  "sstp_call_disconnect.hex",
  "sstp_call_disconnect_ack.hex",
  "sstp_echo_request.hex",
  "sstp_echo_response.hex",
  "sstp_data.hex",
] as const;

/** Reads a `.hex` fixture (comments after `#` ignored). */
export function readHexFixture(name: string): Uint8Array {
  return fromHex(Deno.readTextFileSync(new URL(name, FIXTURES)));
}

/** Reads an HTTP `.txt` fixture: `#` lines are comments, other lines are joined with CRLF. */
export function readHttpFixture(name: string): Uint8Array {
  const lines = Deno.readTextFileSync(new URL(name, FIXTURES)).split("\n");
  if (lines.at(-1) === "") lines.pop();
  const wire = lines.filter((l) => !l.startsWith("#")).map((l) => l + "\r\n").join("");
  return new TextEncoder().encode(wire);
}

/** A seeded PRNG (mulberry32): returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic bytes for nonces in tests. */
export function patternBytes(n: number, start = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}
