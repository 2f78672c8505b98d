/**
 * Headless SSTP load generator: many client sessions in one process, each
 * with the real client stack (TLS via `dialTls`, the HTTP preamble, the
 * client engine with MS-CHAPv2 and IPCP, the {@linkcode TunnelRunner}) and an
 * in-memory TUN instead of a kernel device.
 *
 * Flow:
 * 1. Open `--sessions` sessions, at most `--concurrency` in set-up at once;
 *    each counts as up when IPCP opens (the runner's `onLinkUp`).
 * 2. Ping: every session sends an ICMP echo through its tunnel to the
 *    server's address and waits for the reply on its MemoryTun.
 * 3. Print `RESULT {json}`, then `HOLDING` and keep every session up (Hello
 *    keepalives run) for `--hold-seconds` or until stdin closes, so the
 *    caller can measure the server at rest.
 * 4. Close every session (Call Disconnect) and print `DONE`.
 *
 *   SSTP_PASSWORD=… deno run -A bench/load_client.ts --connect-to 198.18.200.1:443 \
 *     --user sstp --server-fingerprint sha256:HEX --sessions 500
 *
 * Every wait is bounded (`--setup-timeout-seconds`, per-step timeouts).
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { dialTls, TlsSessionCache } from "../lib/transport/tls_client.ts";
import { readPreamble } from "../lib/transport/preamble.ts";
import { buildSstpHttpRequest, parseSstpHttpResponse } from "../lib/sstp/http_preamble.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { createClientEngine } from "../lib/tunnel/client_engine.ts";
import { TunnelRunner } from "../lib/pipeline/runner.ts";
import { parseFingerprint } from "../lib/cert/fingerprint.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import { systemClock } from "../lib/clock.ts";
import type { IpConfig } from "../lib/tunnel/events.ts";
import { MemoryTun } from "../test/helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "../test/helpers/icmp.ts";

/** Options of {@linkcode runLoad}. */
export interface LoadOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  fingerprint: string;
  sessions: number;
  concurrency: number;
  /** Give up set-up of all sessions after this long. */
  setupTimeoutMs: number;
  /** Per-session Hello interval (keepalive). */
  helloMs: number;
  /** TLS sessions by session index (a reconnect passes the old ones). */
  resume?: TlsResume[];
  /** Ping through every session after set-up (default true). */
  ping?: boolean;
  /** Called with the number of sessions up after each one comes up. */
  onUp?: (up: number) => void;
}

/** What {@linkcode runLoad} reports. */
export interface LoadResult {
  requested: number;
  established: number;
  failed: number;
  /** Up to 5 distinct failure messages with counts. */
  errors: Record<string, number>;
  /** First dial to last link-up, s. */
  setupSeconds: number;
  sessionsPerSecond: number;
  /** Median time of one session's set-up, ms. */
  sessionSetupMedianMs: number;
  distinctAddresses: number;
  pingsAnswered: number;
  pingRttMedianMs: number;
  pingSeconds: number;
}

/** What a simulated client keeps for its next dial: its TLS session and the SNI it dialled with. */
export interface TlsResume {
  cache: TlsSessionCache;
  sni: string;
}

/**
 * SNI names the sessions are spread over. Deno's node:tls keeps TLS 1.3
 * tickets per process and server name, at most 8 per name (see
 * TlsSessionCache), and an offer uses one up: with one name, 64 set-ups in
 * flight shared 8 tickets and a storm resumed 17-23 %. 16 names hold 128
 * tickets, more than the set-ups in flight, and stay below the runtime's
 * ~32 names. The server took tickets 1,200 handshakes old (bench/README.md),
 * so a re-dial resuming with a ticket of its name costs it what one resuming
 * its own would.
 */
const TICKET_NAMES = 16;

/** The SNI of session `index` (RFC 2606 `.invalid`: never resolved, the IP is dialled). */
export function loadSni(index: number): string {
  return `load${index % TICKET_NAMES}.invalid`;
}

