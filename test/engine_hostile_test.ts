/**
 * Client and server engines back to back in memory, one of them hostile:
 * LCP renegotiation after the link is up, sessions that stall after
 * authentication, replies that would not fit an SSTP packet.
 */
import assert from "node:assert/strict";
import { createClientEngine } from "../lib/tunnel/client_engine.ts";
import { createServerEngine, type ServerEngineOptions } from "../lib/tunnel/server_engine.ts";
import type { SessionEngine } from "../lib/tunnel/session_engine.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { ProtocolError } from "../lib/errors.ts";
import { createLogger, NOOP_LOGGER } from "../lib/log.ts";
import { encodeSstpPacket } from "../lib/sstp/packet.ts";
import type { AuthMethod } from "../lib/ppp/auth/auth_types.ts";
import { EngineHarness, type Side } from "./helpers/engine_harness.ts";
import { seededRandomBytes } from "./helpers/xorshift.ts";
import { be, buildCp, buildFrame, buildOptions } from "./helpers/ppp_builders.ts";

const CERT = new TextEncoder().encode("hostile engine test certificate");

interface Pair {
  h: EngineHarness;
  client: SessionEngine;
  server: SessionEngine;
  /** How many times the server assigned addresses. */
  assigned: () => number;
}

function pair(
  opts: {
    method?: AuthMethod;
    user?: string;
    password?: string;
    clientMru?: number;
    server?: Partial<ServerEngineOptions>;
  } = {},
): Pair {
  let assigned = 0;
  const client = createClientEngine({
    certHashes: certHashes(CERT),
    user: opts.user ?? "alice",
    password: opts.password ?? "s3cret!",
    authentication: [opts.method ?? "mschap2"],
    helloMs: 60_000,
    ...(opts.clientMru !== undefined ? { mru: opts.clientMru } : {}),
    randomBytes: seededRandomBytes(11),
    logger: NOOP_LOGGER,
  });
  const server = createServerEngine({
    certHashes: certHashes(CERT),
    authentication: [opts.method ?? "mschap2"],
    lookupPassword: (u) => (u === "alice" ? "s3cret!" : undefined),
    assignAddresses: () => {
      assigned++;
      return { localAddress: "198.18.100.1", peerAddress: "198.18.100.2" };
    },
    serverName: "test-server",
    helloMs: 60_000,
    randomBytes: seededRandomBytes(12),
    logger: NOOP_LOGGER,
    ...opts.server,
  });
  return { h: new EngineHarness(client, server), client, server, assigned: () => assigned };
}

/** An LCP Configure-Request with only a Magic-Number, as a renegotiating peer sends. */
function lcpConfigureRequest(id: number, magic: number): Uint8Array {
  return buildFrame(0xc021, [...buildCp(1, id, buildOptions([5, ...be(magic, 4)]))]);
}

