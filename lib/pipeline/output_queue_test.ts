import assert from "node:assert/strict";
import { DEFAULT_OUTPUT_LIMITS, OutputQueue } from "./output_queue.ts";
import { DATA_HEADER_BYTES, DataPlane } from "../tunnel/data_plane.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";

const plane = new DataPlane({ gate: { isIpv4Open: true, isIpv6Open: true, peerMru: 4000 } });
/** An IPv4-looking packet: 0x45, then `fill`. */
const packet = (n: number, fill: number) => {
  const p = new Uint8Array(n).fill(fill);
  p[0] = 0x45;
  return p;
};
/** Frames `packets` with the data plane and queues them; returns how many were queued. */
const pushData = (queue: OutputQueue, packets: Uint8Array[]) => {
  const framed = plane.encapsulate(packets);
  return queue.pushFramed(framed.bytes, framed.packets) ? framed.packets : 0;
};

Deno.test("OutputQueue writes at once, in the same call, when the writer completes synchronously", () => {
  const writes: Uint8Array[] = [];
  const queue = new OutputQueue((chunk) => {
    writes.push(chunk);
    return undefined;
  });
  queue.pushControl(Uint8Array.of(0x10, 0x01, 0x00, 0x04));
  assert.equal(writes.length, 1, "control packet written before pushControl returned");
  assert.equal(pushData(queue, [packet(20, 7), packet(30, 8)]), 2);
  assert.equal(writes.length, 2, "one write for the whole batch, before pushFramed returned");
  const data = writes[1]!;
  assert.equal(data.length, 2 * DATA_HEADER_BYTES + 50);
  // SSTP data header (length 4 + PPP), PPP FF 03 00 21, then the packet.
  assert.deepEqual([...data.subarray(0, 8)], [0x10, 0x00, 0x00, 28, 0xff, 0x03, 0x00, 0x21]);
  assert.equal(data[9], 7);
  assert.deepEqual([...data.subarray(28, 36)], [0x10, 0x00, 0x00, 38, 0xff, 0x03, 0x00, 0x21]);
  assert.equal(queue.pendingBytes, 0);
  assert.deepEqual(queue.stats, { writes: 2, bytes: 4 + data.length, dataPackets: 2 });
});

Deno.test("OutputQueue hands an idle queue's framed buffer to the writer itself and stays busy while it is pending", async () => {
  const writes: Uint8Array[] = [];
  let release!: () => void;
  const queue = new OutputQueue((chunk) => {
    writes.push(chunk);
    return writes.length === 1 ? new Promise<void>((r) => (release = r)) : undefined;
  });
  const first = plane.encapsulate([packet(40, 1)]);
  assert.ok(queue.pushFramed(first.bytes, 1));
  assert.equal(writes[0], first.bytes, "the very buffer, not a copy");
  assert.equal(queue.pendingBytes, 0);
  assert.equal(pushData(queue, [packet(20, 2)]), 1);
  assert.equal(writes.length, 1, "queued behind the pending write");
  assert.equal(queue.pendingBytes, DATA_HEADER_BYTES + 20);
  release();
  await queue.drain(1000);
  assert.equal(writes.length, 2);
  assert.equal(queue.pendingBytes, 0);
  assert.deepEqual(queue.stats, {
    writes: 2,
    bytes: first.bytes.length + DATA_HEADER_BYTES + 20,
    dataPackets: 2,
  });
});

