/**
 * RADIUS packets (RFC 2865 3, RFC 2866 3, RFC 5176 2.3): the wire codec and
 * the authenticators that sign and check them. Pure: no sockets, no clock;
 * randomness comes from the caller.
 *
 * ```
 *  0        1        2                 4
 * | Code   | Ident  | Length (20..4096)|
 * | Authenticator (16)                 |
 * | Attributes: Type(1) Length(1) Value(Length-2) ...
 * ```
 *
 * Authenticators:
 * - Access-Request: a random Request Authenticator (RFC 2865 3), plus a
 *   Message-Authenticator = HMAC-MD5(secret, packet with the attribute
 *   zeroed) on every request (RFC 3579 3.2).
 * - Accounting-Request, Disconnect/CoA-Request: Request Authenticator =
 *   MD5(Code|Id|Length|16 zero bytes|Attributes|secret) (RFC 2866 3,
 *   RFC 5176 2.3); a Message-Authenticator in them is computed first, over
 *   the packet with a zero authenticator (RFC 5176 3.4).
 * - Replies: Response Authenticator = MD5(Code|Id|Length|Request
 *   Authenticator|Attributes|secret) (RFC 2865 3); a Message-Authenticator
 *   in a reply is computed over the reply with the request's authenticator
 *   in place (RFC 3579 3.2).
 *
 * Every check compares in constant time.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { timingSafeEqual } from "../bytes/hex.ts";
import { md5 } from "../ppp/crypto/digest.ts";

/** RADIUS packet codes (RFC 2865 3, RFC 2866 3, RFC 5176 2.3). */
export const RADIUS_CODE = {
  ACCESS_REQUEST: 1,
  ACCESS_ACCEPT: 2,
  ACCESS_REJECT: 3,
  ACCOUNTING_REQUEST: 4,
  ACCOUNTING_RESPONSE: 5,
  ACCESS_CHALLENGE: 11,
  DISCONNECT_REQUEST: 40,
  DISCONNECT_ACK: 41,
  DISCONNECT_NAK: 42,
  COA_REQUEST: 43,
  COA_ACK: 44,
  COA_NAK: 45,
} as const;

/** RFC 2865 3: the smallest and largest packet. */
export const RADIUS_MIN_LENGTH = 20;
/** RFC 2865 3: the largest packet. */
export const RADIUS_MAX_LENGTH = 4096;
/** RFC 3579 3.2: attribute type of Message-Authenticator. */
export const MESSAGE_AUTHENTICATOR = 80;

/** One attribute as it is on the wire (the value without type and length). */
export interface RadiusAttribute {
  /** Attribute type (1..255). */
  type: number;
  /** Value bytes (0..253). */
  value: Uint8Array;
}

/** A decoded packet. */
export interface RadiusPacket {
  /** Packet Code (1 Access-Request, 2 Access-Accept, ...). */
  code: number;
  /** Identifier (0..255) matching a reply to its request. */
  identifier: number;
  /** 16 bytes. */
  authenticator: Uint8Array;
  /** Attributes in wire order. */
  attributes: RadiusAttribute[];
}

function bad(code: typeof ERROR_CODE[keyof typeof ERROR_CODE], why: string): ProtocolError {
  return new ProtocolError("radius", code, `Cannot decode RADIUS packet: ${why}`);
}

/**
 * Decodes a packet. Octets past the Length field are padding and ignored
 * (RFC 2865 3); a Length beyond the datagram, an attribute shorter than 2 or
 * running past the end is an error.
 *
 * @throws {ProtocolError} `TRUNCATED` or `BAD_LENGTH`.
 */
export function decodeRadiusPacket(bytes: Uint8Array): RadiusPacket {
  if (bytes.length < RADIUS_MIN_LENGTH) {
    throw bad(ERROR_CODE.TRUNCATED, `${bytes.length} bytes is shorter than the 20-byte header`);
  }
  const length = ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  if (length < RADIUS_MIN_LENGTH || length > RADIUS_MAX_LENGTH) {
    throw bad(ERROR_CODE.BAD_LENGTH, `Length ${length} is outside 20..4096`);
  }
  if (length > bytes.length) {
    throw bad(ERROR_CODE.TRUNCATED, `Length ${length} exceeds the ${bytes.length}-byte datagram`);
  }
  const attributes: RadiusAttribute[] = [];
  let o = RADIUS_MIN_LENGTH;
  while (o < length) {
    if (o + 2 > length) throw bad(ERROR_CODE.TRUNCATED, `attribute header at ${o} is cut off`);
    const type = bytes[o] ?? 0;
    const len = bytes[o + 1] ?? 0;
    if (len < 2) throw bad(ERROR_CODE.BAD_LENGTH, `attribute ${type} has length ${len}`);
    if (o + len > length) {
      throw bad(ERROR_CODE.TRUNCATED, `attribute ${type} of length ${len} runs past the packet`);
    }
    attributes.push({ type, value: bytes.slice(o + 2, o + len) });
    o += len;
  }
  return {
    code: bytes[0] ?? 0,
    identifier: bytes[1] ?? 0,
    authenticator: bytes.slice(4, 20),
    attributes,
  };
}

