/**
 * A RADIUS Framed-MTU arrives during authentication, after LCP is Opened:
 * the server caps its own interface MTU (`limitMtu`, what the device, the
 * TCP MSS clamp and the IPv6 RA follow) and does not renegotiate LCP, so
 * the client keeps the MTU LCP gave it and the link stays up
 * (lib/server/radius_session.ts `framedMtuCap` says why).
 */
import assert from "node:assert/strict";
import { createClientEngine } from "../lib/tunnel/client_engine.ts";
import { createServerEngine } from "../lib/tunnel/server_engine.ts";
import type { SessionEngine } from "../lib/tunnel/session_engine.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import { EngineHarness } from "./helpers/engine_harness.ts";
import { seededRandomBytes } from "./helpers/xorshift.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";

const HASHES = certHashes(new TextEncoder().encode("certificate"));

/** An engine pair whose server applies `framedMtu` when it assigns addresses (as RADIUS does). */
function pair(framedMtu: number): { h: EngineHarness; server: SessionEngine } {
  const client = createClientEngine({
    certHashes: HASHES,
    user: "alice",
    password: "s3cret!",
    authentication: ["mschap2"],
    helloMs: 60_000,
    randomBytes: seededRandomBytes(1),
    logger: NOOP_LOGGER,
  });
  const server: SessionEngine = createServerEngine({
    certHashes: HASHES,
    authentication: ["mschap2"],
    lookupPassword: (u) => (u === "alice" ? "s3cret!" : undefined),
    assignAddresses: () => {
      server.limitMtu(framedMtu);
      return { localAddress: "198.18.100.1", peerAddress: "198.18.100.2", dns: [] };
    },
    serverName: "test-server",
    helloMs: 60_000,
    randomBytes: seededRandomBytes(2),
    logger: NOOP_LOGGER,
  });
  return { h: new EngineHarness(client, server), server };
}

Deno.test("Framed-MTU below the negotiated MTU caps the server's interface MTU; LCP is not renegotiated and IP still flows", () => {
  const { h, server } = pair(1300);
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server, 10_000));
  assert.equal(h.linkUp.server?.mtu, 1300);
  assert.equal(server.mtu, 1300);
  // The client keeps what LCP negotiated: no new Configure-Request reached it.
  assert.equal(h.linkUp.client?.mtu, 1500);
  assert.equal(server.pppPhase, "Network");
  assert.ok(h.sendIp("client", buildIcmpEcho("198.18.100.2", "198.18.100.1", { seq: 3 })));
  h.runUntil(() => h.delivered.server.length === 1, 1000);
  assert.equal(parseIcmp(h.delivered.server[0]!)?.seq, 3);
  assert.equal(h.closed.server, undefined);
  assert.equal(h.closed.client, undefined);
});

Deno.test("Framed-MTU above the negotiated MTU changes nothing (a cap, never a raise)", () => {
  const { h, server } = pair(9000);
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server, 10_000));
  assert.equal(h.linkUp.server?.mtu, 1500);
  assert.equal(server.mtu, 1500);
});
