// deno-lint-ignore-file no-console
/**
 * Per-packet cost of the session runner's data path (`TunnelRunner` with the
 * data plane and output queue, no I/O: a fake engine, lane and TUN device),
 * for one or more checkouts in ONE process, alternating round by round, so
 * a busy machine slows all of them alike:
 *
 *   deno run -A bench/runner_micro.ts [TREE ...]   # default: this tree
 *
 * Figures (ns; min and median over the rounds): one inbound 84-byte ping
 * through a server runner (source filter set, MSS clamping on) and a client
 * runner; 32 × 1,400-byte packets in one chunk; outbound batches of 32 and
 * of 1; an echo (inbound ping whose answer the fake TUN has ready, sent by
 * the runner's poll after the write); the same echo after 30 ms idle
 * ("cold", as a ping every 100 ms meets the code). `ROUNDS` (default 15)
 * sets the rounds. Each TREE is a checkout (e.g. a `git worktree` of an
 * older commit) whose runner takes the same options.
 *
 * @module
 */
const trees = Deno.args.length > 0
  ? Deno.args
  : [new URL("..", import.meta.url).pathname.replace(/\/$/, "")];
const mods = await Promise.all(trees.map(async (t) => ({
  tag: t.split("/").pop()!,
  runner: await import(`${t}/lib/pipeline/runner.ts`),
  sf: await import(`${t}/lib/server/source_filter.ts`).catch(() => undefined),
})));
const NOOP_LOG = {
  enabled: () => false,
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return NOOP_LOG;
  },
};
function ipPacket(len: number, src = [198, 18, 220, 2], dst = [198, 18, 220, 1]) {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 1;
  p.set(src, 12);
  p.set(dst, 16);
  return p;
}
function sstpData(ip: Uint8Array) {
  const b = new Uint8Array(8 + ip.length);
  const n = b.length;
  b[0] = 0x10;
  b[1] = 0;
  b[2] = (n >> 8) & 0x0f;
  b[3] = n & 0xff;
  b[4] = 0xff;
  b[5] = 0x03;
  b[6] = 0x00;
  b[7] = 0x21;
  b.set(ip, 8);
  return b;
}
function concat(parts: Uint8Array[]) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
interface Rig {
  push(c: Uint8Array): void;
  outbound(b: Uint8Array[]): void;
  written: () => number;
}
async function rig(
  m: typeof mods[0],
  server: boolean,
  answer: Uint8Array | undefined,
): Promise<Rig> {
  let onChunk!: (c: Uint8Array) => void;
  let onPackets: ((b: Uint8Array[]) => void) | undefined;
  let written = 0;
  let pendingAnswer: Uint8Array[] = [];
  const engine = {
    handle: (e: { type: string }) =>
      e.type === "start"
        ? [{
          type: "linkUp",
          ip: { localAddress: "198.18.220.1", peerAddress: "198.18.220.2", mtu: 1500 },
        }]
        : [],
    noteReceive() {},
    isIpv4Open: true,
    isIpv6Open: true,
    peerMru: 1500,
  };
  const lane = {
    write: (c: Uint8Array) => {
      written += c.length;
      return undefined;
    },
    takeReads: (c: (x: Uint8Array) => void) => {
      onChunk = c;
      return { pause() {}, resume() {} };
    },
  };
  const tun = {
    name: "x",
    stats: {},
    writePackets(ps: Uint8Array[]) {
      if (answer) pendingAnswer = [answer];
      return ps.length;
    },
    readAvailable() {
      const a = pendingAnswer;
      pendingAnswer = [];
      return a;
    },
    readPush(cb: (b: Uint8Array[]) => void) {
      onPackets = cb;
      return {
        pause() {},
        resume() {},
        stop() {},
        poll() {
          const a = pendingAnswer;
          pendingAnswer = [];
          if (a.length) cb(a);
        },
      };
    },
    close() {},
  };
  const extra: Record<string, unknown> = {};
  if (server && m.sf) extra.sourceFilter = new m.sf.SourceFilter("198.18.220.2", []);
  if (server && m.sf) extra.uploadPolicer = undefined;
  const r = new m.runner.TunnelRunner({
    engine,
    transport: { lane, close() {} },
    clock: { now: () => performance.now() },
    logger: NOOP_LOG,
    onLinkUp: () => Promise.resolve(tun),
    clampTcpMss: true,
    timers: { set: () => 0, clear() {} },
    ...extra,
  });
  void r.run();
  await new Promise((r) => setTimeout(r, 5));
  return { push: (c) => onChunk(c), outbound: (b) => onPackets!(b), written: () => written };
}
const ping = ipPacket(84);
const reply = ipPacket(84, [198, 18, 220, 1], [198, 18, 220, 2]);
const pingChunk = sstpData(ping);
const bulkChunk = concat(Array.from({ length: 32 }, () => sstpData(ipPacket(1400))));
const bulkBatch = Array.from({ length: 32 }, () => ipPacket(1400));
const rigs = [] as { tag: string; server: Rig; client: Rig; echo: Rig }[];
for (const m of mods) {
  rigs.push({
    tag: m.tag,
    server: await rig(m, true, undefined),
    client: await rig(m, false, undefined),
    echo: await rig(m, true, reply),
  });
}
const results: Record<string, Record<string, number[]>> = {};
const note = (tag: string, k: string, v: number) => ((results[tag] ??= {})[k] ??= []).push(v);
function hot(tag: string, name: string, n: number, perPkt: number, f: () => void) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  note(tag, name, (performance.now() - t0) * 1e6 / (n * perPkt));
}
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 15);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? rigs : [...rigs].reverse();
  for (const r of order) {
    hot(r.tag, "in-server ping ns/pkt", 5000, 1, () => r.server.push(pingChunk));
    hot(r.tag, "in-client ping ns/pkt", 5000, 1, () => r.client.push(pingChunk));
    hot(r.tag, "in-server bulk32 ns/pkt", 500, 32, () => r.server.push(bulkChunk));
    hot(r.tag, "out bulk32 ns/pkt", 500, 32, () => r.server.outbound(bulkBatch));
    hot(r.tag, "out ping ns/pkt", 5000, 1, () => r.server.outbound([reply]));
    hot(r.tag, "echo in+reply ns", 5000, 1, () => r.echo.push(pingChunk));
  }
  // cold: one echo after an idle gap, like a ping every 100 ms
  for (let i = 0; i < 6; i++) {
    for (const r of order) {
      await new Promise((res) => setTimeout(res, 30));
      const t0 = performance.now();
      r.echo.push(pingChunk);
      note(r.tag, "echo cold ns", (performance.now() - t0) * 1e6);
    }
  }
}
const med = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
};
const keys = Object.keys(results[rigs[0]!.tag]!);
const min = (a: number[]) => Math.min(...a);
console.log(
  "figure".padEnd(26),
  ...rigs.map((r) => (r.tag + " min").padStart(13)),
  ...rigs.map((r) => (r.tag + " med").padStart(13)),
  "min ratio",
  "med ratio",
);
for (const k of keys) {
  const mn = rigs.map((r) => min(results[r.tag]![k]!));
  const md = rigs.map((r) => med(results[r.tag]![k]!));
  console.log(
    k.padEnd(26),
    ...mn.map((v) => v.toFixed(0).padStart(13)),
    ...md.map((v) => v.toFixed(0).padStart(13)),
    (mn[mn.length - 1]! / mn[0]!).toFixed(3).padStart(9),
    (md[md.length - 1]! / md[0]!).toFixed(3).padStart(9),
  );
}
Deno.exit(0);