/**
 * Encodes a packet as given (no signing).
 *
 * @throws {RangeError} If an attribute value is over 253 bytes or the packet over 4096.
 */
export function encodeRadiusPacket(p: RadiusPacket): Uint8Array {
  if (p.authenticator.length !== 16) {
    throw new RangeError("Cannot encode RADIUS packet: the authenticator must be 16 bytes");
  }
  let length = RADIUS_MIN_LENGTH;
  for (const a of p.attributes) {
    if (a.value.length > 253) {
      throw new RangeError(
        `Cannot encode RADIUS attribute ${a.type}: value is ${a.value.length} bytes, at most 253`,
      );
    }
    length += 2 + a.value.length;
  }
  if (length > RADIUS_MAX_LENGTH) {
    throw new RangeError(`Cannot encode RADIUS packet: ${length} bytes is over 4096`);
  }
  const out = new Uint8Array(length);
  out[0] = p.code;
  out[1] = p.identifier;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  out.set(p.authenticator, 4);
  let o = RADIUS_MIN_LENGTH;
  for (const a of p.attributes) {
    out[o] = a.type;
    out[o + 1] = a.value.length + 2;
    out.set(a.value, o + 2);
    o += 2 + a.value.length;
  }
  return out;
}

function hmacMd5(secret: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("md5", secret).update(data).digest());
}

/** Offset of the Message-Authenticator value in an encoded packet, or -1. */
function messageAuthenticatorOffset(bytes: Uint8Array): number {
  const length = ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  let o = RADIUS_MIN_LENGTH;
  while (o + 2 <= length) {
    const len = bytes[o + 1] ?? 0;
    if (len < 2) return -1;
    if (bytes[o] === MESSAGE_AUTHENTICATOR && len === 18) return o + 2;
    o += len;
  }
  return -1;
}

/** Fills the Message-Authenticator (if any) of `bytes` in place; the authenticator field is as it should be hashed. */
function fillMessageAuthenticator(bytes: Uint8Array, secret: Uint8Array): void {
  const at = messageAuthenticatorOffset(bytes);
  if (at < 0) return;
  bytes.fill(0, at, at + 16);
  bytes.set(hmacMd5(secret, bytes), at);
}

function withMessageAuthenticator(attributes: RadiusAttribute[]): RadiusAttribute[] {
  const rest = attributes.filter((a) => a.type !== MESSAGE_AUTHENTICATOR);
  // RFC 3579 3.2 allows any position; first keeps it clear of truncation.
  return [{ type: MESSAGE_AUTHENTICATOR, value: new Uint8Array(16) }, ...rest];
}

/** What a request is built from. */
export interface RadiusRequestFields {
  /** Packet Code. */
  code: number;
  /** Identifier (0..255). */
  identifier: number;
  /** Attributes in the order to send them. */
  attributes: RadiusAttribute[];
}

/**
 * Encodes an Access-Request with `requestAuthenticator` (16 random bytes from
 * the caller) and a Message-Authenticator (RFC 3579 3.2), which is added if
 * missing. Hidden attributes (User-Password) must already be hidden with the
 * same authenticator.
 */
export function encodeAccessRequest(
  fields: RadiusRequestFields,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  return encodeAuthenticated(fields, requestAuthenticator, secret);
}

/**
 * Encodes a request whose authenticator is an MD5 over the packet:
 * Accounting-Request (RFC 2866 3), Disconnect-Request and CoA-Request
 * (RFC 5176 2.3). With `messageAuthenticator`, one is added and computed
 * first, over the packet with a zero authenticator (RFC 5176 3.4).
 */
export function encodeSignedRequest(
  fields: RadiusRequestFields,
  secret: Uint8Array,
  options: { messageAuthenticator?: boolean } = {},
): Uint8Array {
  const attributes = options.messageAuthenticator
    ? withMessageAuthenticator(fields.attributes)
    : fields.attributes.filter((a) => a.type !== MESSAGE_AUTHENTICATOR);
  const bytes = encodeRadiusPacket({
    code: fields.code,
    identifier: fields.identifier,
    authenticator: new Uint8Array(16),
    attributes,
  });
  fillMessageAuthenticator(bytes, secret);
  bytes.set(md5(bytes, secret), 4);
  return bytes;
}

