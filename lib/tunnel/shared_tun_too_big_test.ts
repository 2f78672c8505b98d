import assert from "node:assert/strict";
import { SharedTun, TOO_BIG_PER_SECOND } from "./shared_tun.ts";
import { internetChecksum } from "./too_big.ts";
import { MemoryTun } from "../../test/helpers/memory_tun.ts";
import type { TunDevice } from "../tun.ts";

/** A UDP-in-IPv4 packet of `size` bytes from 198.18.0.1 to `dst`. */
function ip4(dst: string, size: number, df: boolean): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[6] = df ? 0x40 : 0;
  p[8] = 64;
  p[9] = 17;
  p.set([198, 18, 0, 1], 12);
  p.set(dst.split(".").map(Number), 16);
  const sum = internetChecksum(p.subarray(0, 20));
  p[10] = sum >> 8;
  p[11] = sum & 0xff;
  return p;
}

/** A UDP-in-IPv6 packet of `size` bytes from 2001:2::1 to 2001:2:0:100::9 (or multicast). */
function ip6(size: number, multicast = false): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x60;
  p[4] = (size - 40) >> 8;
  p[5] = (size - 40) & 0xff;
  p[6] = 17;
  p[7] = 64;
  p.set([0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  p.set(
    multicast
      ? [0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]
      : [0x20, 0x01, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9],
    24,
  );
  return p;
}

function collect(port: TunDevice): Uint8Array[] {
  const got: Uint8Array[] = [];
  port.readPush((b) => got.push(...b), () => {});
  return got;
}

function setUp(mtu: number) {
  const dev = new MemoryTun("sstp0");
  let now = 1000;
  const shared = new SharedTun(dev, undefined, () => now);
  const port = shared.attach({
    prefixes: ["198.19.0.2", "2001:2:0:100::/64", "ff0e::9/128"],
    mtu,
  });
  return { dev, shared, got: collect(port), advance: (ms: number) => (now += ms) };
}

Deno.test("SharedTun MTU: exact MTU passes, MTU+1 with DF is answered with frag needed, without DF is fragmented", () => {
  const { dev, shared, got } = setUp(1300);
  dev.push([ip4("198.19.0.2", 1300, true)]);
  assert.equal(got.length, 1, "exactly the MTU: delivered whole");
  assert.equal(dev.written.length, 0);

  dev.push([ip4("198.19.0.2", 1301, true)]);
  assert.equal(got.length, 1, "MTU+1 with DF: not delivered");
  assert.equal(dev.written.length, 1, "the ICMP error went back into the device");
  const e = dev.written[0]!;
  assert.deepEqual([e[20], e[21]], [3, 4]);
  assert.equal((e[26]! << 8) | e[27]!, 1300);
  assert.deepEqual([...e.subarray(16, 20)], [198, 18, 0, 1], "to the sender");
  assert.equal(shared.stats.droppedTooBig, 1);
  assert.equal(shared.stats.tooBigSent, 1);

  dev.push([ip4("198.19.0.2", 1301, false)]);
  assert.equal(got.length, 3, "MTU+1 without DF: two fragments");
  assert.ok(got.slice(1).every((f) => f.length <= 1300));
  assert.equal(shared.stats.fragmented, 1);
  assert.equal(dev.written.length, 1, "no error for a packet fragmented");
});

Deno.test("SharedTun MTU: IPv6 over the MTU gets Packet Too Big, never for a multicast destination", () => {
  const { dev, shared, got } = setUp(1280);
  dev.push([ip6(1280)]);
  assert.equal(got.length, 1);
  dev.push([ip6(1281)]);
  assert.equal(dev.written.length, 1);
  const e = dev.written[0]!;
  assert.equal(e[6], 58);
  assert.equal(e[40], 2, "Packet Too Big");
  assert.equal(new DataView(e.buffer).getUint32(44), 1280);
  dev.push([ip6(1400, true)]);
  assert.equal(dev.written.length, 1, "multicast: dropped, no error");
  assert.equal(shared.stats.droppedTooBig, 2);
  assert.equal(got.length, 1);
});

Deno.test("SharedTun MTU: the errors of a session are rate-limited, and allowed again later", () => {
  const { dev, shared, advance } = setUp(1300);
  const flood = Array.from({ length: 50 }, () => ip4("198.19.0.2", 1400, true));
  dev.push(flood.slice(0, 25));
  dev.push(flood.slice(25));
  assert.equal(dev.written.length, TOO_BIG_PER_SECOND, "the burst of one session");
  assert.equal(shared.stats.tooBigRateLimited, 50 - TOO_BIG_PER_SECOND);
  assert.equal(shared.stats.droppedTooBig, 50);
  advance(100);
  dev.push([
    ip4("198.19.0.2", 1400, true),
    ip4("198.19.0.2", 1400, true),
    ip4("198.19.0.2", 1400, true),
  ]);
  assert.equal(dev.written.length, TOO_BIG_PER_SECOND + 2, "100 ms refill two more at 20 a second");
});

Deno.test("SharedTun MTU: the device-wide limit bounds the errors of all sessions together", () => {
  const dev = new MemoryTun("sstp0");
  const shared = new SharedTun(dev, undefined, () => 1000);
  const targets = ["198.19.0.2", "198.19.0.3", "198.19.0.4"];
  for (const t of targets) collect(shared.attach({ prefixes: [t], mtu: 1300 }));
  dev.push(targets.flatMap((t) => Array.from({ length: 20 }, () => ip4(t, 1400, true))));
  assert.equal(dev.written.length, 50, "a burst of 50 for the device, though each session has 20");
  assert.equal(shared.stats.tooBigRateLimited, 10);
});
