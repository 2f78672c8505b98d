/**
 * One server session (`lib/server/_session.ts`) against a real client
 * pipeline over an in-memory duplex, with an in-memory platform: every kind
 * of session end gives the pool addresses back exactly once.
 */
import assert from "node:assert/strict";
import { type ServerSession, type SessionContext, startSession } from "../lib/server/_session.ts";
import { AddressPools } from "../lib/server/address_pool.ts";
import { SecretBook } from "../lib/server/secrets.ts";
import { AuthThrottle } from "../lib/server/auth_throttle.ts";
import { SessionRegistry } from "../lib/server/session_registry.ts";
import { parseServerConfig, type ServerConfig } from "../lib/config/server_config.ts";
import { parseRateLimit } from "../lib/config/rate_limit.ts";
import { TunnelRunner } from "../lib/pipeline/runner.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { encodeSstpPacket } from "../lib/sstp/packet.ts";
import { systemClock } from "../lib/clock.ts";
import { createLogger } from "../lib/log.ts";
import type { Platform, PlatformTun } from "../lib/platform.ts";
import type { AuthMethod } from "../lib/ppp/auth/auth_types.ts";
import { memoryDuplexPair, type Splitter } from "./helpers/memory_duplex.ts";
import { MemoryTun } from "./helpers/memory_tun.ts";
import { memoryClient } from "./helpers/memory_client.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import { be, buildCp, buildFrame, buildOptions } from "./helpers/ppp_builders.ts";

const CERT = new TextEncoder().encode("session test certificate");
const POOL_SIZE = 3;

function config(
  extra = "",
  secretExtra = "",
  authentication = "mschap2",
  profileExtra = "",
): ServerConfig {
  return parseServerConfig(
    `sstp-server:
  certificate: /nonexistent/server.pem
  authentication: ${authentication}
${extra}pools:
  - name: vpn
    ranges: 198.18.60.10-198.18.60.12
profiles:
  - name: default
    local-address: 198.18.60.1
    remote-address: vpn
${profileExtra}secrets:
  - name: alice
    password: s3cret!
${secretExtra}`,
    "session-test.yaml",
  );
}

interface World {
  pools: AddressPools;
  registry: SessionRegistry<ServerSession>;
  tuns: MemoryTun[];
  clientTuns: MemoryTun[];
  lines: string[];
  start(
    opts?: { password?: string; method?: AuthMethod; clientToServer?: Splitter; source?: string },
  ): Promise<Run>;
}

interface Run {
  session: ServerSession;
  client: TunnelRunner;
  clientDone: Promise<{ error?: Error }>;
  /** Writes raw bytes as the client (a hostile client). */
  inject(bytes: Uint8Array): void;
  /** Cuts the transport (TCP reset). */
  reset(): void;
}

