/**
 * DHCPv6 messages and the options prefix delegation needs (RFC 8415).
 *
 * ```
 * 8:    | msg-type (8) | transaction-id (24) | options… |
 * 21.1: option: | option-code (16) | option-len (16) | data… |
 * 21.21 IA_PD:    | IAID (32) | T1 (32) | T2 (32) | IA_PD-options… |
 * 21.22 IAPREFIX: | preferred (32) | valid (32) | prefix-length (8) | prefix (128) | options… |
 * ```
 *
 * Decoding keeps unknown options (the server echoes nothing it does not
 * know, but a decoder that drops them could not be tested for round trips).
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { IPV6_ADDRESS_LENGTH, type Ipv6Prefix, maskIpv6 } from "./address.ts";

/** UDP ports (RFC 8415 7.2). */
export const DHCPV6_PORT = { CLIENT: 546, SERVER: 547 } as const;

/** ff02::1:2, All_DHCP_Relay_Agents_and_Servers (RFC 8415 7.1). */
export const ALL_DHCP_RELAY_AGENTS_AND_SERVERS = new Uint8Array([
  0xff,
  0x02,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  0,
  2,
]);

/** Message types (RFC 8415 7.3). */
export const DHCPV6_MESSAGE = {
  SOLICIT: 1,
  ADVERTISE: 2,
  REQUEST: 3,
  CONFIRM: 4,
  RENEW: 5,
  REBIND: 6,
  REPLY: 7,
  RELEASE: 8,
  DECLINE: 9,
  RECONFIGURE: 10,
  INFORMATION_REQUEST: 11,
} as const;

/** Option codes (RFC 8415 21, RFC 3646 3 for DNS). */
export const DHCPV6_OPTION = {
  CLIENTID: 1,
  SERVERID: 2,
  IA_NA: 3,
  ORO: 6,
  ELAPSED_TIME: 8,
  STATUS_CODE: 13,
  RAPID_COMMIT: 14,
  DNS_SERVERS: 23,
  IA_PD: 25,
  IAPREFIX: 26,
} as const;

/** Status codes (RFC 8415 21.13). */
export const DHCPV6_STATUS = {
  SUCCESS: 0,
  UNSPEC_FAIL: 1,
  NO_ADDRS_AVAIL: 2,
  NO_BINDING: 3,
  NOT_ON_LINK: 4,
  USE_MULTICAST: 5,
  NO_PREFIX_AVAIL: 6,
} as const;

/** One option, undecoded. */
export interface Dhcpv6Option {
  /** Option code (RFC 8415 21). */
  code: number;
  /** Option data, without the 4-byte header. */
  data: Uint8Array;
}

/** A DHCPv6 message with its options in order. */
export interface Dhcpv6Message {
  /** Message type, one of DHCPV6_MESSAGE. */
  type: number;
  /** 24-bit transaction id. */
  transactionId: number;
  /** Options in wire order. */
  options: Dhcpv6Option[];
}

/** A delegated prefix inside an IA_PD. */
export interface IaPrefix {
  /** The delegated prefix. */
  prefix: Ipv6Prefix;
  /** Seconds the prefix is preferred. */
  preferredLifetimeS: number;
  /** Seconds the prefix stays valid. */
  validLifetimeS: number;
}

/** An IA_PD option, decoded. */
export interface IaPd {
  /** Identity Association identifier chosen by the client. */
  iaid: number;
  /** Seconds until the client renews (Renew to this server). */
  t1S: number;
  /** Seconds until the client rebinds (Rebind to any server). */
  t2S: number;
  /** Delegated prefixes. */
  prefixes: IaPrefix[];
  /** A Status Code option inside the IA_PD, when present. */
  status?: { code: number; message: string };
}

function dhcpError(code: typeof ERROR_CODE[keyof typeof ERROR_CODE], message: string) {
  return new ProtocolError("dhcpv6", code, message);
}

