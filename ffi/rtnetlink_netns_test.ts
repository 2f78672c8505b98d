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
