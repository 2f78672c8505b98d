import assert from "node:assert/strict";
import { DATA_HEADER_BYTES, OutputQueue } from "./output_queue.ts";

const IPV4 = 0x0021;
const packet = (n: number, fill: number) => new Uint8Array(n).fill(fill);

Deno.test("OutputQueue writes at once, in the same call, when the writer completes synchronously", () => {
  const writes: Uint8Array[] = [];
  const queue = new OutputQueue((chunk) => {
    writes.push(chunk);
    return undefined;
  });
  queue.pushControl(Uint8Array.of(0x10, 0x01, 0x00, 0x04));
  assert.equal(writes.length, 1, "control packet written before pushControl returned");
  assert.equal(queue.pushDataBatch([packet(20, 7), packet(30, 8)], () => IPV4), 2);
  assert.equal(writes.length, 2, "one write for the whole batch, before pushDataBatch returned");
  const data = writes[1]!;
  assert.equal(data.length, 2 * DATA_HEADER_BYTES + 50);
  // SSTP data header (length 4 + PPP), PPP FF 03 00 21, then the packet.
  assert.deepEqual([...data.subarray(0, 8)], [0x10, 0x00, 0x00, 28, 0xff, 0x03, 0x00, 0x21]);
  assert.equal(data[8], 7);
  assert.deepEqual([...data.subarray(28, 36)], [0x10, 0x00, 0x00, 38, 0xff, 0x03, 0x00, 0x21]);
  assert.equal(queue.pendingBytes, 0);
  assert.deepEqual(queue.stats, { writes: 2, bytes: 4 + data.length, dataPackets: 2 });
});

Deno.test("OutputQueue coalesces everything queued behind a pending write into one write, control first", async () => {
  const writes: Uint8Array[] = [];
  let release!: () => void;
  const queue = new OutputQueue((chunk) => {
    writes.push(chunk);
    return writes.length === 1 ? new Promise<void>((r) => (release = r)) : undefined;
  });
  queue.pushDataBatch([packet(10, 1)], () => IPV4);
  assert.equal(writes.length, 1);
  queue.pushDataBatch([packet(10, 2)], () => IPV4);
  queue.pushDataBatch([packet(10, 3)], () => IPV4);
  queue.pushControl(Uint8Array.of(0x10, 0x01, 0x00, 0x04));
  assert.equal(writes.length, 1, "nothing written while the first write is pending");
  assert.equal(queue.pendingBytes, 4 + 2 * (DATA_HEADER_BYTES + 10));
  release();
  await queue.drain(1000);
  assert.equal(writes.length, 2);
  const second = writes[1]!;
  assert.deepEqual([...second.subarray(0, 4)], [0x10, 0x01, 0x00, 0x04], "control goes first");
  assert.equal(second[4 + DATA_HEADER_BYTES], 2);
  assert.equal(second[4 + 2 * DATA_HEADER_BYTES + 10], 3);
});

Deno.test("OutputQueue skips packets the protocol callback refuses", () => {
  const writes: Uint8Array[] = [];
  const queue = new OutputQueue((chunk) => void writes.push(chunk));
  assert.equal(
    queue.pushDataBatch([packet(5, 1), packet(6, 2)], (p) => (p[0] === 1 ? undefined : IPV4)),
    1,
  );
  assert.equal(writes[0]!.length, DATA_HEADER_BYTES + 6);
  assert.equal(queue.pushDataBatch([packet(5, 1)], () => undefined), 0);
  assert.equal(writes.length, 1, "an empty batch writes nothing");
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

Deno.test("OutputQueue makes the producer wait above its high-water mark and wakes it after the write", async () => {
  let release!: () => void;
  const queue = new OutputQueue(() => new Promise<void>((r) => (release = r)));
  queue.pushDataBatch([packet(100, 1)], () => IPV4);
  const big = Array.from({ length: 800 }, () => packet(1400, 9));
  queue.pushDataBatch(big, () => IPV4);
  const wait = queue.whenWritable();
  assert.ok(wait, "over 1 MiB pending: the producer must wait");
  let woke = false;
  void wait.then(() => (woke = true));
  await Promise.resolve();
  assert.equal(woke, false);
  release();
  await wait;
  assert.equal(queue.whenWritable(), undefined);
  queue.close();
});
