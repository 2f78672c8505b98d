import assert from "node:assert/strict";
import * as net from "node:net";
import { createLogger } from "../log.ts";
import { concatBytes } from "../bytes/hex.ts";
import { encodeProxyV2 } from "./proxy_protocol.ts";
import { listenPlainTcp } from "./plain_tcp_listener.ts";
import type { TlsListener } from "./tls_server.ts";

const PEM_A = "-----BEGIN CERTIFICATE-----\nQQ==\n-----END CERTIFICATE-----\n";
const PEM_B = "-----BEGIN CERTIFICATE-----\nQg==\n-----END CERTIFICATE-----\n";

/** Writes `bytes` in one write to 127.0.0.1:port; resolves with everything the server wrote. */
function dial(port: number, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const sock = net.connect(port, "127.0.0.1", () => sock.write(bytes));
    sock.on("data", (d) => got += d);
    sock.on("error", () => resolve(`error:${got}`));
    sock.on("close", () => resolve(got));
  });
}

/**
 * Answers every connection with `remoteAddr | certificateOf | the first line it read`,
 * then closes it.
 */
function echoServe(listener: TlsListener): Promise<void> {
  return (async () => {
    for await (const d of listener) {
      const reader = d.readable.getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      const w = d.writable.getWriter();
      const pem = listener.certificateOf(d) === PEM_A ? "A" : "B";
      await w.write(
        new TextEncoder().encode(
          `${d.remoteAddr.hostname}:${d.remoteAddr.port}|${pem}|${text.split("\n")[0]}`,
        ),
      );
      w.releaseLock();
      d.close();
      await d.closed;
    }
  })();
}

Deno.test("plain TCP listener (tls: no): hands connections over at once; certificateOf follows setCertificate", async () => {
  const listener = await listenPlainTcp({ hostname: ["127.0.0.1"], port: 0, certPem: PEM_A });
  const serve = echoServe(listener);
  try {
    const port = listener.addrs[0]!.port;
    const got = await dial(port, new TextEncoder().encode("SSTP_DUPLEX_POST /x HTTP/1.1\r\n"));
    assert.match(got, /^127\.0\.0\.1:\d+\|A\|SSTP_DUPLEX_POST \/x HTTP\/1\.1\r$/);
    await listener.setCertificate({ certPem: PEM_B, keyPem: "" });
    assert.match(await dial(port, new TextEncoder().encode("hello\n")), /\|B\|hello$/);
  } finally {
    listener.close();
    await listener.closed;
    await serve;
  }
});

Deno.test("plain TCP listener with PROXY protocol: the header's client is remoteAddr, the bytes after it arrive; untrusted, header-less and slow peers are closed", async () => {
  const lines: string[] = [];
  const listener = await listenPlainTcp({
    hostname: ["127.0.0.1"],
    port: 0,
    certPem: PEM_A,
    proxy: { mode: "any", trusted: ["127.0.0.1"] },
    handshakeTimeoutMs: 300,
    logger: createLogger("debug", (_l, line) => lines.push(line)),
  });
  const serve = echoServe(listener);
  try {
    const port = listener.addrs[0]!.port;
    const v2 = encodeProxyV2(
      { address: "198.18.7.7", port: 50000 },
      { address: "198.18.1.1", port: 443 },
    );
    // Header and request in one segment, as HAProxy often sends them.
    const request = new TextEncoder().encode("SSTP_DUPLEX_POST /y HTTP/1.1\r\n");
    assert.equal(
      await dial(port, concatBytes(v2, request)),
      "198.18.7.7:50000|A|SSTP_DUPLEX_POST /y HTTP/1.1\r",
    );
    const v1 = new TextEncoder().encode("PROXY TCP4 198.18.8.8 198.18.1.1 40000 443\r\nhi\n");
    assert.equal(await dial(port, v1), "198.18.8.8:40000|A|hi");
    // No header: the HTTP request is not a PROXY header.
    assert.match(await dial(port, request), /^(error:)?$/);
    assert.ok(lines.some((l) => /refused 127\.0\.0\.1:\d+: /.test(l)), lines.join("\n"));
    // Nothing at all: closed at the deadline.
    const started = performance.now();
    assert.match(await dial(port, new Uint8Array(0)), /^(error:)?$/);
    assert.ok(performance.now() - started < 5000);
    assert.ok(lines.some((l) => /no PROXY header within 300 ms/.test(l)), lines.join("\n"));
  } finally {
    listener.close();
    await listener.closed;
    await serve;
  }

  const untrusted = await listenPlainTcp({
    hostname: ["127.0.0.1"],
    port: 0,
    certPem: PEM_A,
    proxy: { mode: "v2", trusted: ["198.18.3.1"] },
    logger: createLogger("debug", (_l, line) => lines.push(line)),
  });
  const serve2 = echoServe(untrusted);
  try {
    const v2 = encodeProxyV2({ address: "198.18.7.7", port: 1 }, {
      address: "198.18.1.1",
      port: 2,
    });
    assert.match(await dial(untrusted.addrs[0]!.port, v2), /^(error:)?$/);
    assert.ok(lines.some((l) => /not in proxy-protocol-from/.test(l)));
  } finally {
    untrusted.close();
    await untrusted.closed;
    await serve2;
  }
});
