import assert from "node:assert/strict";
import {
  type CommandResult,
  isAlreadyGone,
  NetCommandError,
  NetConfig,
  routeAroundSplitDefaults,
  runIp,
} from "./net_config.ts";
import type { PlatformNetlink } from "../platform.ts";

/** A fake `ip` that records calls and answers from a script. */
function fakeIp(answer: (args: string[]) => Partial<CommandResult> = () => ({})) {
  const calls: string[] = [];
  const run = (args: string[]): Promise<CommandResult> => {
    calls.push(args.join(" "));
    return Promise.resolve({ code: 0, stdout: "", stderr: "", ...answer(args) });
  };
  return { calls, run };
}

const LINK_DOWN = JSON.stringify([{
  ifname: "sstp0",
  flags: ["POINTOPOINT"],
  mtu: 1500,
  txqlen: 500,
}]);

Deno.test("NetConfig builds ip commands and undoes them newest first", async () => {
  const ip = fakeIp((args) => args.includes("-j") ? { stdout: LINK_DOWN } : {});
  const net = new NetConfig({ run: ip.run });
  await net.setLinkUp("sstp0");
  await net.setMtu("sstp0", 1400);
  await net.setTxQueueLen("sstp0", 5000);
  await net.addPointToPointAddress("sstp0", "198.18.0.2", "198.18.0.1");
  await net.addPointToPointAddress("sstp0", "2001:db8::2", "2001:db8::1");
  await net.addRoute({ dst: "198.19.0.0/16", dev: "sstp0", metric: 10 });
  await net.addRoute({
    dst: "default",
    gateway: "198.18.0.1",
    dev: "sstp0",
    metric: 1,
    table: 100,
  });
  await net.addProxyNeighbour("198.18.0.2", "eth0");
  assert.deepEqual(ip.calls, [
    "-j link show dev sstp0",
    "link set dev sstp0 up",
    "-j link show dev sstp0",
    "link set dev sstp0 mtu 1400",
    "-j link show dev sstp0",
    "link set dev sstp0 txqueuelen 5000",
    "addr add 198.18.0.2 peer 198.18.0.1/32 dev sstp0",
    "addr add 2001:db8::2 peer 2001:db8::1/128 dev sstp0",
    "route add 198.19.0.0/16 dev sstp0 metric 10",
    "route add default via 198.18.0.1 dev sstp0 metric 1 table 100",
    "neigh add proxy 198.18.0.2 dev eth0",
  ]);
  assert.equal(net.changes.length, 8);
  ip.calls.length = 0;
  await net.cleanup();
  assert.deepEqual(ip.calls, [
    "neigh del proxy 198.18.0.2 dev eth0",
    "route del default via 198.18.0.1 dev sstp0 metric 1 table 100",
    "route del 198.19.0.0/16 dev sstp0 metric 10",
    "addr del 2001:db8::2 peer 2001:db8::1/128 dev sstp0",
    "addr del 198.18.0.2 peer 198.18.0.1/32 dev sstp0",
    "link set dev sstp0 txqueuelen 500",
    "link set dev sstp0 mtu 1500",
    "link set dev sstp0 down",
  ]);
  ip.calls.length = 0;
  await net.cleanup();
  assert.deepEqual(ip.calls, [], "a second cleanup has nothing to do");
});

Deno.test("NetConfig prefixes every command with -n in a namespace", async () => {
  const ip = fakeIp();
  const net = new NetConfig({ run: ip.run, netns: "sstp-t-abc" });
  await net.addRoute({ dst: "198.19.0.0/24", dev: "d0" });
  assert.deepEqual(ip.calls, ["-n sstp-t-abc route add 198.19.0.0/24 dev d0"]);
  assert.throws(() => new NetConfig({ netns: "bad name" }), TypeError);
});

