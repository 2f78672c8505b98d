/**
 * Access-Request contents for the four PPP authentication methods and the
 * meaning of the reply (RFC 2865, RFC 2548). Pure: the caller supplies the
 * Request Authenticator and the shared secret.
 *
 * How each PPP exchange is carried:
 * - PAP: User-Password, hidden (RFC 2865 5.2).
 * - CHAP-MD5: CHAP-Password = Identifier | Response (RFC 2865 5.3) and
 *   CHAP-Challenge (5.40).
 * - MS-CHAPv1: MS-CHAP-Challenge (8 bytes) and MS-CHAP-Response = Ident |
 *   Flags | LM-Response | NT-Response (RFC 2548 2.1.3, 2.3.2).
 * - MS-CHAPv2: MS-CHAP-Challenge (16 bytes) and MS-CHAP2-Response = Ident |
 *   Flags | Peer-Challenge | Reserved | NT-Response (RFC 2548 2.3.2); the
 *   Accept carries MS-CHAP2-Success (the `S=` text for the PPP Success) and
 *   MS-MPPE-Send-Key / MS-MPPE-Recv-Key (2.4.2, 2.4.3), from which the SSTP
 *   Higher-Layer Authentication Key is built: the server's HLAK is its
 *   master receive key followed by its master send key (MS-SSTP 3.2.5.2.2, 3.2.5.2.4),
 *   i.e. MS-MPPE-Recv-Key | MS-MPPE-Send-Key. An Accept without both keys
 *   cannot bind the tunnel and is refused.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { concatBytes } from "../bytes/hex.ts";
import type { AuthMethod } from "../ppp/auth/auth_types.ts";
import { RADIUS_CODE, type RadiusAttribute, type RadiusPacket } from "./radius_packet.ts";
import {
  ATTR,
  AttributeList,
  FRAMED_PROTOCOL_PPP,
  integerAttr,
  ipv4Attr,
  MIKROTIK_ATTR,
  MS_ATTR,
  NAS_PORT_TYPE_VIRTUAL,
  readIpv4,
  SERVICE_TYPE_FRAMED,
  textAttr,
  VENDOR,
  vendorAttr,
} from "./radius_attributes.ts";
import { decryptMppeKey, hideUserPassword } from "./radius_crypto.ts";

/** What the PPP authenticator received from the peer, per method. */
export type RadiusCredentials =
  | { method: "pap"; user: string; password: Uint8Array }
  | {
    method: "chap";
    user: string;
    identifier: number;
    challenge: Uint8Array;
    /** The 16-byte MD5 Response Value. */
    response: Uint8Array;
  }
  | {
    method: "mschap1";
    user: string;
    identifier: number;
    /** 8 bytes. */
    challenge: Uint8Array;
    /** The 49-byte PPP Response Value: LM(24) | NT(24) | Flags(1). */
    response: Uint8Array;
  }
  | {
    method: "mschap2";
    user: string;
    identifier: number;
    /** 16 bytes. */
    challenge: Uint8Array;
    /** The 49-byte PPP Response Value: Peer-Challenge(16) | Reserved(8) | NT(24) | Flags(1). */
    response: Uint8Array;
  };

/** Who is asking: the NAS attributes of every request. */
export interface NasIdentity {
  /** NAS-IP-Address (RFC 2865 5.4), when set. */
  nasIpAddress?: string;
  /** NAS-Identifier (RFC 2865 5.32); sent when set or when there is no NAS-IP-Address. */
  nasIdentifier: string;
}

/** Per-call attributes. */
export interface CallIdentity {
  /** Client address as seen by the server (the PROXY-protocol source when present). */
  callingStationId: string;
  /** The server address the client reached. */
  calledStationId?: string;
  /** Acct-Session-Id, also sent in the Access-Request so CoA can name the session. */
  acctSessionId: string;
  /** NAS-Port: the session number. */
  nasPort?: number;
}

/** The attributes common to Access- and Accounting-Requests. */
export function nasAttributes(nas: NasIdentity, call: CallIdentity): RadiusAttribute[] {
  const out: RadiusAttribute[] = [];
  if (nas.nasIpAddress !== undefined) out.push(ipv4Attr(ATTR.NAS_IP_ADDRESS, nas.nasIpAddress));
  out.push(textAttr(ATTR.NAS_IDENTIFIER, nas.nasIdentifier));
  if (call.nasPort !== undefined) out.push(integerAttr(ATTR.NAS_PORT, call.nasPort));
  out.push(integerAttr(ATTR.NAS_PORT_TYPE, NAS_PORT_TYPE_VIRTUAL));
  out.push(textAttr(ATTR.CALLING_STATION_ID, call.callingStationId));
  if (call.calledStationId !== undefined) {
    out.push(textAttr(ATTR.CALLED_STATION_ID, call.calledStationId));
  }
  out.push(textAttr(ATTR.ACCT_SESSION_ID, call.acctSessionId));
  return out;
}

