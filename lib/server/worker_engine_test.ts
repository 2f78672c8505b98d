import assert from "node:assert/strict";
import { openSslWorkerUnsupported } from "./worker_engine.ts";

Deno.test("openSslWorkerUnsupported: names each setting the Worker engine cannot honour", () => {
  const base = { tls: true, verifyClientCertificate: false, proxyProtocol: "no" as const };
  assert.deepEqual(openSslWorkerUnsupported(base), []);
  assert.deepEqual(
    openSslWorkerUnsupported({ tls: false, verifyClientCertificate: true, proxyProtocol: "yes" }),
    ["tls: no (TLS offload)", "verify-client-certificate: yes", "proxy-protocol: yes"],
  );
});
