/**
 * Accounting-Request contents (RFC 2866 5): what `sstp` reports for a
 * session at Start, Interim-Update and Stop, and for the whole NAS at
 * Accounting-On/Off. Pure.
 *
 * Counters are 64-bit in the server; RADIUS carries 32-bit octet counts plus
 * the number of 2^32 wraps in Acct-Input/Output-Gigawords (RFC 2869 5.1).
 * Input is what the NAS received from the user (the client's uploads).
 *
 * @module
 */
import type { RadiusAttribute } from "./radius_packet.ts";
import {
  ACCT_STATUS,
  ATTR,
  integerAttr,
  ipv4Attr,
  NAS_PORT_TYPE_VIRTUAL,
  textAttr,
} from "./radius_attributes.ts";
import { type CallIdentity, nasAttributes, type NasIdentity } from "./radius_auth.ts";
import { encodeIpv6PrefixValue } from "./radius_ipv6.ts";

/** The session facts accounting reports. */
export interface AccountedSession {
  /** User-Name as authenticated. */
  user: string;
  /** Calling/Called-Station-Id, Acct-Session-Id and NAS-Port of the call. */
  call: CallIdentity;
  /** The client's tunnel address (Framed-IP-Address), once assigned. */
  framedIpAddress?: string;
  /** Class values from the Access-Accept, echoed unchanged (RFC 2865 5.25). */
  classes: Uint8Array[];
  /**
   * The session's IPv6 prefixes at the time of each record, once IPV6CP is
   * up: the advertised /64 (Framed-IPv6-Prefix, RFC 3162 2.3) and the
   * DHCPv6-PD prefix (Delegated-IPv6-Prefix, RFC 4818).
   */
  ipv6?: () => { prefix?: string; delegatedPrefix?: string } | undefined;
}

/** Traffic counters from the NAS's point of view. */
export interface AccountingCounters {
  /** Bytes received from the client. */
  rxBytes: number;
  /** Bytes sent to the client. */
  txBytes: number;
  /** Packets received from the client. */
  rxPackets: number;
  /** Packets sent to the client. */
  txPackets: number;
}

/** One accounting event of a session. */
export interface AccountingEvent {
  /** Acct-Status-Type: Start, Interim-Update or Stop (RFC 2866 5.1). */
  status: typeof ACCT_STATUS.START | typeof ACCT_STATUS.INTERIM_UPDATE | typeof ACCT_STATUS.STOP;
  /** Acct-Session-Time in seconds (RFC 2866 5.7); absent on Start. */
  sessionTimeS?: number;
  /** Octet and packet counters; absent on Start. */
  counters?: AccountingCounters;
  /** Stop only. */
  terminateCause?: number;
}

const TWO_32 = 2 ** 32;

/** The attributes of a session's Accounting-Request. */
export function accountingAttributes(
  nas: NasIdentity,
  session: AccountedSession,
  event: AccountingEvent,
): RadiusAttribute[] {
  const out: RadiusAttribute[] = [
    integerAttr(ATTR.ACCT_STATUS_TYPE, event.status),
    textAttr(ATTR.USER_NAME, session.user),
    ...nasAttributes(nas, session.call),
    integerAttr(ATTR.ACCT_AUTHENTIC, 1), // RADIUS
  ];
  if (session.framedIpAddress !== undefined) {
    out.push(ipv4Attr(ATTR.FRAMED_IP_ADDRESS, session.framedIpAddress));
  }
  const ipv6 = session.ipv6?.();
  if (ipv6?.prefix !== undefined) {
    out.push({ type: ATTR.FRAMED_IPV6_PREFIX, value: encodeIpv6PrefixValue(ipv6.prefix) });
  }
  if (ipv6?.delegatedPrefix !== undefined) {
    out.push({
      type: ATTR.DELEGATED_IPV6_PREFIX,
      value: encodeIpv6PrefixValue(ipv6.delegatedPrefix),
    });
  }
  for (const c of session.classes) out.push({ type: ATTR.CLASS, value: c });
  if (event.status !== ACCT_STATUS.START) {
    out.push(integerAttr(ATTR.ACCT_SESSION_TIME, Math.max(0, Math.floor(event.sessionTimeS ?? 0))));
    const c = event.counters ?? { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 };
    out.push(
      integerAttr(ATTR.ACCT_INPUT_OCTETS, c.rxBytes % TWO_32),
      integerAttr(ATTR.ACCT_OUTPUT_OCTETS, c.txBytes % TWO_32),
      integerAttr(ATTR.ACCT_INPUT_GIGAWORDS, Math.floor(c.rxBytes / TWO_32)),
      integerAttr(ATTR.ACCT_OUTPUT_GIGAWORDS, Math.floor(c.txBytes / TWO_32)),
      integerAttr(ATTR.ACCT_INPUT_PACKETS, c.rxPackets % TWO_32),
      integerAttr(ATTR.ACCT_OUTPUT_PACKETS, c.txPackets % TWO_32),
    );
  }
  if (event.status === ACCT_STATUS.STOP && event.terminateCause !== undefined) {
    out.push(integerAttr(ATTR.ACCT_TERMINATE_CAUSE, event.terminateCause));
  }
  return out;
}

/** Accounting-On (the NAS starts) or Accounting-Off (clean shutdown), RFC 2866 5.1. */
export function nasAccountingAttributes(
  nas: NasIdentity,
  status: typeof ACCT_STATUS.ACCOUNTING_ON | typeof ACCT_STATUS.ACCOUNTING_OFF,
  sessionId: string,
): RadiusAttribute[] {
  const out: RadiusAttribute[] = [integerAttr(ATTR.ACCT_STATUS_TYPE, status)];
  if (nas.nasIpAddress !== undefined) out.push(ipv4Attr(ATTR.NAS_IP_ADDRESS, nas.nasIpAddress));
  out.push(
    textAttr(ATTR.NAS_IDENTIFIER, nas.nasIdentifier),
    integerAttr(ATTR.NAS_PORT_TYPE, NAS_PORT_TYPE_VIRTUAL),
    textAttr(ATTR.ACCT_SESSION_ID, sessionId),
  );
  return out;
}
