import assert from "node:assert/strict";
import { TEST_IPV6_LINK } from "../../test/helpers/ipv6_link.ts";
import { NOOP_LOGGER } from "../log.ts";
import { formatIpv6Prefix } from "../ipv6/address.ts";
import { Ipv6PrefixPool } from "../ipv6/prefix_pool.ts";
import { decodeIpv6Packet } from "../ipv6/ipv6_packet.ts";
import { decodeRouterAdvertisement } from "../ipv6/ndp.ts";
import type { PppProfile } from "../config/server_config.ts";
import { type ServerIpv6Options, startServerIpv6 } from "./_ipv6_link.ts";
import { FakeClock } from "../clock.ts";
import { NetConfig } from "../net/net_config.ts";

const PROFILE = {
  name: "default",
  remoteIpv6PrefixPool: "v6",
  dnsServer6: [],
} as unknown as PppProfile;
const ROUTES = [
  { dst: "2001:2:6::/48", gateway: undefined, distance: 5 },
  { dst: "2001:2:7::1/128", gateway: undefined, distance: 1 },
];

function options(o: Partial<ServerIpv6Options>, sent: Uint8Array[]): ServerIpv6Options {
  const clock = new FakeClock();
  return {
    ip6: TEST_IPV6_LINK,
    tunName: "sstp-carol",
    mtu: 1400,
    profile: PROFILE,
    pools: new Map([["v6", new Ipv6PrefixPool("v6", "2001:2:0:101::/64", 64)]]),
    send: (p) => sent.push(...p),
    log: NOOP_LOGGER,
    clock,
    timers: clock,
    random: () => 0.5,
    ...o,
  };
}

/** The prefixes of the first RA sent. */
function advertised(sent: Uint8Array[]): string[] {
  const ra = decodeRouterAdvertisement(decodeIpv6Packet(sent[0]!));
  return ra.prefixes.map((p) => formatIpv6Prefix(p.prefix));
}

Deno.test("startServerIpv6(): a RADIUS /64 is advertised instead of a pool's; the routes go into the device and out at close", async () => {
  const commands: string[] = [];
  const routed: string[] = [];
  const prefixes: (string | undefined)[] = [];
  const sent: Uint8Array[] = [];
  const o = options({
    prefix: "2001:2:5::/64",
    // A route to the RADIUS /64 and a repeated route are routed once.
    routes: [...ROUTES, { dst: "2001:2:5::/64", gateway: undefined, distance: 9 }, ROUTES[0]!],
    onRoute: (dst, on) => routed.push(`${on ? "+" : "-"}${dst}`),
    onPrefix: (p) => prefixes.push(p),
    net: new NetConfig({
      run: (args) => {
        commands.push(args.join(" "));
        return Promise.resolve({ code: 0, stdout: "", stderr: "" });
      },
    }),
  }, sent);
  const service = await startServerIpv6(o);
  try {
    assert.deepEqual(commands, [
      "-6 addr add fe80::1/64 dev sstp-carol nodad",
      "route add 2001:2:5::/64 dev sstp-carol metric 1",
      "route add 2001:2:6::/48 dev sstp-carol metric 5",
      "route add 2001:2:7::1/128 dev sstp-carol metric 1",
    ]);
    assert.deepEqual(advertised(sent), ["2001:2:5::/64"]);
    assert.equal(o.pools.get("v6")!.used, 0, "no pool /64 taken");
    assert.deepEqual(prefixes, ["2001:2:5::/64"]);
    assert.deepEqual(routed, ["+2001:2:6::/48", "+2001:2:7::1/128"]);
  } finally {
    service.close();
  }
  for (let i = 0; i < 50 && routed.length < 4; i++) await Promise.resolve();
  assert.deepEqual(routed.slice(2), ["-2001:2:6::/48", "-2001:2:7::1/128"]);
  assert.deepEqual(prefixes, ["2001:2:5::/64", undefined]);
  assert.deepEqual(commands.slice(4), [
    "route del 2001:2:5::/64 dev sstp-carol metric 1",
    "route del 2001:2:6::/48 dev sstp-carol metric 5",
    "route del 2001:2:7::1/128 dev sstp-carol metric 1",
  ]);
});

Deno.test("startServerIpv6() shared: routes go into the demultiplexer and the kernel, both out at close", async () => {
  const calls: string[] = [];
  const routed: string[] = [];
  const sent: Uint8Array[] = [];
  const o = options({
    routes: ROUTES,
    onRoute: (dst, on) => routed.push(`${on ? "+" : "-"}${dst}`),
    net: new NetConfig({ run: () => Promise.reject(new Error("no ip in shared mode")) }),
    shared: {
      addLinkLocal: () => Promise.resolve(),
      route: (p, on) => {
        calls.push(`demux ${on ? "add" : "del"} ${p}`);
      },
      kernelRoute: (p, on, metric) => {
        calls.push(`kernel ${on ? "add" : "del"} ${p} metric ${metric}`);
        return Promise.resolve();
      },
    },
  }, sent);
  const service = await startServerIpv6(o);
  try {
    assert.deepEqual(calls, [
      "demux add 2001:2:0:101::/64",
      "demux add 2001:2:6::/48",
      "kernel add 2001:2:6::/48 metric 5",
      "demux add 2001:2:7::1/128",
      "kernel add 2001:2:7::1/128 metric 1",
    ]);
    assert.deepEqual(
      advertised(sent),
      ["2001:2:0:101::/64"],
      "the pool's /64 without a RADIUS one",
    );
    assert.equal(o.pools.get("v6")!.used, 1);
  } finally {
    service.close();
  }
  for (let i = 0; i < 50 && routed.length < 4; i++) await Promise.resolve();
  assert.deepEqual(calls.slice(5), [
    "demux del 2001:2:0:101::/64",
    "demux del 2001:2:6::/48",
    "kernel del 2001:2:6::/48 metric 5",
    "demux del 2001:2:7::1/128",
    "kernel del 2001:2:7::1/128 metric 1",
  ]);
  assert.deepEqual(routed, [
    "+2001:2:6::/48",
    "+2001:2:7::1/128",
    "-2001:2:6::/48",
    "-2001:2:7::1/128",
  ]);
  assert.equal(o.pools.get("v6")!.used, 0);
});

Deno.test("startServerIpv6(): a route the kernel refuses undoes the routes already added and the pool's /64", async () => {
  const commands: string[] = [];
  const routed: string[] = [];
  const o = options({
    routes: ROUTES,
    onRoute: (dst, on) => routed.push(`${on ? "+" : "-"}${dst}`),
    net: new NetConfig({
      run: (args) => {
        commands.push(args.join(" "));
        const refuse = args.join(" ").startsWith("route add 2001:2:7::1/128");
        return Promise.resolve(
          refuse
            ? { code: 2, stdout: "", stderr: "RTNETLINK answers: File exists" }
            : { code: 0, stdout: "", stderr: "" },
        );
      },
    }),
  }, []);
  await assert.rejects(() => startServerIpv6(o), /File exists/);
  assert.deepEqual(routed, ["+2001:2:6::/48", "-2001:2:6::/48"]);
  assert.ok(
    commands.includes("route del 2001:2:6::/48 dev sstp-carol metric 5"),
    commands.join("\n"),
  );
  assert.equal(o.pools.get("v6")!.used, 0);
});