interface Session extends TlsResume {
  /** The dial resumed a TLS session. */
  resumed?: boolean;
  runner?: TunnelRunner;
  tun?: MemoryTun;
  ip?: IpConfig;
  running?: Promise<unknown>;
  setupMs?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function openSession(
  o: LoadOptions,
  pin: Uint8Array,
  index: number,
  resume: TlsResume,
): Promise<Session> {
  const t0 = performance.now();
  const { cache, sni } = resume;
  const conn = await dialTls({
    sessionCache: cache,
    host: o.host,
    port: o.port,
    sni,
    serverFingerprintSha256: pin,
    verifyServerAddress: false,
    connectTimeoutMs: 20_000,
  });
  const duplex = conn.duplex;
  const session: Session = { cache, sni, resumed: conn.resumed === true };
  try {
    const w = duplex.writable.getWriter();
    await w.write(
      buildSstpHttpRequest({
        host: o.host,
        correlationId: `{${crypto.randomUUID().toUpperCase()}}`,
      }),
    );
    w.releaseLock();
    const got = await readPreamble(
      duplex.readable,
      parseSstpHttpResponse,
      20_000,
      "SSTP HTTP response",
    );
    if (got.header.response.status !== 200) {
      throw new Error(`HTTP ${got.header.response.status} ${got.header.response.reason}`);
    }
    const engine = createClientEngine({
      certHashes: certHashes(conn.peerCertDer),
      user: o.user,
      password: o.password,
      authentication: ["mschap2"],
      helloMs: o.helloMs,
      requestDns: false,
      randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
      logger: NOOP_LOGGER,
    });
    let linkUp!: () => void;
    const up = new Promise<void>((resolve) => (linkUp = resolve));
    const runner = new TunnelRunner({
      engine,
      transport: duplex,
      leftover: got.leftover,
      clock: systemClock,
      logger: NOOP_LOGGER,
      onLinkUp: (ip) => {
        session.ip = ip;
        session.tun = new MemoryTun(`load${index}`);
        linkUp();
        return Promise.resolve(session.tun);
      },
    });
    session.runner = runner;
    const running = runner.run();
    session.running = running;
    await withTimeout(
      Promise.race([
        up,
        running.then((r) => {
          throw r.error ?? new Error("session ended before the link came up");
        }),
      ]),
      30_000,
      "link up",
    );
    session.setupMs = performance.now() - t0;
    return session;
  } catch (e) {
    session.runner?.close("set-up failed");
    duplex.close();
    throw e;
  }
}

async function pingSession(s: Session, seq: number): Promise<number | undefined> {
  const { tun, ip } = s;
  if (!tun || !ip) return undefined;
  const start = tun.written.length;
  const t0 = performance.now();
  tun.inject(buildIcmpEcho(ip.localAddress, ip.peerAddress, { id: 0x5b, seq }));
  for (let i = start; i < start + 5; i++) {
    const p = await tun.nextWritten(i, 5000).catch(() => undefined);
    if (!p) return undefined;
    const icmp = parseIcmp(p);
    if (icmp && icmp.type === 0 && icmp.src === ip.peerAddress && icmp.seq === seq) {
      return performance.now() - t0;
    }
  }
  return undefined;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Opens the sessions and pings through each; returns them (still up) with the figures. */
export async function runLoad(
  o: LoadOptions,
): Promise<{ result: LoadResult; sessions: Session[] }> {
  const pin = parseFingerprint(o.fingerprint).bytes;
  const sessions: Session[] = [];
  const errors: Record<string, number> = {};
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  let lastUp = t0;
  const deadline = t0 + o.setupTimeoutMs;
  const worker = async () => {
    while (next < o.sessions && performance.now() < deadline) {
      const index = next++;
      try {
        sessions.push(
          await openSession(
            o,
            pin,
            index,
            o.resume?.[index] ?? { cache: new TlsSessionCache(), sni: loadSni(index) },
          ),
        );
        lastUp = performance.now();
        o.onUp?.(sessions.length);
      } catch (e) {
        failed++;
        const msg = (e instanceof Error ? e.message : String(e)).slice(0, 120);
        if (errors[msg] !== undefined || Object.keys(errors).length < 5) {
          errors[msg] = (errors[msg] ?? 0) + 1;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.sessions) }, worker));
  const setupSeconds = (lastUp - t0) / 1000;

  const p0 = performance.now();
  const rtts: number[] = [];
  let cursor = 0;
  const pinger = async () => {
    while (cursor < sessions.length) {
      const s = sessions[cursor]!;
      const rtt = await pingSession(s, cursor++ & 0xffff);
      if (rtt !== undefined) rtts.push(rtt);
    }
  };
  if (o.ping !== false) await Promise.all(Array.from({ length: 32 }, pinger));
  const addresses = new Set(sessions.map((s) => s.ip?.localAddress).filter((a) => a));
  const result: LoadResult = {
    requested: o.sessions,
    established: sessions.length,
    failed: failed + (o.sessions - next),
    errors,
    setupSeconds,
    sessionsPerSecond: setupSeconds > 0 ? sessions.length / setupSeconds : NaN,
    sessionSetupMedianMs: median(sessions.map((s) => s.setupMs ?? NaN)),
    distinctAddresses: addresses.size,
    pingsAnswered: rtts.length,
    pingRttMedianMs: median(rtts),
    pingSeconds: (performance.now() - p0) / 1000,
  };
  return { result, sessions };
}

/** Closes every session; waits at most `timeoutMs` for them to end. */
export async function closeAll(sessions: Session[], timeoutMs = 15_000): Promise<number> {
  for (const s of sessions) s.runner?.close("load test done");
  const ended = sessions.map((s) => s.running ?? Promise.resolve());
  let done = 0;
  await withTimeout(
    Promise.all(ended.map((p) => p.then(() => done++, () => done++))),
    timeoutMs,
    "closing sessions",
  ).catch(() => {});
  for (const s of sessions) s.tun?.close();
  return done;
}

/**
 * Reads stdin line by line until EOF, calling `onLine` for each line; the
 * caller sends `RECONNECT` for a reconnect storm and closes stdin to end.
 */
async function readStdinLines(onLine: (line: string) => Promise<void>): Promise<void> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(256);
  let text = "";
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n")) {
        const line = text.slice(0, i).trim();
        text = text.slice(i + 1);
        await onLine(line);
      }
    }
  } catch { /* no stdin */ }
}

