import assert from "node:assert/strict";
import { EpollReactor } from "./epoll_reactor.ts";
import { openSsl, SslContext } from "./openssl.ts";
import { connectTcp, dialOpenSsl } from "./openssl_conn.ts";
import { closeQuietly, EAGAIN, errno, libc } from "./libc.ts";
import { listenOpenSslWorker } from "./openssl_worker_server.ts";
import { testEngineAdmission } from "../test/helpers/engine_admission.ts";
import { encodeSstpPacket } from "../lib/sstp/packet.ts";
import type { ByteDuplex } from "../lib/duplex.ts";
import type { TunDevice } from "../lib/tun.ts";
import {
  dataPacket,
  fdsTo,
  ipv4,
  packetPair,
  Peer,
  readPacket,
  selfSigned,
  until,
} from "../test/helpers/openssl_worker_pair.ts";

const ignore = openSsl() === undefined;

/** True once the server closed or reset `fd` (a read returns 0 or fails with other than EAGAIN). */
function isClosedByPeer(fd: number): boolean {
  const n = Number(libc().read(fd, new Uint8Array(16), 16n));
  return n === 0 || (n < 0 && errno() !== EAGAIN);
}

Deno.test({
  name:
    "openssl-worker server: two sessions share one Worker; its data path drops spoofed sources and counts them, passes the rest; closing releases every fd",
  ignore,
  async fn() {
    Deno.env.set("SSTP_DATA_WORKERS", "1");
    const dir = await Deno.makeTempDir();
    const reactor = new EpollReactor();
    const clientCtx = new SslContext({ role: "client" });
    const accepted: ByteDuplex[] = [];
    const errors: string[] = [];
    const admission = testEngineAdmission({ handshakeTimeoutMs: 5000 });
    const listener = listenOpenSslWorker({
      hostname: "127.0.0.1",
      port: 0,
      ...(await selfSigned(dir)),
      admit: admission.admit,
      onConnection: (d) => accepted.push(d),
      onHandshakeError: (peer, e) => errors.push(`${peer}: ${e.message}`),
    });
    const pairs = [packetPair(), packetPair()];
    const tunFiles = pairs.map(([tun]) => Deno.readLinkSync(`/proc/self/fd/${tun}`));
    try {
      const peers: Peer[] = [];
      for (let i = 0; i < 2; i++) {
        const conn = await dialOpenSsl({
          host: "127.0.0.1",
          port: listener.addr.port,
          ctx: clientCtx,
          reactor,
          timeoutMs: 5000,
        });
        peers.push(new Peer(conn));
      }
      await until(() => accepted.length === 2);
      const counters = accepted.map(() => ({
        rxBytes: 0,
        rxPackets: 0,
        txBytes: 0,
        txPackets: 0,
        droppedInbound: 0,
        droppedSpoofed: 0,
        lastDataMs: 0,
      }));
      let unwatched = 0;
      for (const [i, duplex] of accepted.entries()) {
        const offload = duplex.offload;
        assert.ok(offload !== undefined, "the duplex carries its Worker data path");
        assert.equal(duplex.info.tlsVersion, "TLSv1.3");
        const gate = { isIpv4Open: true, isIpv6Open: false, peerMru: 1500 };
        offload.attach(gate, counters[i]!, () => 1);
        duplex.lane.takeReads(() => {}, () => {});
        const [tunFd] = pairs[i]!;
        const stats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
        const tun = {
          name: `fake${i}`,
          fd: tunFd,
          stats,
          unwatch: () => unwatched++,
        } as unknown as TunDevice & { fd: number };
        assert.ok(
          offload.adoptTun(tun, {
            policy: { source: { assigned: `198.18.0.${10 + i}`, routes: [] } },
          }) !== undefined,
        );
      }
      assert.equal(unwatched, 2, "the main thread stops watching each device the Worker reads");
      for (const [i, peer] of peers.entries()) {
        const [, kernelFd] = pairs[i]!;
        // Another session's address: dropped before the device, counted as spoofed.
        peer.conn.write(dataPacket(ipv4([1], [198, 18, 0, 11 - i])));
        const own = ipv4([2], [198, 18, 0, 10 + i]);
        peer.conn.write(dataPacket(own));
        assert.deepEqual(await readPacket(kernelFd), own);
        // Device → peer.
        const out = ipv4([3, 3]);
        libc().write(kernelFd, out, BigInt(out.length));
        const p = await peer.next();
        assert.equal(p.kind, "data");
      }
      await until(() =>
        counters.every((c) => c.droppedSpoofed === 1 && c.rxPackets === 1 && c.txPackets === 1)
      );
      // A prefix routed to the client later: the Worker's source check follows it.
      accepted[0]!.offload!.updateSources?.({
        assigned: "198.18.0.10",
        routes: ["198.18.0.11/32"],
      });
      const routed = ipv4([4], [198, 18, 0, 11]);
      peers[0]!.conn.write(dataPacket(routed));
      assert.deepEqual(await readPacket(pairs[0]![1]), routed);
      // A control packet written by the main thread after the hand-over reaches the peer.
      accepted[0]!.lane.write(
        encodeSstpPacket({ kind: "control", message: { messageType: 5, attributes: [] } }),
      );
      assert.equal((await peers[0]!.next()).kind, "control");
      for (const d of accepted) d.close();
      await Promise.all(accepted.map((d) => d.closed));
      for (const peer of peers) peer.conn.close();
      assert.deepEqual(tunFiles.map(fdsTo), [1, 1], "the Worker closed its TUN duplicates");
      assert.deepEqual(errors, []);
      assert.equal(admission.size, 0, "each completed handshake left the admission");
    } finally {
      listener.close();
      await listener.closed;
      admission.close();
      reactor.close();
      await reactor.closed;
      clientCtx.free();
      for (const [a, b] of pairs) {
        closeQuietly(a);
        closeQuietly(b);
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "openssl-worker server with the shared admission: a source over max-handshakes-per-source is reset, a stalled handshake is closed at the deadline",
  ignore,
  async fn() {
    await withRefusingListener({
      handshakeTimeoutMs: 400,
      maxHandshakes: 8,
      maxHandshakesPerSource: 1,
    }, async ({ port, admission, errors }) => {
      const first = connectTcp("127.0.0.1", port);
      let second = -1;
      try {
        // The first connection is accepted before the second arrives.
        await until(() => admission.size === 1);
        second = connectTcp("127.0.0.1", port);
        const refused = () => admission.lines.filter((l) => /refused/.test(l));
        await until(() => refused().length === 1);
        assert.deepEqual(refused(), [
          "refused a connection from 127.0.0.1: max-handshakes-per-source 1 reached",
        ]);
        await until(() => isClosedByPeer(second));
        assert.deepEqual(errors, [], "a refusal makes no TLS object, so no handshake error");
        const t0 = Date.now();
        await until(() => isClosedByPeer(first));
        assert.ok(Date.now() - t0 < 1500);
        assert.ok(
          admission.lines.some((l) => /failed: no TLS handshake within 400 ms$/.test(l)),
          admission.lines.join("\n"),
        );
        await until(() => errors.length === 1);
        assert.deepEqual(errors, ["closed by the handshake admission"]);
        assert.equal(admission.size, 0);
      } finally {
        closeQuietly(first);
        closeQuietly(second);
      }
    });
  },
});

Deno.test({
  name:
    "openssl-worker server with the shared admission: over max-handshakes the oldest handshake is closed for a newcomer",
  ignore,
  async fn() {
    await withRefusingListener(
      { handshakeTimeoutMs: 60_000, maxHandshakes: 2 },
      async ({ port, admission, errors }) => {
        const fds: number[] = [];
        try {
          for (let i = 0; i < 3; i++) {
            fds.push(connectTcp("127.0.0.1", port));
            // Accepted in this order: the first is the oldest.
            await until(() => admission.size === Math.min(i + 1, 2));
          }
          await until(() => isClosedByPeer(fds[0]!));
          assert.ok(
            admission.lines.some((l) => /dropped: max-handshakes 2 reached, oldest first$/.test(l)),
            admission.lines.join("\n"),
          );
          await new Promise((r) => setTimeout(r, 100));
          assert.equal(isClosedByPeer(fds[1]!), false, "the second is still in its handshake");
          assert.equal(isClosedByPeer(fds[2]!), false, "the newcomer is in its handshake");
          assert.equal(admission.size, 2);
          assert.deepEqual(errors, ["closed by the handshake admission"]);
        } finally {
          for (const fd of fds) closeQuietly(fd);
        }
      },
    );
  },
});

Deno.test({
  name:
    "openssl-worker server: an `admit` hook refuses before any TLS object (a reset), closes an admitted handshake, and is told when each ends",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const errors: string[] = [];
    const closes: (() => void)[] = [];
    let finished = 0;
    const listener = listenOpenSslWorker({
      hostname: "127.0.0.1",
      port: 0,
      ...(await selfSigned(dir)),
      admit(_peer, close) {
        if (closes.length > 0) {
          close();
          return undefined;
        }
        closes.push(close);
        return { acceptedMs: 5, finish: () => finished++ };
      },
      onConnection: () => assert.fail("no handshake was made"),
      onHandshakeError: (_peer, e) => errors.push(e.message),
    });
    const first = connectTcp("127.0.0.1", listener.addr.port);
    let second = -1;
    try {
      await until(() => closes.length === 1);
      second = connectTcp("127.0.0.1", listener.addr.port);
      await until(() => isClosedByPeer(second));
      assert.deepEqual(errors, [], "a refusal is the admission's to log");
      closes[0]!();
      await until(() => isClosedByPeer(first));
      await until(() => finished === 1);
      assert.deepEqual(errors, ["closed by the handshake admission"]);
    } finally {
      closeQuietly(first);
      closeQuietly(second);
      listener.close();
      await listener.closed;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * Runs `fn` against a Worker listener on 127.0.0.1 whose connections the
 * shared admission (`options`) admits; no handshake may complete. Each
 * handshake error's message goes to `errors`.
 */
async function withRefusingListener(
  options: Parameters<typeof testEngineAdmission>[0],
  fn: (t: {
    port: number;
    admission: ReturnType<typeof testEngineAdmission>;
    errors: string[];
  }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const errors: string[] = [];
  const admission = testEngineAdmission(options);
  const listener = listenOpenSslWorker({
    hostname: "127.0.0.1",
    port: 0,
    ...(await selfSigned(dir)),
    admit: admission.admit,
    onConnection: () => assert.fail("no handshake was made"),
    onHandshakeError: (_peer, e) => errors.push(e.message),
  });
  try {
    await fn({ port: listener.addr.port, admission, errors });
  } finally {
    listener.close();
    await listener.closed;
    admission.close();
    await Deno.remove(dir, { recursive: true });
  }
}
