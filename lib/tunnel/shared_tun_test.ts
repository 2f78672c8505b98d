import assert from "node:assert/strict";
import { SharedTun } from "./shared_tun.ts";
import { MemoryTun } from "../../test/helpers/memory_tun.ts";
import { TokenBucket } from "./token_bucket.ts";
import type { TunDevice } from "../tun.ts";

function ip4(src: string, dst: string, size = 28): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p.set(src.split(".").map(Number), 12);
  p.set(dst.split(".").map(Number), 16);
  return p;
}

function collect(port: TunDevice) {
  const got: Uint8Array[] = [];
  const ends: (Error | undefined)[] = [];
  const control = port.readPush((b) => got.push(...b), (e) => ends.push(e));
  return { got, ends, control };
}

Deno.test("SharedTun hands each packet read from the device to the session owning its destination", () => {
  const dev = new MemoryTun("sstp0");
  const shared = new SharedTun(dev);
  const a = shared.attach({ prefixes: ["198.19.0.2"] });
  const b = shared.attach({ prefixes: ["198.19.0.3", "198.18.64.0/24"] });
  const ra = collect(a);
  const rb = collect(b);
  dev.push([
    ip4("198.19.255.1", "198.19.0.2"),
    ip4("198.19.255.1", "198.19.0.3"),
    ip4("198.19.255.1", "198.18.64.9"),
    ip4("198.19.255.1", "198.19.0.4"),
    ip4("198.19.255.1", "198.19.0.2"),
  ]);
  assert.equal(ra.got.length, 2);
  assert.equal(rb.got.length, 2, "its address and its framed route");
  assert.equal(shared.stats.unrouted, 1, "198.19.0.4 has no session");
  assert.equal(a.stats.rxPackets, 2);
  assert.equal(a.name, "sstp0");
  assert.equal(shared.ports, 2);
  assert.equal(shared.routes, 3);
});

Deno.test("SharedTun: a session's packets go to the one device; close removes its routes", () => {
  const dev = new MemoryTun("sstp0");
  const shared = new SharedTun(dev);
  const a = shared.attach({ prefixes: ["198.19.0.2", "198.18.70.0/24"] });
  const ra = collect(a);
  assert.equal(a.writePackets([ip4("198.19.0.2", "198.19.255.1")]), 1);
  assert.equal(dev.written.length, 1);
  assert.equal(a.stats.txPackets, 1);
  a.close();
  assert.deepEqual(ra.ends, [undefined], "push reads end once");
  assert.equal(shared.routes, 0);
  assert.equal(shared.ports, 0);
  dev.push([ip4("198.19.255.1", "198.19.0.2")]);
  assert.equal(ra.got.length, 0);
  assert.equal(shared.stats.unrouted, 1);
  assert.equal(a.writePackets([ip4("198.19.0.2", "198.19.255.1")]), 0, "closed");
  assert.equal(a.stats.txDropped, 1);
  a.close(); // idempotent
  assert.equal(shared.ports, 0);
  // The address can be given to the next session.
  const b = shared.attach({ prefixes: ["198.19.0.2"] });
  const rb = collect(b);
  dev.push([ip4("198.19.255.1", "198.19.0.2")]);
  assert.equal(rb.got.length, 1);
});

Deno.test("SharedTun refuses a prefix another session has, leaving nothing of the new one", () => {
  const dev = new MemoryTun("sstp0");
  const shared = new SharedTun(dev);
  const a = shared.attach({ prefixes: ["198.19.0.2"] });
  assert.throws(
    () => shared.attach({ prefixes: ["198.19.0.3", "198.19.0.2"] }),
    /Cannot route 198\.19\.0\.2 .*another session has it/,
  );
  assert.equal(shared.routes, 1, "198.19.0.3 was taken back");
  assert.equal(shared.ports, 1);
  const ra = collect(a);
  dev.push([ip4("198.19.255.1", "198.19.0.3"), ip4("198.19.255.1", "198.19.0.2")]);
  assert.equal(ra.got.length, 1);
  assert.equal(shared.stats.unrouted, 1);
});

Deno.test("SharedTun: a paused port drops its packets, the others still get theirs; poll delivers now", () => {
  const dev = new MemoryTun("sstp0");
  const shared = new SharedTun(dev);
  const a = shared.attach({ prefixes: ["198.19.0.2"] });
  const b = shared.attach({ prefixes: ["198.19.0.3"] });
  const ra = collect(a);
  const rb = collect(b);
  ra.control.pause();
  dev.push([ip4("198.19.255.1", "198.19.0.2"), ip4("198.19.255.1", "198.19.0.3")]);
  assert.equal(ra.got.length, 0);
  assert.equal(rb.got.length, 1);
  assert.equal(shared.stats.droppedPaused, 1);
  ra.control.resume();
  // An answer of the local stack queued inside a write is collected by poll().
  dev.inject(ip4("198.19.255.1", "198.19.0.2"));
  ra.control.poll();
  assert.equal(ra.got.length, 1);
  ra.control.stop();
  dev.push([ip4("198.19.255.1", "198.19.0.2")]);
  assert.equal(ra.got.length, 1, "stopped: nothing more");
});

Deno.test("SharedTun: the download policer of a port drops what is over its rate", () => {
  const dev = new MemoryTun("sstp0");
  const shared = new SharedTun(dev);
  const now = 1000;
  const a = shared.attach({
    prefixes: ["198.19.0.2"],
    downloadPolicer: new TokenBucket({ rateBps: 8_000, burstBytes: 1_500 }),
    now: () => now,
  });
  const ra = collect(a);
  dev.push(Array.from({ length: 4 }, () => ip4("198.19.255.1", "198.19.0.2", 700)));
  assert.equal(ra.got.length, 2, "1,500 bytes of burst: two 700-byte packets");
  assert.equal(shared.stats.droppedPoliced, 2);
});

Deno.test("SharedTun: after the device ends, attaching is refused", () => {
  const dev = new MemoryTun("sstp0");
  const ended: (Error | undefined)[] = [];
  const shared = new SharedTun(dev, (e) => ended.push(e));
  dev.close();
  assert.equal(ended.length, 1);
  assert.throws(() => shared.attach({ prefixes: ["198.19.0.2"] }), /shared device has ended/);
});

Deno.test("SharedTun: a port takes more prefixes later (IPv6) and gives them back, or all at close", () => {
  const dev = new MemoryTun("sstp0");
  const shared = new SharedTun(dev);
  const a = shared.attach({ prefixes: ["198.19.0.2"] });
  const b = shared.attach({ prefixes: ["198.19.0.3"] });
  const ra = collect(a);
  a.addPrefix("2001:2:0:100::/64");
  a.addPrefix("2001:2:0:100::/64"); // already its own: nothing changes
  assert.throws(() => b.addPrefix("2001:2:0:100::/64"), /another session has it/);
  const ip6 = new Uint8Array(40);
  ip6[0] = 0x60;
  ip6.set([0x20, 0x01, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9], 24);
  dev.push([ip6]);
  assert.equal(ra.got.length, 1);
  a.removePrefix("2001:2:0:100::/64");
  dev.push([ip6]);
  assert.equal(ra.got.length, 1);
  assert.equal(shared.stats.unrouted, 1);
  b.addPrefix("2001:2:0:100::/64");
  assert.deepEqual(b.prefixes, ["198.19.0.3", "2001:2:0:100::/64"]);
  b.close();
  assert.equal(shared.routes, 1, "b's IPv6 prefix went with it");
  assert.throws(() => b.addPrefix("2001:2:0:200::/64"), /port is closed/);
});