/** Encodes an option list. */
export function encodeDhcpv6Options(options: Dhcpv6Option[]): Uint8Array {
  const out = new Uint8Array(options.reduce((n, o) => n + 4 + o.data.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const o of options) {
    if (o.data.length > 0xffff) {
      throw new RangeError(`Cannot encode DHCPv6 option ${o.code}: ${o.data.length} bytes`);
    }
    view.setUint16(at, o.code);
    view.setUint16(at + 2, o.data.length);
    out.set(o.data, at + 4);
    at += 4 + o.data.length;
  }
  return out;
}

/**
 * Decodes an option list.
 *
 * @throws {ProtocolError} TRUNCATED when an option runs past the end
 */
export function decodeDhcpv6Options(bytes: Uint8Array, what = "DHCPv6 options"): Dhcpv6Option[] {
  const out: Dhcpv6Option[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) {
      throw dhcpError(ERROR_CODE.TRUNCATED, `Cannot decode ${what}: option header truncated`);
    }
    const code = ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
    const length = ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0);
    if (at + 4 + length > bytes.length) {
      throw dhcpError(
        ERROR_CODE.TRUNCATED,
        `Cannot decode ${what}: option ${code} of ${length} bytes runs past the end`,
      );
    }
    out.push({ code, data: bytes.subarray(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  return out;
}

/**
 * Encodes a message.
 *
 * @example
 * ```ts
 * import { DHCPV6_MESSAGE, decodeDhcpv6Message, encodeDhcpv6Message } from "./dhcpv6.ts";
 * const bytes = encodeDhcpv6Message({ type: DHCPV6_MESSAGE.SOLICIT, transactionId: 0x123456, options: [] });
 * if (decodeDhcpv6Message(bytes).transactionId !== 0x123456) throw new Error();
 * ```
 */
export function encodeDhcpv6Message(message: Dhcpv6Message): Uint8Array {
  const options = encodeDhcpv6Options(message.options);
  const out = new Uint8Array(4 + options.length);
  out[0] = message.type;
  out[1] = (message.transactionId >> 16) & 0xff;
  out[2] = (message.transactionId >> 8) & 0xff;
  out[3] = message.transactionId & 0xff;
  out.set(options, 4);
  return out;
}

/**
 * Decodes a message.
 *
 * @throws {ProtocolError} TRUNCATED
 */
export function decodeDhcpv6Message(bytes: Uint8Array): Dhcpv6Message {
  if (bytes.length < 4) {
    throw dhcpError(
      ERROR_CODE.TRUNCATED,
      `Cannot decode DHCPv6 message: ${bytes.length} bytes is shorter than the 4-byte header`,
    );
  }
  return {
    type: bytes[0] ?? 0,
    transactionId: ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0),
    options: decodeDhcpv6Options(bytes.subarray(4), "DHCPv6 message"),
  };
}

/** The first option with `code`, if any. */
export function findDhcpv6Option(options: Dhcpv6Option[], code: number): Uint8Array | undefined {
  return options.find((o) => o.code === code)?.data;
}

/** Encodes a Status Code option's data (RFC 8415 21.13). */
export function encodeStatusCode(code: number, message: string): Dhcpv6Option {
  const text = new TextEncoder().encode(message);
  const data = new Uint8Array(2 + text.length);
  data[0] = code >> 8;
  data[1] = code & 0xff;
  data.set(text, 2);
  return { code: DHCPV6_OPTION.STATUS_CODE, data };
}

/** Decodes a Status Code option's data. */
export function decodeStatusCode(data: Uint8Array): { code: number; message: string } {
  if (data.length < 2) {
    throw dhcpError(ERROR_CODE.TRUNCATED, "Cannot decode DHCPv6 Status Code: shorter than 2 bytes");
  }
  return {
    code: ((data[0] ?? 0) << 8) | (data[1] ?? 0),
    message: new TextDecoder("utf-8", { fatal: false }).decode(data.subarray(2)),
  };
}

/** Encodes an IA_PD option (with its IAPREFIX and Status Code sub-options). */
export function encodeIaPd(ia: IaPd): Dhcpv6Option {
  const sub: Dhcpv6Option[] = ia.prefixes.map((p) => {
    const data = new Uint8Array(25);
    const v = new DataView(data.buffer);
    v.setUint32(0, p.preferredLifetimeS);
    v.setUint32(4, p.validLifetimeS);
    data[8] = p.prefix.length;
    data.set(p.prefix.address, 9);
    return { code: DHCPV6_OPTION.IAPREFIX, data };
  });
  if (ia.status) sub.push(encodeStatusCode(ia.status.code, ia.status.message));
  const inner = encodeDhcpv6Options(sub);
  const data = new Uint8Array(12 + inner.length);
  const v = new DataView(data.buffer);
  v.setUint32(0, ia.iaid);
  v.setUint32(4, ia.t1S);
  v.setUint32(8, ia.t2S);
  data.set(inner, 12);
  return { code: DHCPV6_OPTION.IA_PD, data };
}

/**
 * Decodes an IA_PD option's data. IAPREFIX options with a prefix length
 * above 128 or a preferred lifetime above the valid one are dropped
 * (RFC 8415 18.2.10.1).
 *
 * @throws {ProtocolError} TRUNCATED / BAD_LENGTH
 */
export function decodeIaPd(data: Uint8Array): IaPd {
  if (data.length < 12) {
    throw dhcpError(
      ERROR_CODE.TRUNCATED,
      `Cannot decode IA_PD: ${data.length} bytes is shorter than 12`,
    );
  }
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ia: IaPd = { iaid: v.getUint32(0), t1S: v.getUint32(4), t2S: v.getUint32(8), prefixes: [] };
  for (const o of decodeDhcpv6Options(data.subarray(12), "IA_PD")) {
    if (o.code === DHCPV6_OPTION.IAPREFIX) {
      if (o.data.length < 25) {
        throw dhcpError(ERROR_CODE.BAD_LENGTH, `Cannot decode IAPREFIX: ${o.data.length} bytes`);
      }
      const pv = new DataView(o.data.buffer, o.data.byteOffset, o.data.byteLength);
      const length = o.data[8] ?? 0;
      const preferred = pv.getUint32(0);
      const valid = pv.getUint32(4);
      if (length > 128 || preferred > valid) continue;
      ia.prefixes.push({
        prefix: { address: maskIpv6(o.data.subarray(9, 9 + IPV6_ADDRESS_LENGTH), length), length },
        preferredLifetimeS: preferred,
        validLifetimeS: valid,
      });
    } else if (o.code === DHCPV6_OPTION.STATUS_CODE) {
      ia.status = decodeStatusCode(o.data);
    }
  }
  return ia;
}

/** The IA_PD options of a message, decoded. */
export function findIaPds(message: Dhcpv6Message): IaPd[] {
  return message.options.filter((o) => o.code === DHCPV6_OPTION.IA_PD).map((o) =>
    decodeIaPd(o.data)
  );
}

/** A DNS Recursive Name Server option (RFC 3646 3). */
export function encodeDnsServers(servers: Uint8Array[]): Dhcpv6Option {
  const data = new Uint8Array(16 * servers.length);
  servers.forEach((s, i) => data.set(s, 16 * i));
  return { code: DHCPV6_OPTION.DNS_SERVERS, data };
}

/** The message type's name for logs (`Solicit`, `Reply`, …). */
export function dhcpv6MessageName(type: number): string {
  const names: Record<number, string> = {
    1: "Solicit",
    2: "Advertise",
    3: "Request",
    4: "Confirm",
    5: "Renew",
    6: "Rebind",
    7: "Reply",
    8: "Release",
    9: "Decline",
    10: "Reconfigure",
    11: "Information-request",
  };
  return names[type] ?? `type-${type}`;
}
