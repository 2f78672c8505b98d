/**
 * Full pipelines with the LCP framing options: PFC/ACFC asked for by one side
 * compress what the OTHER side sends (RFC 1661 6.5, 6.6), and multilink
 * (RFC 1990) carries packets larger than the link MTU as MP fragments.
 */
import assert from "node:assert/strict";
import { pairSetup, until } from "./helpers/pipeline_pair.ts";
import type { Splitter } from "./helpers/memory_duplex.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import { SstpFramer } from "../lib/sstp/framer.ts";
import { PROTOCOL } from "../lib/ppp/constants.ts";
import { decodePppFrame } from "../lib/ppp/frame.ts";
import { encodeSstpPacket } from "../lib/sstp/packet.ts";
import { concatBytes } from "../lib/bytes/hex.ts";
import { SYSTEM_TIMERS, type TimerApi } from "../lib/pipeline/runner.ts";

/** A splitter that passes chunks whole and records every PPP frame (SSTP data payload). */
function recorder(): { split: Splitter; frames: Uint8Array[] } {
  const framer = new SstpFramer();
  const frames: Uint8Array[] = [];
  return {
    frames,
    split: (c) => {
      framer.pushEach(c, (p) => {
        if (p.kind === "data") frames.push(p.data.slice());
      });
      return [c.slice()];
    },
  };
}

Deno.test("pipelines: the client asks for PFC and ACFC, the server sends compressed frames that decode", async () => {
  const c2s = recorder();
  const s2c = recorder();
  const { client, server, clientTun, serverTun } = pairSetup({ a: c2s.split, b: s2c.split }, {
    clientEngine: { pfc: { request: true }, acfc: { request: true } },
  });
  const done = [server.run(), client.run()];
  await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");
  serverTun.inject(
    buildIcmpEcho("198.18.7.1", "198.18.7.2", { seq: 5, payload: new Uint8Array(100) }),
  );
  assert.equal(parseIcmp(await clientTun.nextWritten(0))?.seq, 5);
  clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 6, reply: true }));
  assert.equal(parseIcmp(await serverTun.nextWritten(0))?.seq, 6);

  // Server → client: IPv4 as a 1-byte header; LCP always whole; IPCP
  // compressed once LCP is Opened.
  const ip = s2c.frames.filter((f) => f[0] === 0x21);
  assert.equal(ip.length, 1, "one IPv4 frame with header 21");
  assert.equal(ip[0]![1]! >> 4, 4);
  for (const f of s2c.frames) {
    const { protocol } = decodePppFrame(f);
    if (protocol === PROTOCOL.LCP) {
      assert.deepEqual([...f.subarray(0, 4)], [0xff, 0x03, 0xc0, 0x21]);
    } else assert.notEqual(f[0], 0xff, `protocol 0x${protocol.toString(16)} compressed`);
  }
  // Client → server: nothing compressed (the server did not ask).
  assert.ok(c2s.frames.length > 0);
  for (const f of c2s.frames) assert.deepEqual([...f.subarray(0, 2)], [0xff, 0x03]);

  client.close("test done");
  await Promise.all(done);
  clientTun.close();
  serverTun.close();
});

Deno.test("pipelines: max-mtu 1400 with mrru 1600 carries 1,500-byte packets as MP fragments both ways", async () => {
  const c2s = recorder();
  const s2c = recorder();
  const { client, server, clientTun, serverTun, linkUp } = pairSetup(
    { a: c2s.split, b: s2c.split },
    {
      clientEngine: { mrru: 1600, maxMtu: 1400 },
      serverEngine: { mrru: 1600, maxMtu: 1400 },
    },
  );
  const done = [server.run(), client.run()];
  await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");
  assert.equal(linkUp.client?.mtu, 1600, "the TUN MTU is the MRRU");
  assert.equal(linkUp.server?.mtu, 1600);

  const payload = new Uint8Array(1472).map((_, i) => i & 0xff); // 1,500-byte IP packet
  clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 9, payload }));
  const got = await serverTun.nextWritten(0);
  assert.equal(got.length, 1500);
  assert.equal(parseIcmp(got)?.seq, 9);
  serverTun.inject(buildIcmpEcho("198.18.7.1", "198.18.7.2", { seq: 10, payload, reply: true }));
  const back = await clientTun.nextWritten(0);
  assert.equal(back.length, 1500);
  assert.equal(parseIcmp(back)?.seq, 10);

  for (const frames of [c2s.frames, s2c.frames]) {
    const mp = frames.filter((f) => decodePppFrame(f).protocol === PROTOCOL.MP);
    assert.equal(mp.length, 2, "one 1,500-byte packet → two MP fragments");
    for (const f of frames) assert.ok(f.length - 4 <= 1400, `frame of ${f.length} fits the link`);
  }
  client.close("test done");
  await Promise.all(done);
  clientTun.close();
  serverTun.close();
});

