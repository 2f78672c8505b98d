import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { FakeClock } from "../clock.ts";
import { NOOP_LOGGER } from "../log.ts";
import { type CommandResult, NetConfig } from "../net/net_config.ts";
import { formatIpv6, parseIpv6 } from "../ipv6/address.ts";
import { decodeIpv6Packet, decodeUdp, encodeIpv6Packet, encodeUdp } from "../ipv6/ipv6_packet.ts";
import { NEXT_HEADER } from "../ipv6/ipv6_packet.ts";
import { ICMPV6_TYPE } from "../ipv6/ndp.ts";
import { Ipv6RouterLink } from "../ipv6/router_link.ts";
import { decodeDhcpv6Message, DHCPV6_MESSAGE, encodeDhcpv6Message } from "../ipv6/dhcpv6.ts";
import { Dhcpv6PdResponder } from "../ipv6/dhcpv6_pd_server.ts";
import { Ipv6PrefixPool } from "../ipv6/prefix_pool.ts";
import { type ClientIpv6Info, startClientIpv6 } from "./client_ipv6.ts";

const SERVER_DUID = fromHex("00 04 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
const CLIENT_IID = new Uint8Array([0, 0, 0, 0, 0, 0xa, 0xb, 0xc]);
const IP6 = {
  localInterfaceId: CLIENT_IID,
  peerInterfaceId: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]),
  localLinkLocal: "fe80::a:b0c",
  peerLinkLocal: "fe80::1",
};

function setup(o: { pd?: boolean; ipv4Dns?: string[] } = {}) {
  const calls: string[] = [];
  const run = (args: string[]): Promise<CommandResult> => {
    calls.push(args.join(" "));
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  };
  const dir = Deno.makeTempDirSync({ prefix: "sstp-client-ipv6-test-" });
  const resolvConf = `${dir}/resolv.conf`;
  Deno.writeTextFileSync(resolvConf, "nameserver 198.18.9.9\n");
  const net = new NetConfig({ run, resolvConfPath: resolvConf });
  const clock = new FakeClock(1_000);
  const sent: Uint8Array[] = [];
  const infos: ClientIpv6Info[] = [];
  const ipv4Dns = o.ipv4Dns ?? ["198.19.0.53"];
  const start = () =>
    startClientIpv6({
      ip6: IP6,
      tunName: "sstp-t6",
      net,
      addDefaultRoute: true,
      distance: 5,
      usePeerDns: true,
      ipv4Dns: () => ipv4Dns,
      send: (p) => sent.push(...p),
      log: NOOP_LOGGER,
      onInfo: (i) => infos.push(i),
      clock,
      timers: clock,
      ...(o.pd ? { dhcpv6Pd: { duid: fromHex("00 04 aa bb"), downstreamInterface: "lan0" } } : {}),
    });
  return { calls, net, clock, sent, infos, resolvConf, dir, start };
}

/** The server's RA for 2001:2:0:100::/64 with RDNSS 2001:2::53, as the server sends it. */
function serverRa(): Uint8Array {
  return new Ipv6RouterLink({
    localInterfaceId: IP6.peerInterfaceId,
    prefix: { address: parseIpv6("2001:2:0:100::")!, length: 64 },
    mtu: 1400,
    dns: [parseIpv6("2001:2::53")!],
  }).advertisement();
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
}

const isRs = (p: Uint8Array) =>
  p[6] === NEXT_HEADER.ICMPV6 && p[40] === ICMPV6_TYPE.ROUTER_SOLICITATION;

Deno.test("startClientIpv6(): Router Solicitations on the injected clock, 4 s apart, three at most, none once an RA came", async () => {
  const t = setup();
  const service = await t.start();
  try {
    assert.deepEqual(t.calls, ["-6 addr add fe80::a:b0c/64 dev sstp-t6 nodad"]);
    assert.equal(t.sent.filter(isRs).length, 1);
    const rs = decodeIpv6Packet(t.sent[0]!);
    assert.equal(formatIpv6(rs.source), "fe80::a:b0c");
    assert.equal(formatIpv6(rs.destination), "ff02::2");
    assert.equal(rs.hopLimit, 255);
    t.clock.advance(3_999);
    assert.equal(t.sent.filter(isRs).length, 1);
    t.clock.advance(1);
    assert.equal(t.sent.filter(isRs).length, 2);
    t.clock.advance(4_000);
    assert.equal(t.sent.filter(isRs).length, 3);
    t.clock.advance(60_000);
    assert.equal(t.sent.filter(isRs).length, 3, "MAX_RTR_SOLICITATIONS");
    assert.equal(t.clock.pendingTimers, 0);
  } finally {
    await service.close();
    Deno.removeSync(t.dir, { recursive: true });
  }
  // An RA stops the solicitations.
  const u = setup();
  const s2 = await u.start();
  try {
    assert.equal(s2.intercept(serverRa()), true);
    u.clock.advance(60_000);
    assert.equal(u.sent.filter(isRs).length, 1);
  } finally {
    await s2.close();
    Deno.removeSync(u.dir, { recursive: true });
  }
});