Deno.test("NetConfig.cleanup() treats already-gone objects as removed and reports other failures", async () => {
  const ip = fakeIp((args) => {
    if (args[0] === "route" && args[1] === "del") {
      return { code: 2, stderr: "RTNETLINK answers: No such process\n" };
    }
    if (args[0] === "addr" && args[1] === "del") {
      return { code: 1, stderr: 'Cannot find device "sstp0"\n' };
    }
    if (args[0] === "neigh" && args[1] === "del") {
      return { code: 2, stderr: "RTNETLINK answers: Operation not permitted\n" };
    }
    return {};
  });
  const net = new NetConfig({ run: ip.run });
  await net.addPointToPointAddress("sstp0", "198.18.0.2", "198.18.0.1");
  await net.addProxyNeighbour("198.18.0.2", "eth0");
  await net.addRoute({ dst: "198.19.0.0/16", dev: "sstp0" });
  await assert.rejects(net.cleanup(), (e) => {
    assert.ok(e instanceof AggregateError);
    assert.equal(e.errors.length, 1);
    const [only] = e.errors;
    assert.ok(only instanceof NetCommandError);
    assert.deepEqual(only.command, ["ip", "neigh", "del", "proxy", "198.18.0.2", "dev", "eth0"]);
    assert.equal(only.stderr, "RTNETLINK answers: Operation not permitted");
    return true;
  });
  assert.equal(ip.calls.length, 6, "every undo was tried despite the failure");
  assert.deepEqual(net.changes, []);
});

Deno.test("NetConfig errors carry the command and its stderr", async () => {
  const ip = fakeIp(() => ({ code: 2, stderr: "RTNETLINK answers: File exists\n" }));
  const net = new NetConfig({ run: ip.run });
  await assert.rejects(net.addRoute({ dst: "198.19.0.0/16", dev: "sstp0" }), {
    name: "NetCommandError",
    message: 'Cannot run "ip route add 198.19.0.0/16 dev sstp0": RTNETLINK answers: File exists',
  });
  assert.deepEqual(net.changes, [], "a failed change is not recorded");
  assert.equal(
    isAlreadyGone(new NetCommandError(["ip"], 2, "RTNETLINK answers: File exists")),
    false,
  );
  assert.equal(
    isAlreadyGone(new NetCommandError(["ip"], 2, "Error: ipv4: Address not found.")),
    true,
  );
});

Deno.test("NetConfig rejects bad arguments before running anything", async () => {
  const ip = fakeIp();
  const net = new NetConfig({ run: ip.run });
  await assert.rejects(
    net.addPointToPointAddress("sstp0", "198.18.0.300", "198.18.0.1"),
    TypeError,
  );
  await assert.rejects(net.addPointToPointAddress("sstp0", "198.18.0.2", "2001:db8::1"), TypeError);
  await assert.rejects(
    net.addPointToPointAddress("bad name", "198.18.0.2", "198.18.0.1"),
    TypeError,
  );
  await assert.rejects(net.addRoute({ dst: "198.19.0.0/40" }), TypeError);
  await assert.rejects(net.addRoute({ dst: "198.19.0.0/24 dev x" }), TypeError);
  await assert.rejects(net.addRoute({ dst: "198.19.0.0/24", gateway: "gw" }), TypeError);
  await assert.rejects(net.addRoute({ dst: "198.19.0.0/24", metric: -1 }), RangeError);
  await assert.rejects(net.addRoute({ dst: "198.19.0.0/24", table: "main; reboot" }), TypeError);
  await assert.rejects(net.setMtu("sstp0", 1.5), RangeError);
  await assert.rejects(net.setDns([]), TypeError);
  await assert.rejects(net.setDns(["not-an-ip"]), TypeError);
  assert.deepEqual(ip.calls, []);
});

Deno.test("NetConfig.deleteRoute() forgets the route and ignores one already gone", async () => {
  const ip = fakeIp((args) =>
    args[1] === "del" && ip.calls.filter((c) => c.startsWith("route del")).length > 1
      ? { code: 2, stderr: "RTNETLINK answers: No such process" }
      : {}
  );
  const net = new NetConfig({ run: ip.run });
  await net.addRoute({ dst: "198.19.0.0/16", dev: "sstp0" });
  await net.deleteRoute({ dst: "198.19.0.0/16", dev: "sstp0" });
  await net.deleteRoute({ dst: "198.19.0.0/16", dev: "sstp0" });
  assert.deepEqual(net.changes, []);
  ip.calls.length = 0;
  await net.cleanup();
  assert.deepEqual(ip.calls, []);
});

