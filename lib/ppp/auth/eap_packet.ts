/**
 * EAP packets (RFC 3748 4) and the EAP-MSCHAPv2 method's Type-Data
 * (EAP type 26, draft-kamath-pppext-eap-mschapv2-02 2), as carried in PPP
 * protocol 0xc227.
 *
 * ```
 * EAP:          | Code (1) | Identifier (1) | Length (2) | Type (1, Request/Response) | Type-Data |
 *   Code: 1 Request, 2 Response, 3 Success, 4 Failure (Success and Failure have no Type)
 * MSCHAPv2:     | OpCode (1) | MS-CHAPv2-ID (1) | MS-Length (2) | data |
 *   Challenge:  | Value-Size=16 | Challenge (16) | Name |
 *   Response:   | Value-Size=49 | Response (49)  | Name |
 *   Success/Failure Request: message text ("S=… M=…" / "E=691 R=0 C=… V=3 M=…")
 *   Success/Failure Response: the OpCode alone (one byte of Type-Data)
 * ```
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { ByteWriter } from "../../bytes/byte_writer.ts";
import { decodeAuthHeader, decodeText, encodeAuthPacket, encodeText } from "./_auth_header.ts";

/** EAP codes (RFC 3748 4). */
export const EAP_CODE = { REQUEST: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4 } as const;

/** EAP method types used here (RFC 3748 5; IANA "EAP Method Types"). */
export const EAP_TYPE = {
  /** RFC 3748 5.1 */
  IDENTITY: 1,
  /** RFC 3748 5.2 */
  NOTIFICATION: 2,
  /** RFC 3748 5.3.1 Legacy Nak: the types the peer would accept instead. */
  NAK: 3,
  /** draft-kamath-pppext-eap-mschapv2 */
  MSCHAPV2: 26,
  /** RFC 3748 5.7 Expanded Types (an Expanded Nak answers any Request). */
  EXPANDED: 254,
} as const;

/** EAP-MSCHAPv2 OpCodes (draft-kamath-pppext-eap-mschapv2-02 2). */
export const EAP_MSCHAPV2_OPCODE = {
  CHALLENGE: 1,
  RESPONSE: 2,
  SUCCESS: 3,
  FAILURE: 4,
  CHANGE_PASSWORD: 7,
} as const;

/** An EAP packet. */
export type EapPacket =
  | {
    /** Request or Response. */
    code: typeof EAP_CODE.REQUEST | typeof EAP_CODE.RESPONSE;
    /** Matches a Response to its Request (RFC 3748 4.1). */
    identifier: number;
    /** The method type. */
    type: number;
    /** The method's data. */
    typeData: Uint8Array;
  }
  | {
    /** Success or Failure: no Type. */
    code: typeof EAP_CODE.SUCCESS | typeof EAP_CODE.FAILURE;
    /** The Identifier of the Response it ends. */
    identifier: number;
  };

/** An EAP-MSCHAPv2 message (the Type-Data of type 26). */
export type EapMsChapV2Message =
  | {
    /** Challenge (authenticator) or Response (peer). */
    opCode: typeof EAP_MSCHAPV2_OPCODE.CHALLENGE | typeof EAP_MSCHAPV2_OPCODE.RESPONSE;
    /** MS-CHAPv2-ID: the MS-CHAPv2 identifier (RFC 2759 uses it in no hash). */
    msChapV2Id: number;
    /** 16-byte challenge or 49-byte response. */
    value: Uint8Array;
    /** Server name (Challenge) or user name (Response). */
    name: string;
  }
  | {
    /** Success or Failure Request from the authenticator. */
    opCode: typeof EAP_MSCHAPV2_OPCODE.SUCCESS | typeof EAP_MSCHAPV2_OPCODE.FAILURE;
    /** MS-CHAPv2-ID. */
    msChapV2Id: number;
    /** The `S=`/`E=` text. */
    message: string;
  }
  | {
    /** The peer's acknowledgement of Success or Failure: the OpCode alone. */
    opCode: typeof EAP_MSCHAPV2_OPCODE.SUCCESS | typeof EAP_MSCHAPV2_OPCODE.FAILURE;
    /** No fields follow. */
    ack: true;
  };

/**
 * Encodes an EAP packet.
 *
 * @example
 * ```ts
 * import { EAP_CODE, EAP_TYPE, encodeEapPacket } from "./eap_packet.ts";
 * const p = encodeEapPacket({ code: EAP_CODE.REQUEST, identifier: 1, type: EAP_TYPE.IDENTITY, typeData: new Uint8Array() });
 * if (p.join(",") !== "1,1,0,5,1") throw new Error();
 * ```
 */
