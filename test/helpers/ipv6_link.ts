/**
 * Test support: the IPV6CP outcome the server's IPv6 link tests start from.
 *
 * @module
 */
import type { Ipv6LinkConfig } from "../../lib/tunnel/events.ts";

/** Server identifier ::1, client ::a:b:c:d (the link-locals built from them). */
export const TEST_IPV6_LINK: Ipv6LinkConfig = {
  localInterfaceId: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]),
  peerInterfaceId: new Uint8Array([0, 0, 0, 0xa, 0, 0xb, 0, 0xc]),
  localLinkLocal: "fe80::1",
  peerLinkLocal: "fe80::a:b:c:d",
};
