/**
 * The RADIUS attributes `sstp` sends and reads: numbers from RFC 2865 5,
 * RFC 2866 5, RFC 2869 5, RFC 3162, RFC 5176 3, the Microsoft vendor
 * attributes of RFC 2548 2 and MikroTik's `Mikrotik-Rate-Limit`; builders
 * for each value type and readers over an attribute list.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { RadiusAttribute } from "./radius_packet.ts";

/** Standard attribute types. */
export const ATTR = {
  USER_NAME: 1,
  USER_PASSWORD: 2,
  CHAP_PASSWORD: 3,
  NAS_IP_ADDRESS: 4,
  NAS_PORT: 5,
  SERVICE_TYPE: 6,
  FRAMED_PROTOCOL: 7,
  FRAMED_IP_ADDRESS: 8,
  FRAMED_IP_NETMASK: 9,
  FILTER_ID: 11,
  FRAMED_MTU: 12,
  REPLY_MESSAGE: 18,
  FRAMED_ROUTE: 22,
  STATE: 24,
  CLASS: 25,
  VENDOR_SPECIFIC: 26,
  SESSION_TIMEOUT: 27,
  IDLE_TIMEOUT: 28,
  CALLED_STATION_ID: 30,
  CALLING_STATION_ID: 31,
  NAS_IDENTIFIER: 32,
  PROXY_STATE: 33,
  ACCT_STATUS_TYPE: 40,
  ACCT_DELAY_TIME: 41,
  ACCT_INPUT_OCTETS: 42,
  ACCT_OUTPUT_OCTETS: 43,
  ACCT_SESSION_ID: 44,
  ACCT_AUTHENTIC: 45,
  ACCT_SESSION_TIME: 46,
  ACCT_INPUT_PACKETS: 47,
  ACCT_OUTPUT_PACKETS: 48,
  ACCT_TERMINATE_CAUSE: 49,
  ACCT_INPUT_GIGAWORDS: 52,
  ACCT_OUTPUT_GIGAWORDS: 53,
  EVENT_TIMESTAMP: 55,
  CHAP_CHALLENGE: 60,
  NAS_PORT_TYPE: 61,
  ACCT_INTERIM_INTERVAL: 85,
  NAS_PORT_ID: 87,
  FRAMED_POOL: 88,
  FRAMED_IPV6_PREFIX: 97,
  FRAMED_IPV6_ROUTE: 99,
  FRAMED_IPV6_POOL: 100,
  ERROR_CAUSE: 101,
  DELEGATED_IPV6_PREFIX: 123,
} as const;

/** SMI network management private enterprise codes. */
export const VENDOR = { MICROSOFT: 311, MIKROTIK: 14988 } as const;

/** Microsoft vendor attributes (RFC 2548 2). */
export const MS_ATTR = {
  CHAP_RESPONSE: 1,
  CHAP_ERROR: 2,
  CHAP_DOMAIN: 10,
  CHAP_CHALLENGE: 11,
  CHAP_MPPE_KEYS: 12,
  MPPE_SEND_KEY: 16,
  MPPE_RECV_KEY: 17,
  CHAP2_RESPONSE: 25,
  CHAP2_SUCCESS: 26,
  PRIMARY_DNS_SERVER: 28,
  SECONDARY_DNS_SERVER: 29,
} as const;

/** MikroTik vendor attributes (the RouterOS dictionary). */
export const MIKROTIK_ATTR = { RATE_LIMIT: 8 } as const;

/** Acct-Status-Type values (RFC 2866 5.1). */
export const ACCT_STATUS = {
  START: 1,
  STOP: 2,
  INTERIM_UPDATE: 3,
  ACCOUNTING_ON: 7,
  ACCOUNTING_OFF: 8,
} as const;

/** Acct-Terminate-Cause values (RFC 2866 5.10). */
export const TERMINATE_CAUSE = {
  USER_REQUEST: 1,
  LOST_CARRIER: 2,
  LOST_SERVICE: 3,
  IDLE_TIMEOUT: 4,
  SESSION_TIMEOUT: 5,
  ADMIN_RESET: 6,
  ADMIN_REBOOT: 7,
  PORT_ERROR: 8,
  NAS_ERROR: 9,
  NAS_REQUEST: 10,
  NAS_REBOOT: 11,
} as const;

/** Error-Cause values used in Disconnect/CoA NAKs (RFC 5176 3.5). */
export const ERROR_CAUSE = {
  UNSUPPORTED_ATTRIBUTE: 401,
  MISSING_ATTRIBUTE: 402,
  INVALID_REQUEST: 404,
  SESSION_CONTEXT_NOT_FOUND: 503,
  SESSION_CONTEXT_NOT_REMOVABLE: 504,
  RESOURCES_UNAVAILABLE: 506,
} as const;

/** Service-Type Framed (RFC 2865 5.6). */
export const SERVICE_TYPE_FRAMED = 2;
/** Framed-Protocol PPP (RFC 2865 5.7). */
export const FRAMED_PROTOCOL_PPP = 1;
/** NAS-Port-Type Virtual (RFC 2865 5.41). */
export const NAS_PORT_TYPE_VIRTUAL = 5;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** A text attribute (UTF-8). */
export function textAttr(type: number, text: string): RadiusAttribute {
  return { type, value: encoder.encode(text) };
}

