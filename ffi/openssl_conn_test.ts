import assert from "node:assert/strict";
import { EpollReactor } from "./epoll_reactor.ts";
import { openSsl, SslContext } from "./openssl.ts";
import {
  acceptTcp,
  dialOpenSsl,
  listenTcp,
  type OpenSslConn,
  OpenSslConn as Conn,
} from "./openssl_conn.ts";
import { closeQuietly } from "./libc.ts";
import { dialOpenSslMem } from "./openssl_mem_conn.ts";
import { openSslDialer, openSslServer } from "./openssl_dialer.ts";
import type { ByteDuplex } from "../lib/duplex.ts";
import { testEngineAdmission } from "../test/helpers/engine_admission.ts";
import { until } from "../test/helpers/openssl_worker_pair.ts";

const ignore = openSsl() === undefined;

async function selfSigned(dir: string): Promise<{ certPem: string; keyPem: string }> {
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=sstp-test",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return {
    certPem: await Deno.readTextFile(`${dir}/cert.pem`),
    keyPem: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

function pemToDer(pem: string): Uint8Array {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Accepts one connection on `listenFd` through the reactor. */
function acceptOne(reactor: EpollReactor, listenFd: number, ctx: SslContext): Promise<OpenSslConn> {
  return new Promise((resolve, reject) => {
    reactor.register(listenFd, () => {
      try {
        const fd = acceptTcp(listenFd);
        if (fd === undefined) return;
        reactor.unregister(listenFd);
        resolve(new Conn(fd, ctx, reactor));
      } catch (e) {
        reject(e);
      }
    });
  });
}

Deno.test({
  name: "openssl_conn: two OpenSSL endpoints over loopback echo 1 MiB; client sees the server leaf",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const reactor = new EpollReactor();
    const serverCtx = new SslContext({ role: "server", ...(await selfSigned(dir)) });
    const clientCtx = new SslContext({ role: "client", verify: false });
    const { fd: listenFd, port } = listenTcp("127.0.0.1", 0);
    try {
      const accepted = acceptOne(reactor, listenFd, serverCtx);
      const client = await dialOpenSsl({
        host: "127.0.0.1",
        port,
        serverName: "sstp-test",
        ctx: clientCtx,
        reactor,
        timeoutMs: 5_000,
      });
      const server = await accepted;
      await server.handshake;
      const info = client.info();
      assert.equal(info.tlsVersion, "TLSv1.3");
      assert.deepEqual(
        info.peerCertDer,
        pemToDer(await Deno.readTextFile(`${dir}/cert.pem`)),
      );
      assert.equal(server.info().peerCertDer, undefined);
      // Server echoes; client sends 1 MiB in 1,400-byte writes and counts.
      let serverEnded = false;
      server.takeReads((chunk) => void server.write(chunk), () => {
        serverEnded = true;
        server.close();
      });
      const total = 1024 * 1024;
      const sent = new Uint8Array(total).map((_, i) => (i * 7) & 0xff);
      const received: Uint8Array[] = [];
      let got = 0;
      const done = new Promise<void>((resolve, reject) => {
        client.takeReads((chunk) => {
          received.push(chunk);
          got += chunk.length;
          if (got >= total) resolve();
        }, (e) => e ? reject(e) : undefined);
      });
      for (let off = 0; off < total; off += 1400) {
        await client.write(sent.subarray(off, Math.min(total, off + 1400)));
      }
      await done;
      const all = new Uint8Array(got);
      let o = 0;
      for (const c of received) {
        all.set(c, o);
        o += c.length;
      }
      assert.deepEqual(all, sent);
      client.shutdown();
      client.close();
      await client.closed;
      await server.closed;
      assert.ok(serverEnded);
    } finally {
      closeQuietly(listenFd);
      clientCtx.free();
      serverCtx.free();
      reactor.close();
      await reactor.closed;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "openssl_conn: TLS 1.2 against `openssl s_server`, a refused port gives ECONNREFUSED",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    await selfSigned(dir);
    const { fd: probe, port } = listenTcp("127.0.0.1", 0);
    closeQuietly(probe);
    const reactor = new EpollReactor();
    const ctx = new SslContext({ role: "client", maxVersion: "TLSv1.2" });
    await assert.rejects(
      dialOpenSsl({ host: "127.0.0.1", port, ctx, reactor, timeoutMs: 5_000 }),
      /ECONNREFUSED/,
    );
    const server = new Deno.Command("openssl", {
      args: [
        "s_server",
        "-accept",
        `127.0.0.1:${port}`,
        "-cert",
        `${dir}/cert.pem`,
        "-key",
        `${dir}/key.pem`,
        "-rev",
        "-naccept",
        "1",
        "-quiet",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let conn: OpenSslConn | undefined;
      for (let i = 0; i < 50 && conn === undefined; i++) {
        try {
          conn = await dialOpenSsl({ host: "127.0.0.1", port, ctx, reactor, timeoutMs: 5_000 });
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(conn !== undefined, "s_server did not accept within 5 s");
      assert.equal(conn.info().tlsVersion, "TLSv1.2");
      const line = await new Promise<string>((resolve, reject) => {
        let text = "";
        conn.takeReads((chunk) => {
          text += new TextDecoder().decode(chunk);
          if (text.includes("\n")) resolve(text);
        }, (e) => reject(e ?? new Error("EOF before reply")));
        conn.write(new TextEncoder().encode("hello sstp\n"));
      });
      assert.match(line, /ptss olleh/);
      conn.close();
      await conn.closed;
    } finally {
      try {
        server.kill();
      } catch { /* already exited */ }
      await server.status;
      ctx.free();
      reactor.close();
      await reactor.closed;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "openssl_mem_conn: memory-BIO client echoes 256 KiB through an epoll server; its TCP close is EOF",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const reactor = new EpollReactor();
    const serverCtx = new SslContext({ role: "server", ...(await selfSigned(dir)) });
    const clientCtx = new SslContext({ role: "client", maxVersion: "TLSv1.2" });
    const { fd: listenFd, port } = listenTcp("127.0.0.1", 0);
    try {
      const accepted = acceptOne(reactor, listenFd, serverCtx);
      const client = await dialOpenSslMem({
        host: "127.0.0.1",
        port,
        ctx: clientCtx,
        timeoutMs: 5_000,
      });
      const server = await accepted;
      await server.handshake;
      assert.equal(client.info().tlsVersion, "TLSv1.2");
      assert.deepEqual(
        client.info().peerCertDer,
        pemToDer(await Deno.readTextFile(`${dir}/cert.pem`)),
      );
      let serverEnd: { error?: Error } | undefined;
      server.takeReads((chunk) => void server.write(chunk), (error) => {
        serverEnd = error === undefined ? {} : { error };
        server.close();
      });
      const total = 256 * 1024;
      const sent = new Uint8Array(total).map((_, i) => (i * 13) & 0xff);
      const all = new Uint8Array(total);
      let got = 0;
      const done = new Promise<void>((resolve, reject) => {
        client.takeReads((chunk) => {
          all.set(chunk, got);
          got += chunk.length;
          if (got >= total) resolve();
        }, (e) => e ? reject(e) : undefined);
      });
      for (let off = 0; off < total; off += 4000) {
        await client.write(sent.subarray(off, Math.min(total, off + 4000)));
      }
      await done;
      assert.deepEqual(all, sent);
      // A TCP close without close_notify reads as a clean EOF (SSL_OP_IGNORE_UNEXPECTED_EOF).
      client.close();
      await client.closed;
      await server.closed;
      assert.deepEqual(serverEnd, {});
    } finally {
      closeQuietly(listenFd);
      clientCtx.free();
      serverCtx.free();
      reactor.close();
      await reactor.closed;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "openssl_dialer: engine server and dialer talk; a stalled handshake is closed at its deadline",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const pems = await selfSigned(dir);
    const server = openSslServer();
    const dialer = openSslDialer("deno");
    assert.ok(typeof server !== "string" && typeof dialer !== "string");
    const accepted: ByteDuplex[] = [];
    const errors: string[] = [];
    const admission = testEngineAdmission({ handshakeTimeoutMs: 300 });
    const listener = server.listen({
      hostname: "127.0.0.1",
      port: 0,
      ...pems,
      admit: admission.admit,
      onConnection: (d) => {
        accepted.push(d);
        d.lane.takeReads((chunk) => void d.lane.write(chunk), () => d.close());
      },
      onHandshakeError: (_peer, e) => errors.push(e.message),
    });
    try {
      const conn = await dialer.dial({
        address: "127.0.0.1",
        port: listener.addr.port,
        verifyChain: true,
        minVersion: "TLSv1.2",
        timeoutMs: 5_000,
      });
      assert.equal(conn.chain.ok, false); // self-signed: the caller decides (pin or refuse)
      assert.deepEqual(conn.peerCertDer, pemToDer(pems.certPem));
      const echoed = await new Promise<string>((resolve, reject) => {
        conn.duplex.lane.takeReads(
          (chunk) => resolve(new TextDecoder().decode(chunk)),
          (e) => reject(e ?? new Error("EOF")),
        );
        conn.duplex.lane.write(new TextEncoder().encode("ping"));
      });
      assert.equal(echoed, "ping");
      assert.equal(accepted.length, 1);
      // A client that never sends a ClientHello is dropped at the deadline.
      const stalled = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      const eof = await stalled.read(new Uint8Array(16));
      assert.equal(eof, null);
      stalled.close();
      assert.match(admission.lines.join(";"), /failed: no TLS handshake within 300 ms/);
      await until(() => errors.length === 1);
      assert.match(errors[0]!, /closed by admission/);
      conn.duplex.close();
      await conn.duplex.closed;
      await accepted[0]!.closed;
    } finally {
      listener.close();
      await listener.closed;
      admission.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