Deno.test("NetConfig.pinHostRoute() routes the server through its current gateway", async () => {
  const ip = fakeIp((args) => {
    if (args.join(" ") === "-j route get 198.19.7.7") {
      return {
        stdout:
          '[{"dst":"198.19.7.7","gateway":"198.18.0.254","dev":"eth0","prefsrc":"198.18.0.9","flags":[],"uid":0,"cache":[]}]',
      };
    }
    if (args.join(" ") === "-j route get 198.18.0.9") {
      return { stdout: '[{"type":"local","dst":"198.18.0.9","dev":"lo","prefsrc":"198.18.0.9"}]' };
    }
    return {};
  });
  const net = new NetConfig({ run: ip.run });
  assert.deepEqual(await net.pinHostRoute("198.19.7.7"), {
    dst: "198.19.7.7/32",
    gateway: "198.18.0.254",
    dev: "eth0",
  });
  assert.equal(await net.pinHostRoute("198.18.0.9"), undefined, "no pin for a local address");
  assert.deepEqual(ip.calls, [
    "-j route get 198.19.7.7",
    "-j route show table main",
    "route add 198.19.7.7/32 via 198.18.0.254 dev eth0",
    "-j route get 198.18.0.9",
  ]);
  ip.calls.length = 0;
  await net.cleanup();
  assert.deepEqual(ip.calls, ["route del 198.19.7.7/32 via 198.18.0.254 dev eth0"]);
});

/** A fake rtnetlink socket that records requests; `fail` makes addRoute answer EEXIST. */
function fakeNetlink(options: { fail?: boolean } = {}) {
  const calls: string[] = [];
  let opened = 0;
  let closed = 0;
  const open = (): PlatformNetlink => {
    opened++;
    return {
      interfaceIndex: (name) => name === "sstp0" ? 7 : 3,
      addAddress: (r) =>
        void calls.push(`addr ${r.local} peer ${r.peer} /${r.prefixLen} #${r.index}`),
      setLink: () => {},
      addRoute: (r) => {
        if (options.fail) {
          throw new Error("Cannot add route: sendto failed with EEXIST (File exists)");
        }
        calls.push(
          `route ${r.dst}/${r.prefixLen} via ${r.gateway ?? "-"} #${r.index} metric ${
            r.metric ?? "-"
          }`,
        );
      },
      close: () => void closed++,
    };
  };
  return { calls, open, opened: () => opened, closed: () => closed };
}

Deno.test("NetConfig adds IPv4 addresses and routes through rtnetlink and undoes them with ip", async () => {
  const ip = fakeIp();
  const nl = fakeNetlink();
  const net = new NetConfig({ run: ip.run, netlink: nl.open });
  await net.addPointToPointAddress("sstp0", "198.18.220.2", "198.18.220.1");
  await net.addRoute({ dst: "default", dev: "sstp0", metric: 5 });
  await net.addRoute({ dst: "198.19.7.7/32", gateway: "198.18.0.254", dev: "eth0" });
  assert.deepEqual(nl.calls, [
    "addr 198.18.220.2 peer 198.18.220.1 /32 #7",
    "route 0.0.0.0/0 via - #7 metric 5",
    "route 198.19.7.7/32 via 198.18.0.254 #3 metric -",
  ]);
  assert.equal(nl.opened(), 1, "one socket for every request");
  // IPv6, other tables and routes without a device still go through ip.
  await net.addPointToPointAddress("sstp0", "2001:db8::2", "2001:db8::1");
  await net.addRoute({ dst: "default", dev: "sstp0", table: 100 });
  await net.addRoute({ dst: "198.19.0.0/16", gateway: "198.18.0.254" });
  assert.deepEqual(ip.calls, [
    "addr add 2001:db8::2 peer 2001:db8::1/128 dev sstp0",
    "route add default dev sstp0 table 100",
    "route add 198.19.0.0/16 via 198.18.0.254",
  ]);
  ip.calls.length = 0;
  await net.cleanup();
  assert.deepEqual(ip.calls, [
    "route del 198.19.0.0/16 via 198.18.0.254",
    "route del default dev sstp0 table 100",
    "addr del 2001:db8::2 peer 2001:db8::1/128 dev sstp0",
    "route del 198.19.7.7/32 via 198.18.0.254 dev eth0",
    "route del default dev sstp0 metric 5",
    "addr del 198.18.220.2 peer 198.18.220.1/32 dev sstp0",
  ]);
  assert.equal(nl.closed(), 1, "cleanup closes the socket");
});