/** A 32-bit unsigned integer attribute. */
export function integerAttr(type: number, value: number): RadiusAttribute {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, value >>> 0);
  return { type, value: v };
}

/**
 * An IPv4 address attribute.
 *
 * @throws {TypeError} If `address` is not dotted-quad IPv4.
 */
export function ipv4Attr(type: number, address: string): RadiusAttribute {
  return { type, value: ipv4Bytes(address) };
}

/** Dotted quad to 4 bytes. */
export function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split(".");
  const bytes = parts.map((p) => /^\d{1,3}$/.test(p) ? Number(p) : NaN);
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) {
    throw new TypeError(`Cannot encode RADIUS address: "${address}" is not an IPv4 address`);
  }
  return new Uint8Array(bytes);
}

/** A Vendor-Specific attribute holding one vendor sub-attribute (RFC 2865 5.26). */
export function vendorAttr(vendor: number, type: number, value: Uint8Array): RadiusAttribute {
  if (value.length > 247) {
    throw new RangeError(
      `Cannot encode vendor attribute ${vendor}:${type}: value is ${value.length} bytes, at most 247`,
    );
  }
  const v = new Uint8Array(6 + value.length);
  new DataView(v.buffer).setUint32(0, vendor);
  v[4] = type;
  v[5] = value.length + 2;
  v.set(value, 6);
  return { type: 26, value: v };
}

/** One vendor sub-attribute. */
export interface VendorAttribute {
  /** SMI Private Enterprise Number (311 Microsoft, 14988 MikroTik). */
  vendor: number;
  /** Vendor-Type, within the vendor's numbering. */
  type: number;
  /** The sub-attribute's value, without vendor type and length. */
  value: Uint8Array;
}

/**
 * The sub-attributes of a Vendor-Specific value in the common
 * type/length/value layout; `undefined` when the value is not in that
 * layout (it is then ignored, as any unknown attribute).
 */
export function decodeVendorAttr(value: Uint8Array): VendorAttribute[] | undefined {
  if (value.length < 4) return undefined;
  const vendor = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
  const out: VendorAttribute[] = [];
  let o = 4;
  while (o < value.length) {
    const type = value[o] ?? 0;
    const len = value[o + 1] ?? 0;
    if (len < 2 || o + len > value.length) return undefined;
    out.push({ vendor, type, value: value.slice(o + 2, o + len) });
    o += len;
  }
  return out;
}

/** Read access to a packet's attributes by type. */
export class AttributeList {
  readonly #attributes: readonly RadiusAttribute[];
  #vendor: VendorAttribute[] | undefined;

  /** Wraps a decoded attribute list. */
  constructor(attributes: readonly RadiusAttribute[]) {
    this.#attributes = attributes;
  }

  /** All values of `type`, in order. */
  all(type: number): Uint8Array[] {
    return this.#attributes.filter((a) => a.type === type).map((a) => a.value);
  }

  /** The first value of `type`. */
  bytes(type: number): Uint8Array | undefined {
    return this.#attributes.find((a) => a.type === type)?.value;
  }

  /** The first value of `type` as text. */
  text(type: number): string | undefined {
    const v = this.bytes(type);
    return v === undefined ? undefined : decoder.decode(v);
  }

  /**
   * The first value of `type` as a 32-bit integer.
   *
   * @throws {ProtocolError} If the value is not 4 bytes.
   */
  integer(type: number): number | undefined {
    const v = this.bytes(type);
    if (v === undefined) return undefined;
    return readInteger(v, `attribute ${type}`);
  }

  /**
   * The first value of `type` as dotted-quad IPv4.
   *
   * @throws {ProtocolError} If the value is not 4 bytes.
   */
  ipv4(type: number): string | undefined {
    const v = this.bytes(type);
    if (v === undefined) return undefined;
    return readIpv4(v, `attribute ${type}`);
  }

  /** Every vendor sub-attribute (Vendor-Specific values in the common layout). */
  get vendorAttributes(): VendorAttribute[] {
    if (this.#vendor === undefined) {
      this.#vendor = this.all(ATTR.VENDOR_SPECIFIC).flatMap((v) => decodeVendorAttr(v) ?? []);
    }
    return this.#vendor;
  }

  /** The first value of the vendor sub-attribute `vendor`:`type`. */
  vendor(vendor: number, type: number): Uint8Array | undefined {
    return this.vendorAttributes.find((a) => a.vendor === vendor && a.type === type)?.value;
  }
}

/** 4 bytes as an unsigned integer. */
export function readInteger(v: Uint8Array, what: string): number {
  if (v.length !== 4) {
    throw new ProtocolError(
      "radius",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode RADIUS ${what}: an integer is 4 bytes, got ${v.length}`,
    );
  }
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}

/** 4 bytes as dotted-quad IPv4. */
export function readIpv4(v: Uint8Array, what: string): string {
  if (v.length !== 4) {
    throw new ProtocolError(
      "radius",
      ERROR_CODE.BAD_LENGTH,
      `Cannot decode RADIUS ${what}: an IPv4 address is 4 bytes, got ${v.length}`,
    );
  }
  return Array.from(v).join(".");
}
