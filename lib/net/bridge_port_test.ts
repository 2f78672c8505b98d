import assert from "node:assert/strict";
import { bridgePortCommands } from "./bridge_port.ts";

Deno.test("bridgePortCommands: master, then RouterOS port settings as bridge_slave options, then up", () => {
  assert.deepEqual(bridgePortCommands("sstp-br0", { bridge: "br-lan" }), [
    ["link", "set", "dev", "sstp-br0", "master", "br-lan"],
    ["link", "set", "dev", "sstp-br0", "up"],
  ]);
  assert.deepEqual(
    bridgePortCommands("sstp-br1", {
      bridge: "br0",
      pathCost: 20,
      portPriority: 128,
      horizon: 1,
    })[1],
    // RouterOS priority 0x80 is the Linux default 32 (the same 16-bit port id 0x8000).
    [
      "link",
      "set",
      "dev",
      "sstp-br1",
      "type",
      "bridge_slave",
      "cost",
      "20",
      "priority",
      "32",
      "isolated",
      "on",
    ],
  );
});