function world(
  cfg: ServerConfig,
  throttle?: AuthThrottle,
  configure: () => Promise<void> = () => Promise.resolve(),
  extra: Partial<SessionContext> = {},
): World {
  const pools = new AddressPools(cfg.pools);
  const registry = new SessionRegistry<ServerSession>();
  const tuns: MemoryTun[] = [];
  const clientTuns: MemoryTun[] = [];
  const lines: string[] = [];
  const platform: Platform = {
    openTun: ({ name }) => {
      const tun = new MemoryTun(name) as MemoryTun & { closed: Promise<void> };
      tuns.push(tun);
      (tun as { closed: Promise<void> }).closed = Promise.resolve();
      return tun as unknown as PlatformTun;
    },
    createReactor: () => ({ close() {}, closed: Promise.resolve() }),
    openNetlink: () => {
      throw new Error("not in this test");
    },
  };
  let seed = 100;
  return {
    pools,
    registry,
    tuns,
    clientTuns,
    lines,
    start(opts = {}) {
      const [c, s] = memoryDuplexPair(
        opts.clientToServer ? { splitAtoB: opts.clientToServer } : {},
      );
      const session = startSession(
        {
          config: () => cfg,
          secrets: () => new SecretBook(cfg),
          pools,
          registry,
          platform,
          reactor: { close() {}, closed: Promise.resolve() },
          linkSetup: { kind: "ip", configure, close() {} },
          certHashes: certHashes(CERT),
          clock: systemClock,
          logger: createLogger("debug", (_l, line) => lines.push(line)),
          ...(throttle === undefined ? {} : { throttle }),
          ...extra,
        },
        {
          readable: s.readable,
          writable: s.writable,
          lane: s.lane,
          close: () => s.close(),
          closed: Promise.resolve(),
          localAddr: { hostname: "198.18.0.1", port: 443 },
          remoteAddr: { hostname: opts.source ?? "198.18.0.2", port: 40000 },
          info: {},
        },
        new Uint8Array(),
        "{00000000-0000-0000-0000-000000000001}",
        "198.18.0.2:40000",
      );
      const clientTun = new MemoryTun("c0");
      clientTuns.push(clientTun);
      // The client writes through the lane; a test may add raw packets between its writes.
      const client = memoryClient(c, clientTun, {
        cert: CERT,
        user: "alice",
        password: opts.password ?? "s3cret!",
        ...(opts.method === undefined ? {} : { method: opts.method }),
        seed: seed++,
      });
      const clientDone = client.run().finally(() => clientTun.close());
      return Promise.resolve({
        session,
        client,
        clientDone,
        inject: (bytes) => {
          try {
            c.lane.write(bytes)?.catch(() => {});
          } catch { /* the connection is already closed */ }
        },
        reset: () => c.close(),
      });
    },
  };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function connected(w: World, opts: Parameters<World["start"]>[0] = {}): Promise<Run> {
  const run = await w.start(opts);
  await until(() => run.session.state === "connected", 5000, "session connected");
  assert.equal(w.pools.inUse, 1);
  return run;
}

async function ended(w: World, run: Run): Promise<void> {
  await run.session.done;
  await run.clientDone;
  assert.equal(w.registry.size, 0);
  assert.equal(w.pools.inUse, 0, "every pool address is back");
}

/** An LCP Configure-Request in an SSTP data packet, as a renegotiating client sends. */
function lcpRenegotiation(): Uint8Array {
  const frame = buildFrame(0xc021, [...buildCp(1, 0x66, buildOptions([5, ...be(0x0badcafe, 4)]))]);
  return encodeSstpPacket({ kind: "data", data: frame }).slice();
}

/** Drops the client's IPCP packets (it authenticates, then IPCP never completes). */
function dropIpcp(chunk: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 8 <= chunk.length) {
    const length = ((chunk[at + 2]! & 0x0f) << 8) | chunk[at + 3]!;
    if (length < 4 || at + length > chunk.length) break;
    const isIpcp = chunk[at + 1] === 0 && chunk[at + 6] === 0x80 && chunk[at + 7] === 0x21;
    if (!isIpcp) out.push(chunk.slice(at, at + length));
    at += length;
  }
  if (at < chunk.length) out.push(chunk.slice(at));
  return out;
}

Deno.test("session ends give the pool back: client disconnect", async () => {
  const w = world(config());
  const run = await connected(w);
  run.client.close("user disconnect");
  await ended(w, run);
});

Deno.test("session ends give the pool back: transport reset", async () => {
  const w = world(config());
  const run = await connected(w);
  run.reset();
  await ended(w, run);
});

Deno.test("session ends give the pool back: administrative close", async () => {
  const w = world(config());
  const run = await connected(w);
  run.session.close("admin");
  await ended(w, run);
});

Deno.test("session ends give the pool back: wrong password (nothing taken)", async () => {
  const w = world(config());
  const run = await w.start({ password: "wrong" });
  await ended(w, run);
});

Deno.test("session ends give the pool back: LCP renegotiation after link-up", async () => {
  const w = world(config());
  const run = await connected(w);
  run.inject(lcpRenegotiation());
  await ended(w, run);
  assert.ok(
    w.lines.some((l) => l.includes("Cannot renegotiate LCP")),
    "the reason is logged",
  );
  assert.equal(w.lines.filter((l) => l.includes("address 198.18.60.")).length, 1);
});

Deno.test("session ends give the pool back: link-up timeout after authentication", async () => {
  const w = world(config("  link-up-timeout: 1s\n"));
  const run = await w.start({ clientToServer: dropIpcp });
  await until(() => w.pools.inUse === 1, 5000, "addresses assigned");
  await ended(w, run);
  assert.ok(w.lines.some((l) => l.includes("not up 1 s after authentication")));
});

Deno.test("session ends give the pool back: many sessions, every kind of end, pool never leaks", async () => {
  const w = world(config());
  for (let round = 0; round < 2; round++) {
    const runs = [await connected(w), await w.start({ password: "wrong" })];
    await until(() => w.pools.inUse === 1, 5000, "first session holds one address");
    const third = await w.start();
    await until(() => w.pools.inUse === 2, 5000, "two sessions hold addresses");
    runs.push(third);
    runs[0]!.client.close("bye");
    third.inject(lcpRenegotiation());
    for (const r of runs) await r.session.done;
    for (const r of runs) await r.clientDone;
    assert.equal(w.pools.inUse, 0);
  }
  assert.equal(POOL_SIZE, 3);
});

