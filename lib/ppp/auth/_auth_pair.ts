/**
 * Test support: runs a peer and an authenticator back to back in memory with
 * a simulated clock, the way the PPP link would drive them. Packets can be
 * dropped or altered in flight. Used only by the `*_test.ts` files here.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ERROR_CODE } from "../../errors.ts";
import type { AuthAuthenticator, AuthOutput, AuthPeer, AuthResult } from "./auth_types.ts";

/** Which machine sent a packet. */
export type PairSide = "peer" | "authenticator";

/** One packet in flight. */
export interface PairPacket {
  /** The side that sent it. */
  from: PairSide;
  /** The packet as sent (before any filter). */
  packet: Uint8Array;
  /** Pair clock when it was sent, ms. */
  atMs: number;
}

/** Decides the fate of a packet in flight: pass it, change it, or drop it (undefined). */
export type PairFilter = (
  from: PairSide,
  packet: Uint8Array,
  index: number,
) => Uint8Array | undefined;

/** What happened. */
export interface PairRun {
  /** The peer's outcome; undefined when it never finished. */
  peer: AuthResult | undefined;
  /** The authenticator's outcome; undefined when it never finished. */
  authenticator: AuthResult | undefined;
  /** Every packet sent (before filtering), in order. */
  sent: PairPacket[];
  /** Time of the last event. */
  nowMs: number;
}

interface SideState {
  deadlineMs: number | null;
  result: AuthResult | undefined;
}

/**
 * Runs both machines until nothing is in flight and no timer is pending, or
 * `maxSteps` events have passed.
 *
 * @throws {Error} If a machine reports a result twice (the contract says once).
 */
export function runPair(
  peer: AuthPeer,
  authenticator: AuthAuthenticator,
  options: { filter?: PairFilter; maxSteps?: number } = {},
): PairRun {
  const filter = options.filter ?? ((_f, p) => p);
  const maxSteps = options.maxSteps ?? 1000;
  const sides: Record<PairSide, SideState> = {
    peer: { deadlineMs: null, result: undefined },
    authenticator: { deadlineMs: null, result: undefined },
  };
  const machines: Record<PairSide, AuthPeer | AuthAuthenticator> = { peer, authenticator };
  const queue: { to: PairSide; packet: Uint8Array }[] = [];
  const sent: PairPacket[] = [];
  let nowMs = 0;

  const apply = (from: PairSide, out: AuthOutput): void => {
    const s = sides[from];
    for (const packet of out.send) {
      const index = sent.length;
      sent.push({ from, packet, atMs: nowMs });
      const passed = filter(from, packet, index);
      if (passed !== undefined) {
        queue.push({ to: from === "peer" ? "authenticator" : "peer", packet: passed });
      }
    }
    if (out.timerMs === null) s.deadlineMs = null;
    else if (typeof out.timerMs === "number") s.deadlineMs = nowMs + out.timerMs;
    if (out.result !== undefined) {
      if (s.result !== undefined) throw new Error(`${from} reported a second result`);
      s.result = out.result;
    }
  };

  apply("authenticator", authenticator.start(nowMs));
  apply("peer", peer.start(nowMs));
  for (let step = 0; step < maxSteps; step++) {
    const next = queue.shift();
    if (next !== undefined) {
      apply(next.to, machines[next.to].receive(next.packet, nowMs));
      continue;
    }
    const due = (["authenticator", "peer"] as const)
      .filter((k) => sides[k].deadlineMs !== null)
      .sort((a, b) => (sides[a].deadlineMs ?? 0) - (sides[b].deadlineMs ?? 0))[0];
    if (due === undefined) break;
    nowMs = sides[due].deadlineMs ?? nowMs;
    sides[due].deadlineMs = null;
    apply(due, machines[due].timeout(nowMs));
  }
  return { peer: sides.peer.result, authenticator: sides.authenticator.result, sent, nowMs };
}

/**
 * A deterministic `RandomBytes` that hands out the given chunks in order, then
 * bytes from a counter.
 */
export function scriptedRandom(...chunks: Uint8Array[]): (n: number) => Uint8Array {
  let counter = 0x40;
  return (n: number) => {
    const chunk = chunks.shift();
    if (chunk !== undefined) {
      if (chunk.length !== n) {
        throw new Error(`scripted chunk is ${chunk.length} bytes, asked for ${n}`);
      }
      return chunk.slice();
    }
    return Uint8Array.from({ length: n }, () => counter++ & 0xff);
  };
}

/**
 * Checks that a machine whose retransmissions ran out gives up at `nowMs`:
 * nothing sent, timer stopped, a TIMEOUT failure with `message`, and a later
 * timer does nothing.
 */
export function assertGivesUp(
  machine: AuthPeer | AuthAuthenticator,
  nowMs: number,
  restartMs: number,
  message: string,
): void {
  const last = machine.timeout(nowMs);
  assert.deepStrictEqual(last.send, []);
  assert.equal(last.timerMs, null);
  assert.ok(last.result !== undefined && !last.result.ok);
  assert.equal(last.result.error.code, ERROR_CODE.TIMEOUT);
  assert.equal(last.result.error.message, message);
  assert.deepStrictEqual(machine.timeout(nowMs + restartMs), { send: [] });
}
