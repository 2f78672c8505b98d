/**
 * SSTP control messages (MS-SSTP 2.2.2, 2.2.9-2.2.15).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Version 0x10 |  Reserved   |1|   R   |   Length (12 bits)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Message Type          |        Num Attributes         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Attributes (variable) ...                  |
 * ```
 *
 * The codec checks structure only (header, attribute count, lengths). Which
 * attributes each message type requires or allows is checked separately by
 * {@linkcode validateSstpControlMessage}, so a state machine can answer a
 * structurally sound but unacceptable message with the right Status Info.
 *
 * @module
 */
import { ByteReader } from "../bytes/byte_reader.ts";
import { ByteWriter } from "../bytes/byte_writer.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import {
  readSstpAttribute,
  type SstpAttribute,
  sstpAttributeId,
  sstpAttributeLength,
  writeSstpAttribute,
} from "./attributes.ts";
import { ATTRIBUTE_ID, MESSAGE_TYPE, SSTP_HEADER_LENGTH, STATUS } from "./constants.ts";
import { readSstpHeaderIsControl, readSstpHeaderLength, writeSstpHeader } from "./_header.ts";

/** An SSTP control message: Message Type plus its ordered attributes (MS-SSTP 2.2.2). */
export interface SstpControlMessage {
  /** Message Type, normally one of `MESSAGE_TYPE`; other values are kept. */
  messageType: number;
  /** Attributes in wire order; Num Attributes is their count. */
  attributes: SstpAttribute[];
}

/**
 * Encodes a control message as a whole SSTP control packet, header included.
 *
 * @example
 * ```ts
 * import { encodeSstpControlMessage } from "./control_message.ts";
 * import { toHex } from "../bytes/hex.ts";
 * const bytes = encodeSstpControlMessage({
 *   messageType: 1,
 *   attributes: [{ kind: "encapsulatedProtocolId", protocolId: 1 }],
 * });
 * if (toHex(bytes) !== "1001000e0001000100010006" + "0001") throw new Error();
 * ```
 *
 * @throws {RangeError} If a field does not fit, or the packet exceeds 4095 bytes.
 */
export function encodeSstpControlMessage(message: SstpControlMessage): Uint8Array {
  if (
    !Number.isInteger(message.messageType) || message.messageType < 0 ||
    message.messageType > 0xffff
  ) {
    throw new RangeError(
      `Cannot encode SSTP control message: type ${message.messageType} is not a u16`,
    );
  }
  if (message.attributes.length > 0xffff) {
    throw new RangeError("Cannot encode SSTP control message: too many attributes");
  }
  let length = SSTP_HEADER_LENGTH + 4;
  for (const a of message.attributes) length += sstpAttributeLength(a);
  const w = new ByteWriter(length);
  w.zeros(SSTP_HEADER_LENGTH).u16(message.messageType).u16(message.attributes.length);
  for (const a of message.attributes) writeSstpAttribute(w, a);
  const bytes = w.finish();
  writeSstpHeader(bytes, 0, true, bytes.length);
  return bytes;
}

/**
 * Decodes the body of a control packet: everything after the 4-byte header.
 *
 * @throws {ProtocolError} `TRUNCATED` when the attributes announced do not
 * fit, `BAD_LENGTH` when bytes remain after them, `BAD_ATTRIBUTE` for a
 * known attribute of the wrong length.
 */
export function decodeSstpControlBody(body: Uint8Array): SstpControlMessage {
  const r = new ByteReader(body, "sstp", "SSTP control message");
  const messageType = r.u16("Message Type");
  const numAttributes = r.u16("Num Attributes");
  const attributes: SstpAttribute[] = [];
  for (let i = 0; i < numAttributes; i++) attributes.push(readSstpAttribute(r));
  if (r.remaining !== 0) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode SSTP control message: ${r.remaining} bytes follow its ${numAttributes} attributes`,
    );
  }
  return { messageType, attributes };
}

/**
 * Decodes exactly one SSTP control packet, header included.
 *
 * @example
 * ```ts
 * import { decodeSstpControlMessage } from "./control_message.ts";
 * import { fromHex } from "../bytes/hex.ts";
 * const m = decodeSstpControlMessage(fromHex("10 01 00 08 00 08 00 00"));
 * if (m.messageType !== 8 || m.attributes.length !== 0) throw new Error();
 * ```
 *
 * @throws {ProtocolError} As {@linkcode decodeSstpControlBody}, plus
 * `BAD_VERSION`, `BAD_LENGTH` (header length differs from the bytes given)
 * and `BAD_VALUE` (C bit clear).
 */
export function decodeSstpControlMessage(bytes: Uint8Array): SstpControlMessage {
  if (bytes.length < SSTP_HEADER_LENGTH) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.TRUNCATED,
      `Cannot decode SSTP control message: ${bytes.length} bytes is shorter than the 4-byte header`,
    );
  }
  const length = readSstpHeaderLength(bytes, 0);
  if (length !== bytes.length) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode SSTP control message: header length ${length} differs from the ${bytes.length} bytes given`,
    );
  }
  if (!readSstpHeaderIsControl(bytes, 0)) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_VALUE,
      "Cannot decode SSTP control message: the C bit marks a data packet",
    );
  }
  return decodeSstpControlBody(bytes.subarray(SSTP_HEADER_LENGTH));
}

