/**
 * Full pipelines (framer, engine, runner, output queue) for a client and a
 * server over an in-memory duplex with adversarial chunking and in-memory TUN
 * devices: an ICMP echo each way, a bulk transfer in order, then a graceful
 * disconnect.
 */
import assert from "node:assert/strict";
import { pairSetup, until } from "./helpers/pipeline_pair.ts";
import { splitEvery, splitRandom } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import { PeerDisconnectError } from "../lib/errors.ts";

const setup = pairSetup;

for (
  const [name, split] of [
    ["whole chunks", { a: (c: Uint8Array) => [c.slice()], b: (c: Uint8Array) => [c.slice()] }],
    ["1-byte chunks", { a: splitEvery(1), b: splitEvery(1) }],
    ["random chunks", { a: splitRandom(11, 300), b: splitRandom(12, 7) }],
    ["random chunks, the other way round", { a: splitRandom(13, 7), b: splitRandom(14, 300) }],
  ] as const
) {
  Deno.test(`pipelines connect and carry IP both ways over ${name}`, async () => {
    const { client, server, clientTun, serverTun } = setup(split);
    const serverDone = server.run();
    const clientDone = client.run();
    await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");

    clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 1 }));
    assert.equal(parseIcmp(await serverTun.nextWritten(0))?.seq, 1);
    serverTun.inject(buildIcmpEcho("198.18.7.1", "198.18.7.2", { seq: 2, reply: true }));
    assert.equal(parseIcmp(await clientTun.nextWritten(0))?.seq, 2);

    // Bulk: 300 packets in order, payload sizes up to the MTU.
    for (let i = 0; i < 300; i++) {
      const payload = new Uint8Array(1 + (i * 37) % 1400).fill(i & 0xff);
      clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 1000 + i, payload }));
    }
    await serverTun.nextWritten(300, 5000);
    for (let i = 0; i < 300; i++) {
      assert.equal(parseIcmp(serverTun.written[1 + i]!)?.seq, 1000 + i);
    }
    assert.equal(client.counters.txPackets, 301);
    assert.equal(server.counters.rxPackets, 301);

    client.close("test done");
    const [cr, sr] = await Promise.all([clientDone, serverDone]);
    assert.equal(cr.error, undefined);
    // The server learns why: the client disconnected the call (status 0, no error).
    assert.ok(sr.error instanceof PeerDisconnectError, String(sr.error));
    assert.equal(sr.error.status, 0);
    clientTun.close();
    serverTun.close();
  });
}

Deno.test("pipelines clamp the MSS of TCP SYNs to the tunnel MTU both ways", async () => {
  const whole = (c: Uint8Array) => [c.slice()];
  const { client, server, clientTun, serverTun } = setup({ a: whole, b: whole }, {
    mru: 1400,
    clampTcpMss: true,
  });
  const done = [client.run(), server.run()];
  await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");
  const syn = () => {
    // IPv4 + TCP SYN with MSS 1460 (checksums are not checked by MemoryTun).
    const p = new Uint8Array(44);
    p.set([0x45, 0, 0, 44, 0, 0, 0, 0, 64, 6, 0, 0, 198, 18, 7, 2, 198, 18, 7, 1]);
    p.set([0xc3, 0x50, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0], 20);
    p.set([2, 4, 0x05, 0xb4], 40);
    return p;
  };
  clientTun.inject(syn());
  const atServer = await serverTun.nextWritten(0);
  assert.equal((atServer[42]! << 8) | atServer[43]!, 1360);
  serverTun.inject(syn());
  const atClient = await clientTun.nextWritten(0);
  assert.equal((atClient[42]! << 8) | atClient[43]!, 1360);
  client.close("done");
  await Promise.all(done);
  clientTun.close();
  serverTun.close();
});

Deno.test("pipelines keep the first packets that arrive while the TUN device is being set up", async () => {
  const whole = (c: Uint8Array) => [c.slice()];
  const { client, server, clientTun, serverTun } = setup({ a: whole, b: whole }, {
    serverLinkUpMs: 300,
  });
  const done = [client.run(), server.run()];
  await until(() => client.tun !== undefined, 5000, "client link up");
  assert.equal(server.tun, undefined, "the server's interface is still being configured");
  for (let seq = 1; seq <= 3; seq++) {
    clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq }));
  }
  await until(() => server.counters.rxPackets === 3, 2000, "packets received");
  assert.equal(serverTun.written.length, 0, "held until the device exists");
  await serverTun.nextWritten(2, 2000);
  assert.deepEqual(serverTun.written.map((p) => parseIcmp(p)?.seq), [1, 2, 3]);
  assert.equal(server.counters.droppedInbound, 0);
  client.close("done");
  await Promise.all(done);
  clientTun.close();
  serverTun.close();
});

Deno.test("pipelines send what the local stack answered inside the TUN write at once", async () => {
  const whole = (c: Uint8Array) => [c.slice()];
  const { client, server, clientTun, serverTun } = setup({ a: whole, b: whole }, {
    serverAnswers: (p) => {
      const echo = parseIcmp(p);
      return echo?.type === 8
        ? buildIcmpEcho("198.18.7.1", "198.18.7.2", { seq: echo.seq, reply: true })
        : undefined;
    },
  });
  const done = [client.run(), server.run()];
  await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");
  for (let seq = 1; seq <= 3; seq++) {
    clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq }));
    const reply = parseIcmp(await clientTun.nextWritten(seq - 1));
    assert.equal(reply?.type, 0);
    assert.equal(reply?.seq, seq);
  }
  assert.equal(serverTun.answersRead, 3, "every reply was read right after the write");
  assert.equal(server.counters.txPackets, 3);
  client.close("done");
  await Promise.all(done);
  clientTun.close();
  serverTun.close();
});

Deno.test("pipelines pause push reads above the output high-water mark and lose nothing", async () => {
  const whole = (c: Uint8Array) => [c.slice()];
  // The client's TLS writes stall while `stall` is set, as a full socket buffer would.
  let stall: PromiseWithResolvers<void> | undefined;
  const clientTun = new MemoryTun("c0");
  const { client, server, serverTun } = setup({ a: whole, b: whole }, {
    clientTun,
    clientLane: (inner) => ({
      write: (chunk) => stall ? stall.promise.then(() => inner.write(chunk)) : inner.write(chunk),
      takeReads: inner.takeReads,
    }),
  });
  const done = [client.run(), server.run()];
  await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");

  stall = Promise.withResolvers<void>();
  const count = 1200; // 1200 x ~1.4 KB: past the 1 MiB high-water mark
  const payload = (i: number) => new Uint8Array(1372).fill(i & 0xff);
  for (let i = 0; i < count; i++) {
    clientTun.push([buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: i, payload: payload(i) })]);
  }
  assert.ok(clientTun.pauses >= 1, "reading paused above the high-water mark");
  assert.ok(clientTun.held > 0, "the rest waits in the device queue");
  stall.resolve();
  stall = undefined;
  await serverTun.nextWritten(count - 1, 10_000);
  assert.ok(clientTun.resumes >= 1);
  assert.equal(clientTun.held, 0);
  assert.deepEqual(
    serverTun.written.map((p) => parseIcmp(p)?.seq),
    Array.from({ length: count }, (_, i) => i),
    "every packet, in order",
  );
  client.close("done");
  await Promise.all(done);
  clientTun.close();
  serverTun.close();
});
