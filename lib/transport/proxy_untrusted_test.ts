/**
 * Both listeners that read a PROXY header (cleartext offload and PROXY +
 * TLS) refuse a source outside `proxy-protocol-from` the same way: the
 * connection is closed before anything is read from it, and a stream of
 * such connections logs one refusal per window, not one line each.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import { createLogger, type Logger } from "../log.ts";
import { encodeProxyV2 } from "./proxy_protocol.ts";
import { listenPlainTcp } from "./plain_tcp_listener.ts";
import { listenProxyTls } from "./proxy_tls_listener.ts";
import type { TlsListener } from "./tls_server.ts";

const cert = await createSelfSignedServerCertificate({
  commonName: "proxy-untrusted-test",
  ipAddresses: ["127.0.0.1"],
});

/** Connects, writes `bytes` and resolves once the server has closed the connection. */
function dialUntilClosed(port: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(bytes));
    sock.on("data", () => {});
    sock.on("error", () => {});
    sock.on("close", () => resolve());
  });
}

const CONNECTIONS = 6;

const TRUSTED = ["198.18.90.3"];

for (
  const [name, listen] of [
    ["cleartext (tls: no)", (logger: Logger) =>
      listenPlainTcp({
        hostname: ["127.0.0.1"],
        port: 0,
        certPem: cert.certPem,
        proxy: { mode: "v2", trusted: TRUSTED },
        logger,
      })],
    [
      "PROXY + TLS",
      (logger: Logger) =>
        listenProxyTls({
          ...cert,
          hostname: ["127.0.0.1"],
          port: 0,
          mode: "v2",
          trusted: TRUSTED,
          logger,
        }),
    ],
  ] as const
) {
  Deno.test(`${name} listener: ${CONNECTIONS} connections from an untrusted source are closed, the refusal is logged once`, async () => {
    const lines: string[] = [];
    const listener: TlsListener = await listen(
      createLogger("debug", (level, line) => lines.push(`${level} ${line}`)),
    );
    const accepted: unknown[] = [];
    const serving = (async () => {
      for await (const d of listener) {
        accepted.push(d);
        d.close();
      }
    })();
    try {
      const header = encodeProxyV2({ address: "198.18.7.7", port: 1 }, {
        address: "198.18.1.1",
        port: 2,
      });
      for (let i = 0; i < CONNECTIONS; i++) {
        await dialUntilClosed(listener.addrs[0]!.port, header);
      }
      const refusals = lines.filter((l) => /not in proxy-protocol-from/.test(l));
      assert.deepEqual(refusals, [
        "warn refused a connection from 127.0.0.1: not in proxy-protocol-from",
      ], lines.join("\n"));
      assert.equal(accepted.length, 0);
    } finally {
      listener.close();
      await listener.closed;
      await serving;
    }
  });
}
