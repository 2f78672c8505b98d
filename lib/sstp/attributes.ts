/**
 * SSTP attributes (MS-SSTP 2.2.4-2.2.8).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Reserved    | Attribute ID  |   R   |    Length (12 bits)   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Value (Length - 4 bytes)                  |
 * ```
 *
 * - Encapsulated Protocol ID (1), length 6: Protocol ID (u16).
 * - Status Info (2), length 12 + n: Reserved1 (3), AttribID (1), Status (u32),
 *   AttribValue (n <= 64).
 * - Crypto Binding (3), length 104: Reserved1 (3), Hash Protocol (1),
 *   Nonce (32), Cert Hash + Padding (32), Compound MAC + Padding1 (32).
 * - Crypto Binding Request (4), length 40: Reserved1 (3), Hash Protocol
 *   Bitmask (1), Nonce (32).
 *
 * Reserved fields and the R bits are written as zero and ignored on receipt.
 * Known attributes must have their exact length; unknown ids are kept as
 * `{ kind: "unknown" }` so the state machines can answer them per the spec.
 *
 * @module
 */
import { ByteReader } from "../bytes/byte_reader.ts";
import { ByteWriter } from "../bytes/byte_writer.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { ATTRIBUTE_ID, ATTRIBUTE_LENGTH, NONCE_LENGTH } from "./constants.ts";

/** Bytes of the Cert Hash and Compound MAC fields, padding included (MS-SSTP 2.2.7). */
export const CRYPTO_BINDING_FIELD_LENGTH = 32;

/** Encapsulated Protocol ID attribute (MS-SSTP 2.2.5). */
export interface EncapsulatedProtocolIdAttribute {
  /** Tag. */
  kind: "encapsulatedProtocolId";
  /** Protocol ID; 1 is PPP. */
  protocolId: number;
}

/** Status Info attribute (MS-SSTP 2.2.8). */
export interface StatusInfoAttribute {
  /** Tag. */
  kind: "statusInfo";
  /** AttribID: the attribute this status is about (0 = SSTP_ATTRIB_NO_ERROR). */
  attribId: number;
  /** Status: one of `STATUS` (u32). */
  status: number;
  /** AttribValue: the offending value, at most 64 bytes; usually empty. */
  attribValue: Uint8Array;
}

/** Crypto Binding attribute (MS-SSTP 2.2.7). */
export interface CryptoBindingAttribute {
  /** Tag. */
  kind: "cryptoBinding";
  /** Hash Protocol: 1 (SHA1) or 2 (SHA256); other values are kept for the checks. */
  hashProtocol: number;
  /** Nonce from the Crypto Binding Request (32 bytes). */
  nonce: Uint8Array;
  /** Cert Hash field with its padding (32 bytes; a SHA-1 hash is followed by 12 zeros). */
  certHash: Uint8Array;
  /** Compound MAC field with its padding (32 bytes; a SHA-1 MAC is followed by 12 zeros). */
  compoundMac: Uint8Array;
}

/** Crypto Binding Request attribute (MS-SSTP 2.2.6). */
export interface CryptoBindingRequestAttribute {
  /** Tag. */
  kind: "cryptoBindingRequest";
  /** Hash Protocol Bitmask: bit 0x01 SHA1, bit 0x02 SHA256. */
  hashProtocolBitmask: number;
  /** Nonce (32 bytes). */
  nonce: Uint8Array;
}

/** An attribute id this implementation does not know (MS-SSTP 2.2.4). */
export interface UnknownAttribute {
  /** Tag. */
  kind: "unknown";
  /** The Attribute ID byte. */
  attributeId: number;
  /** The Value field. */
  value: Uint8Array;
}

/** Any SSTP attribute, tagged by `kind`. */
export type SstpAttribute =
  | EncapsulatedProtocolIdAttribute
  | StatusInfoAttribute
  | CryptoBindingAttribute
  | CryptoBindingRequestAttribute
  | UnknownAttribute;

/** Attribute ID of an attribute (MS-SSTP 2.2.4). */
export function sstpAttributeId(attribute: SstpAttribute): number {
  switch (attribute.kind) {
    case "encapsulatedProtocolId":
      return ATTRIBUTE_ID.ENCAPSULATED_PROTOCOL_ID;
    case "statusInfo":
      return ATTRIBUTE_ID.STATUS_INFO;
    case "cryptoBinding":
      return ATTRIBUTE_ID.CRYPTO_BINDING;
    case "cryptoBindingRequest":
      return ATTRIBUTE_ID.CRYPTO_BINDING_REQ;
    case "unknown":
      return attribute.attributeId;
  }
}

