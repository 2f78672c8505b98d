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
