/**
 * The data path's stages two ways, in one process, no I/O: the push path the
 * runner uses (plain calls: `DataPlane.encapsulate` → `SstpFramer.pushEach` →
 * `DataPlane.decapsulate`) against the same functions chained as Web Streams
 * (lib/pipeline/streams.ts), to see what the stream layers cost before
 * building the session's data path from them (issue 15, option a).
 *
 * - Latency: one 1-packet batch at a time, each waited for at the far end (a
 *   ping through an idle tunnel); microseconds per batch.
 * - Throughput: 64-packet batches of 1400-byte packets, back to back; MB/s of
 *   IP payload.
 *
 *   deno run -A bench/stages.ts [--seconds 2]
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { DataPlane } from "../lib/tunnel/data_plane.ts";
import { SstpFramer } from "../lib/sstp/framer.ts";
import { encapsulateStream, ipPacketStream, sstpPacketStream } from "../lib/pipeline/streams.ts";

const { values } = parseArgs({ args: Deno.args, options: { seconds: { type: "string" } } });
const seconds = Number(values.seconds ?? "2");
const plane = new DataPlane({ gate: { isIpv4Open: true, isIpv6Open: true, peerMru: 1500 } });
const packet = (n: number) => {
  const p = new Uint8Array(n);
  p[0] = 0x45;
  return p;
};
const small = [packet(84)];
const bulk = Array.from({ length: 64 }, () => packet(1400));

/** The push path: returns how many IP bytes came out. */
function makePush(): (batch: Uint8Array[]) => number {
  const framer = new SstpFramer();
  return (batch) => {
    let out = 0;
    framer.pushEach(plane.encapsulate(batch).bytes, (p) => {
      if (p.kind !== "data") return;
      const r = plane.decapsulate(p.data);
      if (r.kind === "ip4" || r.kind === "ip6") out += r.packet.length;
    });
    return out;
  };
}

/** The streams path: a writer in, a reader out. */
function makeStreams() {
  const head = new TransformStream<Uint8Array[], Uint8Array[]>();
  const out = head.readable
    .pipeThrough(encapsulateStream(plane))
    .pipeThrough(sstpPacketStream())
    .pipeThrough(ipPacketStream(plane));
  return { writer: head.writable.getWriter(), reader: out.getReader() };
}

async function measure(name: string, fn: () => Promise<number> | number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  let bytes = 0;
  const start = performance.now();
  while (performance.now() < end) {
    bytes += await fn();
    n++;
  }
  const ms = performance.now() - start;
  console.log(
    `${name.padEnd(28)} ${(ms * 1000 / n).toFixed(2).padStart(8)} µs/batch  ` +
      `${(bytes / ms / 1000).toFixed(0).padStart(6)} MB/s`,
  );
  return ms * 1000 / n;
}

const push = makePush();
const s1 = makeStreams();
const s2 = makeStreams();
const viaStreams = (s: ReturnType<typeof makeStreams>, batch: Uint8Array[]) => async () => {
  void s.writer.write(batch);
  const { value } = await s.reader.read();
  return (value ?? []).reduce((a, p) => a + p.length, 0);
};
// Warm up both.
for (let i = 0; i < 20_000; i++) push(small);
for (let i = 0; i < 5_000; i++) await viaStreams(s1, small)();

const latencyPush = await measure("latency, push (1 packet)", () => push(small));
const latencyStreams = await measure("latency, streams (1 packet)", viaStreams(s1, small));
await measure("throughput, push (64 x 1400)", () => push(bulk));
await measure("throughput, streams (64x1400)", viaStreams(s2, bulk));
console.log(
  `streams add ${(latencyStreams - latencyPush).toFixed(2)} µs per batch one way ` +
    `(${(latencyStreams / latencyPush).toFixed(1)}x the push path)`,
);
