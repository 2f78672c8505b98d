/**
 * Tiny TCP probes for `sstp demo`, run as their own process inside a
 * namespace (`sstp probe …`, an internal command), so the demo needs
 * neither ping nor iperf3 on a fresh machine:
 *
 * - `serve ADDR PORT`: echoes what it reads on its first connection that
 *   starts with "E"; counts and discards for connections that start with "S".
 * - `rtt ADDR PORT N`: N one-byte round trips; prints the median RTT in ms.
 * - `send ADDR PORT SECONDS`: sends as fast as it can for SECONDS; prints Mbit/s.
 *
 * Every loop is bounded by count or time.
 *
 * @module
 */

const encoder = new TextEncoder();
/** Writes one line to standard output (this file runs as its own process). */
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

async function serve(hostname: string, port: number, lifetimeMs: number): Promise<void> {
  const listener = Deno.listen({ hostname, port });
  const stop = setTimeout(() => listener.close(), lifetimeMs);
  say("ready");
  const tasks: Promise<void>[] = [];
  try {
    for await (const conn of listener) tasks.push(handle(conn));
  } catch { /* listener closed */ }
  clearTimeout(stop);
  await Promise.allSettled(tasks);
}

async function handle(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(256 * 1024);
  let total = 0;
  const start = performance.now();
  let mode: number | undefined;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      mode ??= buf[0];
      total += n;
      if (mode === 0x45) await conn.write(buf.subarray(0, n));
    }
  } catch { /* peer went away */ }
  if (mode === 0x53) {
    const s = (performance.now() - start) / 1000;
    say(`received ${total} bytes in ${s.toFixed(2)} s`);
  }
  conn.close();
}

async function rtt(hostname: string, port: number, count: number): Promise<void> {
  const conn = await Deno.connect({ hostname, port });
  conn.setNoDelay(true);
  const one = new Uint8Array([0x45]);
  const back = new Uint8Array(1);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await conn.write(one);
    if ((await conn.read(back)) === null) break;
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
  conn.close();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? NaN;
  say(`rtt ${times.length}/${count} round trips, median ${median.toFixed(2)} ms`);
}

async function send(hostname: string, port: number, seconds: number): Promise<void> {
  const conn = await Deno.connect({ hostname, port });
  const chunk = new Uint8Array(128 * 1024).fill(0x53);
  const start = performance.now();
  const end = start + seconds * 1000;
  let total = 0;
  while (performance.now() < end) {
    total += await conn.write(chunk);
  }
  conn.close();
  const s = (performance.now() - start) / 1000;
  say(`sent ${total} bytes in ${s.toFixed(2)} s: ${(total * 8 / s / 1e6).toFixed(0)} Mbit/s`);
}

/** Runs `sstp probe MODE ADDR PORT ARG` (internal, for `sstp demo`). */
export async function main(argv: string[]): Promise<number> {
  const [mode, host = "127.0.0.1", portText = "5201", arg = "5"] = argv;
  const port = Number(portText);
  if (mode === "serve") await serve(host, port, Number(arg) * 1000);
  else if (mode === "rtt") await rtt(host, port, Math.min(100, Number(arg)));
  else if (mode === "send") await send(host, port, Math.min(60, Number(arg)));
  else {
    say("usage: sstp probe serve|rtt|send ADDR PORT ARG");
    return 64;
  }
  return 0;
}
