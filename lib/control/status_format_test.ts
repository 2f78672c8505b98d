import assert from "node:assert/strict";
import type { ServerSessionStatus } from "./protocol.ts";
import { formatSessionMonitor } from "./status_format.ts";

const session: ServerSessionStatus = {
  name: "sstp-real",
  user: "real",
  callerId: "198.18.0.2:40000",
  address: "198.19.0.2",
  localAddress: "198.19.0.1",
  state: "connected",
  sstpState: "Call_Connected",
  uptimeMs: 5_000,
  idleTimeMs: 1_000,
  mtu: 1400,
  encoding: "TLS_AES_256_GCM_SHA384",
  correlationId: "local-1",
  rxBytes: 0,
  txBytes: 0,
  rxPackets: 0,
  txPackets: 0,
};

Deno.test("formatSessionMonitor() shows a session's IPv4 and IPv6 routes and prefixes", () => {
  const lines = formatSessionMonitor({
    ...session,
    ipv6LinkLocal: "fe80::2",
    ipv6Prefix: "2001:2:0:1a5::/64",
    ipv6DelegatedPrefix: "2001:2:0:1b00::/56",
    routes: ["198.18.77.0/24 1"],
    ipv6Routes: ["2001:2:7::/48 :: 2"],
  });
  const text = lines.join("\n");
  assert.match(text, /^ *ipv6-prefix: 2001:2:0:1a5::\/64$/m);
  assert.match(text, /^ *ipv6-delegated-prefix: 2001:2:0:1b00::\/56$/m);
  assert.match(text, /^ *routes: \["198\.18\.77\.0\/24 1"\]$/m);
  assert.match(text, /^ *ipv6-routes: \["2001:2:7::\/48 :: 2"\]$/m);
});

Deno.test("formatSessionMonitor() leaves out routes a session does not have", () => {
  const text = formatSessionMonitor(session).join("\n");
  assert.doesNotMatch(text, /routes|ipv6-/);
});
