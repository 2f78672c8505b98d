import assert from "node:assert/strict";
import { formatIpv6Prefix } from "../ipv6/address.ts";
import { type AccountedSession, accountingAttributes } from "./radius_accounting.ts";
import { ACCT_STATUS, ATTR, AttributeList } from "./radius_attributes.ts";
import { decodeFramedIpv6Prefix } from "./radius_ipv6.ts";

const nas = { nasIdentifier: "sstp-test" };
const counters = { rxBytes: 1, txBytes: 2, rxPackets: 3, txPackets: 4 };

/** The Framed-IPv6-Prefix and Delegated-IPv6-Prefix of a record, decoded. */
function ipv6Of(session: AccountedSession, status: 1 | 2 | 3) {
  const list = new AttributeList(
    accountingAttributes(nas, session, {
      status,
      ...(status === ACCT_STATUS.START ? {} : { sessionTimeS: 5, counters }),
    }),
  );
  const read = (type: number) =>
    list.all(type).map((v) => formatIpv6Prefix(decodeFramedIpv6Prefix(v)));
  return {
    framed: read(ATTR.FRAMED_IPV6_PREFIX),
    delegated: read(ATTR.DELEGATED_IPV6_PREFIX),
  };
}

Deno.test("accountingAttributes() reports the session's IPv6 prefixes as they are at each record", () => {
  let ipv6: { prefix?: string; delegatedPrefix?: string } | undefined;
  const session: AccountedSession = {
    user: "real",
    call: { callingStationId: "198.18.0.2", acctSessionId: "s-1" },
    framedIpAddress: "198.19.0.2",
    classes: [],
    ipv6: () => ipv6,
  };
  // Start: IPV6CP is not up yet.
  assert.deepEqual(ipv6Of(session, ACCT_STATUS.START), { framed: [], delegated: [] });
  ipv6 = { prefix: "2001:2:0:1a5::/64" };
  assert.deepEqual(ipv6Of(session, ACCT_STATUS.INTERIM_UPDATE), {
    framed: ["2001:2:0:1a5::/64"],
    delegated: [],
  });
  ipv6 = { prefix: "2001:2:0:1a5::/64", delegatedPrefix: "2001:2:0:1b00::/56" };
  assert.deepEqual(ipv6Of(session, ACCT_STATUS.STOP), {
    framed: ["2001:2:0:1a5::/64"],
    delegated: ["2001:2:0:1b00::/56"],
  });
  // A session without IPv6 sends neither.
  const { ipv6: _, ...v4only } = session;
  assert.deepEqual(ipv6Of(v4only, ACCT_STATUS.STOP), { framed: [], delegated: [] });
});
