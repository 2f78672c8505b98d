/**
 * Root-only: {@linkcode RtNetlink} configures a TUN device in a throw-away
 * namespace; `ip` is used only to read the result back, and a ping through the
 * TUN proves the address and route work.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createNetns, netnsTestIgnore } from "../test/helpers/netns.ts";
import { buildIcmpEcho, parseIcmp } from "../test/helpers/icmp.ts";
import { openLinuxTun } from "./linux_tun.ts";
import { interfaceIndex, readNetdev } from "./netdev.ts";
import { IFF_UP } from "./ifreq.ts";
import { RtNetlink } from "./rtnetlink.ts";

const ignore = netnsTestIgnore("ffi/rtnetlink_netns_test.ts");

Deno.test({
  name: "RtNetlink sets address, link, MTU and routes of a TUN device, and reports errors",
  ignore,
  async fn() {
    await using ns = await createNetns();
    const { tun, nl, index } = ns.enter(() => {
      const tun = openLinuxTun({ name: "sstp-n0" });
      return { tun, nl: RtNetlink.open(), index: interfaceIndex("sstp-n0") };
    });
    try {
      nl.addAddress({ index, local: "198.18.5.1", peer: "198.18.5.2", prefixLen: 32 });
      nl.setLink({ index, up: true, mtu: 1380 });
      nl.addRoute({ dst: "198.19.0.0", prefixLen: 16, index, metric: 5 });
      nl.addRoute({ dst: "198.18.200.0", prefixLen: 24, index, gateway: "198.18.5.2" });

      const dev = ns.enter(() => readNetdev("sstp-n0"));
      assert.equal(dev.mtu, 1380);
      assert.equal(dev.flags & IFF_UP, IFF_UP);
      const addrs = JSON.parse(await ns.run(["ip", "-j", "-4", "addr", "show", "dev", "sstp-n0"]));
      const info = addrs[0].addr_info[0];
      assert.deepEqual([info.local, info.address, info.prefixlen], [
        "198.18.5.1",
        "198.18.5.2",
        32,
      ]);
      const routes = await ns.run(["ip", "-4", "route", "show", "dev", "sstp-n0"]);
      assert.match(routes, /198\.19\.0\.0\/16 proto static scope link metric 5/);
      assert.match(routes, /198\.18\.200\.0\/24 via 198\.18\.5\.2 proto static/);

      // Errors come back from the kernel's NLMSG_ERROR as ErrnoError.
      assert.throws(
        () => nl.addAddress({ index, local: "198.18.5.1", peer: "198.18.5.2", prefixLen: 32 }),
        { name: "ErrnoError", code: "EEXIST" },
      );
      assert.throws(() => nl.setLink({ index: 999999, up: true }), { code: "ENODEV" });
      assert.throws(
        () => nl.addRoute({ dst: "198.19.0.0", prefixLen: 16, index, metric: 5 }),
        { code: "EEXIST" },
      );

      // Deletion matches destination, device, gateway and metric; ESRCH once gone.
      nl.addRoute({ dst: "0.0.0.0", prefixLen: 1, index, metric: 7 });
      assert.throws(
        () => nl.deleteRoute({ dst: "0.0.0.0", prefixLen: 1, index, metric: 8 }),
        { code: "ESRCH" },
      );
      nl.deleteRoute({ dst: "0.0.0.0", prefixLen: 1, index, metric: 7 });
      nl.deleteRoute({ dst: "198.18.200.0", prefixLen: 24, index, gateway: "198.18.5.2" });
      assert.throws(
        () => nl.deleteRoute({ dst: "0.0.0.0", prefixLen: 1, index, metric: 7 }),
        { name: "ErrnoError", code: "ESRCH", message: /No such process/ },
      );
      const left = await ns.run(["ip", "-4", "route", "show", "dev", "sstp-n0"]);
      assert.doesNotMatch(left, /0\.0\.0\.0\/1|198\.18\.200\.0/);
      assert.match(left, /198\.19\.0\.0\/16/);

      // Traffic to the routed network leaves through the TUN.
      const ping = ns.exec(["ping", "-n", "-c", "1", "-W", "1", "198.19.1.1"], { timeoutMs: 5000 });
      let seen = false;
      for (let i = 0; i < 20 && !seen; i++) {
        const batch = await Promise.race([
          tun.readBatch(),
          ping.then(() => [] as Uint8Array[]),
        ]);
        seen = batch.some((p) => parseIcmp(p)?.dst === "198.19.1.1");
        if (batch.length === 0) break;
      }
      assert.ok(seen, "no echo request to 198.19.1.1 on the TUN");
      await ping;
      // And written packets reach the kernel.
      assert.equal(tun.writePackets([buildIcmpEcho("198.18.5.2", "198.18.5.1")]), 1);
    } finally {
      nl.close();
      tun.close();
      await tun.closed;
    }
  },
});

Deno.test({
  name:
    "RtNetlink adds, replaces and deletes IPv6 addresses and device and unreachable IPv6 routes",
  ignore,
  async fn() {
    await using ns = await createNetns({ disableIpv6: false });
    const { tun, nl, index } = ns.enter(() => {
      const tun = openLinuxTun({ name: "sstp-n6", up: true });
      return { tun, nl: RtNetlink.open(), index: interfaceIndex("sstp-n6") };
    });
    const show = async () =>
      JSON.parse(await ns.run(["ip", "-j", "-6", "addr", "show", "dev", "sstp-n6"]))[0]
        .addr_info as { local: string; prefixlen: number; valid_life_time: number }[];
    try {
      nl.addAddress6({ index, address: "fe80::1", prefixLen: 64, nodad: true });
      nl.addAddress6({
        index,
        address: "2001:2:0:100::a:b0c",
        prefixLen: 64,
        nodad: true,
        validLifetimeS: 86_400,
        preferredLifetimeS: 14_400,
      });
      const text = await ns.run(["ip", "-6", "addr", "show", "dev", "sstp-n6"]);
      assert.match(text, /inet6 fe80::1\/64 scope link nodad/);
      assert.match(text, /inet6 2001:2:0:100::a:b0c\/64 scope global (dynamic )?nodad/);
      assert.match(text, /valid_lft 86[34]\d\dsec preferred_lft 14[34]\d\dsec/);
      assert.throws(
        () => nl.addAddress6({ index, address: "fe80::1", prefixLen: 64, nodad: true }),
        { code: "EEXIST" },
      );
      // `replace` refreshes the lifetimes, as a new RA does.
      nl.addAddress6({
        index,
        address: "2001:2:0:100::a:b0c",
        prefixLen: 64,
        nodad: true,
        replace: true,
        validLifetimeS: 600,
        preferredLifetimeS: 300,
      });
      const slaac = (await show()).find((a) => a.local === "2001:2:0:100::a:b0c");
      assert.ok(slaac && slaac.valid_life_time <= 600, JSON.stringify(slaac));

      nl.addRoute6({ dst: "::", prefixLen: 1, index, metric: 5 });
      nl.addRoute6({ dst: "2001:2:0:8000::", prefixLen: 60, type: "unreachable" });
      const routes = await ns.run(["ip", "-6", "route", "show"]);
      assert.match(routes, /^::\/1 dev sstp-n6 proto static metric 5/m);
      assert.match(routes, /^unreachable 2001:2:0:8000::\/60 dev lo proto static/m);
      assert.throws(
        () => nl.addRoute6({ dst: "::", prefixLen: 1, index, metric: 5 }),
        { code: "EEXIST" },
      );
      nl.deleteRoute6({ dst: "::", prefixLen: 1, index, metric: 5 });
      nl.deleteRoute6({ dst: "2001:2:0:8000::", prefixLen: 60, type: "unreachable" });
      assert.throws(
        () => nl.deleteRoute6({ dst: "2001:2:0:8000::", prefixLen: 60, type: "unreachable" }),
        { code: "ESRCH" },
      );
      assert.doesNotMatch(await ns.run(["ip", "-6", "route", "show"]), /^::\/1|2001:2:0:8000/m);

      nl.deleteAddress6({ index, address: "2001:2:0:100::a:b0c", prefixLen: 64 });
      // (The kernel's own random link-local of a TUN device may be there too.)
      const left = (await show()).map((a) => a.local);
      assert.ok(left.includes("fe80::1") && !left.includes("2001:2:0:100::a:b0c"), String(left));
      assert.throws(
        () => nl.deleteAddress6({ index, address: "2001:2:0:100::a:b0c", prefixLen: 64 }),
        { name: "ErrnoError" },
      );
    } finally {
      nl.close();
      tun.close();
      await tun.closed;
    }
  },
});
