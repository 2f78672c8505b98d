/**
 * Full pipelines with BCP (RFC 3518) on both sides over an in-memory duplex:
 * the runners open their bridge ports (in-memory TAP devices) once BCP is
 * open, and Ethernet frames cross as PPP 0x0031 both ways, beside IPv4.
 */
import assert from "node:assert/strict";
import { splitRandom } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { pairSetup, until } from "./helpers/pipeline_pair.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";

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
  const taps = { client: new MemoryTun("ctap"), server: new MemoryTun("stap") };
  const { client, server, clientTun, serverTun } = pairSetup(
    { a: splitRandom(21, 500), b: splitRandom(22, 9) },
    { mru: 1600, serverEngine: { mru: 1600 }, taps },
  );
  const tuns = { client: clientTun, server: serverTun };
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
