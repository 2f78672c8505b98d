/**
 * Packets-per-second of {@linkcode LinuxTun} (root only; run by hand:
 * `deno run -A ffi/tun_bench.ts`). Everything happens in a throw-away
 * namespace:
 *
 * ```
 *   sender (deno, sync FFI sendto, in the namespace)
 *     └─► UDP to 198.18.5.2:9 ─► route dev sstp-b0 ─► TUN fd ─► this process
 *         counts packets via `readable` and via `readBatch()`.
 *   this process ─► writePackets(UDP 198.18.5.2 → 198.18.5.1:9) ─► kernel
 * ```
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { createNetns } from "../test/helpers/netns.ts";
import { type LinuxTun, openLinuxTun } from "./linux_tun.ts";

const SECONDS = Number(Deno.args[0] ?? 3);
const LIBC_URL = new URL("./libc.ts", import.meta.url).href;

const SENDER = `
import { AF_INET, SOCK_DGRAM, libc } from "${LIBC_URL}";
const { socket, sendto } = libc();
const s = socket(AF_INET, SOCK_DGRAM, 0);
const to = new Uint8Array(16);
new DataView(to.buffer).setUint16(0, AF_INET, true);
new DataView(to.buffer).setUint16(2, 9);
to.set([198, 18, 5, 2], 4);
const payload = new Uint8Array(64);
const end = performance.now() + ${SECONDS} * 1000;
let sent = 0;
while (performance.now() < end) {
  for (let i = 0; i < 1000; i++) if (sendto(s, payload, 64n, 0, to, 16) > 0) sent++;
}
console.log(sent);
`;

async function measureRead(
  tun: LinuxTun,
  mode: "readable" | "readBatch",
  ns: { exec: (c: string[], o?: { timeoutMs?: number }) => Promise<{ stdout: string }> },
) {
  const start = { ...tun.stats };
  const sender = ns.exec(["deno", "eval", SENDER], { timeoutMs: (SECONDS + 20) * 1000 });
  let done = false;
  const consume = (async () => {
    if (mode === "readBatch") {
      while (!done) await tun.readBatch();
    } else {
      const reader = tun.readable.getReader();
      try {
        while (!done) await reader.read();
      } finally {
        reader.releaseLock();
      }
    }
  })();
  // Count only while the sender runs: wait for its first packets, then time.
  while (tun.stats.rxPackets === start.rxPackets) await new Promise((r) => setTimeout(r, 10));
  const t0 = performance.now();
  const p0 = tun.stats.rxPackets;
  await new Promise((r) => setTimeout(r, (SECONDS - 1) * 1000));
  const pps = (tun.stats.rxPackets - p0) / ((performance.now() - t0) / 1000);
  const sent = Number((await sender).stdout.trim());
  done = true;
  return { pps, sent, consume };
}

function udpPacket(): Uint8Array {
  const p = new Uint8Array(20 + 8 + 64);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  p[8] = 64;
  p[9] = 17;
  p.set([198, 18, 5, 2], 12);
  p.set([198, 18, 5, 1], 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, 40000);
  v.setUint16(22, 9);
  v.setUint16(24, 8 + 64);
  return p;
}

await using ns = await createNetns({ prefix: "sstp-b" });
const tun = ns.enter(() =>
  openLinuxTun({ name: "sstp-b0", mtu: 1400, txQueueLen: 5000, up: true })
);
try {
  await ns.run(["ip", "addr", "add", "198.18.5.1", "peer", "198.18.5.2", "dev", "sstp-b0"]);
  for (const mode of ["readBatch", "readable"] as const) {
    const { pps, sent, consume } = await measureRead(tun, mode, ns);
    console.log(`read  ${mode.padEnd(9)}: ${Math.round(pps)} packets/s (sender sent ${sent})`);
    // Unblock the consumer: one more packet arrives from the next phase or close.
    ns.exec(["ping", "-c", "1", "-W", "1", "198.18.5.2"]).then(() => {});
    await consume;
  }
  const batch = Array.from({ length: 64 }, udpPacket);
  const t0 = performance.now();
  let written = 0;
  while (performance.now() - t0 < SECONDS * 1000) written += tun.writePackets(batch);
  const wps = written / ((performance.now() - t0) / 1000);
  console.log(`write writePackets: ${Math.round(wps)} packets/s (dropped ${tun.stats.txDropped})`);
} finally {
  tun.close();
  await tun.closed;
}
