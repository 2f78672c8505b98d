/**
 * Property tests: whatever bytes arrive, in whatever state, `receive()` and
 * `timeout()` never throw, always return a `send` array, and report a result
 * at most once.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createAuthAuthenticator, createAuthPeer } from "./create_auth.ts";
import type { AuthAuthenticator, AuthMethod, AuthOutput, AuthPeer } from "./auth_types.ts";
import { runPair, scriptedRandom } from "./_auth_pair.ts";
import { ProtocolError } from "../../errors.ts";

const METHODS: readonly AuthMethod[] = ["pap", "chap", "mschap1", "mschap2"];

function machines(method: AuthMethod) {
  const peer = createAuthPeer(method, {
    user: "alice",
    password: "pw",
    randomBytes: scriptedRandom(),
  });
  const authenticator = createAuthAuthenticator(method, {
    lookupPassword: (u) => (u === "alice" ? "pw" : undefined),
    randomBytes: scriptedRandom(),
    name: "srv",
  });
  return { peer, authenticator };
}

/** Real packets of one successful and one failed exchange, as mutation seeds. */
function seeds(method: AuthMethod): Uint8Array[] {
  const ok = machines(method);
  const bad = machines(method);
  const badPeer = createAuthPeer(method, {
    user: "alice",
    password: "no",
    randomBytes: scriptedRandom(),
  });
  return [
    ...runPair(ok.peer, ok.authenticator).sent,
    ...runPair(badPeer, bad.authenticator).sent,
  ].map((s) => s.packet);
}

type Step = { kind: "bytes"; bytes: Uint8Array } | {
  kind: "mutate";
  seed: number;
  at: number;
  xor: number;
  cut: number;
} | {
  kind: "timeout";
};

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("bytes" as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({
    kind: fc.constant("mutate" as const),
    seed: fc.nat(),
    at: fc.nat(),
    xor: fc.integer({ min: 0, max: 255 }),
    cut: fc.nat({ max: 80 }),
  }),
  fc.record({ kind: fc.constant("timeout" as const) }),
);

function checkOutput(out: AuthOutput, seen: { result: boolean }): void {
  assert.ok(Array.isArray(out.send));
  for (const p of out.send) assert.ok(p instanceof Uint8Array);
  if (out.result !== undefined) {
    assert.equal(seen.result, false, "second result");
    seen.result = true;
    if (!out.result.ok) assert.ok(out.result.error instanceof ProtocolError);
    else assert.equal(out.result.hlak.length, 32);
  }
}

for (const method of METHODS) {
  Deno.test(`${method} receive() never throws on random or mutated packets`, () => {
    const pool = seeds(method);
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.array(stepArb, { maxLength: 12 }),
        (isPeer, isStarted, steps) => {
          const m = machines(method);
          const machine: AuthPeer | AuthAuthenticator = isPeer ? m.peer : m.authenticator;
          const seen = { result: false };
          let now = 0;
          if (isStarted) checkOutput(machine.start(now), seen);
          for (const step of steps) {
            now += 1000;
            if (step.kind === "timeout") {
              checkOutput(machine.timeout(now), seen);
              continue;
            }
            let packet = step.kind === "bytes"
              ? step.bytes
              : pool[step.seed % pool.length]!.slice();
            if (step.kind === "mutate") {
              if (packet.length > 0) packet[step.at % packet.length]! ^= step.xor;
              if (step.cut < packet.length) packet = packet.subarray(0, packet.length - step.cut);
            }
            checkOutput(machine.receive(packet, now), seen);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
}
