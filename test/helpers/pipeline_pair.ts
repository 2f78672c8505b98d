/**
 * Two full pipelines (framer, engine, runner, output queue, data plane) for a
 * client and a server over an in-memory duplex with in-memory TUN devices:
 * the production data path without TLS or a kernel.
 *
 * @module
 */
import { type ClientEngineOptions, createClientEngine } from "../../lib/tunnel/client_engine.ts";
import { createServerEngine, type ServerEngineOptions } from "../../lib/tunnel/server_engine.ts";
import { certHashes } from "../../lib/sstp/crypto_binding.ts";
import { type TimerApi, TunnelRunner } from "../../lib/pipeline/runner.ts";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { NOOP_LOGGER } from "../../lib/log.ts";
import type { DirectLane } from "../../lib/duplex.ts";
import type { IpConfig } from "../../lib/tunnel/events.ts";
import { memoryDuplexPair, type Splitter } from "./memory_duplex.ts";
import { MemoryTun } from "./memory_tun.ts";
import { seededRandomBytes } from "./xorshift.ts";

const CERT = new TextEncoder().encode("pipeline test certificate");

/** Builds a client and a server runner over one in-memory duplex (client 198.18.7.2, server 198.18.7.1). */
export function pairSetup(
  split: { a: Splitter; b: Splitter } = { a: (c) => [c.slice()], b: (c) => [c.slice()] },
  extra: {
    mru?: number;
    clampTcpMss?: boolean;
    serverLinkUpMs?: number;
    serverAnswers?: (packet: Uint8Array) => Uint8Array | undefined;
    clientTun?: MemoryTun;
    /** Wraps the client's direct lane. */
    clientLane?: (lane: DirectLane) => DirectLane;
    /** LCP framing options of each engine (PFC/ACFC policy, MRRU, MTU cap). */
    clientEngine?: Pick<ClientEngineOptions, "pfc" | "acfc" | "mrru" | "maxMtu">;
    serverEngine?: Pick<ServerEngineOptions, "pfc" | "acfc" | "mrru" | "maxMtu" | "mru">;
    /** BCP on both sides, with these bridge ports (the server's opens 20 ms after BCP). */
    taps?: { client: MemoryTun; server: MemoryTun };
    /** The server runner's clock and timers (default the system's). */
    serverClock?: Clock;
    serverTimers?: TimerApi;
  } = {},
) {
  const [c, s] = memoryDuplexPair({
    splitAtoB: split.a,
    splitBtoA: split.b,
  });
  /** The IP settings each side's runner brought up (the TUN MTU among them). */
  const linkUp: { client?: IpConfig; server?: IpConfig } = {};
  const clientTun = extra.clientTun ?? new MemoryTun("c0");
  const serverTun = new MemoryTun("s0", extra.serverAnswers);
  const clientLane = extra.clientLane ? extra.clientLane(c.lane) : c.lane;
  const taps = extra.taps;
  const client = new TunnelRunner({
    engine: createClientEngine({
      certHashes: certHashes(CERT),
      user: "bob",
      password: "pw",
      authentication: ["mschap2"],
      helloMs: 60_000,
      ...(extra.mru ? { mru: extra.mru } : {}),
      ...extra.clientEngine,
      ...(extra.taps ? { bridge: true } : {}),
      randomBytes: seededRandomBytes(3),
      logger: NOOP_LOGGER,
    }),
    transport: { ...c, lane: clientLane },
    clock: systemClock,
    logger: NOOP_LOGGER,
    onLinkUp: (ip) => {
      linkUp.client = ip;
      return Promise.resolve(clientTun);
    },
    ...(taps ? { onBridgeUp: () => Promise.resolve(taps.client) } : {}),
    clampTcpMss: extra.clampTcpMss ?? false,
  });
  const server = new TunnelRunner({
    engine: createServerEngine({
      certHashes: certHashes(CERT),
      authentication: ["mschap2"],
      lookupPassword: (u) => (u === "bob" ? "pw" : undefined),
      assignAddresses: () => ({ localAddress: "198.18.7.1", peerAddress: "198.18.7.2" }),
      serverName: "srv",
      helloMs: 60_000,
      ...extra.serverEngine,
      ...(extra.taps ? { bridge: () => true } : {}),
      randomBytes: seededRandomBytes(4),
      logger: NOOP_LOGGER,
    }),
    transport: s,
    clock: extra.serverClock ?? systemClock,
    ...(extra.serverTimers ? { timers: extra.serverTimers } : {}),
    logger: NOOP_LOGGER,
    onLinkUp: (ip) =>
      (linkUp.server = ip) &&
      new Promise((resolve) => setTimeout(() => resolve(serverTun), extra.serverLinkUpMs ?? 0)),
    ...(taps
      ? { onBridgeUp: () => new Promise((resolve) => setTimeout(() => resolve(taps.server), 20)) }
      : {}),
    clampTcpMss: extra.clampTcpMss ?? false,
  });
  return { client, server, clientTun, serverTun, linkUp };
}

/** Waits until `cond` holds, polling every 5 ms, at most `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
