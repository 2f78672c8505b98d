/**
 * A hostile SSTP client for the attack tests, run as its own process inside
 * the attacker namespace (`ip netns exec NS deno run -A attacker.ts ...`) so
 * its work does not share an event loop with the legitimate client that the
 * test times.
 *
 * ```
 * attacker.ts MODE --host IP --port N --count N [--refill-ms MS] [--ca PEM_FILE]
 * ```
 *
 * Modes (each holds `count` connections):
 * - `tcp`: connections that send no byte (half-open TCP);
 * - `hello`: a replayed TLS ClientHello, never finished (half-finished TLS);
 * - `preamble`: TLS plus the SSTP HTTP request, then silence (pre-auth slots);
 * - `reconnect`: `count` loops, each connecting, sending a ClientHello and
 *   connecting again as soon as the server closes the connection (a
 *   connection flood that reconnects as fast as it is refused). Runs for
 *   `--refill-ms` (default 20 s) and at most `--max-connects` connections
 *   (default 1,000,000), then holds nothing.
 *
 * With `--refill-ms`, connections the server closes are re-opened for that
 * long. Prints `ready held=N failed=N` once every connection was tried, then
 * runs until stdin closes (or 60 s pass), then closes everything and exits.
 * `reconnect` prints `ready loops=N opened=N` once every loop connected
 * once, `progress connected=N` every 200 ms (for a caller measuring the
 * server over a window), and ends with the connections per second it reached.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { buildSstpHttpRequest } from "../../lib/sstp/http_preamble.ts";

const { positionals, values } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    host: { type: "string" },
    port: { type: "string" },
    count: { type: "string" },
    "refill-ms": { type: "string", default: "0" },
    ca: { type: "string" },
    "max-connects": { type: "string", default: "1000000" },
  },
});
const mode = positionals[0];
const host = values.host ?? "";
const port = Number(values.port);
const count = Number(values.count);
const refillMs = Number(values["refill-ms"]);
if (!/^198\.1[89]\./.test(host)) {
  throw new Error(`attacker: ${host} is not a 198.18.0.0/15 address`);
}
const caCerts = values.ca === undefined ? [] : [await Deno.readTextFile(values.ca)];

/** The first bytes a TLS client sends (its ClientHello), captured on loopback. */
async function captureClientHello(): Promise<Uint8Array> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = Deno.connectTls({ hostname: "127.0.0.1", port: listener.addr.port })
    .catch(() => undefined);
  const conn = await listener.accept();
  const buf = new Uint8Array(16384);
  const n = await conn.read(buf);
  conn.close();
  listener.close();
  (await client)?.close();
  if (n === null || buf[0] !== 0x16) throw new Error("attacker: no ClientHello captured");
  return buf.slice(0, n);
}

const clientHello = mode === "hello" || mode === "reconnect"
  ? await captureClientHello()
  : new Uint8Array();

async function prepare(tcp: Deno.TcpConn): Promise<Deno.Conn> {
  switch (mode) {
    case "tcp":
      return tcp;
    case "hello":
      await tcp.write(clientHello);
      return tcp;
    case "preamble": {
      const tls = await Deno.startTls(tcp, { hostname: host, caCerts });
      await tls.handshake();
      await tls.write(buildSstpHttpRequest({ host, correlationId: `{${crypto.randomUUID()}}` }));
      return tls;
    }
    default:
      throw new Error(`attacker: unknown mode ${mode}`);
  }
}

const held = new Set<Deno.Conn>();
let stopping = false;
let failed = 0;
let opened = 0;
const refillUntil = performance.now() + refillMs;

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

async function open(): Promise<void> {
  const tcp = await Deno.connect({ hostname: host, port });
  opened++;
  let conn: Deno.Conn = tcp;
  try {
    conn = await prepare(tcp);
  } catch {
    closeQuietly(tcp);
    failed++;
    return;
  }
  held.add(conn);
  // Read (and discard) until the server closes it; then refill while allowed.
  (async () => {
    const buf = new Uint8Array(16384);
    try {
      while (!stopping && (await conn.read(buf)) !== null) { /* discard */ }
    } catch {
      // Reset by the server.
    }
    held.delete(conn);
    closeQuietly(conn);
    if (!stopping && performance.now() < refillUntil) open().catch(() => failed++);
  })();
}

if (mode === "reconnect") await reconnectFlood();

/**
 * `count` loops of connect, ClientHello, wait for the server's close or
 * reset, again; until `--refill-ms` (default 20 s) pass, stdin closes or
 * `--max-connects` connections were made. Never returns.
 */
async function reconnectFlood(): Promise<never> {
  const durationMs = values["refill-ms"] === "0" ? 20_000 : refillMs;
  const maxConnects = Number(values["max-connects"]);
  const t0 = performance.now();
  const until = t0 + durationMs;
  let connected = 0;
  let readyLoops = 0;
  let printedReady = false;
  const live = new Set<Deno.Conn>();
  const stdinClosed = Deno.stdin.readable.pipeTo(new WritableStream()).catch(() => {});
  const report = () => {
    const s = (performance.now() - t0) / 1000;
    console.log(
      `stopped opened=${opened} connected=${connected} failed=${failed} ` +
        `rate=${Math.round(connected / s)}/s over ${s.toFixed(1)} s`,
    );
  };
  const progress = setInterval(() => console.log(`progress connected=${connected}`), 200);
  stdinClosed.then(() => {
    clearInterval(progress);
    stopping = true;
    for (const c of live) closeQuietly(c);
    // A connect whose SYN the server dropped may be retried for minutes.
    setTimeout(() => {
      report();
      Deno.exit(0);
    }, 1000);
  });
  const loop = async () => {
    let counted = false;
    const buf = new Uint8Array(4096);
    while (!stopping && performance.now() < until && opened < maxConnects) {
      opened++;
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect({ hostname: host, port });
      } catch {
        failed++;
        continue;
      }
      connected++;
      live.add(conn);
      if (!counted) {
        counted = true;
        if (++readyLoops === count && !printedReady) {
          printedReady = true;
          console.log(`ready loops=${count} opened=${opened}`);
        }
      }
      try {
        await conn.write(clientHello);
        while (!stopping && (await conn.read(buf)) !== null) { /* discard */ }
      } catch {
        // Reset by the server.
      }
      live.delete(conn);
      closeQuietly(conn);
    }
  };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < count; i++) loops.push(loop());
  // Loops that could not all connect (the server never accepted) still report.
  const readyTimer = setTimeout(() => {
    if (!printedReady) {
      printedReady = true;
      console.log(`ready loops=${readyLoops}/${count} opened=${opened}`);
    }
  }, 5000);
  await Promise.all(loops);
  clearTimeout(readyTimer);
  clearInterval(progress);
  if (!stopping) {
    // Keeps the figures for the test's last line; exits once stdin closes.
    report();
    await stdinClosed;
  }
  return await new Promise<never>(() => {});
}

for (let i = 0; i < count; i += 32) {
  const batch = [];
  for (let j = i; j < Math.min(count, i + 32); j++) batch.push(open().catch(() => failed++));
  await Promise.all(batch);
}
console.log(`ready held=${held.size} failed=${failed}`);
await Promise.race([
  Deno.stdin.readable.pipeTo(new WritableStream()).catch(() => {}),
  new Promise((r) => setTimeout(r, 60_000)),
]);
stopping = true;
for (const c of held) closeQuietly(c);
console.log(`stopped held=${held.size} opened=${opened} failed=${failed}`);
Deno.exit(0);
