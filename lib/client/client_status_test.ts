import assert from "node:assert/strict";
import { clientStatus } from "./client_status.ts";
import type { SstpClient } from "./sstp_client.ts";
import type { ConnectOptions } from "../config/client_config.ts";
import { formatClientMonitor } from "../control/status_format.ts";

Deno.test("clientStatus() shows how the default route and the DNS routes are installed", () => {
  const client = {
    attempts: 1,
    info: {
      phase: "connected",
      server: "198.18.60.1:443",
      correlationId: "{00000000-0000-0000-0000-000000000000}",
      defaultRoute: "split 0.0.0.0/1+128.0.0.0/1 metric 1 via sstp-out1",
      dnsRoutes: ["198.18.61.53/32 via sstp-out1"],
    },
  } as unknown as SstpClient;
  const options = {
    name: "sstp-out1",
    connectTo: { host: "198.18.60.1", port: 443, kind: "ipv4" },
    user: "carol",
  } as unknown as ConnectOptions;
  const lines = formatClientMonitor(clientStatus(client, options, 0));
  assert.ok(
    lines.some((l) =>
      /^ *default-route: split 0\.0\.0\.0\/1\+128\.0\.0\.0\/1 metric 1 via sstp-out1$/.test(l)
    ),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /^ *dns-routes: \["198\.18\.61\.53\/32 via sstp-out1"\]$/.test(l)));
  const waiting = clientStatus(
    { attempts: 2, info: undefined } as unknown as SstpClient,
    options,
    0,
  );
  assert.equal(waiting.defaultRoute, undefined);
});

Deno.test("clientStatus() shows the IPv6 link-locals, SLAAC addresses, prefixes, default route and delegated prefix", () => {
  const client = {
    attempts: 1,
    info: {
      phase: "connected",
      server: "198.18.60.1:443",
      correlationId: "{00000000-0000-0000-0000-000000000000}",
      ipv6: {
        localLinkLocal: "fe80::a:b:c:d",
        peerLinkLocal: "fe80::1",
        addresses: ["2001:2:0:100:a:b:c:d/64"],
        prefixes: ["2001:2:0:100::/64"],
        dns: ["2001:2::53"],
        defaultRoute: "none",
        delegated: {
          prefix: "2001:2:0:8000::/60",
          downstream: "2001:2:0:8000::1/64 on lan0",
          validLifetimeS: 7200,
          t1S: 1800,
        },
      },
    },
  } as unknown as SstpClient;
  const options = {
    name: "sstp-out1",
    connectTo: { host: "198.18.60.1", port: 443, kind: "ipv4" },
    user: "carol",
  } as unknown as ConnectOptions;
  const lines = formatClientMonitor(clientStatus(client, options, 0)).join("\n");
  assert.match(lines, /^ *ipv6-link-local: fe80::a:b:c:d$/m);
  assert.match(lines, /^ *ipv6-peer-link-local: fe80::1$/m);
  assert.match(lines, /^ *ipv6-addresses: \["2001:2:0:100:a:b:c:d\/64"\]$/m);
  assert.match(lines, /^ *ipv6-prefixes: \["2001:2:0:100::\/64"\]$/m);
  assert.match(lines, /^ *ipv6-dns: \["2001:2::53"\]$/m);
  assert.match(lines, /^ *ipv6-delegated-prefix: 2001:2:0:8000::\/60$/m);
  assert.match(lines, /^ *ipv6-delegated-to: 2001:2:0:8000::1\/64 on lan0$/m);
});