export function encodeEapPacket(packet: EapPacket): Uint8Array {
  if (!("type" in packet)) {
    return encodeAuthPacket(packet.code, packet.identifier, new Uint8Array());
  }
  const body = new Uint8Array(1 + packet.typeData.length);
  body[0] = packet.type;
  body.set(packet.typeData, 1);
  return encodeAuthPacket(packet.code, packet.identifier, body);
}

/**
 * Decodes an EAP packet (octets past Length are ignored).
 *
 * @throws {ProtocolError} TRUNCATED / BAD_LENGTH / BAD_VALUE
 */
export function decodeEapPacket(bytes: Uint8Array): EapPacket {
  const h = decodeAuthHeader(bytes, "eap", "EAP packet");
  switch (h.code) {
    case EAP_CODE.SUCCESS:
    case EAP_CODE.FAILURE:
      return { code: h.code, identifier: h.identifier };
    case EAP_CODE.REQUEST:
    case EAP_CODE.RESPONSE: {
      const type = h.data.u8("Type");
      return { code: h.code, identifier: h.identifier, type, typeData: h.data.rest() };
    }
    default:
      throw new ProtocolError(
        "eap",
        ERROR_CODE.BAD_VALUE,
        `Cannot decode EAP packet: code ${h.code} is not Request, Response, Success or Failure`,
      );
  }
}

/** Encodes EAP-MSCHAPv2 Type-Data. */
export function encodeEapMsChapV2(message: EapMsChapV2Message): Uint8Array {
  if ("ack" in message) return new Uint8Array([message.opCode]);
  const data = "value" in message
    ? new ByteWriter().u8(message.value.length).bytes(message.value).bytes(encodeText(message.name))
      .finish()
    : encodeText(message.message);
  const msLength = 4 + data.length;
  if (msLength > 0xffff) throw new RangeError(`Cannot encode EAP-MSCHAPv2: ${msLength} bytes`);
  return new ByteWriter(msLength).u8(message.opCode).u8(message.msChapV2Id).u16(msLength)
    .bytes(data).finish();
}

/**
 * Decodes EAP-MSCHAPv2 Type-Data sent by the `sender` role. A one-byte
 * Success or Failure from the peer is its acknowledgement.
 *
 * @throws {ProtocolError} TRUNCATED / BAD_LENGTH / BAD_VALUE
 */
export function decodeEapMsChapV2(
  typeData: Uint8Array,
  sender: "peer" | "authenticator",
): EapMsChapV2Message {
  const opCode = typeData[0];
  const what = "EAP-MSCHAPv2 message";
  if (
    sender === "peer" && typeData.length === 1 &&
    (opCode === EAP_MSCHAPV2_OPCODE.SUCCESS || opCode === EAP_MSCHAPV2_OPCODE.FAILURE)
  ) {
    return { opCode, ack: true };
  }
  if (typeData.length < 4) {
    throw new ProtocolError(
      "eap",
      ERROR_CODE.TRUNCATED,
      `Cannot decode ${what}: ${typeData.length} bytes is shorter than the 4-byte header`,
    );
  }
  const msChapV2Id = typeData[1] ?? 0;
  const msLength = ((typeData[2] ?? 0) << 8) | (typeData[3] ?? 0);
  // Some peers count MS-Length differently; the EAP Length bounds the data.
  const end = msLength >= 4 && msLength <= typeData.length ? msLength : typeData.length;
  const data = typeData.subarray(4, end);
  switch (opCode) {
    case EAP_MSCHAPV2_OPCODE.CHALLENGE:
    case EAP_MSCHAPV2_OPCODE.RESPONSE: {
      const size = data[0] ?? 0;
      if (data.length < 1 + size) {
        throw new ProtocolError(
          "eap",
          ERROR_CODE.TRUNCATED,
          `Cannot decode ${what}: Value-Size ${size} exceeds the ${data.length - 1} bytes present`,
        );
      }
      return {
        opCode,
        msChapV2Id,
        value: data.slice(1, 1 + size),
        name: decodeText(data.subarray(1 + size)),
      };
    }
    case EAP_MSCHAPV2_OPCODE.SUCCESS:
    case EAP_MSCHAPV2_OPCODE.FAILURE:
      return { opCode, msChapV2Id, message: decodeText(data) };
    default:
      throw new ProtocolError(
        "eap",
        ERROR_CODE.BAD_VALUE,
        `Cannot decode ${what}: OpCode ${opCode} is not supported`,
      );
  }
}