Deno.test("pipelines: mrru on one side only leaves multilink off and the MTU at the link's", async () => {
  const { client, server, clientTun, serverTun, linkUp } = pairSetup(undefined, {
    clientEngine: { mrru: 1600, maxMtu: 1400 },
    serverEngine: { maxMtu: 1400 },
  });
  const done = [server.run(), client.run()];
  await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");
  assert.equal(linkUp.client?.mtu, 1400);
  assert.equal(linkUp.server?.mtu, 1400);
  clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 1 }));
  assert.equal(parseIcmp(await serverTun.nextWritten(0))?.seq, 1);
  client.close("test done");
  await Promise.all(done);
  clientTun.close();
  serverTun.close();
});

Deno.test("pipelines: a stalled MP reassembly is dropped by the runner's timer at its deadline, not at the next fragment", async () => {
  // Client → server: the last fragment of the first fragmented packet is lost.
  const framer = new SstpFramer();
  let lost = 0;
  const dropLastFragment: Splitter = (chunk) => {
    const out: Uint8Array[] = [];
    framer.pushEach(chunk, (p) => {
      if (p.kind === "data" && lost === 0) {
        const f = decodePppFrame(p.data);
        // MP long sequence header: B (0x80) and E (0x40) in the first byte.
        if (f.protocol === PROTOCOL.MP && (f.information[0]! & 0xc0) === 0x40) {
          lost++;
          return;
        }
      }
      out.push(encodeSstpPacket(p));
    });
    return out.length === 0 ? [] : [concatBytes(...out)];
  };
  // The server's clock runs with the system's but can jump ahead; its timers
  // are real, and the ones armed for more than a second are kept to fire by hand.
  let offsetMs = 0;
  const clock = { now: () => performance.now() + offsetMs };
  const long: { fn: () => void; ms: number; handle: unknown }[] = [];
  const timers: TimerApi = {
    set: (fn, ms) => {
      const handle = SYSTEM_TIMERS.set(fn, ms);
      if (ms > 1000) long.push({ fn, ms, handle });
      return handle;
    },
    clear: (h) => SYSTEM_TIMERS.clear(h),
  };
  const { client, server, clientTun, serverTun } = pairSetup(
    { a: dropLastFragment, b: (c) => [c.slice()] },
    {
      clientEngine: { mrru: 1600, maxMtu: 1400 },
      serverEngine: { mrru: 1600, maxMtu: 1400 },
      serverClock: clock,
      serverTimers: timers,
    },
  );
  const done = [server.run(), client.run()];
  try {
    await until(() => client.tun !== undefined && server.tun !== undefined, 5000, "link up");
    const before = server.counters.droppedInbound;
    const armedBefore = long.length;
    const payload = new Uint8Array(1472); // 1,500 bytes: two MP fragments over the 1,400 link
    clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 1, payload }));
    await until(() => lost === 1, 5000, "the last fragment dropped");
    // The first fragment is held; the runner armed one timer for its deadline (2 s).
    await until(() => long.length > armedBefore, 2000, "a reassembly timer armed");
    const timer = long.at(-1)!;
    assert.ok(timer.ms > 1900 && timer.ms <= 2000, `armed for ${timer.ms} ms`);
    assert.equal(server.counters.droppedInbound, before, "nothing dropped before the deadline");
    // At the deadline (no further fragment from the client): dropped.
    SYSTEM_TIMERS.clear(timer.handle);
    offsetMs += 2000;
    timer.fn();
    assert.equal(server.counters.droppedInbound, before + 1, "the stalled packet was dropped");
    // The next fragmented packet is reassembled as usual.
    clientTun.inject(buildIcmpEcho("198.18.7.2", "198.18.7.1", { seq: 2, payload }));
    const got = await serverTun.nextWritten(0);
    assert.equal(parseIcmp(got)?.seq, 2);
    assert.equal(server.counters.droppedInbound, before + 1);
  } finally {
    client.close("test done");
    await Promise.all(done);
    clientTun.close();
    serverTun.close();
  }
});