Deno.test("OutputQueue coalesces everything queued behind a pending write into one write, control first", async () => {
  const writes: Uint8Array[] = [];
  let release!: () => void;
  const queue = new OutputQueue((chunk) => {
    writes.push(chunk);
    return writes.length === 1 ? new Promise<void>((r) => (release = r)) : undefined;
  });
  pushData(queue, [packet(10, 1)]);
  assert.equal(writes.length, 1);
  pushData(queue, [packet(10, 2)]);
  pushData(queue, [packet(10, 3)]);
  queue.pushControl(Uint8Array.of(0x10, 0x01, 0x00, 0x04));
  assert.equal(writes.length, 1, "nothing written while the first write is pending");
  assert.equal(queue.pendingBytes, 4 + 2 * (DATA_HEADER_BYTES + 10));
  release();
  await queue.drain(1000);
  assert.equal(writes.length, 2);
  const second = writes[1]!;
  assert.deepEqual([...second.subarray(0, 4)], [0x10, 0x01, 0x00, 0x04], "control goes first");
  assert.equal(second[4 + DATA_HEADER_BYTES + 1], 2);
  assert.equal(second[4 + 2 * DATA_HEADER_BYTES + 10 + 1], 3);
});

Deno.test("OutputQueue records a failing writer, drops what is queued and releases waiters", async () => {
  let calls = 0;
  const queue = new OutputQueue(() => {
    calls++;
    throw new Error("broken pipe");
  });
  queue.pushControl(Uint8Array.of(1, 2, 3, 4));
  assert.equal(queue.error?.message, "broken pipe");
  assert.equal(queue.pendingBytes, 0);
  queue.pushControl(Uint8Array.of(1, 2, 3, 4));
  assert.equal(calls, 1, "no write after the first failure");
  await queue.drain(100);
  const rejecting = new OutputQueue(() => Promise.reject(new Error("reset by peer")));
  rejecting.pushControl(Uint8Array.of(1, 2, 3, 4));
  await rejecting.drain(1000);
  assert.equal(rejecting.error?.message, "reset by peer");
});

Deno.test("OutputQueue makes the producer wait from its high-water mark down to its low-water mark", async () => {
  let release: (() => void) | undefined;
  const pressure: boolean[] = [];
  const queue = new OutputQueue(() => new Promise<void>((r) => (release = r)), {
    onPressure: (over) => pressure.push(over),
  });
  pushData(queue, [packet(100, 1)]);
  for (let i = 0; i < 800; i++) pushData(queue, [packet(1400, 9)]);
  assert.deepEqual(pressure, [true]);
  assert.equal(queue.isWritable, false);
  const wait = queue.whenWritable();
  assert.ok(wait, "over 1 MiB pending: the producer must wait");
  let woke = false;
  void wait.then(() => (woke = true));
  await Promise.resolve();
  assert.equal(woke, false);
  // Each write takes at most 256 KiB: pressure stays on until 768 KiB or less are left.
  const seen: number[] = [];
  for (let i = 0; i < 10 && !woke; i++) {
    const r = release!;
    release = undefined;
    r();
    await new Promise((r) => setTimeout(r, 0));
    seen.push(queue.pendingBytes);
  }
  assert.equal(woke, true);
  assert.ok(seen.length >= 2, `woke only at the low-water mark (pending after writes: ${seen})`);
  assert.ok(queue.pendingBytes <= DEFAULT_OUTPUT_LIMITS.lowWaterBytes);
  assert.deepEqual(pressure, [true, false]);
  assert.equal(queue.whenWritable(), undefined);
  queue.close();
});

Deno.test("OutputQueue fails with LIMIT_EXCEEDED when control output exceeds its bound", () => {
  // A writer that never completes: the peer does not read.
  const overflows: ProtocolError[] = [];
  const queue = new OutputQueue(() => new Promise<void>(() => {}), {
    onOverflow: (e) => overflows.push(e),
  });
  const echoResponse = Uint8Array.of(0x10, 0x01, 0x00, 0x08, 0x00, 0x09, 0x00, 0x00);
  let pushed = 0;
  while (queue.error === undefined && pushed < 1_000_000) {
    queue.pushControl(echoResponse);
    pushed++;
  }
  assert.ok(queue.error instanceof ProtocolError);
  assert.equal(queue.error.code, ERROR_CODE.LIMIT_EXCEEDED);
  assert.match(queue.error.message, /^Cannot queue control output: .*maxControlBytes/);
  assert.equal(overflows.length, 1);
  assert.equal(pushed, DEFAULT_OUTPUT_LIMITS.maxControlBytes / 8 + 2, "first write in flight");
  assert.equal(queue.pendingBytes, 0, "what was queued is dropped");
  queue.pushControl(echoResponse);
  assert.equal(overflows.length, 1, "nothing queued after the failure");
});