/**
 * The attributes of an Access-Request for `creds` (without the
 * Message-Authenticator, which the encoder adds).
 *
 * @throws {RangeError} If a response or challenge has the wrong length.
 */
export function accessRequestAttributes(
  creds: RadiusCredentials,
  nas: NasIdentity,
  call: CallIdentity,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
): RadiusAttribute[] {
  const out: RadiusAttribute[] = [
    textAttr(ATTR.USER_NAME, creds.user),
    integerAttr(ATTR.SERVICE_TYPE, SERVICE_TYPE_FRAMED),
    integerAttr(ATTR.FRAMED_PROTOCOL, FRAMED_PROTOCOL_PPP),
  ];
  switch (creds.method) {
    case "pap":
      out.push({
        type: ATTR.USER_PASSWORD,
        value: hideUserPassword(creds.password, secret, requestAuthenticator),
      });
      break;
    case "chap":
      need(creds.response, 16, "CHAP response");
      out.push(
        {
          type: ATTR.CHAP_PASSWORD,
          value: concatBytes(new Uint8Array([creds.identifier]), creds.response),
        },
        { type: ATTR.CHAP_CHALLENGE, value: creds.challenge },
      );
      break;
    case "mschap1": {
      need(creds.challenge, 8, "MS-CHAP challenge");
      need(creds.response, 49, "MS-CHAP response");
      const r = creds.response;
      // RFC 2548 2.1.3: Ident | Flags | LM-Response | NT-Response.
      const v = concatBytes(
        new Uint8Array([creds.identifier, r[48] ?? 1]),
        r.subarray(0, 24),
        r.subarray(24, 48),
      );
      out.push(
        vendorAttr(VENDOR.MICROSOFT, MS_ATTR.CHAP_CHALLENGE, creds.challenge),
        vendorAttr(VENDOR.MICROSOFT, MS_ATTR.CHAP_RESPONSE, v),
      );
      break;
    }
    case "mschap2": {
      need(creds.challenge, 16, "MS-CHAPv2 challenge");
      need(creds.response, 49, "MS-CHAPv2 response");
      const r = creds.response;
      // RFC 2548 2.3.2: Ident | Flags | Peer-Challenge | Reserved | Response.
      const v = concatBytes(new Uint8Array([creds.identifier, 0]), r.subarray(0, 48));
      out.push(
        vendorAttr(VENDOR.MICROSOFT, MS_ATTR.CHAP_CHALLENGE, creds.challenge),
        vendorAttr(VENDOR.MICROSOFT, MS_ATTR.CHAP2_RESPONSE, v),
      );
      break;
    }
  }
  return [...out, ...nasAttributes(nas, call)];
}

function need(v: Uint8Array, n: number, what: string): void {
  if (v.length !== n) {
    throw new RangeError(
      `Cannot build Access-Request: ${what} is ${v.length} bytes, expected ${n}`,
    );
  }
}

/** What RADIUS says about the session (RFC 2865 5, RFC 2869, RFC 2548, MikroTik). */
export interface RadiusAuthorization {
  /** Framed-IP-Address to give the client; absent also for "NAS picks" (255.255.255.254) and "user picks" (255.255.255.255). */
  framedIpAddress?: string;
  /** Framed-IP-Netmask, dotted quad. */
  framedIpNetmask?: string;
  /** Framed-Pool (RFC 2869 5.18): name of the local pool to take the address from. */
  framedPool?: string;
  /** Framed-Route texts as sent ("10.1.0.0/16 0.0.0.0 1"). */
  framedRoutes: string[];
  /** Framed-MTU in bytes. */
  framedMtu?: number;
  /** Framed-IPv6-Prefix values (RFC 3162 2.3) as sent: `decodeFramedIpv6Prefix` reads them. */
  framedIpv6Prefixes?: Uint8Array[];
  /** Framed-IPv6-Route texts as sent (RFC 3162 2.5: "2001:2:5::/48 :: 1"). */
  framedIpv6Routes?: string[];
  /** Framed-IPv6-Pool (RFC 3162 2.6): name of the local IPv6 prefix pool for the client's /64. */
  framedIpv6Pool?: string;
  /** Session-Timeout (sent in seconds), in milliseconds. */
  sessionTimeoutMs?: number;
  /** Idle-Timeout (sent in seconds), in milliseconds. */
  idleTimeoutMs?: number;
  /** Acct-Interim-Interval (sent in seconds), in milliseconds. */
  acctInterimIntervalMs?: number;
  /** Class values, echoed in every Accounting-Request (RFC 2865 5.25). */
  classes: Uint8Array[];
  /** MS-Primary/Secondary-DNS-Server. */
  dns: string[];
  /** Mikrotik-Rate-Limit text, when sent. */
  rateLimit?: string;
  /** Reply-Message texts. */
  replyMessages: string[];
}

