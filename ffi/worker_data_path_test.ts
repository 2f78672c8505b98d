import assert from "node:assert/strict";
import { EpollReactor } from "./epoll_reactor.ts";
import { openSsl, SslContext } from "./openssl.ts";
import { acceptTcp, listenTcp, OpenSslConn } from "./openssl_conn.ts";
import { closeQuietly, libc } from "./libc.ts";
import { openSslDialer } from "./openssl_dialer.ts";
import { isIpv6LinkControl } from "./data_plane_worker_routing.ts";
import { encodeSstpPacket } from "../lib/sstp/packet.ts";
import { SstpFramer } from "../lib/sstp/framer.ts";
import type { SstpPacket } from "../lib/sstp/packet.ts";
import {
  dataPacket,
  fdsTo,
  ipv4,
  packetPair,
  Peer,
  readPacket,
  selfSigned,
  tcpSocket,
  until,
} from "../test/helpers/openssl_worker_pair.ts";
import type { TlsEngineDialer } from "../lib/tls_engine.ts";
import type { TunDevice } from "../lib/tun.ts";

const ignore = openSsl() === undefined;

// The deadlines are long because `deno test` type-checks the Worker's module
// when the Worker starts (seconds on a loaded machine); `sstp connect` does not.
Deno.test({
  name:
    "worker_data_path: control crosses the lane, IP crosses TUN<->TLS in the Worker, the peer's close ends it and every fd is closed once",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const reactor = new EpollReactor();
    const serverCtx = new SslContext({ role: "server", ...(await selfSigned(dir)) });
    const { fd: listenFd, port } = listenTcp("127.0.0.1", 0);
    const [tunFd, kernelFd] = packetPair();
    const tunFile = Deno.readLinkSync(`/proc/self/fd/${tunFd}`);
    let tcpFile = "";
    try {
      const accepted = new Promise<OpenSslConn>((resolve) => {
        reactor.register(listenFd, () => {
          const fd = acceptTcp(listenFd);
          if (fd === undefined) return;
          reactor.unregister(listenFd);
          resolve(new OpenSslConn(fd, serverCtx, reactor));
        });
      });
      const dialer = openSslDialer("worker") as TlsEngineDialer;
      assert.equal(typeof dialer, "object");
      const conn = await dialer.dial({
        address: "127.0.0.1",
        port,
        verifyChain: false,
        minVersion: "TLSv1.2",
        timeoutMs: 5000,
      });
      tcpFile = tcpSocket(conn.duplex.localAddr.port);
      assert.equal(fdsTo(tcpFile), 1);
      const offload = conn.offload;
      assert.ok(offload !== undefined);
      const server = await accepted;
      await server.handshake;
      const peer = new Peer(server);

      // Before the hand-over the lane writes on this thread.
      const hello = encodeSstpPacket({
        kind: "control",
        message: { messageType: 5, attributes: [] },
      });
      assert.equal(conn.duplex.lane.write(hello), undefined);
      // Bytes after the HTTP header: framed by the Worker first.
      offload.prepend(hello);
      const gate = {
        isIpv4Open: false,
        isIpv6Open: false,
        peerMru: 1500,
        framing: { acfc: false, pfc: false },
      };
      const counters = {
        rxBytes: 0,
        rxPackets: 0,
        txBytes: 0,
        txPackets: 0,
        droppedInbound: 0,
        lastDataMs: 0,
      };
      offload.attach(gate, counters, () => 1);
      const framer = new SstpFramer();
      const got: SstpPacket[] = [];
      let ended: { error?: Error } | undefined;
      let emptyChunks = 0;
      conn.duplex.lane.takeReads(
        (chunk) => {
          if (chunk.length === 0) emptyChunks++;
          framer.pushEach(chunk, (p) => got.push(p));
        },
        (error) => (ended = error === undefined ? {} : { error }),
      );
      assert.equal((await peer.next()).kind, "control");
      // After the hand-over: through the Worker.
      conn.duplex.lane.write(hello);
      assert.equal((await peer.next()).kind, "control");

      // No TUN device yet: data comes to this thread, like control.
      server.write(dataPacket(ipv4([1, 2, 3])));
      server.write(hello);
      await until(() => got.length >= 3);
      assert.deepEqual(got.map((p) => p.kind), ["control", "data", "control"]);

      // Link up: the Worker takes the device; the gate opens with it.
      gate.isIpv4Open = true;
      const stats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
      const tun = { name: "fake0", fd: tunFd, stats } as unknown as TunDevice & { fd: number };
      const proxy = offload.adoptTun(tun, {});
      assert.ok(proxy !== undefined);
      assert.equal(fdsTo(tunFile), 2, "the Worker holds a duplicate of the device fd");
      const ip = ipv4([9, 9, 9, 9]);
      server.write(dataPacket(ip));
      assert.deepEqual(await readPacket(kernelFd), ip);
      // TUN → TLS: one SSTP data packet with the uncompressed PPP header.
      const out = ipv4([7, 7]);
      libc().write(kernelFd, out, BigInt(out.length));
      const p = await peer.next();
      assert.equal(p.kind, "data");
      if (p.kind === "data") {
        assert.deepEqual(p.data, new Uint8Array([0xff, 0x03, 0x00, 0x21, ...out]));
      }
      // The runner's own TUN writes (held packets) go through the Worker too.
      proxy.writePackets([ip]);
      assert.deepEqual(await readPacket(kernelFd), ip);
      await until(() => counters.rxPackets === 1 && counters.txPackets === 1);
      assert.equal(got.length, 3);
      assert.ok(emptyChunks >= 1, "a counter update with received packets notes a receive");

      // The gate closes (the runner wrote a control packet after it changed): IP is dropped.
      gate.isIpv4Open = false;
      conn.duplex.lane.write(hello);
      await peer.next();
      server.write(dataPacket(ip));
      await until(() => counters.droppedInbound === 1);

      // The peer closes: the Worker ends, releases the socket and the SSL*.
      server.close();
      await until(() => ended !== undefined);
      await conn.duplex.closed;
      // OpenSSL is told to take an EOF without close_notify as the end (SSL_OP_IGNORE_UNEXPECTED_EOF).
      assert.deepEqual(ended, {});
    } finally {
      closeQuietly(listenFd);
      reactor.close();
      await reactor.closed;
      serverCtx.free();
      await Deno.remove(dir, { recursive: true });
    }
    // The Worker closed the socket and its TUN duplicate (the device's own fd is the caller's).
    assert.equal(fdsTo(tcpFile), 0);
    assert.equal(fdsTo(tunFile), 1);
    closeQuietly(tunFd);
    closeQuietly(kernelFd);
  },
});