/** Why a control message is not acceptable, with the Status Info to answer it with (MS-SSTP 2.2.8). */
export interface SstpMessageProblem {
  /** Status value for the Status Info attribute. */
  status: number;
  /** AttribID for the Status Info attribute. */
  attribId: number;
  /** Std-style description. */
  message: string;
}

/** Allowed attribute counts of a message type: attribute id → [min, max]. */
type AttributeRule = ReadonlyMap<number, readonly [number, number]>;

const ANY = 0xffff;

/** MS-SSTP 2.2.9-2.2.15: required/allowed attributes per message type. */
const RULES: ReadonlyMap<number, AttributeRule> = new Map<number, AttributeRule>([
  // 2.2.9: exactly one Encapsulated Protocol ID.
  [MESSAGE_TYPE.CALL_CONNECT_REQUEST, new Map([[ATTRIBUTE_ID.ENCAPSULATED_PROTOCOL_ID, [1, 1]]])],
  // 2.2.10: exactly one Crypto Binding Request.
  [MESSAGE_TYPE.CALL_CONNECT_ACK, new Map([[ATTRIBUTE_ID.CRYPTO_BINDING_REQ, [1, 1]]])],
  // 2.2.12: one or more Status Info, nothing else.
  [MESSAGE_TYPE.CALL_CONNECT_NAK, new Map([[ATTRIBUTE_ID.STATUS_INFO, [1, ANY]]])],
  // 2.2.11: exactly one Crypto Binding.
  [MESSAGE_TYPE.CALL_CONNECTED, new Map([[ATTRIBUTE_ID.CRYPTO_BINDING, [1, 1]]])],
  // 2.2.13, 2.2.14: zero or one Status Info.
  [MESSAGE_TYPE.CALL_ABORT, new Map([[ATTRIBUTE_ID.STATUS_INFO, [0, 1]]])],
  [MESSAGE_TYPE.CALL_DISCONNECT, new Map([[ATTRIBUTE_ID.STATUS_INFO, [0, 1]]])],
  // 2.2.15: no attributes.
  [MESSAGE_TYPE.CALL_DISCONNECT_ACK, new Map()],
  [MESSAGE_TYPE.ECHO_REQUEST, new Map()],
  [MESSAGE_TYPE.ECHO_RESPONSE, new Map()],
]);

/**
 * Checks which attributes a message carries against MS-SSTP 2.2.9-2.2.15 and
 * returns the first problem, or `undefined` when the message is acceptable.
 */
export function findSstpMessageProblem(
  message: SstpControlMessage,
): SstpMessageProblem | undefined {
  const rule = RULES.get(message.messageType);
  if (rule === undefined) {
    return {
      status: STATUS.INVALID_FRAME_RECEIVED,
      attribId: ATTRIBUTE_ID.NO_ERROR,
      message: `SSTP message type 0x${message.messageType.toString(16)} is not recognized`,
    };
  }
  const counts = new Map<number, number>();
  for (const a of message.attributes) {
    const id = sstpAttributeId(a);
    if (a.kind === "unknown") {
      return {
        status: STATUS.UNRECOGNIZED_ATTRIBUTE,
        attribId: id,
        message: `SSTP attribute 0x${id.toString(16)} is not recognized`,
      };
    }
    if (!rule.has(id)) {
      return {
        status: STATUS.ATTRIB_NOT_SUPPORTED_IN_MSG,
        attribId: id,
        message: `SSTP attribute ${id} is not allowed in message type ${message.messageType}`,
      };
    }
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const [id, [min, max]] of rule) {
    const n = counts.get(id) ?? 0;
    if (n > max) {
      return {
        status: STATUS.DUPLICATE_ATTRIBUTE,
        attribId: id,
        message: `SSTP attribute ${id} occurs ${n} times in message type ${message.messageType}`,
      };
    }
    if (n < min) {
      return {
        status: STATUS.REQUIRED_ATTRIBUTE_MISSING,
        attribId: id,
        message: `SSTP attribute ${id} is missing from message type ${message.messageType}`,
      };
    }
  }
  return undefined;
}

/**
 * Throws unless the message carries exactly the attributes its type requires
 * and allows (MS-SSTP 2.2.9-2.2.15): Call Connect Request one Encapsulated
 * Protocol ID, Ack one Crypto Binding Request, Nak one or more Status Info,
 * Call Connected one Crypto Binding, Abort and Disconnect zero or one Status
 * Info, Disconnect Ack and Echo none.
 *
 * @example
 * ```ts
 * import { validateSstpControlMessage } from "./control_message.ts";
 * validateSstpControlMessage({ messageType: 8, attributes: [] });
 * ```
 *
 * @throws {ProtocolError} `BAD_ATTRIBUTE` (or `BAD_VALUE` for an unknown
 * message type) with the matching Status name as `detail`.
 */
export function validateSstpControlMessage(message: SstpControlMessage): void {
  const problem = findSstpMessageProblem(message);
  if (problem === undefined) return;
  throw new ProtocolError(
    "sstp",
    problem.status === STATUS.INVALID_FRAME_RECEIVED
      ? ERROR_CODE.BAD_VALUE
      : ERROR_CODE.BAD_ATTRIBUTE,
    `Cannot accept SSTP control message: ${problem.message}`,
    { detail: `status=${problem.status} attribId=${problem.attribId}` },
  );
}