Deno.test("startClientIpv6(): closing IPv6 alone (IPV6CP down) removes the split routes, the SLAAC address, the link-local and the IPv6 DNS", async () => {
  const t = setup();
  const service = await t.start();
  try {
    assert.equal(service.intercept(serverRa()), true);
    await settle();
    const address = "2001:2:0:100::a:b0c/64";
    assert.ok(
      t.calls.some((c) => c.startsWith(`-6 addr replace ${address} dev sstp-t6 nodad`)),
      t.calls.join("\n"),
    );
    assert.ok(t.calls.includes("route add ::/1 dev sstp-t6 metric 5"), t.calls.join("\n"));
    assert.ok(t.calls.includes("route add 8000::/1 dev sstp-t6 metric 5"));
    assert.match(
      Deno.readTextFileSync(t.resolvConf),
      /nameserver 198\.19\.0\.53\nnameserver 2001:2::53/,
    );
    assert.deepEqual(t.infos.at(-1)?.addresses, [address]);
    t.calls.length = 0;
    await service.close();
    assert.deepEqual(t.calls, [
      "route del ::/1 dev sstp-t6 metric 5",
      "route del 8000::/1 dev sstp-t6 metric 5",
      `-6 addr del ${address} dev sstp-t6`,
      "-6 addr del fe80::a:b0c/64 dev sstp-t6",
    ]);
    const dns = Deno.readTextFileSync(t.resolvConf);
    assert.match(dns, /nameserver 198\.19\.0\.53/);
    assert.doesNotMatch(dns, /2001:2::53/);
    // The NetConfig no longer holds the routes (the session's cleanup will
    // not try again); resolv.conf stays recorded for the session's end.
    assert.deepEqual(t.net.records.map((r) => r.kind), ["dns"]);
    // Late RAs after close are not taken (they go to the TUN device, which ignores them).
    assert.equal(service.intercept(serverRa()), false);
    assert.equal(t.clock.pendingTimers, 0);
  } finally {
    await t.net.cleanup();
    Deno.removeSync(t.dir, { recursive: true });
  }
});

Deno.test("startClientIpv6() with dhcpv6-pd: Solicit, Reply, unreachable route and ::1/64 on the LAN, Renew at T1 on the injected clock, all removed on close", async () => {
  const t = setup({ pd: true });
  const pool = new Ipv6PrefixPool("pd", "2001:2:0:8000::/52", 60);
  const responder = new Dhcpv6PdResponder({
    serverDuid: SERVER_DUID,
    allocate: () => pool.allocate(),
    release: (p) => pool.release(p),
  });
  /** Answers the client's last DHCPv6 message as sstp serve does. */
  const answerLast = (): number => {
    const packet = decodeIpv6Packet(t.sent.at(-1)!);
    const udp = decodeUdp(packet.payload);
    assert.equal(udp.destinationPort, 547);
    assert.equal(formatIpv6(packet.destination), "ff02::1:2");
    const message = decodeDhcpv6Message(udp.payload);
    const out = responder.respond(message);
    assert.ok(out.reply, out.discarded);
    service.intercept(encodeIpv6Packet({
      source: parseIpv6("fe80::1")!,
      destination: packet.source,
      nextHeader: NEXT_HEADER.UDP,
      hopLimit: 64,
      payload: encodeUdp({
        sourcePort: 547,
        destinationPort: 546,
        payload: encodeDhcpv6Message(out.reply),
      }),
    }));
    return message.type;
  };
  const service = await t.start();
  try {
    assert.equal(answerLast(), DHCPV6_MESSAGE.SOLICIT);
    await settle();
    assert.ok(t.calls.includes("route add unreachable 2001:2:0:8000::/60"), t.calls.join("\n"));
    assert.ok(t.calls.includes("-6 addr add 2001:2:0:8000::1/64 dev lan0"));
    assert.deepEqual(t.infos.at(-1)?.delegated, {
      prefix: "2001:2:0:8000::/60",
      downstream: "2001:2:0:8000::1/64 on lan0",
      validLifetimeS: 7200,
      t1S: 1800,
    });
    // Renew at T1 (1800 s after the Reply), answered: the prefix stays.
    const dhcp = () => t.sent.filter((p) => p[6] === NEXT_HEADER.UDP).length;
    const n = dhcp();
    t.clock.advance(1_799_999);
    assert.equal(dhcp(), n);
    t.clock.advance(1);
    assert.equal(dhcp(), n + 1);
    assert.equal(answerLast(), DHCPV6_MESSAGE.RENEW);
    await settle();
    assert.equal(t.calls.filter((c) => c.includes("unreachable")).length, 1);
    t.calls.length = 0;
    await service.close();
    assert.deepEqual(t.calls, [
      "-6 addr del 2001:2:0:8000::1/64 dev lan0",
      "route del unreachable 2001:2:0:8000::/60",
      "-6 addr del fe80::a:b0c/64 dev sstp-t6",
    ]);
    assert.equal(t.infos.at(-1)?.delegated?.prefix, "2001:2:0:8000::/60", "no report after close");
    assert.equal(t.clock.pendingTimers, 0);
    assert.deepEqual(t.net.records, []);
  } finally {
    await t.net.cleanup();
    Deno.removeSync(t.dir, { recursive: true });
  }
});