Deno.test({
  name: "worker_data_path: close() before the hand-over closes the socket and stops the Worker",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const reactor = new EpollReactor();
    const serverCtx = new SslContext({ role: "server", ...(await selfSigned(dir)) });
    const { fd: listenFd, port } = listenTcp("127.0.0.1", 0);
    try {
      const accepted = new Promise<OpenSslConn>((resolve) => {
        reactor.register(listenFd, () => {
          const fd = acceptTcp(listenFd);
          if (fd === undefined) return;
          reactor.unregister(listenFd);
          resolve(new OpenSslConn(fd, serverCtx, reactor));
        });
      });
      const dialer = openSslDialer("worker") as TlsEngineDialer;
      const conn = await dialer.dial({
        address: "127.0.0.1",
        port,
        verifyChain: false,
        minVersion: "TLSv1.2",
        timeoutMs: 5000,
      });
      const server = await accepted;
      conn.duplex.close();
      await conn.duplex.closed;
      server.close();
      await server.closed;
    } finally {
      closeQuietly(listenFd);
      reactor.close();
      await reactor.closed;
      serverCtx.free();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("data_plane_worker_routing: neighbour discovery and DHCPv6 go to the main thread", () => {
  const v6 = (next: number, body: number[]) => {
    const p = new Uint8Array(40 + body.length);
    p[0] = 0x60;
    p[6] = next;
    p.set(body, 40);
    return p;
  };
  assert.equal(isIpv6LinkControl(v6(58, [134, 0, 0, 0])), true); // Router Advertisement
  assert.equal(isIpv6LinkControl(v6(58, [128, 0, 0, 0])), false); // echo request
  assert.equal(isIpv6LinkControl(v6(17, [2, 35, 2, 34, 0, 8, 0, 0])), true); // to port 546
  assert.equal(isIpv6LinkControl(v6(17, [0, 53, 0, 53, 0, 8, 0, 0])), false);
  assert.equal(isIpv6LinkControl(ipv4([58, 134, 0, 0])), false);
});
