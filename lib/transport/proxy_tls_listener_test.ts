import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import { createLogger } from "../log.ts";
import { encodeProxyV2 } from "./proxy_protocol.ts";
import { listenProxyTls } from "./proxy_tls_listener.ts";
import { serverClosed } from "../../test/helpers/conn_probe.ts";

const cert = await createSelfSignedServerCertificate({
  commonName: "proxy-test",
  ipAddresses: ["127.0.0.1"],
});

/** Connects to 127.0.0.1:port, sends `preface`, then TLS; resolves with what the server wrote. */
function dial(port: number, preface: Uint8Array): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => {
      sock.write(preface);
      const c = tls.connect({ socket: sock, rejectUnauthorized: false });
      let got = "";
      c.on("data", (d) => got += d);
      c.on("error", () => resolve(`error:${got}`));
      c.on("close", () => resolve(got));
    });
    sock.on("error", () => resolve("error"));
  });
}

Deno.test("PROXY listener: the header's source becomes remoteAddr; untrusted or header-less peers are refused", async () => {
  const lines: string[] = [];
  const listener = await listenProxyTls({
    hostname: ["127.0.0.1"],
    port: 0,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    mode: "any",
    trusted: ["127.0.0.1"],
    handshakeTimeoutMs: 2000,
    logger: createLogger("debug", (_l, line) => lines.push(line)),
  });
  const port = listener.addrs[0]!.port;
  const serve = (async () => {
    for await (const d of listener) {
      const w = d.writable.getWriter();
      await w.write(new TextEncoder().encode(`${d.remoteAddr.hostname}:${d.remoteAddr.port}`));
      await w.close().catch(() => {});
      d.close();
      await d.closed;
    }
  })();
  try {
    const v2 = encodeProxyV2(
      { address: "198.18.7.7", port: 50000 },
      { address: "198.18.1.1", port: 443 },
    );
    assert.equal(await dial(port, v2), "198.18.7.7:50000");
    const v1 = new TextEncoder().encode("PROXY TCP6 2001:2::7 2001:2::1 40000 443\r\n");
    assert.equal(await dial(port, v1), "2001:2::7:40000");
    // No header: the TLS ClientHello itself is refused as not a PROXY header.
    assert.match(await dial(port, new Uint8Array(0)), /^error|^$/);
    assert.ok(lines.some((l) => /does not start with a PROXY protocol/.test(l)), lines.join("\n"));
  } finally {
    listener.close();
    await serve;
    await listener.closed;
  }
  // Untrusted source: a listener trusting only another address.
  const strict = await listenProxyTls({
    hostname: ["127.0.0.1"],
    port: 0,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    mode: "v2",
    trusted: ["198.18.90.3"],
    logger: createLogger("debug", (_l, line) => lines.push(line)),
  });
  try {
    const v2 = encodeProxyV2({ address: "198.18.7.7", port: 1 }, {
      address: "198.18.1.1",
      port: 2,
    });
    assert.match(await dial(strict.addrs[0]!.port, v2), /^error|^$/);
    assert.ok(lines.some((l) => /not in proxy-protocol-from/.test(l)));
  } finally {
    strict.close();
    await strict.closed;
  }
});

Deno.test("PROXY listener: max-handshakes-per-source counts the header's client, not the balancer", async () => {
  const lines: string[] = [];
  const listener = await listenProxyTls({
    hostname: ["127.0.0.1"],
    port: 0,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    mode: "v2",
    trusted: ["127.0.0.1"],
    handshakeTimeoutMs: 5000,
    maxHandshakes: 13,
    maxHandshakesPerSource: 2,
    logger: createLogger("debug", (_l, line) => lines.push(line)),
  });
  const port = listener.addrs[0]!.port;
  const serve = (async () => {
    for await (const d of listener) {
      const w = d.writable.getWriter();
      await w.write(new TextEncoder().encode(d.remoteAddr.hostname));
      await w.close().catch(() => {});
      d.close();
      await d.closed;
    }
  })();
  const header = (address: string) =>
    encodeProxyV2({ address, port: 40000 }, { address: "198.18.1.1", port: 443 });
  const conns: Deno.TcpConn[] = [];
  const open = async (bytes?: Uint8Array) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(c);
    if (bytes !== undefined) await c.write(bytes);
    // Accepted and its header read before the next one.
    await new Promise((r) => setTimeout(r, 30));
    return c;
  };
  try {
    // Ten connections from the balancer before their header: more than the
    // per-source cap of 2, all held (the balancer is many clients).
    const waiting = [];
    for (let i = 0; i < 10; i++) waiting.push(await open());
    assert.deepEqual(
      await Promise.all(waiting.map((c) => serverClosed(c, 100))),
      new Array(10).fill("open"),
    );
    // Two handshakes for client 198.18.7.7 are held, the third is closed at once.
    const first = await open(header("198.18.7.7"));
    const second = await open(header("198.18.7.7"));
    const third = await open(header("198.18.7.7"));
    assert.equal(await serverClosed(third, 1000), "closed");
    assert.equal(await serverClosed(first, 100), "open");
    assert.equal(await serverClosed(second, 100), "open");
    assert.ok(
      lines.some((l) => /198\.18\.7\.7: max-handshakes-per-source 2 reached/.test(l)),
      lines.join("\n"),
    );
    // Another client behind the same balancer still gets through.
    assert.equal(await dial(port, header("198.18.7.8")), "198.18.7.8");
    // 12 held: the 13th fits, the 14th closes the oldest (max-handshakes 13).
    await open();
    assert.equal(await serverClosed(waiting[0]!, 100), "open");
    await open();
    assert.equal(await serverClosed(waiting[0]!, 1000), "closed");
    assert.equal(await serverClosed(waiting[1]!, 100), "open");
  } finally {
    for (const c of conns) c.close();
    listener.close();
    await serve;
    await listener.closed;
  }
});

Deno.test("PROXY listener: the handshake duration (from the TCP accept, header included) is reported and acceptedMs set", async () => {
  const durations: number[] = [];
  let clockMs = 1000;
  const listener = await listenProxyTls({
    ...cert,
    hostname: ["127.0.0.1"],
    port: 0,
    mode: "v2",
    trusted: ["127.0.0.1"],
    // Each reading advances 40 ms: accept at one reading, handshake done at a later one.
    clock: { now: () => clockMs += 40 },
    onHandshake: (ms) => durations.push(ms),
  });
  const accepted: number[] = [];
  const serve = (async () => {
    for await (const d of listener) {
      accepted.push(d.info.acceptedMs ?? -1);
      const w = d.writable.getWriter();
      await w.write(new TextEncoder().encode("ok"));
      await w.close().catch(() => {});
      d.close();
      await d.closed;
    }
  })();
  try {
    const v2 = encodeProxyV2({ address: "198.18.7.7", port: 1 }, {
      address: "198.18.1.1",
      port: 2,
    });
    assert.equal(await dial(listener.addrs[0]!.port, v2), "ok");
    assert.equal(durations.length, 1);
    assert.ok(durations[0]! > 0, String(durations[0]));
    assert.equal(accepted.length, 1);
    assert.ok(accepted[0]! >= 1000, String(accepted[0]));
  } finally {
    listener.close();
    await listener.closed;
    await serve;
  }
});
