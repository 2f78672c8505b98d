import assert from "node:assert/strict";
import { TEST_IPV6_LINK } from "../../test/helpers/ipv6_link.ts";
import { fromHex, toHex } from "../bytes/hex.ts";
import { NOOP_LOGGER } from "../log.ts";
import { parseIpv6 } from "../ipv6/address.ts";
import { Ipv6PrefixPool } from "../ipv6/prefix_pool.ts";
import {
  decodeIpv6Packet,
  decodeUdp,
  encodeIpv6Packet,
  encodeUdp,
  NEXT_HEADER,
} from "../ipv6/ipv6_packet.ts";
import { buildRouterSolicitationPacket } from "../ipv6/ndp.ts";
import { DHCPV6_MESSAGE, DHCPV6_OPTION, encodeDhcpv6Message, encodeIaPd } from "../ipv6/dhcpv6.ts";
import type { PppProfile } from "../config/server_config.ts";
import { startServerIpv6 } from "./_ipv6_link.ts";
import { FakeClock } from "../clock.ts";
import { NetConfig } from "../net/net_config.ts";

const FIXTURES = new URL("../../test/fixtures/", import.meta.url);
const fixture = (name: string) => fromHex(Deno.readTextFileSync(new URL(name, FIXTURES)));
const SERVER_DUID = fromHex("00 04 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
const CLIENT_DUID = fromHex("00 03 00 01 02 00 00 00 00 01");
const CLIENT_LL = parseIpv6("fe80::a:b:c:d")!;

const PROFILE: PppProfile = {
  name: "default",
  localAddress: undefined,
  remoteAddress: undefined,
  dnsServer: [],
  dnsServer6: ["2001:2::53"],
  remoteIpv6PrefixPool: "v6",
  dhcpv6PdPool: "pd",
  onlyOne: false,
  sessionTimeoutMs: null,
  idleTimeoutMs: null,
  changeTcpMss: true,
  useEncryption: undefined,
  rateLimitText: undefined,
  rateLimit: undefined,
  addressList: undefined,
  onUp: undefined,
  onDown: undefined,
};

function solicit(): Uint8Array {
  const message = encodeDhcpv6Message({
    type: DHCPV6_MESSAGE.SOLICIT,
    transactionId: 0xabcdef,
    options: [
      { code: DHCPV6_OPTION.CLIENTID, data: CLIENT_DUID },
      encodeIaPd({ iaid: 1, t1S: 0, t2S: 0, prefixes: [] }),
      { code: DHCPV6_OPTION.RAPID_COMMIT, data: new Uint8Array() },
    ],
  });
  return encodeIpv6Packet({
    source: CLIENT_LL,
    destination: parseIpv6("ff02::1:2")!,
    nextHeader: NEXT_HEADER.UDP,
    hopLimit: 1,
    payload: encodeUdp({ sourcePort: 546, destinationPort: 547, payload: message }),
  });
}

Deno.test("startServerIpv6() routes the session's /64, sends the golden RA, answers RS and DHCPv6-PD, and releases both prefixes", async () => {
  const pools = new Map([
    ["v6", new Ipv6PrefixPool("v6", "2001:2:0:101::/64", 64)],
    ["pd", new Ipv6PrefixPool("pd", "2001:2:0:8000::/52", 60)],
  ]);
  const commands: string[] = [];
  const sent: Uint8Array[] = [];
  const delegated: (string | undefined)[] = [];
  const clock = new FakeClock(10_000);
  const service = await startServerIpv6({
    ip6: TEST_IPV6_LINK,
    tunName: "sstp-alice",
    mtu: 1400,
    profile: PROFILE,
    pools,
    send: (p) => sent.push(...p),
    log: NOOP_LOGGER,
    net: new NetConfig({
      run: (args) => {
        commands.push(args.join(" "));
        return Promise.resolve({ code: 0, stdout: "", stderr: "" });
      },
    }),
    serverDuid: SERVER_DUID,
    onDelegated: (p) => delegated.push(p),
    clock,
    timers: clock,
    random: () => 0.5,
  });
  try {
    assert.deepEqual(commands, [
      "-6 addr add fe80::1/64 dev sstp-alice nodad",
      "route add 2001:2:0:101::/64 dev sstp-alice",
    ]);
    // The first unsolicited RA is the golden one, byte for byte.
    assert.equal(sent.length, 1);
    const golden = toHex(fixture("ipv6_router_advertisement.hex"));
    assert.equal(toHex(sent[0]!), golden);
    // A Router Solicitation gets the RA, unicast to the solicitor after a
    // random delay of at most 500 ms (250 ms with random 0.5).
    assert.equal(service.intercept(buildRouterSolicitationPacket(CLIENT_LL)), true);
    assert.equal(sent.length, 1);
    clock.advance(249);
    assert.equal(sent.length, 1);
    clock.advance(1);
    assert.equal(sent.length, 2);
    const answer = decodeIpv6Packet(sent[1]!);
    assert.deepEqual(answer.destination, CLIENT_LL);
    assert.deepEqual(answer.source, parseIpv6("fe80::1"));
    assert.equal(answer.hopLimit, 255);
    assert.equal(
      toHex(answer.payload.subarray(4)),
      toHex(fixture("ipv6_router_advertisement.hex").subarray(44)),
    );
    // Other IPv6 goes to the TUN device.
    const echo = encodeIpv6Packet({
      source: CLIENT_LL,
      destination: parseIpv6("fe80::1")!,
      nextHeader: NEXT_HEADER.ICMPV6,
      hopLimit: 64,
      payload: new Uint8Array([128, 0, 0, 0, 0, 1, 0, 1]),
    });
    assert.equal(service.intercept(echo), false);
    // DHCPv6-PD: a rapid-commit Solicit gets the golden Reply from fe80::1:547 to the client's port.
    assert.equal(service.intercept(solicit()), true);
    const reply = decodeIpv6Packet(sent[2]!);
    assert.deepEqual(reply.source, parseIpv6("fe80::1"));
    assert.deepEqual(reply.destination, CLIENT_LL);
    const udp = decodeUdp(reply.payload);
    assert.equal(udp.sourcePort, 547);
    assert.equal(udp.destinationPort, 546);
    assert.equal(toHex(udp.payload), toHex(fixture("dhcpv6_reply_ia_pd.hex")));
    for (let i = 0; i < 50 && delegated.length === 0; i++) await Promise.resolve();
    assert.deepEqual(delegated, ["2001:2:0:8000::/60"]);
    assert.equal(commands[2], "route add 2001:2:0:8000::/60 dev sstp-alice");
    assert.equal(pools.get("v6")!.used, 1);
    assert.equal(pools.get("pd")!.used, 1);
  } finally {
    service.close();
  }
  for (let i = 0; i < 50 && delegated.length < 2; i++) await Promise.resolve();
  assert.equal(pools.get("v6")!.used, 0, "the /64 went back");
  assert.equal(pools.get("pd")!.used, 0, "the delegated prefix went back");
  assert.deepEqual(delegated, ["2001:2:0:8000::/60", undefined]);
});

Deno.test("startServerIpv6() sends its unsolicited RAs on the injected clock: 3 initial ones 4 s apart, then every 200-600 s, none after close", async () => {
  const pools = new Map([["v6", new Ipv6PrefixPool("v6", "2001:2:0:101::/64", 64)]]);
  const clock = new FakeClock();
  const sent: number[] = [];
  const service = await startServerIpv6({
    ip6: TEST_IPV6_LINK,
    tunName: "sstp-bob",
    mtu: 1400,
    profile: PROFILE,
    pools,
    send: (p) => sent.push(...p.map(() => clock.now())),
    log: NOOP_LOGGER,
    net: new NetConfig({ run: () => Promise.resolve({ code: 0, stdout: "", stderr: "" }) }),
    clock,
    timers: clock,
    random: () => 0.25,
  });
  try {
    clock.advance(1_000_000);
    // 0, 4 s, 8 s; then 8 s + 200 s + 0.25 × 400 s = 308 s, and so on.
    assert.deepEqual(sent, [0, 4_000, 8_000, 308_000, 608_000, 908_000]);
    assert.equal(clock.pendingTimers, 1);
  } finally {
    service.close();
  }
  assert.equal(clock.pendingTimers, 0);
  clock.advance(10_000_000);
  assert.equal(sent.length, 6);
  assert.equal(pools.get("v6")!.used, 0);
});
