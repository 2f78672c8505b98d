import assert from "node:assert/strict";
import { ConfigError, formatConfigIssue } from "./config_error.ts";
import { parseServerConfig } from "./server_config.ts";

const HEAD = "sstp-server:\n  certificate: /etc/sstp/server.pem\nprofiles:\n";

function issuesOf(yaml: string): string[] {
  try {
    parseServerConfig(yaml, "sstp.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map(formatConfigIssue);
  }
  assert.fail("parseServerConfig() accepted a bad file");
}

Deno.test("profile bridge keys are read", () => {
  const config = parseServerConfig(
    HEAD +
      "  - { name: l2, bridge: br0, bridge-path-cost: 20, bridge-port-priority: 128, bridge-horizon: 1 }\n" +
      "  - { name: l3 }\n",
    "sstp.yaml",
  );
  const l2 = config.profiles.find((p) => p.name === "l2");
  assert.equal(l2?.bridge, "br0");
  assert.equal(l2?.bridgePathCost, 20);
  assert.equal(l2?.bridgePortPriority, 128);
  assert.equal(l2?.bridgeHorizon, 1);
  const exported = parseServerConfig(
    HEAD + "  - { name: l2, bridge: br0, bridge-port-priority: '0x40', bridge-horizon: none }\n",
    "sstp.yaml",
  ).profiles.find((p) => p.name === "l2");
  // As RouterOS exports them: hex priority, horizon "none".
  assert.equal(exported?.bridgePortPriority, 64);
  assert.equal(exported?.bridgeHorizon, undefined);
  const l3 = config.profiles.find((p) => p.name === "l3");
  assert.equal(l3?.bridge, undefined);
});

Deno.test("profile bridge keys refuse bad values with the reason", () => {
  const issues = issuesOf(
    HEAD +
      "  - { name: a, bridge: 'br 0' }\n" +
      "  - { name: b, bridge: br0, bridge-port-priority: 100 }\n" +
      "  - { name: c, bridge: br0, bridge-path-cost: 0 }\n" +
      "  - { name: d, bridge-horizon: 1 }\n",
  ).join("\n");
  assert.match(issues, /profiles\[0\]\.bridge: .*not a valid interface name/);
  assert.match(issues, /profiles\[1\]\.bridge-port-priority: .*multiple of 16/);
  assert.match(issues, /profiles\[2\]\.bridge-path-cost: .*out of range/);
  assert.match(issues, /profiles\[3\]\.bridge-horizon: .*set "bridge" too/);
});

Deno.test("two horizon values on one bridge are refused: Linux has one horizon group per bridge", () => {
  const issues = issuesOf(
    HEAD +
      "  - { name: a, bridge: br0, bridge-horizon: 1 }\n" +
      "  - { name: b, bridge: br0, bridge-horizon: 2 }\n" +
      "  - { name: c, bridge: br1, bridge-horizon: 2 }\n",
  );
  assert.equal(issues.length, 1, issues.join("\n"));
  assert.match(
    issues[0]!,
    /profiles\[1\]\.bridge-horizon: another profile uses horizon 1 on bridge "br0"/,
  );
});
