import assert from "node:assert/strict";
import { DEMAND_QUEUE_PACKETS, demandsLink, DemandTun } from "./demand_tun.ts";
import type { PlatformTun } from "../platform.ts";
import type { TunReadControl } from "../tun.ts";

/** A device whose push reader the test drives. */
function fakeDevice() {
  let push: ((batch: Uint8Array[]) => void) | undefined;
  const state = { paused: false, stopped: false, closed: false, written: [] as Uint8Array[] };
  const device = {
    name: "sstp-dd",
    readable: new ReadableStream(),
    writable: new WritableStream(),
    stats: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 },
    readPush(onPackets: (batch: Uint8Array[]) => void): TunReadControl {
      push = onPackets;
      return {
        pause: () => state.paused = true,
        resume: () => state.paused = false,
        stop: () => state.stopped = true,
      } as unknown as TunReadControl;
    },
    writePackets(packets: readonly Uint8Array[]) {
      state.written.push(...packets);
      return packets.length;
    },
    close: () => state.closed = true,
    closed: Promise.resolve(),
  } as unknown as PlatformTun;
  return { device, state, send: (...p: Uint8Array[]) => push!(p) };
}

function ipv4(src: string, dst: string): Uint8Array {
  const p = new Uint8Array(28);
  p[0] = 0x45;
  p.set(src.split(".").map(Number), 12);
  p.set(dst.split(".").map(Number), 16);
  return p;
}

function ipv6(dstFirst: number, dstSecond = 0): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[24] = dstFirst;
  p[25] = dstSecond;
  return p;
}

Deno.test("demandsLink() dials for unicast only, not the kernel's multicast or broadcasts", () => {
  assert.equal(demandsLink(ipv4("10.112.112.2", "198.19.5.5")), true);
  assert.equal(demandsLink(ipv4("10.112.112.2", "224.0.0.22")), false);
  assert.equal(demandsLink(ipv4("10.112.112.2", "255.255.255.255")), false);
  assert.equal(demandsLink(ipv6(0x20, 0x01)), true);
  assert.equal(demandsLink(ipv6(0xff, 0x02)), false); // router solicitation, MLD
  assert.equal(demandsLink(ipv6(0xfe, 0x80)), false);
  assert.equal(demandsLink(new Uint8Array(3)), false);
});

Deno.test("DemandTun queues (bounded), wakes the dialler, and hands the queue to a session", async () => {
  const { device, state, send } = fakeDevice();
  const tun = new DemandTun(device);
  const stop = new AbortController();
  const demanded = tun.waitForDemand(stop.signal);
  send(ipv6(0xff, 0x02)); // not traffic: dropped, no dial
  assert.equal(tun.queued, 0);
  for (let i = 0; i < DEMAND_QUEUE_PACKETS + 5; i++) send(ipv4("10.112.112.2", "198.19.5.5"));
  assert.equal(await demanded, true);
  assert.equal(tun.queued, DEMAND_QUEUE_PACKETS);
  assert.equal(tun.dropped, 5);

  // The session gets the waiting packets its filter keeps, then live ones.
  tun.discard();
  send(ipv4("10.112.112.2", "198.19.5.5"), ipv4("192.168.1.7", "198.19.5.5"));
  const view = tun.view((p) => p[12] !== 10);
  const got: Uint8Array[][] = [];
  const control = view.readPush!((b) => got.push(b), () => {});
  await Promise.resolve();
  assert.equal(got.length, 1);
  assert.equal(got[0]!.length, 1);
  assert.equal(got[0]![0]![12], 192);
  send(ipv4("198.18.61.10", "198.19.5.5"));
  assert.equal(got.length, 2);
  control.pause();
  assert.equal(state.paused, true);
  assert.equal(view.writePackets([new Uint8Array(20)]), 1);

  // Closing the view hands the device back to the queue; the device stays open.
  view.close();
  await view.closed;
  assert.equal(state.paused, false);
  assert.equal(state.closed, false);
  send(ipv4("198.18.61.10", "198.19.5.5"));
  assert.equal(got.length, 2);
  assert.equal(tun.queued, 1);
  assert.throws(() => view.readPush!(() => {}, () => {}), /already reading/);

  const aborted = new AbortController();
  aborted.abort();
  tun.discard();
  assert.equal(await tun.waitForDemand(aborted.signal), false);
  tun.close();
  assert.deepEqual([state.stopped, state.closed], [true, true]);
});
