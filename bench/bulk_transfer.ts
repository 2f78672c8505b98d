/**
 * Bulk integrity helper: sends N random bytes over TCP, or receives them,
 * hashing with SHA-256 at each end, and prints one JSON line
 * `{"bytes":N,"sha256":"HEX","seconds":S}`.
 *
 *   deno run -A bench/bulk_transfer.ts recv ADDR PORT [TIMEOUT_S]
 *   deno run -A bench/bulk_transfer.ts send ADDR PORT BYTES [TIMEOUT_S]
 *
 * The receiver accepts one connection and prints `listening` first.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { createHash } from "node:crypto";

const CHUNK = 1 << 20;

/** Fills `buf` with random bytes (getRandomValues takes at most 64 KiB). */
function fillRandom(buf: Uint8Array): void {
  for (let off = 0; off < buf.length; off += 65536) {
    crypto.getRandomValues(buf.subarray(off, Math.min(off + 65536, buf.length)));
  }
}

async function send(addr: string, port: number, total: number): Promise<void> {
  const conn = await Deno.connect({ hostname: addr, port });
  const hash = createHash("sha256");
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const buf = new Uint8Array(Math.min(CHUNK, total - sent));
    fillRandom(buf);
    hash.update(buf);
    for (let off = 0; off < buf.length;) off += await conn.write(buf.subarray(off));
    sent += buf.length;
  }
  await conn.closeWrite();
  // Wait for the receiver to close: every byte was read.
  const sink = new Uint8Array(16);
  while ((await conn.read(sink)) !== null) { /* nothing expected */ }
  conn.close();
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ bytes: sent, sha256: hash.digest("hex"), seconds }));
}

async function recv(addr: string, port: number): Promise<void> {
  const listener = Deno.listen({ hostname: addr, port });
  console.log("listening");
  const conn = await listener.accept();
  listener.close();
  const hash = createHash("sha256");
  const t0 = performance.now();
  const buf = new Uint8Array(CHUNK);
  let bytes = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
    bytes += n;
  }
  conn.close();
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ bytes, sha256: hash.digest("hex"), seconds }));
}

if (import.meta.main) {
  const [mode, addr, portText, a4, a5] = Deno.args;
  const port = Number(portText);
  if (!addr || !(port > 0 && port < 65536) || (mode !== "send" && mode !== "recv")) {
    console.error(
      "usage: bulk_transfer.ts recv ADDR PORT [TIMEOUT_S] | send ADDR PORT BYTES [TIMEOUT_S]",
    );
    Deno.exit(64);
  }
  const timeoutS = Number((mode === "send" ? a5 : a4) ?? 300);
  const timer = setTimeout(() => {
    console.error(`bulk_transfer ${mode}: gave up after ${timeoutS} s`);
    Deno.exit(1);
  }, timeoutS * 1000);
  if (mode === "send") await send(addr, port, Number(a4));
  else await recv(addr, port);
  clearTimeout(timer);
}
