/**
 * MS-SSTP wire constants: message types, attribute ids, Status Info codes,
 * hash protocols and timer values, each with the section that defines it.
 * Reverse name maps serve logging ({@linkcode MESSAGE_TYPE_NAME}, ...).
 *
 * @module
 */

/** SSTP version byte: major 1, minor 0 (MS-SSTP 2.2.1). */
export const SSTP_VERSION = 0x10;

/** Bytes in the SSTP packet header: Version, Reserved+C, R+Length (MS-SSTP 2.2.1). */
export const SSTP_HEADER_LENGTH = 4;

/** Largest SSTP packet: the 12-bit Length field (MS-SSTP 2.2.1, 3.1.5.2). */
export const SSTP_MAX_PACKET_LENGTH = 4095;

/** Largest SSTP data payload: 4095 - header = the SSTP MRU of 4091 (MS-SSTP 3.1.5.2). */
export const SSTP_MAX_PAYLOAD_LENGTH = SSTP_MAX_PACKET_LENGTH - SSTP_HEADER_LENGTH;

/** Message Type values of an SSTP control packet (MS-SSTP 2.2.2). */
export const MESSAGE_TYPE = {
  /** SSTP_MSG_CALL_CONNECT_REQUEST (MS-SSTP 2.2.9). */
  CALL_CONNECT_REQUEST: 0x0001,
  /** SSTP_MSG_CALL_CONNECT_ACK (MS-SSTP 2.2.10). */
  CALL_CONNECT_ACK: 0x0002,
  /** SSTP_MSG_CALL_CONNECT_NAK (MS-SSTP 2.2.12). */
  CALL_CONNECT_NAK: 0x0003,
  /** SSTP_MSG_CALL_CONNECTED (MS-SSTP 2.2.11). */
  CALL_CONNECTED: 0x0004,
  /** SSTP_MSG_CALL_ABORT (MS-SSTP 2.2.13). */
  CALL_ABORT: 0x0005,
  /** SSTP_MSG_CALL_DISCONNECT (MS-SSTP 2.2.14). */
  CALL_DISCONNECT: 0x0006,
  /**
   * SSTP_MSG_CALL_DISCONNECT_ACK (MS-SSTP 2.2.15). One section, 2.2.15,
   * defines this and both Echo messages: their wire format is the same
   * (header, Message Type, Num Attributes 0) except for the Message Type.
   */
  CALL_DISCONNECT_ACK: 0x0007,
  /** SSTP_MSG_ECHO_REQUEST (MS-SSTP 2.2.15, shared with Disconnect Ack; sent by the Hello timer, 3.1.2.3). */
  ECHO_REQUEST: 0x0008,
  /** SSTP_MSG_ECHO_RESPONSE (MS-SSTP 2.2.15, shared with Disconnect Ack; the answer to a request, 3.2.5.3.7, 3.3.5.2.7). */
  ECHO_RESPONSE: 0x0009,
} as const;

/** One of the values of {@linkcode MESSAGE_TYPE}. */
export type MessageType = typeof MESSAGE_TYPE[keyof typeof MESSAGE_TYPE];

/** Attribute ID values (MS-SSTP 2.2.4). */
export const ATTRIBUTE_ID = {
  /** SSTP_ATTRIB_NO_ERROR: only as the AttribID of a Status Info attribute (MS-SSTP 2.2.8). */
  NO_ERROR: 0x00,
  /** SSTP_ATTRIB_ENCAPSULATED_PROTOCOL_ID (MS-SSTP 2.2.5). */
  ENCAPSULATED_PROTOCOL_ID: 0x01,
  /** SSTP_ATTRIB_STATUS_INFO (MS-SSTP 2.2.8). */
  STATUS_INFO: 0x02,
  /** SSTP_ATTRIB_CRYPTO_BINDING (MS-SSTP 2.2.7). */
  CRYPTO_BINDING: 0x03,
  /** SSTP_ATTRIB_CRYPTO_BINDING_REQ (MS-SSTP 2.2.6). */
  CRYPTO_BINDING_REQ: 0x04,
} as const;

/** Fixed attribute lengths, header included (MS-SSTP 2.2.5-2.2.8). */
export const ATTRIBUTE_LENGTH = {
  /** Encapsulated Protocol ID: 0x006 (MS-SSTP 2.2.5). */
  ENCAPSULATED_PROTOCOL_ID: 6,
  /** Status Info without AttribValue: AttribValue length + 12 (MS-SSTP 2.2.8). */
  STATUS_INFO_MIN: 12,
  /** Longest AttribValue of a Status Info attribute (MS-SSTP 2.2.8). */
  STATUS_INFO_MAX_VALUE: 64,
  /** Crypto Binding: 0x068 (MS-SSTP 2.2.7). */
  CRYPTO_BINDING: 104,
  /** Crypto Binding Request: 0x028 (MS-SSTP 2.2.6). */
  CRYPTO_BINDING_REQ: 40,
} as const;

/** Protocol ID of the Encapsulated Protocol ID attribute (MS-SSTP 2.2.5). */
export const ENCAPSULATED_PROTOCOL = {
  /** SSTP_ENCAPSULATED_PROTOCOL_PPP. */
  PPP: 0x0001,
} as const;

