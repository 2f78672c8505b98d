/**
 * PPP numbers: protocol field values, control-protocol codes, option types and
 * the RFC 1661 defaults, each with the section that defines it, plus reverse
 * name maps for trace lines.
 *
 * @module
 */

/** PPP Protocol field values (RFC 1661 2; IANA "PPP DLL Protocol Numbers"). */
export const PROTOCOL = {
  /** RFC 1661 2: Internet Protocol version 4 datagrams (RFC 1332 2) */
  IPV4: 0x0021,
  /** RFC 5072 2: Internet Protocol version 6 datagrams */
  IPV6: 0x0057,
  /** RFC 1332 2: IP Control Protocol */
  IPCP: 0x8021,
  /** RFC 5072 3: IPv6 Control Protocol */
  IPV6CP: 0x8057,
  /** RFC 3518 4: Bridged PDUs (Ethernet frames) */
  BRIDGED: 0x0031,
  /** RFC 3518 5: Bridging Control Protocol */
  BCP: 0x8031,
  /** RFC 1990 3: Multilink Protocol fragments */
  MP: 0x003d,
  /** RFC 1962 2: Compression Control Protocol (we Protocol-Reject it) */
  CCP: 0x80fd,
  /** RFC 1661 2: Link Control Protocol */
  LCP: 0xc021,
  /** RFC 1334 2.2: Password Authentication Protocol */
  PAP: 0xc023,
  /** RFC 1994 3: Challenge Handshake Authentication Protocol */
  CHAP: 0xc223,
  /** RFC 3748 3: Extensible Authentication Protocol (refused) */
  EAP: 0xc227,
} as const;

/** Short names of {@linkcode PROTOCOL} values, for trace lines. */
export const PROTOCOL_NAME: Readonly<Record<number, string>> = {
  [PROTOCOL.IPV4]: "IP",
  [PROTOCOL.IPV6]: "IPV6",
  [PROTOCOL.IPCP]: "IPCP",
  [PROTOCOL.IPV6CP]: "IPV6CP",
  [PROTOCOL.BRIDGED]: "BRIDGED",
  [PROTOCOL.BCP]: "BCP",
  [PROTOCOL.MP]: "MP",
  [PROTOCOL.CCP]: "CCP",
  [PROTOCOL.LCP]: "LCP",
  [PROTOCOL.PAP]: "PAP",
  [PROTOCOL.CHAP]: "CHAP",
  [PROTOCOL.EAP]: "EAP",
};

/** Control-protocol packet codes (RFC 1661 5; codes 1-7 are shared by the NCPs). */
export const CP_CODE = {
  /** RFC 1661 5.1 */
  CONFIGURE_REQUEST: 1,
  /** RFC 1661 5.2 */
  CONFIGURE_ACK: 2,
  /** RFC 1661 5.3 */
  CONFIGURE_NAK: 3,
  /** RFC 1661 5.4 */
  CONFIGURE_REJECT: 4,
  /** RFC 1661 5.5 */
  TERMINATE_REQUEST: 5,
  /** RFC 1661 5.5 */
  TERMINATE_ACK: 6,
  /** RFC 1661 5.6 */
  CODE_REJECT: 7,
  /** RFC 1661 5.7 (LCP only) */
  PROTOCOL_REJECT: 8,
  /** RFC 1661 5.8 (LCP only) */
  ECHO_REQUEST: 9,
  /** RFC 1661 5.8 (LCP only) */
  ECHO_REPLY: 10,
  /** RFC 1661 5.9 (LCP only) */
  DISCARD_REQUEST: 11,
} as const;

/** One of the values of {@linkcode CP_CODE}. */
export type CpCode = typeof CP_CODE[keyof typeof CP_CODE];

/** pppd-style short names of {@linkcode CP_CODE} values, for trace lines. */
export const CP_CODE_NAME: Readonly<Record<number, string>> = {
  [CP_CODE.CONFIGURE_REQUEST]: "ConfReq",
  [CP_CODE.CONFIGURE_ACK]: "ConfAck",
  [CP_CODE.CONFIGURE_NAK]: "ConfNak",
  [CP_CODE.CONFIGURE_REJECT]: "ConfRej",
  [CP_CODE.TERMINATE_REQUEST]: "TermReq",
  [CP_CODE.TERMINATE_ACK]: "TermAck",
  [CP_CODE.CODE_REJECT]: "CodeRej",
  [CP_CODE.PROTOCOL_REJECT]: "ProtRej",
  [CP_CODE.ECHO_REQUEST]: "EchoReq",
  [CP_CODE.ECHO_REPLY]: "EchoRep",
  [CP_CODE.DISCARD_REQUEST]: "DiscReq",
};