Deno.test("auth-throttle: a guessing source is delayed, then blocked with one log line; a login from elsewhere is not slowed", async () => {
  const throttle = new AuthThrottle({ delayAfter: 2, blockAfter: 3, blockMs: 60_000 });
  const w = world(config(), throttle);
  const attacker = "198.18.0.66";
  const took: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const run = await w.start({ password: `guess${i}`, source: attacker });
    await ended(w, run);
    took.push(performance.now() - t0);
  }
  assert.ok(took[2]! - took[1]! >= 900, `third attempt delayed: ${took.map(Math.round)} ms`);
  const blocked = w.lines.filter((l) => l.includes("auth-throttle source="));
  assert.deepEqual(blocked.map((l) => l.slice(l.indexOf("auth-throttle"))), [
    'auth-throttle source=198.18.0.66 user="alice" failures=3 blocked-for=60s',
  ]);

  // Blocked: even the right password from that source gets nowhere, at once.
  const t1 = performance.now();
  const refused = await w.start({ source: attacker });
  await ended(w, refused);
  assert.ok(performance.now() - t1 < 900, "refused without a delay");
  assert.equal(refused.session.user, undefined, "never authenticated");

  // The attacked user logs in from another source without any delay.
  const t2 = performance.now();
  const legit = await connected(w, { source: "198.18.0.77" });
  assert.ok(performance.now() - t2 < 900, `legitimate login took ${performance.now() - t2} ms`);
  legit.client.close("bye");
  await ended(w, legit);
  assert.equal(w.lines.filter((l) => l.includes("auth-throttle source=")).length, 1, "logged once");
});

Deno.test("auth-throttle: closing a session held back by the throttle ends it without starting the call", async () => {
  const throttle = new AuthThrottle({ delayAfter: 1, blockAfter: 10, blockMs: 60_000 });
  const w = world(config(), throttle);
  throttle.recordFailure("198.18.0.66", "alice", systemClock.now());
  throttle.recordFailure("198.18.0.66", "alice", systemClock.now());
  const t0 = performance.now();
  const run = await w.start({ source: "198.18.0.66" });
  run.session.close("shutdown");
  await ended(w, run);
  assert.ok(performance.now() - t0 < 1500, "did not wait out the 2 s delay");
});

Deno.test("the server drops and counts client IPv4 packets from a source outside its address and routes", async () => {
  const w = world(config("", '    routes: "198.19.8.0/24"\n'));
  const run = await connected(w);
  const serverTun = w.tuns[0]!;
  const clientTun = w.clientTuns[0]!;
  await until(() => run.client.tun !== undefined, 5000, "client tun");
  const own = "198.18.60.10";
  clientTun.inject(buildIcmpEcho("198.18.60.11", "198.18.60.1", { seq: 1 })); // another client's
  clientTun.inject(buildIcmpEcho("198.51.100.9", "198.18.60.1", { seq: 2 })); // anywhere
  clientTun.inject(buildIcmpEcho(own, "198.18.60.1", { seq: 3 }));
  clientTun.inject(buildIcmpEcho("198.19.8.20", "198.18.60.1", { seq: 4 })); // behind the client
  await serverTun.nextWritten(1, 5000);
  await until(() => run.session.runner.counters.droppedSpoofed === 2, 5000, "two drops counted");
  assert.deepEqual(serverTun.written.map((p) => parseIcmp(p)?.seq), [3, 4]);
  run.client.close("bye");
  await ended(w, run);
  assert.ok(w.lines.some((l) => l.includes("2 pkt dropped for a spoofed source")));
});

Deno.test("session ends give the pool back: the interface cannot be configured", async () => {
  const w = world(config(), undefined, () => Promise.reject(new Error("RTNETLINK answers: boom")));
  const run = await w.start();
  await until(() => w.lines.some((l) => l.includes("boom")), 5000, "link setup failed");
  await ended(w, run);
  assert.equal(w.tuns.length, 1);
});

Deno.test("session ends give the pool back: only-one refuses a second login", async () => {
  const onlyOne = config("", "", "mschap2", "    only-one: yes\n");
  const w = world(onlyOne);
  const first = await connected(w);
  const second = await w.start();
  await second.session.done;
  await second.clientDone;
  assert.equal(w.pools.inUse, 1, "only the first session holds an address");
  first.client.close("bye");
  await ended(w, first);
});