Deno.test("NetConfig reports rtnetlink failures as the ip command's error and falls back when it cannot open", async () => {
  const nl = fakeNetlink({ fail: true });
  const net = new NetConfig({ run: fakeIp().run, netlink: nl.open });
  const error = await net.addRoute({ dst: "default", dev: "sstp0" }).catch((e) => e);
  assert.ok(error instanceof NetCommandError);
  assert.deepEqual(error.command, ["ip", "route", "add", "default", "dev", "sstp0"]);
  assert.match(error.stderr, /File exists/);
  assert.deepEqual(net.changes, []);

  const ip = fakeIp();
  const broken = new NetConfig({
    run: ip.run,
    netlink: () => {
      throw new Error("socket(AF_NETLINK) failed");
    },
  });
  await broken.addPointToPointAddress("sstp0", "198.18.220.2", "198.18.220.1");
  assert.deepEqual(ip.calls, ["addr add 198.18.220.2 peer 198.18.220.1/32 dev sstp0"]);
  // In a namespace the socket (of the caller's namespace) is never used.
  const inNs = fakeNetlink();
  const nsIp = fakeIp();
  await new NetConfig({ run: nsIp.run, netns: "sstp-t-abc", netlink: inNs.open })
    .addPointToPointAddress("sstp0", "198.18.220.2", "198.18.220.1");
  assert.equal(inNs.opened(), 0);
  assert.deepEqual(nsIp.calls, [
    "-n sstp-t-abc addr add 198.18.220.2 peer 198.18.220.1/32 dev sstp0",
  ]);
});