/** The outcome of one Access-Request. */
export type RadiusAuthResult =
  | {
    ok: true;
    authorization: RadiusAuthorization;
    /** 32-byte SSTP HLAK: MPPE keys for MS-CHAPv2, zeros for the others. */
    hlak: Uint8Array;
    /** MS-CHAPv2: the 42-character `S=...` authenticator response for the PPP Success. */
    authenticatorResponse?: string;
  }
  | {
    ok: false;
    error: ProtocolError;
    /** MS-CHAP-Error text (`E=691 R=0 ...`) for the PPP Failure, when sent. */
    msChapError?: string;
    replyMessages: string[];
  };

const decoder = new TextDecoder();

/**
 * Reads an Access-Accept or Access-Reject that was already verified against
 * the request. Unknown attributes are ignored; a malformed known one
 * refuses the login (a server that sends a broken Framed-IP-Address has not
 * given a usable answer).
 */
export function interpretAccessReply(
  reply: RadiusPacket,
  method: AuthMethod,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
): RadiusAuthResult {
  const a = new AttributeList(reply.attributes);
  const replyMessages = a.all(ATTR.REPLY_MESSAGE).map((v) => decoder.decode(v));
  const fail = (code: typeof ERROR_CODE[keyof typeof ERROR_CODE], why: string) => {
    const msChap = a.vendor(VENDOR.MICROSOFT, MS_ATTR.CHAP_ERROR);
    // RFC 2548 2.1.5: Ident | text.
    const msChapError = msChap === undefined || msChap.length < 2
      ? undefined
      : decoder.decode(msChap.subarray(1));
    return {
      ok: false as const,
      error: new ProtocolError("radius", code, why),
      replyMessages,
      ...(msChapError === undefined ? {} : { msChapError }),
    };
  };
  if (reply.code === RADIUS_CODE.ACCESS_REJECT) {
    const said = replyMessages.length > 0 ? ` ("${replyMessages.join(" ")}")` : "";
    return fail(ERROR_CODE.AUTH_FAILED, `RADIUS rejected the login${said}`);
  }
  if (reply.code === RADIUS_CODE.ACCESS_CHALLENGE) {
    return fail(
      ERROR_CODE.AUTH_FAILED,
      "RADIUS sent an Access-Challenge, which PPP PAP/CHAP cannot carry",
    );
  }
  if (reply.code !== RADIUS_CODE.ACCESS_ACCEPT) {
    return fail(ERROR_CODE.UNEXPECTED_MESSAGE, `RADIUS answered with code ${reply.code}`);
  }
  let authorization: RadiusAuthorization;
  try {
    authorization = readAuthorization(a, replyMessages);
  } catch (e) {
    if (e instanceof ProtocolError) return fail(ERROR_CODE.BAD_VALUE, e.message);
    throw e;
  }
  if (method !== "mschap2") {
    return { ok: true, authorization, hlak: new Uint8Array(32) };
  }
  const success = a.vendor(VENDOR.MICROSOFT, MS_ATTR.CHAP2_SUCCESS);
  const text = success === undefined ? "" : decoder.decode(success.subarray(1));
  if (!/^S=[0-9A-Fa-f]{40}$/.test(text.slice(0, 42))) {
    return fail(
      ERROR_CODE.BAD_ATTRIBUTE,
      "RADIUS accepted an MS-CHAPv2 login without a valid MS-CHAP2-Success",
    );
  }
  const hlak = mppeHlak(a, secret, requestAuthenticator, "an MS-CHAPv2");
  if (hlak instanceof ProtocolError) return fail(hlak.code, hlak.message);
  return {
    ok: true,
    authorization,
    hlak,
    authenticatorResponse: `S=${text.slice(2, 42).toUpperCase()}`,
  };
}

