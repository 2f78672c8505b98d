/**
 * Client and server engines back to back in memory with BCP (RFC 3518):
 * both sides bridging open BCP beside IPCP; one side without it fails the
 * link with a clear reason.
 */
import assert from "node:assert/strict";
import { createClientEngine } from "../lib/tunnel/client_engine.ts";
import { createServerEngine } from "../lib/tunnel/server_engine.ts";
import type { SessionEngine } from "../lib/tunnel/session_engine.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import { EngineHarness } from "./helpers/engine_harness.ts";
import { seededRandomBytes } from "./helpers/xorshift.ts";

const HASHES = certHashes(new TextEncoder().encode("bcp test certificate"));

function pair(clientBridge: boolean, serverBridge: boolean) {
  let asked = 0;
  const client: SessionEngine = createClientEngine({
    certHashes: HASHES,
    user: "alice",
    password: "s3cret!",
    authentication: ["mschap2"],
    helloMs: 60_000,
    bridge: clientBridge,
    randomBytes: seededRandomBytes(1),
    logger: NOOP_LOGGER,
  });
  const server: SessionEngine = createServerEngine({
    certHashes: HASHES,
    authentication: ["mschap2"],
    lookupPassword: (u) => (u === "alice" ? "s3cret!" : undefined),
    assignAddresses: () => ({ localAddress: "198.18.100.1", peerAddress: "198.18.100.2" }),
    serverName: "test-server",
    helloMs: 60_000,
    // Asked after authentication, when the profile is known.
    bridge: () => {
      asked++;
      return serverBridge;
    },
    randomBytes: seededRandomBytes(2),
    logger: NOOP_LOGGER,
  });
  return { h: new EngineHarness(client, server), client, server, asked: () => asked };
}

Deno.test("engine pair with bridge on both sides opens BCP beside IPCP", () => {
  const { h, client, server, asked } = pair(true, true);
  h.start();
  assert.ok(h.runUntil(() => client.isBridgeOpen && server.isBridgeOpen && !!h.linkUp.client));
  assert.equal(asked(), 1);
  assert.ok(client.isIpv4Open);
  assert.equal(h.closed.client, undefined);
});

Deno.test("engine pair without bridge never opens BCP", () => {
  const { h, client, server } = pair(false, false);
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server));
  assert.equal(client.isBridgeOpen, false);
  assert.equal(server.isBridgeOpen, false);
});

for (const [c, s] of [[true, false], [false, true]] as const) {
  Deno.test(`engine pair with bridge only on the ${c ? "client" : "server"} ends: the peer rejected BCP`, () => {
    const { h, client, server } = pair(c, s);
    h.start();
    assert.ok(h.runUntil(() => !!h.closed.client && !!h.closed.server, 30_000));
    assert.equal(client.isBridgeOpen, false);
    assert.equal(server.isBridgeOpen, false);
    const bridging = c ? h.closed.client : h.closed.server;
    assert.match(String(bridging?.error), /peer rejected BCP/);
  });
}

Deno.test("engine pair: a peer that never answers BCP ends the bridged link after Max-Configure", () => {
  const { h, client } = pair(true, true);
  // Drop every BCP packet the server sends (SSTP data, PPP protocol 0x8031).
  h.tap = (from, bytes) =>
    from === "server" && bytes[0] === 0x10 && bytes[1] === 0x00 && bytes[6] === 0x80 &&
      bytes[7] === 0x31
      ? null
      : bytes;
  h.start();
  assert.ok(h.runUntil(() => !!h.closed.client && !!h.closed.server, 120_000));
  assert.equal(client.isBridgeOpen, false);
  const errors = `${h.closed.client?.error} / ${h.closed.server?.error}`;
  assert.match(errors, /Cannot bridge: BCP failed/);
});
