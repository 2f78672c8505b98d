import "reflect-metadata";
import assert from "node:assert/strict";
import * as net from "node:net";
import { buildConnectRequest, parseConnectResponse } from "./http_proxy.ts";
import { dialTls } from "./tls_client.ts";
import { listenTls } from "./tls_server.ts";
import { createSelfSignedServerCertificate } from "../cert/self_signed.ts";
import { certificateFingerprint } from "../cert/fingerprint.ts";
import { ProtocolError } from "../errors.ts";

Deno.test("buildConnectRequest() names the configured port, SSTPVERSION and Basic credentials", () => {
  assert.equal(
    buildConnectRequest("vpn.example.com", 8443),
    "CONNECT vpn.example.com:8443 HTTP/1.1\r\nHost: vpn.example.com:8443\r\nSSTPVERSION: 1.0\r\n\r\n",
  );
  assert.match(
    buildConnectRequest("2001:db8::1", 443, { user: "u", password: "p" }),
    /^CONNECT \[2001:db8::1\]:443 HTTP\/1\.1\r\n.*Proxy-Authorization: Basic dTpw\r\n\r\n$/s,
  );
});

Deno.test("parseConnectResponse() waits for the whole header and rejects junk", () => {
  const enc = (t: string) => new TextEncoder().encode(t);
  assert.equal(parseConnectResponse(enc("HTTP/1.1 200 Connection established\r\n")), null);
  assert.deepEqual(parseConnectResponse(enc("HTTP/1.1 200 Connection established\r\n\r\n")), {
    status: 200,
    reason: "Connection established",
    consumed: 39,
  });
  assert.throws(() => parseConnectResponse(enc("SSH-2.0-x\r\n\r\n")), ProtocolError);
});

/** A tiny CONNECT proxy on 127.0.0.1 that requires `auth` when given. */
function startProxy(
  auth?: string,
): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once("data", (data) => {
      const head = data.toString("latin1");
      seen.push(head);
      const m = /^CONNECT 127\.0\.0\.1:(\d+) HTTP\/1\.1\r\n/.exec(head);
      if (auth && !head.includes(`Proxy-Authorization: Basic ${btoa(auth)}`)) {
        client.end("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
        return;
      }
      if (!m) {
        client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
        return;
      }
      const upstream = net.connect({ host: "127.0.0.1", port: Number(m[1]) }, () => {
        client.write("HTTP/1.1 200 Connection established\r\n\r\n");
        client.pipe(upstream);
        upstream.pipe(client);
      });
      sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        seen,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

Deno.test("dialTls() reaches the server through an HTTP CONNECT proxy, with and without credentials", async () => {
  const cert = await createSelfSignedServerCertificate({
    commonName: "127.0.0.1",
    ipAddresses: ["127.0.0.1"],
  });
  const listener = await listenTls({ hostname: "127.0.0.1", port: 0, ...cert });
  const serverPort = listener.addrs[0]!.port;
  const echo = (async () => {
    for await (const conn of listener) {
      (async () => {
        try {
          const r = conn.readable.getReader();
          const w = conn.writable.getWriter();
          const { value } = await r.read();
          if (value) await w.write(value);
        } catch { /* the 407 case never reaches here; others may close early */ }
        conn.close();
      })();
    }
  })();
  const pin = certificateFingerprint(cert.certDer, "sha256");
  const open = await startProxy();
  const locked = await startProxy("u:s3cret");
  try {
    const conn = await dialTls({
      host: "127.0.0.1",
      port: serverPort,
      serverFingerprintSha256: pin,
      httpProxy: { host: "127.0.0.1", port: open.port },
    });
    assert.deepEqual(conn.peerCertDer, cert.certDer);
    const w = conn.duplex.writable.getWriter();
    await w.write(new TextEncoder().encode("ping"));
    const { value } = await conn.duplex.readable.getReader().read();
    assert.equal(new TextDecoder().decode(value), "ping");
    conn.duplex.close();
    await conn.duplex.closed;
    assert.match(
      open.seen[0]!,
      new RegExp(`^CONNECT 127\\.0\\.0\\.1:${serverPort} HTTP/1\\.1\r\n`),
    );
    assert.match(open.seen[0]!, /SSTPVERSION: 1\.0/);

    await assert.rejects(
      dialTls({
        host: "127.0.0.1",
        port: serverPort,
        serverFingerprintSha256: pin,
        httpProxy: { host: "127.0.0.1", port: locked.port },
      }),
      /HTTP 407 .*proxy wants credentials/,
    );
    const authed = await dialTls({
      host: "127.0.0.1",
      port: serverPort,
      serverFingerprintSha256: pin,
      httpProxy: { host: "127.0.0.1", port: locked.port, user: "u", password: "s3cret" },
    });
    authed.duplex.close();
    await authed.duplex.closed;
  } finally {
    await open.close();
    await locked.close();
    listener.close();
    await echo;
    await listener.closed;
  }
});
