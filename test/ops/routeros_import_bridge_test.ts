import assert from "node:assert/strict";
import { importRouterOs } from "../../lib/ops/routeros/import_routeros.ts";
import { parseServerConfig } from "../../lib/config/server_config.ts";

Deno.test("import routeros keeps a profile's bridge keys, as exported (hex priority, horizon none)", () => {
  const result = importRouterOs(
    [
      "/interface sstp-server server",
      "set certificate=server enabled=yes",
      "/ppp profile",
      "add bridge=br-lan bridge-horizon=none bridge-path-cost=20 bridge-port-priority=0x40 " +
      "local-address=10.0.0.1 name=l2 remote-address=10.0.0.2",
      "add bridge=br-lan bridge-horizon=3 name=spoke",
    ].join("\n"),
  );
  const config = parseServerConfig(result.serverYaml, "imported.yaml");
  const l2 = config.profiles.find((p) => p.name === "l2");
  assert.equal(l2?.bridge, "br-lan");
  assert.equal(l2?.bridgePathCost, 20);
  assert.equal(l2?.bridgePortPriority, 64);
  assert.equal(l2?.bridgeHorizon, undefined);
  assert.equal(config.profiles.find((p) => p.name === "spoke")?.bridgeHorizon, 3);
  assert.ok(!result.notes.some((n) => /bridge/.test(n.message)), JSON.stringify(result.notes));
});
