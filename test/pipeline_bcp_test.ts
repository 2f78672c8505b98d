/**
 * Full pipelines with BCP (RFC 3518) on both sides over an in-memory duplex:
 * the runners open their bridge ports (in-memory TAP devices) once BCP is
 * open, and Ethernet frames cross as PPP 0x0031 both ways, beside IPv4.
 */
import assert from "node:assert/strict";
import { createClientEngine } from "../lib/tunnel/client_engine.ts";
import { createServerEngine } from "../lib/tunnel/server_engine.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { TunnelRunner } from "../lib/pipeline/runner.ts";
import { systemClock } from "../lib/clock.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import { memoryDuplexPair, splitRandom } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { seededRandomBytes } from "./helpers/xorshift.ts";
import { until } from "./helpers/pipeline_pair.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";

const CERT = new TextEncoder().encode("pipeline bcp certificate");

/** An Ethernet frame of `n` bytes from MAC 02::`src`, tagged with `tag` in its payload. */
function frame(n: number, src: number, tag: number): Uint8Array {
  const f = new Uint8Array(n);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, src], 6);
  f.set([0x88, 0xb5], 12); // local experimental EtherType
  f.fill(tag, 14);
  return f;
}

Deno.test("pipelines with bridge on both sides carry Ethernet frames both ways beside IPv4", async () => {
  const [c, s] = memoryDuplexPair({
    splitAtoB: splitRandom(21, 500),
    splitBtoA: splitRandom(22, 9),
  });
  const tuns = { client: new MemoryTun("c0"), server: new MemoryTun("s0") };
  const taps = { client: new MemoryTun("ctap"), server: new MemoryTun("stap") };
  const client = new TunnelRunner({
    engine: createClientEngine({
      certHashes: certHashes(CERT),
      user: "bob",
      password: "pw",
      authentication: ["mschap2"],
      helloMs: 60_000,
      mru: 1600,
      bridge: true,
      randomBytes: seededRandomBytes(3),
      logger: NOOP_LOGGER,
    }),
    transport: c,
    clock: systemClock,
    logger: NOOP_LOGGER,
    onLinkUp: () => Promise.resolve(tuns.client),
    onBridgeUp: () => Promise.resolve(taps.client),
  });
  const server = new TunnelRunner({
    engine: createServerEngine({
      certHashes: certHashes(CERT),
      authentication: ["mschap2"],
      lookupPassword: (u) => (u === "bob" ? "pw" : undefined),
      assignAddresses: () => ({ localAddress: "198.18.7.1", peerAddress: "198.18.7.2" }),
      serverName: "srv",
      helloMs: 60_000,
      mru: 1600,
      bridge: () => true,
      randomBytes: seededRandomBytes(4),
      logger: NOOP_LOGGER,
    }),
    transport: s,
    clock: systemClock,
    logger: NOOP_LOGGER,
    onLinkUp: () => Promise.resolve(tuns.server),
    // The bridge port comes up a little later than the engine opens BCP.
    onBridgeUp: () => new Promise((resolve) => setTimeout(() => resolve(taps.server), 20)),
  });
  const serverDone = server.run();
  const clientDone = client.run();
  await until(() => client.tap !== undefined && server.tap !== undefined, 5000, "bridge up");
  await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");

  // 100 frames each way, from runts to full size, in order and intact.
  const sizes = Array.from({ length: 100 }, (_, i) => 14 + (i * 97) % 1501);
  for (const [i, n] of sizes.entries()) taps.client.inject(frame(n, 1, i));
  await taps.server.nextWritten(99, 5000);
  for (const [i, n] of sizes.entries()) taps.server.inject(frame(n, 2, i));
  await taps.client.nextWritten(99, 5000);
  for (const [i, n] of sizes.entries()) {
    assert.deepEqual(taps.server.written[i], frame(n, 1, i));
    assert.deepEqual(taps.client.written[i], frame(n, 2, i));
  }
  // IPv4 still flows over the same session.
  tuns.client.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 5 }));
  assert.equal(parseIcmp(await tuns.server.nextWritten(0))?.seq, 5);
  assert.equal(tuns.server.written.length, 1, "no Ethernet frame reached the TUN device");

  client.close("test done");
  const [cr] = await Promise.all([clientDone, serverDone]);
  assert.equal(cr.error, undefined);
});