for (const from of ["client", "server"] as const satisfies readonly Side[]) {
  const to: Side = from === "client" ? "server" : "client";
  Deno.test(`${to} ends the session with a typed error when the ${from} renegotiates LCP after link-up`, () => {
    const p = pair();
    p.h.start();
    assert.ok(p.h.runUntil(() => !!p.h.linkUp.client && !!p.h.linkUp.server, 10_000));
    assert.equal(p.assigned(), 1);
    p.h.sendPpp(from, lcpConfigureRequest(0x77, 0x12345678));
    assert.ok(p.h.runUntil(() => !!p.h.closed[to], 60_000));
    const e = p.h.closed[to]?.error;
    assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${e}`);
    assert.match(e.message, /renegotiate LCP/);
    // No second authentication, no second address.
    assert.equal(p.assigned(), 1);
    assert.equal(p.server.authenticated?.user, "alice");
    assert.ok(p.h.runUntil(() => !!p.h.closed[from], 60_000));
  });
}

/** Drops the client's IPCP frames: it authenticates, then never finishes IPCP. */
function dropClientIpcp(from: Side, bytes: Uint8Array): Uint8Array | null {
  // SSTP data header (4) + FF 03 + protocol 80 21.
  const ipcp = bytes[0] === 0x10 && bytes[1] === 0x00 && bytes[6] === 0x80 && bytes[7] === 0x21;
  return from === "client" && ipcp ? null : bytes;
}

Deno.test("server closes an authenticated session whose link is not up within link-up-timeout", () => {
  const p = pair({ server: { linkUpMs: 30_000, helloMs: null } });
  p.h.tap = dropClientIpcp;
  p.h.start();
  assert.ok(p.h.runUntil(() => p.server.authenticated !== undefined, 10_000));
  const t0 = p.h.nowMs;
  assert.equal(p.h.runUntil(() => !!p.h.closed.server, 29_000), false);
  assert.ok(p.h.runUntil(() => !!p.h.closed.server, 20_000));
  const took = p.h.nowMs - t0;
  assert.ok(took >= 30_000 && took < 40_000, `closed after ${took} ms`);
  const e = p.h.closed.server?.error;
  assert.ok(e instanceof ProtocolError, String(e));
  assert.equal(e.code, "TIMEOUT");
  assert.equal(p.h.linkUp.server, undefined);
});

Deno.test("link-up-timeout does not touch a session that came up in time", () => {
  const p = pair({ server: { linkUpMs: 30_000 } });
  p.h.start();
  assert.ok(p.h.runUntil(() => !!p.h.linkUp.server, 10_000));
  assert.equal(p.h.timers("server").includes("linkUp"), false);
  p.h.runUntil(() => false, 100_000);
  assert.equal(p.h.closed.server, undefined);
});

/** Every packet `side` sent fits the 12-bit SSTP length (4095). */
function assertAllFit(h: EngineHarness, side: Side): void {
  for (const p of h.sent[side]) {
    assert.ok(encodeSstpPacket(p).length <= 4095);
  }
}

Deno.test("a Protocol-Reject of a 4087-byte frame fits its SSTP packet (peer MRU 4091)", () => {
  const p = pair({ clientMru: 4091, server: { mru: 4091 } });
  p.h.start();
  assert.ok(p.h.runUntil(() => !!p.h.linkUp.server, 10_000));
  // CCP (0x80fd), which the server does not run: 4 bytes of header + 4083 of information.
  const frame = new Uint8Array(4087).fill(0x5a);
  frame.set([0xff, 0x03, 0x80, 0xfd]);
  p.h.sendPpp("client", frame);
  p.h.runUntil(() => false, 1000);
  const rejects = p.h.sent.server.filter((x) =>
    x.kind === "data" && x.data[2] === 0xc0 && x.data[3] === 0x21 && x.data[4] === 8
  );
  assert.equal(rejects.length, 1);
  assertAllFit(p.h, "server");
  assert.equal(p.h.closed.server, undefined);
});

Deno.test("a long Terminate-Request reason is cut to fit", () => {
  const p = pair();
  p.h.start();
  assert.ok(p.h.runUntil(() => !!p.h.linkUp.server, 10_000));
  p.h.close("server", "r".repeat(5000));
  assert.ok(p.h.runUntil(() => !!p.h.closed.server, 30_000));
  assertAllFit(p.h, "server");
  const terminate = p.h.sent.server.find((x) =>
    x.kind === "data" && x.data[2] === 0xc0 && x.data[3] === 0x21 && x.data[4] === 5
  );
  assert.ok(terminate?.kind === "data" && terminate.data.length <= 4 + 4 + 128);
});

Deno.test("an MS-CHAPv2 failure for a 4000-byte user name fits, and logs show it escaped and cut", () => {
  const lines: string[] = [];
  const user = "evil\n" + 'forged=1 "'.repeat(400);
  const p = pair({
    user,
    password: "wrong",
    server: { logger: createLogger("debug", (_l, line) => lines.push(line)) },
  });
  p.h.start();
  assert.ok(p.h.runUntil(() => !!p.h.closed.server, 30_000));
  const e = p.h.closed.server?.error;
  assert.ok(e instanceof ProtocolError && e.code === "AUTH_FAILED", String(e));
  assert.ok(e.message.length < 200, e.message);
  assertAllFit(p.h, "server");
  assert.ok(lines.length > 0);
  for (const line of lines) {
    assert.ok(!line.includes("\n"), `raw newline in ${line.slice(0, 80)}`);
    assert.ok(line.length < 400, `log line of ${line.length} characters: ${line.slice(0, 80)}`);
  }
});

/** Rewrites the hash protocol bitmask of the server's Call Connect Ack (a downgrade attempt). */
function ackBitmask(bitmask: number) {
  return (from: Side, bytes: Uint8Array): Uint8Array => {
    // Control packet, message type 2 (Call Connect Ack); bitmask after 4 + 4 + 4 + 3 bytes.
    if (from !== "server" || bytes[1] !== 0x01 || bytes[5] !== 0x02) return bytes;
    const copy = bytes.slice();
    copy[15] = bitmask;
    return copy;
  };
}

Deno.test("crypto-binding sha256-only: the server offers SHA-256 only and refuses a SHA-1 binding", () => {
  const strict = pair({ server: { hashBitmask: 2 } });
  strict.h.start();
  assert.ok(strict.h.runUntil(() => !!strict.h.linkUp.server, 10_000));
  const ack = strict.h.sent.server.find((x) => x.kind === "control" && x.message.messageType === 2);
  assert.ok(ack?.kind === "control");
  assert.deepEqual(
    ack.message.attributes.map((a) => a.kind === "cryptoBindingRequest" && a.hashProtocolBitmask),
    [2],
  );

  // A man in the middle rewrites the offer to SHA-1: `any` accepts it, `sha256-only` does not.
  const lax = pair({ server: { hashBitmask: 3 } });
  lax.h.tap = ackBitmask(1);
  lax.h.start();
  assert.ok(lax.h.runUntil(() => !!lax.h.linkUp.server, 10_000));
  const downgraded = pair({ server: { hashBitmask: 2 } });
  downgraded.h.tap = ackBitmask(1);
  downgraded.h.start();
  assert.ok(downgraded.h.runUntil(() => !!downgraded.h.closed.server, 30_000));
  const e = downgraded.h.closed.server?.error;
  assert.ok(e instanceof ProtocolError && e.code === "CRYPTO_BINDING_MISMATCH", String(e));
  assert.equal(downgraded.h.linkUp.server, undefined);
});

Deno.test("the client refuses an IPCP address equal to the server's own address", () => {
  const client = createClientEngine({
    certHashes: certHashes(CERT),
    user: "alice",
    password: "s3cret!",
    authentication: ["mschap2"],
    helloMs: 60_000,
    serverAddress: "198.18.100.2",
    randomBytes: seededRandomBytes(21),
    logger: NOOP_LOGGER,
  });
  const p = pair();
  const h = new EngineHarness(client, p.server);
  h.start();
  assert.ok(h.runUntil(() => !!h.closed.client, 30_000));
  assert.equal(h.linkUp.client, undefined);
  const e = h.closed.client?.error;
  assert.ok(e instanceof ProtocolError && e.code === "NO_ADDRESS", String(e));
  assert.match(e.message, /198\.18\.100\.2 from the server: it is the server's own address/);
});

for (const from of ["server", "client"] as const satisfies readonly Side[]) {
  const to: Side = from === "server" ? "client" : "server";
  Deno.test(`an LCP Configure-Request from the ${from} at any point of the set-up never throws in the ${to}`, () => {
    for (const method of ["pap", "chap", "mschap1", "mschap2"] as const) {
      for (let at = 0; at < 40; at++) {
        const p = pair({ method, server: { authentication: [method] } });
        let sent = 0;
        p.h.tap = (side, bytes) => {
          // After the at-th packet of `from`, slip a renegotiation in.
          if (side === from && sent++ === at) {
            p.h.sendPpp(from, lcpConfigureRequest(0x40 + (at & 0x3f), 0x01020304 + at));
          }
          return bytes;
        };
        p.h.start();
        p.h.runUntil(() => !!p.h.closed[to] || !!p.h.linkUp[to], 60_000);
        p.h.runUntil(() => !!p.h.closed.client && !!p.h.closed.server, 60_000);
        for (const side of ["client", "server"] as const) {
          const e = p.h.closed[side]?.error;
          assert.ok(
            e === undefined || !(e instanceof TypeError || e instanceof RangeError),
            `${method} at ${at}, ${side}: ${e}`,
          );
        }
        assert.ok(p.assigned() <= 1, `${method} at ${at}: ${p.assigned()} address assignments`);
      }
    }
  });
}