/**
 * The SSTP HLAK from the MS-MPPE-Recv-Key and MS-MPPE-Send-Key of an
 * Access-Accept (RFC 2548 2.4.2, 2.4.3, decrypted with the request's
 * authenticator): the NAS's receive key then its send key, 16 bytes each
 * (the server's HLAK, MS-SSTP 3.2.5.2.2, 3.2.5.2.4; for EAP-MSCHAPv2 the first 32
 * bytes of the MSK, the same keys). An error when either is missing or
 * short: without them the crypto binding cannot be verified.
 *
 * @param what The login kind for messages ("an MS-CHAPv2", "an EAP").
 */
export function mppeHlak(
  a: AttributeList,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
  what: string,
): Uint8Array | ProtocolError {
  const send = a.vendor(VENDOR.MICROSOFT, MS_ATTR.MPPE_SEND_KEY);
  const recv = a.vendor(VENDOR.MICROSOFT, MS_ATTR.MPPE_RECV_KEY);
  if (send === undefined || recv === undefined) {
    return new ProtocolError(
      "radius",
      ERROR_CODE.BAD_ATTRIBUTE,
      `RADIUS accepted ${what} login without MS-MPPE-Send-Key and MS-MPPE-Recv-Key: ` +
        "the SSTP crypto binding cannot be verified",
    );
  }
  let sendKey: Uint8Array;
  let recvKey: Uint8Array;
  try {
    sendKey = decryptMppeKey(send, secret, requestAuthenticator);
    recvKey = decryptMppeKey(recv, secret, requestAuthenticator);
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  if (sendKey.length < 16 || recvKey.length < 16) {
    return new ProtocolError(
      "radius",
      ERROR_CODE.BAD_VALUE,
      `RADIUS sent MPPE keys of ${sendKey.length} and ${recvKey.length} bytes; the HLAK needs 16 each`,
    );
  }
  return concatBytes(recvKey.subarray(0, 16), sendKey.subarray(0, 16));
}

/**
 * The authorization attributes of an Access-Accept.
 *
 * @throws {ProtocolError} When a known attribute is malformed.
 */
export function readAuthorization(a: AttributeList, replyMessages: string[]): RadiusAuthorization {
  const seconds = (type: number) => {
    const v = a.integer(type);
    return v === undefined ? undefined : v * 1000;
  };
  const out: RadiusAuthorization = {
    framedRoutes: a.all(ATTR.FRAMED_ROUTE).map((v) => decoder.decode(v)),
    classes: a.all(ATTR.CLASS),
    dns: [],
    replyMessages,
  };
  const ip = a.ipv4(ATTR.FRAMED_IP_ADDRESS);
  // 255.255.255.254 "let the NAS pick" and 255.255.255.255 "let the user pick" (RFC 2865 5.8):
  // both mean no fixed address here.
  if (ip !== undefined && ip !== "255.255.255.254" && ip !== "255.255.255.255") {
    out.framedIpAddress = ip;
  }
  const mask = a.ipv4(ATTR.FRAMED_IP_NETMASK);
  if (mask !== undefined) out.framedIpNetmask = mask;
  const pool = a.text(ATTR.FRAMED_POOL);
  if (pool !== undefined) out.framedPool = pool;
  const mtu = a.integer(ATTR.FRAMED_MTU);
  if (mtu !== undefined) out.framedMtu = mtu;
  // Read as sent: a malformed IPv6 value is logged and skipped by the session, not a refusal.
  const prefixes6 = a.all(ATTR.FRAMED_IPV6_PREFIX);
  if (prefixes6.length > 0) out.framedIpv6Prefixes = prefixes6;
  const routes6 = a.all(ATTR.FRAMED_IPV6_ROUTE).map((v) => decoder.decode(v));
  if (routes6.length > 0) out.framedIpv6Routes = routes6;
  const pool6 = a.text(ATTR.FRAMED_IPV6_POOL);
  if (pool6 !== undefined) out.framedIpv6Pool = pool6;
  const st = seconds(ATTR.SESSION_TIMEOUT);
  if (st !== undefined) out.sessionTimeoutMs = st;
  const it = seconds(ATTR.IDLE_TIMEOUT);
  if (it !== undefined) out.idleTimeoutMs = it;
  const ii = seconds(ATTR.ACCT_INTERIM_INTERVAL);
  if (ii !== undefined) out.acctInterimIntervalMs = ii;
  for (const t of [MS_ATTR.PRIMARY_DNS_SERVER, MS_ATTR.SECONDARY_DNS_SERVER]) {
    const v = a.vendor(VENDOR.MICROSOFT, t);
    if (v !== undefined) out.dns.push(readIpv4(v, "MS DNS server"));
  }
  const rate = a.vendor(VENDOR.MIKROTIK, MIKROTIK_ATTR.RATE_LIMIT);
  if (rate !== undefined) out.rateLimit = decoder.decode(rate);
  return out;
}
