/**
 * The soak test's lightweight clients: many short SSTP sessions from one
 * process, each with the real client stack (TLS via `dialTls`, the HTTP
 * preamble, the client engine, the {@linkcode TunnelRunner}) and an
 * in-memory TUN, so a thousand connect/disconnect cycles fit in about a
 * minute. Run inside the client namespace (`ip netns exec`), never in the
 * test process.
 *
 * Each cycle ends one of four ways, in turn:
 * - `clean`: link up, then Call Disconnect (the runner's `close`);
 * - `reset`: link up, then the kernel resets the TCP connection (`ss -K`,
 *   which sends a RST);
 * - `vanish`: link up, then the socket is closed with no SSTP or TLS
 *   goodbye (a client that was killed);
 * - `wrong-password`: MS-CHAPv2 with a wrong password, refused.
 *
 * Prints `RESULT {json}` with the count of each outcome and every
 * unexpected one (up to 10 distinct messages). At `--deadline-seconds` no
 * new cycle starts; `cycles` says how many ran.
 *
 *   deno run -A test/soak/soak_client.ts --connect-to 198.18.1.1 --port 4433 \
 *     --user soak --fingerprint sha256:HEX --cycles 1000 --concurrency 6
 *   (password in SSTP_PASSWORD; `--hold N` instead opens N sessions at once)
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { dialTls } from "../../lib/transport/tls_client.ts";
import { readPreamble } from "../../lib/transport/preamble.ts";
import { buildSstpHttpRequest, parseSstpHttpResponse } from "../../lib/sstp/http_preamble.ts";
import { certHashes } from "../../lib/sstp/crypto_binding.ts";
import { createClientEngine } from "../../lib/tunnel/client_engine.ts";
import { isAuthError } from "../../lib/errors.ts";
import { TunnelRunner } from "../../lib/pipeline/runner.ts";
import { parseFingerprint } from "../../lib/cert/fingerprint.ts";
import { NOOP_LOGGER } from "../../lib/log.ts";
import { systemClock } from "../../lib/clock.ts";
import { MemoryTun } from "../helpers/memory_tun.ts";

/** How a cycle ends. */
export const MODES = ["clean", "reset", "vanish", "wrong-password"] as const;
/** One of {@linkcode MODES}. */
export type Mode = typeof MODES[number];

/** What the driver prints after `RESULT `. */
export interface SoakResult {
  /** Cycles started (fewer than asked when the deadline came first). */
  cycles: number;
  /** Cycles that ended as their mode expects, by mode. */
  ok: Record<Mode, number>;
  /** Cycles that did not, by message. */
  unexpected: Record<string, number>;
  seconds: number;
}