/**
 * Encodes a reply to a request whose authenticator was
 * `requestAuthenticator`: Message-Authenticator (always added) then the
 * Response Authenticator (RFC 2865 3, RFC 3579 3.2, RFC 5176 3.4).
 */
export function encodeResponse(
  fields: RadiusRequestFields,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  const bytes = encodeAuthenticated(fields, requestAuthenticator, secret);
  bytes.set(md5(bytes, secret), 4);
  return bytes;
}

/**
 * The packet with `authenticator` in its header and a Message-Authenticator
 * (added if missing) computed over it.
 */
function encodeAuthenticated(
  fields: RadiusRequestFields,
  authenticator: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  const bytes = encodeRadiusPacket({
    code: fields.code,
    identifier: fields.identifier,
    authenticator,
    attributes: withMessageAuthenticator(fields.attributes),
  });
  fillMessageAuthenticator(bytes, secret);
  return bytes;
}

function checkMessageAuthenticator(
  bytes: Uint8Array,
  authenticatorInHash: Uint8Array,
  secret: Uint8Array,
  isRequired: boolean,
): string | undefined {
  const at = messageAuthenticatorOffset(bytes);
  if (at < 0) return isRequired ? "it has no Message-Authenticator" : undefined;
  const copy = bytes.slice(0, ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0));
  const got = copy.slice(at, at + 16);
  copy.fill(0, at, at + 16);
  copy.set(authenticatorInHash, 4);
  return timingSafeEqual(hmacMd5(secret, copy), got)
    ? undefined
    : "its Message-Authenticator is wrong (wrong secret or altered packet)";
}

/** Options of {@linkcode verifyResponse}. */
export interface VerifyResponseOptions {
  /** Refuse a reply without Message-Authenticator (default true). */
  requireMessageAuthenticator?: boolean;
}

/**
 * Checks a reply to the request with `requestAuthenticator`: the Response
 * Authenticator and the Message-Authenticator, in constant time.
 *
 * @returns The decoded reply.
 * @throws {ProtocolError} `BAD_VALUE` (radius layer) naming what is wrong, or a decode error.
 */
export function verifyResponse(
  bytes: Uint8Array,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
  options: VerifyResponseOptions = {},
): RadiusPacket {
  const packet = decodeRadiusPacket(bytes);
  const length = ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  const signed = bytes.slice(0, length);
  signed.set(requestAuthenticator, 4);
  if (!timingSafeEqual(md5(signed, secret), packet.authenticator)) {
    throw new ProtocolError(
      "radius",
      ERROR_CODE.BAD_VALUE,
      "Cannot accept RADIUS reply: its Response Authenticator is wrong (wrong secret or altered packet)",
    );
  }
  const why = checkMessageAuthenticator(
    bytes,
    requestAuthenticator,
    secret,
    options.requireMessageAuthenticator ?? true,
  );
  if (why !== undefined) {
    throw new ProtocolError("radius", ERROR_CODE.BAD_VALUE, `Cannot accept RADIUS reply: ${why}`);
  }
  return packet;
}

/**
 * Checks an Accounting-, Disconnect- or CoA-Request: its Request
 * Authenticator and, when present or `requireMessageAuthenticator`, its
 * Message-Authenticator.
 *
 * @throws {ProtocolError} `BAD_VALUE` naming what is wrong, or a decode error.
 */
export function verifySignedRequest(
  bytes: Uint8Array,
  secret: Uint8Array,
  options: VerifyResponseOptions = {},
): RadiusPacket {
  const packet = decodeRadiusPacket(bytes);
  const length = ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  const signed = bytes.slice(0, length);
  signed.fill(0, 4, 20);
  if (!timingSafeEqual(md5(signed, secret), packet.authenticator)) {
    throw new ProtocolError(
      "radius",
      ERROR_CODE.BAD_VALUE,
      "Cannot accept RADIUS request: its Request Authenticator is wrong (wrong secret or altered packet)",
    );
  }
  const why = checkMessageAuthenticator(
    bytes,
    new Uint8Array(16),
    secret,
    options.requireMessageAuthenticator ?? false,
  );
  if (why !== undefined) {
    throw new ProtocolError("radius", ERROR_CODE.BAD_VALUE, `Cannot accept RADIUS request: ${why}`);
  }
  return packet;
}