/**
 * Reconnect storm: closes the first `count` sessions (Call Disconnect), waits
 * until they ended, then dials `count` new sessions at `o.concurrency`.
 */
export async function reconnectStorm(
  o: LoadOptions,
  sessions: Session[],
  count: number,
): Promise<{ requested: number; up: number; failed: number; perSecond: number; resumed: number }> {
  const closing = sessions.splice(0, count);
  await closeAll(closing);
  const { result, sessions: fresh } = await runLoad({
    ...o,
    sessions: count,
    ping: false,
    resume: closing.map(({ cache, sni }) => ({ cache, sni })),
  });
  sessions.push(...fresh);
  return {
    requested: count,
    up: result.established,
    failed: result.failed,
    perSecond: result.sessionsPerSecond,
    resumed: fresh.filter((s) => s.resumed).length,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "connect-to": { type: "string" },
      user: { type: "string", default: "sstp" },
      "server-fingerprint": { type: "string" },
      sessions: { type: "string", default: "100" },
      concurrency: { type: "string", default: "32" },
      "hold-seconds": { type: "string", default: "10" },
      "setup-timeout-seconds": { type: "string", default: "120" },
      "hello-seconds": { type: "string", default: "60" },
      "progress-every": { type: "string", default: "0" },
      reconnect: { type: "string", default: "0" },
    },
  });
  const [host, portText] = (values["connect-to"] ?? "").split(":");
  const password = Deno.env.get("SSTP_PASSWORD");
  if (!host || !values["server-fingerprint"] || password === undefined) {
    console.error(
      "usage: SSTP_PASSWORD=… load_client.ts --connect-to HOST:PORT --server-fingerprint sha256:HEX [--sessions N]",
    );
    Deno.exit(64);
  }
  const sessionsWanted = Math.min(Math.max(1, Number(values.sessions)), 16_000);
  const progressEvery = Math.max(0, Number(values["progress-every"]));
  const holdSeconds = Math.min(Math.max(0, Number(values["hold-seconds"])), 600);
  const options: LoadOptions = {
    host,
    port: Number(portText ?? 443),
    user: values.user,
    password,
    fingerprint: values["server-fingerprint"],
    sessions: sessionsWanted,
    concurrency: Math.min(Math.max(1, Number(values.concurrency)), 1000),
    setupTimeoutMs: Number(values["setup-timeout-seconds"]) * 1000,
    helloMs: Number(values["hello-seconds"]) * 1000,
  };
  const reconnect = Math.max(0, Number(values.reconnect));
  const { result, sessions } = await runLoad({
    ...options,
    ...(progressEvery > 0
      ? { onUp: (up: number) => up % progressEvery === 0 && console.log(`UP ${up}`) }
      : {}),
  });
  console.log(`RESULT ${JSON.stringify(result)}`);
  console.log("HOLDING");
  let holdTimer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    new Promise((r) => (holdTimer = setTimeout(r, holdSeconds * 1000))),
    readStdinLines(async (line) => {
      if (line !== "RECONNECT" || reconnect === 0) return;
      const storm = await reconnectStorm(options, sessions, Math.min(reconnect, sessions.length));
      console.log(`RECONNECTED ${JSON.stringify(storm)}`);
    }),
  ]);
  clearTimeout(holdTimer);
  const closed = await closeAll(sessions);
  console.log(`DONE closed=${closed}`);
  Deno.exit(0);
}