/** Status values of the Status Info attribute (MS-SSTP 2.2.8). */
export const STATUS = {
  /** ATTRIB_STATUS_NO_ERROR: no error, e.g. a normal disconnect. */
  NO_ERROR: 0x00000000,
  /** ATTRIB_STATUS_DUPLICATE_ATTRIBUTE. */
  DUPLICATE_ATTRIBUTE: 0x00000001,
  /** ATTRIB_STATUS_UNRECOGNIZED_ATTRIBUTE. */
  UNRECOGNIZED_ATTRIBUTE: 0x00000002,
  /** ATTRIB_STATUS_INVALID_ATTRIB_VALUE_LENGTH. */
  INVALID_ATTRIB_VALUE_LENGTH: 0x00000003,
  /** ATTRIB_STATUS_VALUE_NOT_SUPPORTED. */
  VALUE_NOT_SUPPORTED: 0x00000004,
  /** ATTRIB_STATUS_UNACCEPTED_FRAME_RECEIVED: message not acceptable in the current state. */
  UNACCEPTED_FRAME_RECEIVED: 0x00000005,
  /** ATTRIB_STATUS_RETRY_COUNT_EXCEEDED. */
  RETRY_COUNT_EXCEEDED: 0x00000006,
  /** ATTRIB_STATUS_INVALID_FRAME_RECEIVED: message type or format not recognized. */
  INVALID_FRAME_RECEIVED: 0x00000007,
  /** ATTRIB_STATUS_NEGOTIATION_TIMEOUT. */
  NEGOTIATION_TIMEOUT: 0x00000008,
  /** ATTRIB_STATUS_ATTRIB_NOT_SUPPORTED_IN_MSG. */
  ATTRIB_NOT_SUPPORTED_IN_MSG: 0x00000009,
  /** ATTRIB_STATUS_REQUIRED_ATTRIBUTE_MISSING. */
  REQUIRED_ATTRIBUTE_MISSING: 0x0000000a,
  /** ATTRIB_STATUS_STATUS_INFO_NOT_SUPPORTED_IN_MSG. */
  STATUS_INFO_NOT_SUPPORTED_IN_MSG: 0x0000000b,
} as const;

/** One of the values of {@linkcode STATUS}. */
export type Status = typeof STATUS[keyof typeof STATUS];

/**
 * Hash protocols (MS-SSTP 2.2.6, 2.2.7). The Hash Protocol value of the Crypto
 * Binding attribute and the bit of the Hash Protocol Bitmask coincide:
 * SHA1 = 1 (bit A), SHA256 = 2 (bit B).
 */
export const HASH_PROTOCOL = {
  /** CERT_HASH_PROTOCOL_SHA1: value 0x01, bitmask bit A (0x01). */
  SHA1: 0x01,
  /** CERT_HASH_PROTOCOL_SHA256: value 0x02, bitmask bit B (0x02). */
  SHA256: 0x02,
} as const;

/** One of the values of {@linkcode HASH_PROTOCOL}. */
export type HashProtocol = typeof HASH_PROTOCOL[keyof typeof HASH_PROTOCOL];

/** Digest length in bytes of each hash protocol (MS-SSTP 2.2.7). */
export const HASH_LENGTH: Readonly<Record<HashProtocol, number>> = {
  [HASH_PROTOCOL.SHA1]: 20,
  [HASH_PROTOCOL.SHA256]: 32,
};

/** Bytes of the Nonce field (MS-SSTP 2.2.6, 2.2.7). */
export const NONCE_LENGTH = 32;

/** Bytes of the Call Connected message, the Compound MAC input (MS-SSTP 2.2.11, 3.2.5.2.1). */
export const CALL_CONNECTED_LENGTH = 112;

/** Timer values in milliseconds (MS-SSTP 3.1.2, 3.2.2.1, 3.3.2.1). */
export const TIMER_MS = {
  /** Negotiation timer: 60 s (MS-SSTP 3.2.2.1, 3.3.2.1). */
  NEGOTIATION: 60_000,
  /** Hello timer: 60 s (MS-SSTP 3.1.2.3). */
  HELLO: 60_000,
  /** TIMER_VAL_ABORT_STATE_TIMER_1: 3 s (MS-SSTP 3.1.2.1). */
  ABORT_1: 3_000,
  /** TIMER_VAL_ABORT_STATE_TIMER_2: 1 s (MS-SSTP 3.1.2.1). */
  ABORT_2: 1_000,
  /** TIMER_VAL_DISCONNECT_STATE_TIMER_1: 5 s (MS-SSTP 3.1.2.2). */
  DISCONNECT_1: 5_000,
  /** TIMER_VAL_DISCONNECT_STATE_TIMER_2: 1 s (MS-SSTP 3.1.2.2). */
  DISCONNECT_2: 1_000,
} as const;

/** Default Call Connect retry / NAK limit, as Windows uses (MS-SSTP 6 <2>, <10>, <16>). */
export const DEFAULT_CONNECT_RETRIES = 3;

function reverse<T extends Record<string, number>>(
  table: T,
  prefix: string,
): ReadonlyMap<number, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, prefix + k]));
}

/** Message type → spec name, e.g. 1 → "SSTP_MSG_CALL_CONNECT_REQUEST". */
export const MESSAGE_TYPE_NAME: ReadonlyMap<number, string> = reverse(MESSAGE_TYPE, "SSTP_MSG_");

/** Attribute id → spec name, e.g. 4 → "SSTP_ATTRIB_CRYPTO_BINDING_REQ". */
export const ATTRIBUTE_ID_NAME: ReadonlyMap<number, string> = reverse(ATTRIBUTE_ID, "SSTP_ATTRIB_");

/** Status value → spec name, e.g. 6 → "ATTRIB_STATUS_RETRY_COUNT_EXCEEDED". */
export const STATUS_NAME: ReadonlyMap<number, string> = reverse(STATUS, "ATTRIB_STATUS_");
