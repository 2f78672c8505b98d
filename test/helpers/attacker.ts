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
 * - `preamble`: TLS plus the SSTP HTTP request, then silence (pre-auth slots).
 *
 * With `--refill-ms`, connections the server closes are re-opened for that
 * long. Prints `ready held=N failed=N` once every connection was tried, then
 * runs until stdin closes (or 60 s pass), then closes everything and exits.
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

const clientHello = mode === "hello" ? await captureClientHello() : new Uint8Array();

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