/**
 * Encoded length of an attribute, header included.
 *
 * @throws {RangeError} If a field has the wrong size for the wire.
 */
export function sstpAttributeLength(attribute: SstpAttribute): number {
  switch (attribute.kind) {
    case "encapsulatedProtocolId":
      return ATTRIBUTE_LENGTH.ENCAPSULATED_PROTOCOL_ID;
    case "statusInfo":
      return ATTRIBUTE_LENGTH.STATUS_INFO_MIN + attribute.attribValue.length;
    case "cryptoBinding":
      return ATTRIBUTE_LENGTH.CRYPTO_BINDING;
    case "cryptoBindingRequest":
      return ATTRIBUTE_LENGTH.CRYPTO_BINDING_REQ;
    case "unknown":
      return 4 + attribute.value.length;
  }
}

function need(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`Cannot encode SSTP attribute: ${what}`);
}

function checkByte(v: number, field: string): void {
  need(Number.isInteger(v) && v >= 0 && v <= 0xff, `${field} ${v} is not a byte`);
}

/**
 * Appends one encoded attribute to `w` (MS-SSTP 2.2.4).
 *
 * @throws {RangeError} If a field does not fit its wire size (a caller mistake).
 */
export function writeSstpAttribute(w: ByteWriter, attribute: SstpAttribute): void {
  const id = sstpAttributeId(attribute);
  const length = sstpAttributeLength(attribute);
  checkByte(id, "attribute id");
  w.u8(0).u8(id).u16(length);
  switch (attribute.kind) {
    case "encapsulatedProtocolId":
      need(
        Number.isInteger(attribute.protocolId) && attribute.protocolId >= 0 &&
          attribute.protocolId <= 0xffff,
        `protocol id ${attribute.protocolId} is not a u16`,
      );
      w.u16(attribute.protocolId);
      return;
    case "statusInfo":
      checkByte(attribute.attribId, "AttribID");
      need(
        Number.isInteger(attribute.status) && attribute.status >= 0 &&
          attribute.status <= 0xffffffff,
        `status ${attribute.status} is not a u32`,
      );
      need(
        attribute.attribValue.length <= ATTRIBUTE_LENGTH.STATUS_INFO_MAX_VALUE,
        `AttribValue of ${attribute.attribValue.length} bytes exceeds 64`,
      );
      w.zeros(3).u8(attribute.attribId).u32(attribute.status).bytes(attribute.attribValue);
      return;
    case "cryptoBinding":
      checkByte(attribute.hashProtocol, "Hash Protocol");
      need(attribute.nonce.length === NONCE_LENGTH, "nonce must be 32 bytes");
      need(
        attribute.certHash.length === CRYPTO_BINDING_FIELD_LENGTH,
        "cert hash field must be 32 bytes",
      );
      need(
        attribute.compoundMac.length === CRYPTO_BINDING_FIELD_LENGTH,
        "compound MAC field must be 32 bytes",
      );
      w.zeros(3).u8(attribute.hashProtocol).bytes(attribute.nonce).bytes(attribute.certHash)
        .bytes(attribute.compoundMac);
      return;
    case "cryptoBindingRequest":
      checkByte(attribute.hashProtocolBitmask, "Hash Protocol Bitmask");
      need(attribute.nonce.length === NONCE_LENGTH, "nonce must be 32 bytes");
      w.zeros(3).u8(attribute.hashProtocolBitmask).bytes(attribute.nonce);
      return;
    case "unknown":
      need(length <= 0x0fff, `value of ${attribute.value.length} bytes does not fit 12 bits`);
      w.bytes(attribute.value);
      return;
  }
}

function badLength(name: string, length: number, expected: string): ProtocolError {
  return new ProtocolError(
    "sstp",
    ERROR_CODE.BAD_ATTRIBUTE,
    `Cannot decode SSTP ${name} attribute: length ${length} is not ${expected}`,
  );
}

/**
 * Reads one attribute at the reader's cursor (MS-SSTP 2.2.4). Values are
 * copied, so the result does not alias the input.
 *
 * @throws {ProtocolError} `TRUNCATED` past the end, `BAD_LENGTH` for a length
 * below 4, `BAD_ATTRIBUTE` for a known attribute of the wrong length.
 */