interface Options {
  host: string;
  port: number;
  user: string;
  password: string;
  pin: Uint8Array;
  cycles: number;
  concurrency: number;
  deadlineMs: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resets the TCP connection from `localPort` (ss -K sends a RST and aborts the socket). */
async function resetConnection(localPort: number): Promise<void> {
  const out = await new Deno.Command("ss", {
    args: ["-K", "-t", "sport", "=", `:${localPort}`],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(5000),
  }).output();
  if (!out.success) {
    throw new Error(`ss -K failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Runs one cycle; resolves with an unexpected outcome's message, or undefined. */
async function cycle(
  o: Options,
  mode: Mode,
  barrier?: () => Promise<void>,
): Promise<string | undefined> {
  const conn = await dialTls({
    host: o.host,
    port: o.port,
    sni: false,
    serverFingerprintSha256: o.pin,
    verifyServerAddress: false,
    connectTimeoutMs: 10_000,
  });
  const duplex = conn.duplex;
  let tun: MemoryTun | undefined;
  try {
    const w = duplex.writable.getWriter();
    await w.write(
      buildSstpHttpRequest({ host: o.host, correlationId: `{${crypto.randomUUID()}}` }),
    );
    w.releaseLock();
    const got = await readPreamble(duplex.readable, parseSstpHttpResponse, 10_000, "HTTP");
    if (got.header.response.status !== 200) return `HTTP ${got.header.response.status}`;
    const engine = createClientEngine({
      certHashes: certHashes(conn.peerCertDer),
      user: o.user,
      password: mode === "wrong-password" ? `${o.password}-wrong` : o.password,
      authentication: ["mschap2"],
      helloMs: 30_000,
      requestDns: false,
      randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
      logger: NOOP_LOGGER,
    });
    const { promise: up, resolve: linkUp } = Promise.withResolvers<void>();
    const runner = new TunnelRunner({
      engine,
      transport: duplex,
      leftover: got.leftover,
      clock: systemClock,
      logger: NOOP_LOGGER,
      onLinkUp: () => {
        tun = new MemoryTun("soak");
        linkUp();
        return Promise.resolve(tun);
      },
    });
    const running = runner.run();
    const ended = running.then((r) => r.error ?? new Error("ended without error"));
    const first = await withTimeout(Promise.race([up, ended]), 15_000, "link up");
    if (mode === "wrong-password") {
      if (first instanceof Error && isAuthError(first)) return undefined;
      runner.close("unexpected");
      await running;
      return `wrong password: ${first instanceof Error ? first.message : "link came up"}`;
    }
    if (first instanceof Error) return `${mode}: ended before link up: ${first.message}`;
    if (barrier !== undefined) await withTimeout(barrier(), 30_000, "every session up");
    if (mode === "clean") runner.close("soak cycle done");
    else if (mode === "vanish") duplex.close();
    else await resetConnection(duplex.localAddr.port);
    const result = await withTimeout(running, 15_000, `${mode} end`);
    if (mode === "clean" && result.error !== undefined) {
      return `clean: ended with ${result.error.message}`;
    }
    return undefined;
  } finally {
    duplex.close();
    tun?.close();
    await duplex.closed;
  }
}

/**
 * Opens `count` sessions at once and holds them until every one is up, then
 * closes them: proves that many pool addresses are free.
 */
export async function holdAtOnce(o: Options, count: number): Promise<SoakResult> {
  const t0 = performance.now();
  let up = 0;
  const { promise: allUp, resolve } = Promise.withResolvers<void>();
  const barrier = () => {
    if (++up === count) resolve();
    return allUp;
  };
  const unexpected: Record<string, number> = {};
  const results = await Promise.all(
    Array.from(
      { length: count },
      () => cycle(o, "clean", barrier).catch((e) => `hold: ${e instanceof Error ? e.message : e}`),
    ),
  );
  for (const r of results) if (r !== undefined) unexpected[r] = (unexpected[r] ?? 0) + 1;
  return {
    cycles: count,
    ok: {
      clean: results.filter((r) => r === undefined).length,
      reset: 0,
      vanish: 0,
      "wrong-password": 0,
    },
    unexpected,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Runs the cycles `o.concurrency` at a time. */
export async function runSoak(o: Options): Promise<SoakResult> {
  const ok: Record<Mode, number> = { clean: 0, reset: 0, vanish: 0, "wrong-password": 0 };
  const unexpected: Record<string, number> = {};
  const t0 = performance.now();
  let next = 0;
  let started = 0;
  const note = (msg: string) => {
    const key = msg.replace(/\d+/g, "N").slice(0, 160);
    if (unexpected[key] !== undefined || Object.keys(unexpected).length < 10) {
      unexpected[key] = (unexpected[key] ?? 0) + 1;
    }
  };
  const worker = async () => {
    while (next < o.cycles) {
      if (performance.now() - t0 > o.deadlineMs) {
        // Out of time: stop starting cycles; the caller sees how many ran.
        next = o.cycles;
        return;
      }
      const index = next++;
      started++;
      const mode = MODES[index % MODES.length]!;
      try {
        const problem = await cycle(o, mode);
        if (problem === undefined) ok[mode]++;
        else note(problem);
      } catch (e) {
        note(`${mode}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.cycles) }, worker));
  return {
    cycles: started,
    ok,
    unexpected,
    seconds: (performance.now() - t0) / 1000,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "connect-to": { type: "string" },
      port: { type: "string", default: "443" },
      user: { type: "string" },
      fingerprint: { type: "string" },
      cycles: { type: "string", default: "1000" },
      concurrency: { type: "string", default: "6" },
      "deadline-seconds": { type: "string", default: "90" },
      hold: { type: "string" },
    },
  });
  const password = Deno.env.get("SSTP_PASSWORD");
  if (!values["connect-to"] || !values.user || !values.fingerprint || !password) {
    console.error("usage: soak_client.ts --connect-to HOST --user U --fingerprint sha256:HEX");
    console.error("       (password in SSTP_PASSWORD)");
    Deno.exit(64);
  }
  const options: Options = {
    host: values["connect-to"],
    port: Number(values.port),
    user: values.user,
    password,
    pin: parseFingerprint(values.fingerprint).bytes,
    cycles: Number(values.cycles),
    concurrency: Number(values.concurrency),
    deadlineMs: Number(values["deadline-seconds"]) * 1000,
  };
  const result = values.hold === undefined
    ? await runSoak(options)
    : await holdAtOnce(options, Number(values.hold));
  console.log(`RESULT ${JSON.stringify(result)}`);
}
