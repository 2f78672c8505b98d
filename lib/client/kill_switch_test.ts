import assert from "node:assert/strict";
import { engageKillSwitch, planKillSwitchRoutes } from "./kill_switch.ts";
import { type CommandResult, type NetChangeRecord, NetConfig } from "../net/net_config.ts";
import { parseNetState } from "./net_state.ts";
import { createLogger, NOOP_LOGGER } from "../log.ts";

Deno.test("planKillSwitchRoutes() blocks the split default prefixes one metric above the tunnel", () => {
  assert.deepEqual(planKillSwitchRoutes({ distance: 0 }), [
    { dst: "0.0.0.0/1", type: "unreachable", metric: 1 },
    { dst: "128.0.0.0/1", type: "unreachable", metric: 1 },
    { dst: "::/1", type: "unreachable", metric: 1 },
    { dst: "8000::/1", type: "unreachable", metric: 1 },
  ]);
  assert.equal(planKillSwitchRoutes({ distance: 255 })[0]?.metric, 256);
  assert.throws(() => planKillSwitchRoutes({ distance: -1 }), RangeError);
});

Deno.test("engageKillSwitch() pins the server first, journals every route, and cleanup lifts it", async () => {
  const calls: string[] = [];
  let failIpv6 = false;
  const run = (args: string[]): Promise<CommandResult> => {
    calls.push(args.join(" "));
    if (args.join(" ") === "-j route get 198.18.60.1") {
      return Promise.resolve({
        code: 0,
        stdout: JSON.stringify([{ dst: "198.18.60.1", gateway: "198.18.70.1", dev: "eth0" }]),
        stderr: "",
      });
    }
    if (args.includes("show")) return Promise.resolve({ code: 0, stdout: "[]", stderr: "" });
    if (failIpv6 && args.some((a) => a.includes("::"))) {
      return Promise.resolve({
        code: 2,
        stdout: "",
        stderr: "RTNETLINK answers: Permission denied",
      });
    }
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  };
  let journal: readonly NetChangeRecord[] = [];
  const net = new NetConfig({ run, journal: (r) => journal = r });
  const added = await engageKillSwitch(net, "198.18.60.1", { distance: 7 }, NOOP_LOGGER);
  assert.deepEqual(added, ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]);
  assert.deepEqual(calls.filter((c) => c.startsWith("route add")), [
    "route add 198.18.60.1/32 via 198.18.70.1 dev eth0",
    "route add unreachable 0.0.0.0/1 metric 8",
    "route add unreachable 128.0.0.0/1 metric 8",
    "route add unreachable ::/1 metric 8",
    "route add unreachable 8000::/1 metric 8",
  ]);
  // The journal survives a round trip through the state file format.
  const state = parseNetState(
    JSON.stringify({ version: 1, name: "sstp-out1", pid: 1, changes: journal }),
  );
  assert.equal(state.changes.length, 5);
  calls.length = 0;
  await net.cleanup();
  assert.deepEqual(calls, [
    "route del unreachable 8000::/1 metric 8",
    "route del unreachable ::/1 metric 8",
    "route del unreachable 128.0.0.0/1 metric 8",
    "route del unreachable 0.0.0.0/1 metric 8",
    "route del 198.18.60.1/32 via 198.18.70.1 dev eth0",
  ]);
  assert.deepEqual(journal, []);

  // Without IPv6 the IPv4 half still engages.
  failIpv6 = true;
  const warnings: string[] = [];
  const log = createLogger("warn", (level, line) => {
    if (level === "warn") warnings.push(line);
  });
  const net2 = new NetConfig({ run });
  assert.deepEqual(
    await engageKillSwitch(net2, "198.18.60.1", { distance: 1 }, log),
    ["0.0.0.0/1", "128.0.0.0/1"],
  );
  assert.equal(warnings.length, 2);
  await net2.cleanup();
});

Deno.test("a state file naming an unknown route type is refused", () => {
  assert.throws(
    () =>
      parseNetState(JSON.stringify({
        version: 1,
        name: "x",
        pid: 1,
        changes: [{ kind: "route", route: { dst: "0.0.0.0/1", type: "nat" } }],
      })),
    /route type "nat" is not one of unreachable,prohibit,blackhole/,
  );
});