export function readSstpAttribute(r: ByteReader): SstpAttribute {
  r.u8("attribute Reserved"); // MUST be ignored on receipt (MS-SSTP 2.2.4)
  const id = r.u8("Attribute ID");
  const length = r.u16("attribute LengthPacket") & 0x0fff; // R bits ignored on receipt
  if (length < 4) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode SSTP attribute: length ${length} is shorter than the 4-byte header`,
    );
  }
  const body = new ByteReader(r.bytes(length - 4, "attribute value"), "sstp", "SSTP attribute");
  switch (id) {
    case ATTRIBUTE_ID.ENCAPSULATED_PROTOCOL_ID:
      if (length !== ATTRIBUTE_LENGTH.ENCAPSULATED_PROTOCOL_ID) {
        throw badLength("Encapsulated Protocol ID", length, "6");
      }
      return { kind: "encapsulatedProtocolId", protocolId: body.u16("Protocol ID") };
    case ATTRIBUTE_ID.STATUS_INFO: {
      const max = ATTRIBUTE_LENGTH.STATUS_INFO_MIN + ATTRIBUTE_LENGTH.STATUS_INFO_MAX_VALUE;
      if (length < ATTRIBUTE_LENGTH.STATUS_INFO_MIN || length > max) {
        throw badLength("Status Info", length, `between 12 and ${max}`);
      }
      body.skip(3, "Reserved1");
      const attribId = body.u8("AttribID");
      const status = body.u32("Status");
      return { kind: "statusInfo", attribId, status, attribValue: body.rest().slice() };
    }
    case ATTRIBUTE_ID.CRYPTO_BINDING:
      if (length !== ATTRIBUTE_LENGTH.CRYPTO_BINDING) {
        throw badLength("Crypto Binding", length, "104");
      }
      body.skip(3, "Reserved1");
      return {
        kind: "cryptoBinding",
        hashProtocol: body.u8("Hash Protocol"),
        nonce: body.bytes(NONCE_LENGTH, "Nonce").slice(),
        certHash: body.bytes(CRYPTO_BINDING_FIELD_LENGTH, "Cert Hash").slice(),
        compoundMac: body.bytes(CRYPTO_BINDING_FIELD_LENGTH, "Compound MAC").slice(),
      };
    case ATTRIBUTE_ID.CRYPTO_BINDING_REQ:
      if (length !== ATTRIBUTE_LENGTH.CRYPTO_BINDING_REQ) {
        throw badLength("Crypto Binding Request", length, "40");
      }
      body.skip(3, "Reserved1");
      return {
        kind: "cryptoBindingRequest",
        hashProtocolBitmask: body.u8("Hash Protocol Bitmask"),
        nonce: body.bytes(NONCE_LENGTH, "Nonce").slice(),
      };
    default:
      return { kind: "unknown", attributeId: id, value: body.rest().slice() };
  }
}

/**
 * Encodes one attribute (MS-SSTP 2.2.4).
 *
 * @example
 * ```ts
 * import { encodeSstpAttribute } from "./attributes.ts";
 * import { toHex } from "../bytes/hex.ts";
 * const bytes = encodeSstpAttribute({ kind: "encapsulatedProtocolId", protocolId: 1 });
 * if (toHex(bytes) !== "000100060001") throw new Error();
 * ```
 *
 * @throws {RangeError} If a field does not fit its wire size.
 */
export function encodeSstpAttribute(attribute: SstpAttribute): Uint8Array {
  const w = new ByteWriter(sstpAttributeLength(attribute));
  writeSstpAttribute(w, attribute);
  return w.finish();
}

/**
 * Decodes exactly one attribute (MS-SSTP 2.2.4).
 *
 * @example
 * ```ts
 * import { decodeSstpAttribute } from "./attributes.ts";
 * import { fromHex } from "../bytes/hex.ts";
 * const a = decodeSstpAttribute(fromHex("00 01 00 06 00 01"));
 * if (a.kind !== "encapsulatedProtocolId" || a.protocolId !== 1) throw new Error();
 * ```
 *
 * @throws {ProtocolError} As {@linkcode readSstpAttribute}, and `BAD_LENGTH`
 * when bytes follow the attribute.
 */
export function decodeSstpAttribute(bytes: Uint8Array): SstpAttribute {
  const r = new ByteReader(bytes, "sstp", "SSTP attribute");
  const attribute = readSstpAttribute(r);
  if (r.remaining !== 0) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode SSTP attribute: ${r.remaining} bytes follow its declared length`,
    );
  }
  return attribute;
}
