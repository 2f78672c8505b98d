import assert from "node:assert/strict";
import { openSslWorkerUnsupported } from "./worker_engine.ts";

Deno.test("openSslWorkerUnsupported: names each setting the Worker engine cannot honour", () => {
  assert.deepEqual(openSslWorkerUnsupported({ tls: true, proxyProtocol: "no" }), []);
  assert.deepEqual(
    openSslWorkerUnsupported({ tls: false, proxyProtocol: "yes" }),
    ["tls: no (TLS offload)", "proxy-protocol: yes"],
  );
});
