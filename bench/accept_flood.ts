/**
 * Accept rate under a reconnect flood, on loopback: how many connections per
 * second a listener accepts and refuses while processes reconnect from one
 * address as soon as they are closed, and the CPU the listener spends.
 *
 * Two listeners, measured alternately in the same run so both see the same
 * machine load:
 * - `tls.createServer`: node:tls's own listener refusing each connection in
 *   its `connection` event (the accept path of `listenTls` before
 *   lib/transport/_raw_listener.ts; Deno's node:tls server has wrapped the
 *   socket in a TLSSocket by then);
 * - `listenTls`: today's listener (node:net accept, admission before any TLS
 *   object; all but `max-handshakes-per-source` 8 connections are reset).
 *
 * ```sh
 * deno run -A bench/accept_flood.ts [--processes 1,4] [--loops 1000] [--seconds 4] [--rounds 2]
 * ```
 *
 * Prints one line per measurement and the medians. Only 127.0.0.1 is used.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import * as net from "node:net";
import * as tls from "node:tls";
import { parseArgs } from "node:util";
import { listenTls } from "../lib/transport/tls_server.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    processes: { type: "string", default: "1,4" },
    loops: { type: "string", default: "1000" },
    seconds: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    // Internal: run as one flooding process.
    flood: { type: "string" },
  },
});

if (values.flood !== undefined) await flood(values.flood);

/** `PORT:LOOPS:MS`: loops of connect, junk ClientHello, read until closed; prints cycles. */
async function flood(spec: string): Promise<never> {
  const [port, loops, ms] = spec.split(":").map(Number) as [number, number, number];
  const until = performance.now() + ms;
  let cycles = 0;
  const hello = new Uint8Array(300);
  hello.set([0x16, 0x03, 0x01, 0x01, 0x27]);
  const loop = async () => {
    const buf = new Uint8Array(4096);
    while (performance.now() < until) {
      let conn: Deno.TcpConn;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        continue;
      }
      try {
        await conn.write(hello);
        while ((await conn.read(buf)) !== null) { /* until closed */ }
      } catch {
        // Reset by the server.
      }
      cycles++;
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  console.log(`cycles ${cycles}`);
  Deno.exit(0);
}

const cert = await createSelfSignedServerCertificate({
  commonName: "bench",
  ipAddresses: ["127.0.0.1"],
});

interface Listener {
  port: number;
  close(): Promise<void>;
}

async function oldPath(): Promise<Listener> {
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (s) => s.destroy());
  server.on("connection", (raw: net.Socket) => raw.destroy());
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) =>
    server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve)
  );
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function newPath(): Promise<Listener> {
  const listener = await listenTls({
    hostname: "127.0.0.1",
    port: 0,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    handshakeTimeoutMs: 2000,
  });
  const drain = (async () => {
    for await (const d of listener) d.close();
  })();
  return {
    port: listener.addrs[0]!.port,
    async close() {
      listener.close();
      await drain;
      await listener.closed;
    },
  };
}

function cpuTicks(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

async function measure(
  make: () => Promise<Listener>,
  processes: number,
): Promise<{ rate: number; cpu: number }> {
  const listener = await make();
  const ms = Number(values.seconds) * 1000;
  const script = new URL(import.meta.url).pathname;
  const ticks0 = cpuTicks();
  const t0 = performance.now();
  const children = Array.from({ length: processes }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, "--flood", `${listener.port}:${values.loops}:${ms}`],
      stdout: "piped",
      stderr: "inherit",
    }).output());
  const outputs = await Promise.all(children);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (cpuTicks() - ticks0) / 100 / seconds;
  await listener.close();
  let cycles = 0;
  for (const o of outputs) {
    cycles += Number(/cycles (\d+)/.exec(new TextDecoder().decode(o.stdout))?.[1] ?? 0);
  }
  // Start-up of the flooding processes is inside `seconds`: the rate is a lower bound.
  return { rate: cycles / (ms / 1000), cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const processes of values.processes.split(",").map(Number)) {
  const results: Record<string, { rate: number[]; cpu: number[] }> = {
    "tls.createServer": { rate: [], cpu: [] },
    listenTls: { rate: [], cpu: [] },
  };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [name, make] of [["tls.createServer", oldPath], ["listenTls", newPath]] as const) {
      const r = await measure(make, processes);
      results[name]!.rate.push(r.rate);
      results[name]!.cpu.push(r.cpu);
      console.log(
        `${processes} x ${values.loops} loops, ${name}: ${r.rate.toFixed(0)} accepts/s, ` +
          `listener CPU ${(r.cpu * 100).toFixed(0)} %`,
      );
    }
  }
  const [a, b] = [results["tls.createServer"]!, results.listenTls!];
  console.log(
    `median, ${processes} flooding process(es): tls.createServer ${median(a.rate).toFixed(0)}/s ` +
      `at ${(median(a.cpu) * 100).toFixed(0)} % CPU (${
        (median(a.cpu) / median(a.rate) * 1e6).toFixed(0)
      } us/accept); listenTls ${median(b.rate).toFixed(0)}/s at ${
        (median(b.cpu) * 100).toFixed(0)
      } % (${(median(b.cpu) / median(b.rate) * 1e6).toFixed(0)} us/accept); load ${
        (Deno.loadavg()[0] ?? 0).toFixed(1)
      }`,
  );
}