Deno.test("eap-mschap2 through the server session: binding verified, IPv4 flows, wrong passwords are throttled", async () => {
  const throttle = new AuthThrottle({ delayAfter: 2, blockAfter: 2, blockMs: 60_000 });
  const cfg = config("", "", "eap-mschap2");
  const w = world(cfg, throttle);
  // The session reaches "connected" only after the server checked the Call
  // Connected message's Compound MAC, keyed by the EAP-MSCHAPv2 HLAK.
  const run = await connected(w, { method: "eap-mschap2" });
  assert.equal(run.session.user, "alice");
  assert.ok(w.lines.some((l) => l.includes('Authenticated "alice" with eap-mschap2')));
  assert.ok(w.lines.some((l) => /recv \[EAP Response id=0x\w+ Identity "alice"\]/.test(l)));
  const serverTun = w.tuns[0]!;
  await until(() => run.client.tun !== undefined, 5000, "client tun");
  w.clientTuns[0]!.inject(buildIcmpEcho("198.18.60.10", "198.18.60.1", { seq: 3 }));
  await until(() => serverTun.written.length > 0, 5000, "ping through the tunnel");
  assert.equal(parseIcmp(serverTun.written[0]!)?.seq, 3);
  run.client.close("bye");
  await ended(w, run);

  // Two wrong EAP-MSCHAPv2 passwords block the source like any other method.
  const attacker = "198.18.0.66";
  for (let i = 0; i < 2; i++) {
    await ended(
      w,
      await w.start({ method: "eap-mschap2", password: `guess${i}`, source: attacker }),
    );
  }
  assert.ok(
    w.lines.some((l) =>
      l.includes('auth-throttle source=198.18.0.66 user="alice" failures=2 blocked-for=60s')
    ),
    w.lines.filter((l) => l.includes("throttle")).join("\n"),
  );
  const refused = await w.start({ method: "eap-mschap2", source: attacker });
  await ended(w, refused);
  assert.equal(refused.session.user, undefined, "blocked: never authenticated");
});

Deno.test("rate-limit: download shaped through the tc seam, upload policed by the data plane", async () => {
  const commands: string[][] = [];
  const tool = (argv: readonly string[]) => {
    commands.push([...argv]);
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  };
  const base = config();
  const limit = parseRateLimit("100k/200k");
  const profile = { ...base.profiles[0]!, rateLimitText: "100k/200k", rateLimit: limit };
  const limited = { ...base, profiles: [profile] };
  const w = world(limited, undefined, undefined, { tool });
  const run = await connected(w);
  assert.deepEqual(commands[0]?.slice(0, 10), [
    "tc",
    "qdisc",
    "replace",
    "dev",
    "sstp-alice",
    "root",
    "tbf",
    "rate",
    "200000bit",
    "burst",
  ]);
  const clientTun = w.clientTuns[0]!;
  const ip = { local: run.session.peerAddress!, peer: run.session.localAddress! };
  const payload = new Uint8Array(972); // 1,000-byte IP packets
  // 100 packets at once: far over a 100 kbit/s bucket (16,384 bytes, 500 ms at the rate).
  for (let seq = 0; seq < 100; seq++) {
    clientTun.inject(buildIcmpEcho(ip.local, ip.peer, { id: 5, seq, payload }));
  }
  const c = run.session.runner.counters;
  await until(() => c.rxPackets + c.droppedPoliced >= 100, 5000, "100 packets judged");
  assert.ok(c.droppedPoliced >= 70, `${c.droppedPoliced} dropped`);
  assert.ok(c.rxBytes <= 16_384 + 2_000, `${c.rxBytes} bytes passed`);
  run.session.close("test done");
  await ended(w, run);
  assert.ok(w.lines.some((l) => /over the upload rate-limit/.test(l)));
});

Deno.test("rate-limit: when tc fails the session ends instead of running unlimited", async () => {
  const tool = () => Promise.resolve({ code: 2, stdout: "", stderr: "RTNETLINK: no tbf" });
  const base = config();
  const profile = { ...base.profiles[0]!, rateLimitText: "1M", rateLimit: parseRateLimit("1M") };
  const w = world({ ...base, profiles: [profile] }, undefined, undefined, { tool });
  const run = await w.start();
  await ended(w, run);
  assert.ok(w.lines.some((l) => /no tbf/.test(l)), w.lines.join("\n"));
});