Deno.test("OutputQueue fails with LIMIT_EXCEEDED when data output exceeds its hard bound", () => {
  const overflows: ProtocolError[] = [];
  const queue = new OutputQueue(() => new Promise<void>(() => {}), {
    limits: { highWaterBytes: 4096, lowWaterBytes: 1024, maxBytes: 8192 },
    onOverflow: (e) => overflows.push(e),
  });
  assert.equal(pushData(queue, [packet(1000, 1)]), 1); // in flight
  for (let i = 0; i < 8; i++) assert.equal(pushData(queue, [packet(1000, 1)]), 1);
  assert.equal(queue.isWritable, false);
  assert.equal(pushData(queue, [packet(1000, 1)]), 0);
  assert.equal(overflows[0]?.code, ERROR_CODE.LIMIT_EXCEEDED);
  assert.match(overflows[0]!.message, /^Cannot queue data output: 9072 bytes would exceed/);
});

Deno.test("OutputQueue drains many small packets in linear time", async () => {
  // 30,000 control packets behind a pending write: with shift() per packet
  // the drain is quadratic (~450 M element moves); a linear drain is instant.
  // Work is counted, not timed: every byte must be copied exactly once.
  let release!: () => void;
  let copied = 0;
  const queue = new OutputQueue((chunk) => {
    copied += chunk.length;
    return copied === 8 ? new Promise<void>((r) => (release = r)) : undefined;
  }, { limits: { maxControlBytes: 1024 * 1024 } });
  const echo = Uint8Array.of(0x10, 0x01, 0x00, 0x08, 0x00, 0x09, 0x00, 0x00);
  for (let i = 0; i < 30_001; i++) queue.pushControl(echo);
  for (let i = 0; i < 3000; i++) pushData(queue, [packet(40, 1)]);
  assert.equal(queue.stats.writes, 1);
  release();
  await queue.drain(5000);
  assert.equal(queue.pendingBytes, 0);
  assert.equal(copied, 30_001 * 8 + 3000 * (40 + DATA_HEADER_BYTES));
  assert.ok(queue.stats.writes <= 3, `coalesced into few writes, not ${queue.stats.writes}`);
});

Deno.test("OutputQueue rejects inconsistent limits", () => {
  assert.throws(
    () => new OutputQueue(() => undefined, { limits: { lowWaterBytes: 2, highWaterBytes: 1 } }),
    RangeError,
  );
});

Deno.test("OutputQueue holds writes while corked and writes them in one chunk, control first, on uncork", () => {
  const writes: Uint8Array[] = [];
  const queue = new OutputQueue((chunk) => {
    writes.push(chunk);
    return undefined;
  });
  queue.cork();
  queue.pushControl(Uint8Array.of(0x10, 0x01, 0x00, 0x04));
  assert.equal(pushData(queue, [packet(20, 7)]), 1);
  queue.pushControl(Uint8Array.of(0x10, 0x01, 0x00, 0x05));
  assert.equal(writes.length, 0, "nothing written while corked");
  assert.equal(queue.pendingBytes, 8 + DATA_HEADER_BYTES + 20);
  queue.uncork();
  assert.equal(writes.length, 1, "one write for everything queued");
  const w = writes[0]!;
  assert.deepEqual([...w.subarray(0, 8)], [0x10, 0x01, 0x00, 0x04, 0x10, 0x01, 0x00, 0x05]);
  assert.equal(w[8 + DATA_HEADER_BYTES + 1], 7, "the data packet after the control packets");
  queue.uncork(); // idempotent
  queue.pushControl(Uint8Array.of(0x10, 0x01, 0x00, 0x06));
  assert.equal(writes.length, 2, "uncorked: written at once again");
});