/** LCP Configuration Option types (RFC 1661 6; IANA "PPP LCP Configuration Option Types"). */
export const LCP_OPTION = {
  /** RFC 1661 6.1 Maximum-Receive-Unit */
  MRU: 1,
  /** RFC 1662 7.1 Async-Control-Character-Map (meaningless over SSTP; rejected) */
  ACCM: 2,
  /** RFC 1661 6.2 Authentication-Protocol */
  AUTH_PROTOCOL: 3,
  /** RFC 1661 6.3 Quality-Protocol (rejected) */
  QUALITY_PROTOCOL: 4,
  /** RFC 1661 6.4 Magic-Number */
  MAGIC_NUMBER: 5,
  /** RFC 1661 6.5 Protocol-Field-Compression */
  PFC: 7,
  /** RFC 1661 6.6 Address-and-Control-Field-Compression */
  ACFC: 8,
  /** RFC 1570 2.3 Callback (rejected) */
  CALLBACK: 13,
  /** RFC 1990 5.1.1 Multilink MRRU (rejected: no multilink) */
  MRRU: 17,
  /** RFC 1990 5.1.3 Endpoint Discriminator (rejected: no multilink) */
  ENDPOINT_DISCRIMINATOR: 19,
} as const;

/** IPCP Configuration Option types (RFC 1332 3; RFC 1877 1). */
export const IPCP_OPTION = {
  /** RFC 1332 3.2 IP-Compression-Protocol (rejected: no Van Jacobson) */
  IP_COMPRESSION_PROTOCOL: 2,
  /** RFC 1332 3.3 IP-Address */
  IP_ADDRESS: 3,
  /** RFC 1877 1.1 Primary DNS Server Address */
  PRIMARY_DNS: 129,
  /** RFC 1877 1.2 Primary NBNS Server Address (rejected) */
  PRIMARY_NBNS: 130,
  /** RFC 1877 1.3 Secondary DNS Server Address */
  SECONDARY_DNS: 131,
  /** RFC 1877 1.4 Secondary NBNS Server Address (rejected) */
  SECONDARY_NBNS: 132,
} as const;

/** IPV6CP Configuration Option types (RFC 5072 4). */
export const IPV6CP_OPTION = {
  /** RFC 5072 4.1 Interface-Identifier */
  INTERFACE_IDENTIFIER: 1,
  /** RFC 5072 4.2 IPv6-Compression-Protocol (rejected) */
  IPV6_COMPRESSION_PROTOCOL: 2,
} as const;

/** RFC 1661 defaults and the SSTP frame bound. */
export const PPP_DEFAULTS = {
  /** RFC 1661 6.1: default Maximum-Receive-Unit */
  MRU: 1500,
  /** Smallest MRU we accept from a peer (a sanity bound; RFC 1661 sets none) */
  MIN_MRU: 128,
  /** MS-SSTP 2.2.3: a PPP frame in an SSTP data packet is at most 4095 - 4 bytes */
  MAX_MRU: 4091,
  /**
   * Largest control packet (LCP, IPCP, PAP, CHAP) we send: the SSTP payload
   * (4091) minus FF 03 and the 2-byte protocol. A peer MRU up to 4091 would
   * otherwise allow a reply 4 bytes too long for its SSTP packet.
   */
  MAX_CONTROL_PACKET: 4087,
  /** Bytes of our own Terminate-Request reason text that go on the wire. */
  MAX_TERMINATE_REASON: 128,
  /** RFC 1661 4.6: Restart timer */
  RESTART_TIMER_MS: 3000,
  /** RFC 1661 4.6: Max-Terminate */
  MAX_TERMINATE: 2,
  /** RFC 1661 4.6: Max-Configure */
  MAX_CONFIGURE: 10,
  /** RFC 1661 4.6: Max-Failure */
  MAX_FAILURE: 5,
} as const;