Deno.test("NetConfig.enableProxyArp() writes the sysctl and restores it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/net/ipv4/conf/eth0`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/proxy_arp`, "0\n");
    const net = new NetConfig({ run: fakeIp().run, procSysPath: root });
    await net.enableProxyArp("eth0");
    assert.equal(await Deno.readTextFile(`${dir}/proxy_arp`), "1");
    await net.cleanup();
    assert.equal(await Deno.readTextFile(`${dir}/proxy_arp`), "0");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("NetConfig.setDns() keeps the old resolv.conf and puts it back", async (t) => {
  const root = await Deno.makeTempDir();
  const path = `${root}/resolv.conf`;
  const net = () => new NetConfig({ run: fakeIp().run, resolvConfPath: path });
  try {
    await t.step("a regular file comes back byte for byte", async () => {
      await Deno.writeTextFile(path, "nameserver 198.18.0.53\n");
      const n = net();
      await n.setDns(["198.18.0.1", "198.18.0.2"], ["corp.example"]);
      assert.equal(
        await Deno.readTextFile(path),
        "# Written by sstp; the previous file returns when the tunnel closes\n" +
          "nameserver 198.18.0.1\nnameserver 198.18.0.2\nsearch corp.example\n",
      );
      await n.setDns(["198.18.0.3"]);
      assert.match(await Deno.readTextFile(path), /nameserver 198\.18\.0\.3\n$/);
      await n.cleanup();
      assert.equal(await Deno.readTextFile(path), "nameserver 198.18.0.53\n");
      // No backup file is left beside it (it is kept in memory).
      await assert.rejects(Deno.stat(`${path}.sstp-backup`), Deno.errors.NotFound);
    });
    await t.step("a symlink is replaced, never written through, and restored", async () => {
      await Deno.remove(path);
      await Deno.writeTextFile(`${root}/stub.conf`, "nameserver 127.0.0.53\n");
      await Deno.symlink(`${root}/stub.conf`, path);
      const n = net();
      await n.setDns(["198.18.0.1"]);
      assert.equal(await Deno.readTextFile(`${root}/stub.conf`), "nameserver 127.0.0.53\n");
      assert.equal((await Deno.lstat(path)).isSymlink, false);
      await n.cleanup();
      assert.equal(await Deno.readLink(path), `${root}/stub.conf`);
    });
    await t.step("a missing file is removed again", async () => {
      await Deno.remove(path);
      const n = net();
      await n.setDns(["198.18.0.1"]);
      await n.cleanup();
      await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
    });
    await t.step("a file rewritten by someone else is left alone", async () => {
      await Deno.writeTextFile(path, "nameserver 198.18.0.53\n");
      const warnings: string[] = [];
      const n = new NetConfig({
        run: fakeIp().run,
        resolvConfPath: path,
        logger: {
          error() {},
          warn: (m) => void warnings.push(m),
          info() {},
          debug() {},
          trace() {},
          enabled: () => true,
          child() {
            return this;
          },
        },
      });
      await n.setDns(["198.18.0.1"]);
      await Deno.writeTextFile(path, "nameserver 198.18.9.9\n");
      await n.cleanup();
      assert.equal(await Deno.readTextFile(path), "nameserver 198.18.9.9\n");
      assert.deepEqual(warnings, [`${path} was changed by someone else; not restoring it`]);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---- netns: the real `ip` against a private namespace -------------------------

const IS_ROOT = Deno.uid() === 0;
const IN_CI = Deno.env.get("CI") !== undefined && Deno.env.get("CI") !== "";

async function ipOk(args: string[]): Promise<string> {
  const r = await runIp(args);
  if (r.code !== 0) throw new NetCommandError(["ip", ...args], r.code, r.stderr.trim());
  return r.stdout;
}

async function json(args: string[]): Promise<Array<Record<string, unknown>>> {
  return JSON.parse(await ipOk(args)) as Array<Record<string, unknown>>;
}

Deno.test({
  name: IS_ROOT || IN_CI
    ? "NetConfig configures and cleans up a real namespace"
    : "NetConfig configures and cleans up a real namespace (skipped: needs root; set CI=true to force)",
  ignore: !IS_ROOT && !IN_CI,
  async fn() {
    const ns = `sstp-t-${crypto.randomUUID().slice(0, 8)}`;
    await ipOk(["netns", "add", ns]);
    try {
      // Prefer a dummy link; kernels without the dummy module get a veth pair.
      const dummy = await runIp(["-n", ns, "link", "add", "d0", "type", "dummy"]);
      if (dummy.code !== 0) {
        await ipOk(["-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
        await ipOk(["-n", ns, "link", "set", "d1", "up"]);
      }
      const net = new NetConfig({ netns: ns });
      await net.setLinkUp("d0");
      await net.setMtu("d0", 1400);
      await net.setTxQueueLen("d0", 5000);
      await net.addPointToPointAddress("d0", "198.18.0.1", "198.18.0.2");
      await net.addRoute({ dst: "198.19.0.0/24", dev: "d0", metric: 10 });
      await net.addRoute({ dst: "198.19.1.0/24", gateway: "198.18.0.2", dev: "d0", table: 100 });
      await net.addRoute({ dst: "default", gateway: "198.18.0.2", dev: "d0", metric: 50 });
      const pinned = await net.pinHostRoute("198.19.9.9");
      assert.deepEqual(pinned, { dst: "198.19.9.9/32", gateway: "198.18.0.2", dev: "d0" });
      await net.enableProxyArp("d0");
      await net.addProxyNeighbour("198.18.0.5", "d0");

      const [link] = await json(["-n", ns, "-j", "link", "show", "dev", "d0"]);
      assert.equal(link?.["mtu"], 1400);
      assert.equal(link?.["txqlen"], 5000);
      assert.ok((link?.["flags"] as string[]).includes("UP"));
      const [addr] = await json(["-n", ns, "-j", "addr", "show", "dev", "d0"]);
      const v4 = (addr?.["addr_info"] as Array<Record<string, unknown>>).filter((a) =>
        a["family"] === "inet"
      );
      assert.deepEqual(v4.map((a) => [a["local"], a["address"], a["prefixlen"]]), [[
        "198.18.0.1",
        "198.18.0.2",
        32,
      ]]);
      const routes = (await json(["-n", ns, "-j", "route", "show"])).map((r) =>
        `${r["dst"]} ${r["gateway"] ?? "-"} ${r["metric"] ?? 0}`
      );
      assert.ok(routes.includes("198.19.0.0/24 - 10"), routes.join("; "));
      assert.ok(routes.includes("default 198.18.0.2 50"), routes.join("; "));
      assert.ok(routes.includes("198.19.9.9 198.18.0.2 0"), routes.join("; "));
      const table100 = await json(["-n", ns, "-j", "route", "show", "table", "100"]);
      assert.deepEqual(table100.map((r) => [r["dst"], r["gateway"]]), [[
        "198.19.1.0/24",
        "198.18.0.2",
      ]]);
      const proxies = await json(["-n", ns, "-j", "neigh", "show", "proxy"]);
      assert.deepEqual(proxies.map((p) => p["dst"]), ["198.18.0.5"]);
      const sysctl = ["netns", "exec", ns, "sysctl", "-n", "net/ipv4/conf/d0/proxy_arp"];
      assert.equal((await ipOk(sysctl)).trim(), "1");

      // Someone removes a route behind our back: cleanup still succeeds.
      await ipOk(["-n", ns, "route", "del", "198.19.0.0/24", "dev", "d0", "metric", "10"]);
      await net.cleanup();
      await net.cleanup();

      const [after] = await json(["-n", ns, "-j", "link", "show", "dev", "d0"]);
      assert.equal(after?.["mtu"], 1500);
      assert.ok(!(after?.["flags"] as string[]).includes("UP"), "link set down again");
      const [addrAfter] = await json(["-n", ns, "-j", "addr", "show", "dev", "d0"]);
      assert.deepEqual(
        (addrAfter?.["addr_info"] as Array<Record<string, unknown>>).filter((a) =>
          a["family"] === "inet"
        ),
        [],
      );
      assert.deepEqual(await json(["-n", ns, "-j", "route", "show"]), []);
      assert.deepEqual(await json(["-n", ns, "-j", "neigh", "show", "proxy"]), []);
      assert.equal((await ipOk(sysctl)).trim(), "0");

      // Deleting the link under a live configuration: cleanup finds it gone.
      const again = new NetConfig({ netns: ns });
      await again.setLinkUp("d0");
      await again.addPointToPointAddress("d0", "198.18.0.1", "198.18.0.2");
      await again.addRoute({ dst: "198.19.0.0/24", dev: "d0" });
      await ipOk(["-n", ns, "link", "del", "d0"]);
      await again.cleanup();
    } finally {
      await ipOk(["netns", "del", ns]);
    }
  },
});

Deno.test("NetConfig adds and removes split default routes: IPv4 over rtnetlink, IPv6 with ip", async () => {
  const ip = fakeIp();
  const calls: string[] = [];
  let tunGone = false;
  const nl: PlatformNetlink = {
    interfaceIndex: (name) => {
      if (tunGone && name === "sstp0") {
        throw new Error(
          `Cannot look up interface "${name}": ioctl failed with ENODEV (No such device)`,
        );
      }
      return name === "sstp0" ? 7 : 3;
    },
    addAddress: () => {},
    setLink: () => {},
    addRoute: (r) => void calls.push(`add ${r.dst}/${r.prefixLen} #${r.index} metric ${r.metric}`),
    deleteRoute: (r) => {
      if (r.gateway !== undefined) {
        throw new Error("Cannot delete route: RTM_DELROUTE failed with ESRCH (No such process)");
      }
      calls.push(`del ${r.dst}/${r.prefixLen} #${r.index} metric ${r.metric}`);
    },
    close: () => {},
  };
  const net = new NetConfig({ run: ip.run, netlink: () => nl });
  for (const dst of ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]) {
    await net.addRoute({ dst, dev: "sstp0", metric: 2 });
  }
  await net.addRoute({ dst: "198.18.60.1/32", gateway: "198.18.59.1", dev: "eth0" });
  await net.addRoute({ dst: "198.18.61.53/32", dev: "sstp0", metric: 2 });
  assert.deepEqual(calls, [
    "add 0.0.0.0/1 #7 metric 2",
    "add 128.0.0.0/1 #7 metric 2",
    "add 198.18.60.1/32 #3 metric undefined",
    "add 198.18.61.53/32 #7 metric 2",
  ]);
  assert.deepEqual(ip.calls, [
    "route add ::/1 dev sstp0 metric 2",
    "route add 8000::/1 dev sstp0 metric 2",
  ]);
  calls.length = 0;
  ip.calls.length = 0;
  await net.deleteRoute({ dst: "198.18.61.53/32", dev: "sstp0", metric: 2 });
  assert.deepEqual(calls, ["del 198.18.61.53/32 #7 metric 2"]);
  calls.length = 0;
  // The TUN device goes first: its routes are gone with it; the pinned route's
  // ESRCH means someone removed it already. Neither is a failure.
  tunGone = true;
  await net.cleanup();
  assert.deepEqual(calls, []);
  assert.deepEqual(ip.calls, [
    "route del 8000::/1 dev sstp0 metric 2",
    "route del ::/1 dev sstp0 metric 2",
  ]);
  tunGone = false;
  await net.addRoute({ dst: "0.0.0.0/1", dev: "sstp0", metric: 2 });
  await net.cleanup();
  assert.deepEqual(calls, ["add 0.0.0.0/1 #7 metric 2", "del 0.0.0.0/1 #7 metric 2"]);
});

Deno.test("NetConfig.restore() takes over another process's records for cleanup, newest first", async () => {
  const ip = fakeIp();
  const journal: number[] = [];
  const net = new NetConfig({ run: ip.run, journal: (r) => void journal.push(r.length) });
  net.restore([
    { kind: "route", route: { dst: "198.18.60.1/32", gateway: "198.18.59.1", dev: "eth0" } },
    {
      kind: "ip",
      description: "address on sstp0",
      undo: ["addr", "del", "198.18.61.10", "dev", "sstp0"],
    },
    { kind: "route", route: { dst: "::/1", dev: "sstp0", metric: 1 } },
  ]);
  assert.deepEqual(net.changes, [
    "route 198.18.60.1/32 via 198.18.59.1 dev eth0",
    "address on sstp0",
    "route ::/1 dev sstp0 metric 1",
  ]);
  assert.deepEqual(journal, [3]);
  await net.cleanup();
  assert.deepEqual(ip.calls, [
    "route del ::/1 dev sstp0 metric 1",
    "addr del 198.18.61.10 dev sstp0",
    "route del 198.18.60.1/32 via 198.18.59.1 dev eth0",
  ]);
  assert.deepEqual(journal, [3, 2, 1, 0, 0]);
});

Deno.test("NetConfig.pinHostRoute() pins a server behind another tunnel's split routes under them", async () => {
  const table = JSON.stringify([
    { dst: "default", gateway: "198.18.0.254", dev: "eth0", metric: 100 },
    { dst: "default", gateway: "198.18.1.254", dev: "wlan0", metric: 600 },
    { dst: "0.0.0.0/1", dev: "sstp-a", metric: 1 },
    { dst: "128.0.0.0/1", dev: "sstp-a", metric: 1 },
    { dst: "198.18.0.0/24", dev: "eth0", scope: "link" },
  ]);
  const ip = fakeIp((args) => {
    const line = args.join(" ");
    if (line === "-j route get 198.19.7.7") {
      return { stdout: '[{"dst":"198.19.7.7","dev":"sstp-a","prefsrc":"198.18.61.10"}]' };
    }
    return line === "-j route show table main" ? { stdout: table } : {};
  });
  const net = new NetConfig({ run: ip.run });
  assert.deepEqual(await net.pinHostRoute("198.19.7.7"), {
    dst: "198.19.7.7/32",
    gateway: "198.18.0.254",
    dev: "eth0",
  });
  assert.equal(ip.calls.at(-1), "route add 198.19.7.7/32 via 198.18.0.254 dev eth0");
});

Deno.test("routeAroundSplitDefaults() takes the longest prefix, then the lowest metric, of unicast routes", () => {
  const table = [
    { dst: "default", gateway: "198.18.0.1", dev: "a", metric: 0 },
    { dst: "0.0.0.0/1", dev: "t1", metric: 1 },
    { dst: "128.0.0.0/1", dev: "t1", metric: 1 },
    { dst: "198.19.0.0/16", gateway: "198.18.0.2", dev: "b", metric: 50 },
    { dst: "198.19.0.0/16", gateway: "198.18.0.3", dev: "c", metric: 20 },
    { dst: "198.19.7.0/24", type: "unreachable", metric: 0 },
    { dst: "198.19.9.9", dev: "d" },
  ];
  assert.deepEqual(routeAroundSplitDefaults("198.19.7.7", table), {
    gateway: "198.18.0.3",
    dev: "c",
  });
  assert.deepEqual(routeAroundSplitDefaults("198.19.9.9", table), { gateway: undefined, dev: "d" });
  assert.deepEqual(routeAroundSplitDefaults("203.0.113.1", table), {
    gateway: "198.18.0.1",
    dev: "a",
  });
  assert.equal(routeAroundSplitDefaults("203.0.113.1", table.slice(1, 3)), undefined);
  assert.equal(routeAroundSplitDefaults("2001:2::1", table), undefined);
});

Deno.test("NetConfig does IPv6 addresses and routes through rtnetlink when the socket can, else with ip", async () => {
  const ip = fakeIp();
  const calls: string[] = [];
  const nl: PlatformNetlink = {
    interfaceIndex: (name) => name === "sstp0" ? 7 : 3,
    addAddress: () => {},
    setLink: () => {},
    addRoute: () => {},
    deleteRoute: () => {},
    addAddress6: (r) =>
      void calls.push(
        `addr6 ${r.address}/${r.prefixLen} #${r.index} nodad=${r.nodad ?? false} replace=${
          r.replace ?? false
        } ${r.validLifetimeS ?? "-"}/${r.preferredLifetimeS ?? "-"}`,
      ),
    deleteAddress6: (r) => void calls.push(`deladdr6 ${r.address}/${r.prefixLen} #${r.index}`),
    addRoute6: (r) =>
      void calls.push(
        `route6 ${r.type ?? "unicast"} ${r.dst}/${r.prefixLen} #${r.index ?? "-"} metric ${
          r.metric ?? "-"
        }`,
      ),
    deleteRoute6: (r) =>
      void calls.push(
        `delroute6 ${r.type ?? "unicast"} ${r.dst}/${r.prefixLen} #${r.index ?? "-"}`,
      ),
    close: () => {},
  };
  const net = new NetConfig({ run: ip.run, netlink: () => nl });
  await net.setIpv6Address("sstp0", "fe80::a:b0c/64", { nodad: true });
  await net.setIpv6Address("sstp0", "2001:2:0:100::a:b0c/64", {
    nodad: true,
    replace: true,
    validLifetimeS: 86_400,
    preferredLifetimeS: 14_400,
  });
  await net.addRoute({ dst: "::/1", dev: "sstp0", metric: 1 });
  await net.addRoute({ dst: "2001:2:0:8000::/60", type: "unreachable" });
  await net.addAddress("lan0", "2001:2:0:8000::1/64");
  await net.removeIpv6Address("sstp0", "2001:2:0:100::a:b0c/64");
  await net.deleteRoute({ dst: "::/1", dev: "sstp0", metric: 1 });
  await net.deleteAddress("lan0", "2001:2:0:8000::1/64");
  await net.cleanup();
  assert.deepEqual(calls, [
    "addr6 fe80::a:b0c/64 #7 nodad=true replace=false -/-",
    "addr6 2001:2:0:100::a:b0c/64 #7 nodad=true replace=true 86400/14400",
    "route6 unicast ::/1 #7 metric 1",
    "route6 unreachable 2001:2:0:8000::/60 #- metric -",
    "addr6 2001:2:0:8000::1/64 #3 nodad=false replace=false -/-",
    "deladdr6 2001:2:0:100::a:b0c/64 #7",
    "delroute6 unicast ::/1 #7",
    "deladdr6 2001:2:0:8000::1/64 #3",
    // cleanup: the one change still recorded
    "delroute6 unreachable 2001:2:0:8000::/60 #-",
  ]);
  assert.deepEqual(ip.calls, []);
  // Without the IPv6 methods (or without a socket), the same through `ip`.
  const ip2 = fakeIp();
  const v4only = new NetConfig({
    run: ip2.run,
    netlink: () => {
      const { addAddress6: _a, addRoute6: _r, ...rest } = nl;
      return rest;
    },
  });
  await v4only.setIpv6Address("sstp0", "2001:2:0:100::a:b0c/64", {
    nodad: true,
    replace: true,
    validLifetimeS: 600,
    preferredLifetimeS: 300,
  });
  await v4only.addRoute({ dst: "2001:2:0:8000::/60", type: "unreachable" });
  await v4only.cleanup();
  assert.deepEqual(ip2.calls, [
    "-6 addr replace 2001:2:0:100::a:b0c/64 dev sstp0 nodad valid_lft 600 preferred_lft 300",
    "route add unreachable 2001:2:0:8000::/60",
    "route del unreachable 2001:2:0:8000::/60",
  ]);
});
