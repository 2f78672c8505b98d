import assert from "node:assert/strict";
import {
  decodeNetlinkAck,
  decodeNetlinkAcks,
  encodeDeleteAddress6,
  encodeDeleteRoute,
  encodeDeleteRoute6,
  encodeNewAddress,
  encodeNewAddress6,
  encodeNewRoute,
  encodeNewRoute6,
  encodeSetLink,
  parseIpv4,
  parseIpv6Text,
} from "./netlink_message.ts";

/** Hex with spaces and `#` comments, one field per line. */
function fromHex(text: string): Uint8Array {
  const clean = text.replace(/#.*$/gm, "").replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

Deno.test("encodeNewAddress() builds RTM_NEWADDR with IFA_LOCAL and IFA_ADDRESS (peer)", () => {
  const msg = encodeNewAddress(5, {
    index: 7,
    local: "198.18.5.1",
    peer: "198.18.5.2",
    prefixLen: 32,
  });
  assert.deepEqual(
    msg,
    fromHex(`
      28 00 00 00   # nlmsg_len = 40
      14 00         # nlmsg_type = RTM_NEWADDR (20)
      05 06         # flags = REQUEST|ACK|EXCL|CREATE = 0x0605
      05 00 00 00   # seq = 5
      00 00 00 00   # pid = 0
      02            # ifa_family = AF_INET
      20            # ifa_prefixlen = 32
      00            # ifa_flags
      00            # ifa_scope = RT_SCOPE_UNIVERSE
      07 00 00 00   # ifa_index = 7
      08 00 02 00   # rta_len = 8, IFA_LOCAL
      c6 12 05 01   # 198.18.5.1
      08 00 01 00   # rta_len = 8, IFA_ADDRESS
      c6 12 05 02   # 198.18.5.2
    `),
  );
});

Deno.test("encodeSetLink() sets IFF_UP in flags and change, and IFLA_MTU", () => {
  assert.deepEqual(
    encodeSetLink(1, { index: 3, up: true, mtu: 1400 }),
    fromHex(`
      28 00 00 00  10 00  05 00  01 00 00 00  00 00 00 00   # len 40, RTM_NEWLINK, REQUEST|ACK, seq 1
      00 00 00 00   # ifi_family AF_UNSPEC, pad, ifi_type
      03 00 00 00   # ifi_index = 3
      01 00 00 00   # ifi_flags = IFF_UP
      01 00 00 00   # ifi_change = IFF_UP
      08 00 04 00  78 05 00 00   # IFLA_MTU = 1400
    `),
  );
  // Down: flag cleared, change mask still IFF_UP; no MTU attribute.
  const down = encodeSetLink(2, { index: 3, up: false });
  assert.equal(down.length, 32);
  assert.deepEqual(down.subarray(24, 32), fromHex("00 00 00 00  01 00 00 00"));
  // Neither: change mask 0.
  assert.deepEqual(encodeSetLink(2, { index: 3 }).subarray(24, 32), new Uint8Array(8));
});

Deno.test("encodeNewRoute() builds a link-scope route, or universe scope via a gateway", () => {
  assert.deepEqual(
    encodeNewRoute(9, { dst: "198.19.0.0", prefixLen: 16, index: 4, metric: 10 }),
    fromHex(`
      34 00 00 00  18 00  05 06  09 00 00 00  00 00 00 00   # len 52, RTM_NEWROUTE, seq 9
      02 10 00 00   # AF_INET, dst_len 16, src_len 0, tos 0
      fe 04 fd 01   # table MAIN (254), proto STATIC (4), scope LINK (253), type UNICAST
      00 00 00 00   # rtm_flags
      08 00 01 00  c6 13 00 00   # RTA_DST 198.19.0.0
      08 00 04 00  04 00 00 00   # RTA_OIF 4
      08 00 06 00  0a 00 00 00   # RTA_PRIORITY 10
    `),
  );
  const via = encodeNewRoute(1, { dst: "0.0.0.0", prefixLen: 0, index: 4, gateway: "198.18.5.2" });
  assert.equal(via[16 + 6], 0); // RT_SCOPE_UNIVERSE
  assert.deepEqual(via.subarray(44, 52), fromHex("08 00 05 00  c6 12 05 02"));
  assert.throws(() => encodeNewRoute(1, { dst: "1.2.3.4", prefixLen: 33, index: 1 }), RangeError);
});

Deno.test("encodeDeleteRoute() builds RTM_DELROUTE that matches any protocol, scope and type", () => {
  assert.deepEqual(
    encodeDeleteRoute(3, { dst: "128.0.0.0", prefixLen: 1, index: 4, metric: 7 }),
    fromHex(`
      34 00 00 00  19 00  05 00  03 00 00 00  00 00 00 00   # len 52, RTM_DELROUTE, REQUEST|ACK, seq 3
      02 01 00 00   # AF_INET, dst_len 1, src_len 0, tos 0
      fe 00 ff 00   # table MAIN, proto UNSPEC, scope NOWHERE (255), type UNSPEC
      00 00 00 00   # rtm_flags
      08 00 01 00  80 00 00 00   # RTA_DST 128.0.0.0
      08 00 04 00  04 00 00 00   # RTA_OIF 4
      08 00 06 00  07 00 00 00   # RTA_PRIORITY 7
    `),
  );
  const via = encodeDeleteRoute(1, {
    dst: "198.19.7.7",
    prefixLen: 32,
    index: 3,
    gateway: "198.18.0.1",
  });
  assert.deepEqual(via.subarray(44, 52), fromHex("08 00 05 00  c6 12 00 01"));
  assert.throws(
    () => encodeDeleteRoute(1, { dst: "1.2.3.4", prefixLen: 33, index: 1 }),
    RangeError,
  );
});

Deno.test("parseIpv4() rejects what is not a dotted quad", () => {
  assert.deepEqual(parseIpv4("198.18.0.255"), Uint8Array.from([198, 18, 0, 255]));
  for (const bad of ["1.2.3", "1.2.3.256", "1.2.3.4.5", "a.b.c.d", "", "1..2.3", " 1.2.3.4"]) {
    assert.throws(() => parseIpv4(bad), RangeError, bad);
  }
});

Deno.test("decodeNetlinkAcks() reads ACKs and errors, skips other messages and truncation", () => {
  const datagram = fromHex(`
    14 00 00 00  03 00  02 00  01 00 00 00  00 00 00 00  00 00 00 00   # NLMSG_DONE, seq 1
    24 00 00 00  02 00  00 01  02 00 00 00  00 00 00 00                # NLMSG_ERROR seq 2
    00 00 00 00                                                        #   error 0 = ACK
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00                    #   echoed header
    24 00 00 00  02 00  00 01  03 00 00 00  00 00 00 00                # NLMSG_ERROR seq 3
    ef ff ff ff                                                        #   error -17 = -EEXIST
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    40 00 00 00  02 00                                                 # truncated
  `);
  assert.deepEqual(decodeNetlinkAcks(datagram), [{ seq: 2, errno: 0 }, { seq: 3, errno: 17 }]);
  assert.deepEqual(decodeNetlinkAck(datagram, 3), { seq: 3, errno: 17 });
  assert.equal(decodeNetlinkAck(datagram, 1), undefined);
  assert.deepEqual(decodeNetlinkAcks(new Uint8Array(3)), []);
});

Deno.test("encodeNewAddress6() builds RTM_NEWADDR for AF_INET6 with IFA_FLAGS nodad and IFA_CACHEINFO lifetimes", () => {
  assert.deepEqual(
    encodeNewAddress6(7, {
      index: 5,
      address: "2001:2:0:100::a:b0c",
      prefixLen: 64,
      nodad: true,
      replace: true,
      validLifetimeS: 86_400,
      preferredLifetimeS: 14_400,
    }),
    fromHex(`
      48 00 00 00   # nlmsg_len = 72
      14 00         # RTM_NEWADDR
      05 05         # REQUEST|ACK|REPLACE|CREATE = 0x0505
      07 00 00 00  00 00 00 00   # seq 7, pid 0
      0a 40 02 00   # AF_INET6, prefixlen 64, ifa_flags IFA_F_NODAD, scope UNIVERSE
      05 00 00 00   # ifa_index 5
      14 00 02 00   # rta_len 20, IFA_LOCAL
      20 01 00 02 00 00 01 00  00 00 00 00 00 0a 0b 0c
      08 00 08 00  02 00 00 00   # IFA_FLAGS = IFA_F_NODAD
      14 00 06 00   # rta_len 20, IFA_CACHEINFO
      40 38 00 00   # ifa_prefered 14400
      80 51 01 00   # ifa_valid 86400
      00 00 00 00  00 00 00 00   # cstamp, tstamp
    `),
  );
  // A link-local without lifetimes: create-exclusive, link scope, no IFA_CACHEINFO.
  assert.deepEqual(
    encodeNewAddress6(1, { index: 3, address: "fe80::1", prefixLen: 64, nodad: true }),
    fromHex(`
      34 00 00 00  14 00  05 06  01 00 00 00  00 00 00 00   # len 52, REQUEST|ACK|EXCL|CREATE
      0a 40 02 fd  03 00 00 00   # AF_INET6, /64, NODAD, scope LINK (253), ifindex 3
      14 00 02 00  fe 80 00 00 00 00 00 00  00 00 00 00 00 00 00 01
      08 00 08 00  02 00 00 00
    `),
  );
  // The preferred lifetime never exceeds the valid one.
  const capped = encodeNewAddress6(1, {
    index: 1,
    address: "2001:2::1",
    prefixLen: 64,
    validLifetimeS: 10,
  });
  assert.deepEqual(capped.subarray(-16, -8), fromHex("0a 00 00 00  0a 00 00 00"));
  assert.throws(
    () => encodeNewAddress6(1, { index: 1, address: "2001:2::1", prefixLen: 129 }),
    RangeError,
  );
  assert.throws(
    () => encodeNewAddress6(1, { index: 1, address: "198.18.0.1", prefixLen: 64 }),
    /not an IPv6 address/,
  );
});

Deno.test("encodeDeleteAddress6() builds RTM_DELADDR with IFA_LOCAL", () => {
  assert.deepEqual(
    encodeDeleteAddress6(2, { index: 9, address: "2001:2:0:8000::1", prefixLen: 64 }),
    fromHex(`
      2c 00 00 00  15 00  05 00  02 00 00 00  00 00 00 00   # len 44, RTM_DELADDR, REQUEST|ACK
      0a 40 00 00  09 00 00 00
      14 00 02 00  20 01 00 02 00 00 80 00  00 00 00 00 00 00 00 01
    `),
  );
});

Deno.test("encodeNewRoute6() builds device routes and deviceless unreachable routes", () => {
  assert.deepEqual(
    encodeNewRoute6(9, { dst: "2001:2:0:100::", prefixLen: 64, index: 4 }),
    fromHex(`
      38 00 00 00  18 00  05 06  09 00 00 00  00 00 00 00   # len 56, RTM_NEWROUTE, seq 9
      0a 40 00 00   # AF_INET6, dst_len 64
      fe 04 fd 01   # table MAIN, proto STATIC, scope LINK, type UNICAST
      00 00 00 00
      14 00 01 00  20 01 00 02 00 00 01 00  00 00 00 00 00 00 00 00   # RTA_DST
      08 00 04 00  04 00 00 00   # RTA_OIF 4
    `),
  );
  assert.deepEqual(
    encodeNewRoute6(2, { dst: "2001:2:0:8000::", prefixLen: 60, type: "unreachable" }),
    fromHex(`
      30 00 00 00  18 00  05 06  02 00 00 00  00 00 00 00   # len 48
      0a 3c 00 00   # AF_INET6, dst_len 60
      fe 04 00 07   # table MAIN, proto STATIC, scope UNIVERSE, type UNREACHABLE (7)
      00 00 00 00
      14 00 01 00  20 01 00 02 00 00 80 00  00 00 00 00 00 00 00 00
    `),
  );
  const split = encodeNewRoute6(3, { dst: "8000::", prefixLen: 1, index: 6, metric: 5 });
  assert.deepEqual(split.subarray(-8), fromHex("08 00 06 00  05 00 00 00"));
  assert.throws(() => encodeNewRoute6(1, { dst: "::", prefixLen: 1 }), /needs a device/);
  assert.throws(
    () => encodeNewRoute6(1, { dst: "::", prefixLen: 1, index: 2, type: "blackhole" }),
    /no device/,
  );
});

Deno.test("encodeDeleteRoute6() matches any protocol and scope, keeps a reject type", () => {
  assert.deepEqual(
    encodeDeleteRoute6(4, { dst: "::", prefixLen: 1, index: 6, metric: 5 }),
    fromHex(`
      40 00 00 00  19 00  05 00  04 00 00 00  00 00 00 00   # len 64, RTM_DELROUTE, REQUEST|ACK
      0a 01 00 00   # AF_INET6, dst_len 1
      fe 00 ff 00   # table MAIN, proto UNSPEC, scope NOWHERE, type UNSPEC
      00 00 00 00
      14 00 01 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
      08 00 04 00  06 00 00 00
      08 00 06 00  05 00 00 00
    `),
  );
  const unreachable = encodeDeleteRoute6(5, {
    dst: "2001:2:0:8000::",
    prefixLen: 60,
    type: "unreachable",
  });
  assert.deepEqual(unreachable.subarray(16, 28), fromHex("0a 3c 00 00  fe 00 ff 07  00 00 00 00"));
});

Deno.test("parseIpv6Text() reads hex groups with one :: and rejects the rest", () => {
  assert.deepEqual(parseIpv6Text("::"), new Uint8Array(16));
  assert.deepEqual(parseIpv6Text("fe80::1").subarray(0, 2), Uint8Array.from([0xfe, 0x80]));
  assert.equal(parseIpv6Text("fe80::1")[15], 1);
  assert.deepEqual(
    parseIpv6Text("2001:2:0:100:0:a:b:c"),
    Uint8Array.from([0x20, 1, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0xa, 0, 0xb, 0, 0xc]),
  );
  assert.deepEqual(parseIpv6Text("8000::"), parseIpv6Text("8000:0:0:0:0:0:0:0"));
  for (
    const bad of [
      "",
      "1:2:3",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4::5:6:7:8",
      "g::1",
      "12345::",
      "198.18.0.1",
    ]
  ) {
    assert.throws(() => parseIpv6Text(bad), RangeError, bad);
  }
});
