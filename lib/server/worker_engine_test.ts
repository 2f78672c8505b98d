import assert from "node:assert/strict";
import { openSslWorkerUnsupported } from "./worker_engine.ts";

Deno.test("openSslWorkerUnsupported: names each setting the Worker engine cannot honour", () => {
  assert.deepEqual(openSslWorkerUnsupported({ tls: true, proxyProtocol: "no" }), []);
  assert.deepEqual(
    openSslWorkerUnsupported({ tls: false, proxyProtocol: "yes" }),
    ["tls: no (TLS offload)", "proxy-protocol: yes"],
  );
});

Deno.test("openSslWorkerUnsupported: interface-mode shared has no per-session device to hand over", () => {
  assert.deepEqual(
    openSslWorkerUnsupported({ tls: true, proxyProtocol: "no", interfaceMode: "shared" }),
    ["interface-mode: shared"],
  );
  assert.deepEqual(
    openSslWorkerUnsupported({ tls: true, proxyProtocol: "no", interfaceMode: "per-session" }),
    [],
  );
});
