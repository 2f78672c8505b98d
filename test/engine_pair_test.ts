/**
 * Client and server engines back to back in memory with a fake clock: every
 * authentication method, IP both ways, wrong passwords, tampered crypto
 * bindings and silent peers.
 */
import assert from "node:assert/strict";
import { createClientEngine } from "../lib/tunnel/client_engine.ts";
import { createServerEngine } from "../lib/tunnel/server_engine.ts";
import type { SessionEngine } from "../lib/tunnel/session_engine.ts";
import { certHashes } from "../lib/sstp/crypto_binding.ts";
import { MESSAGE_TYPE } from "../lib/sstp/constants.ts";
import { decodeSstpPacket } from "../lib/sstp/packet.ts";
import { ERROR_CODE, isAuthError, PeerAbortError, ProtocolError } from "../lib/errors.ts";
import { NOOP_LOGGER } from "../lib/log.ts";
import type { AuthMethod } from "../lib/ppp/auth/auth_types.ts";
import { EngineHarness } from "./helpers/engine_harness.ts";
import { seededRandomBytes } from "./helpers/xorshift.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import { buildCp, buildFrame } from "./helpers/ppp_builders.ts";

const CERT = new TextEncoder().encode("not really DER but hashed all the same");
const HASHES = certHashes(CERT);

function pair(opts: {
  method?: AuthMethod;
  clientMethods?: AuthMethod[];
  serverMethods?: AuthMethod[];
  password?: string;
  clientCert?: Uint8Array;
  helloMs?: number | null;
  clientIpv6?: boolean;
  serverIpv6?: boolean;
  /** Applied by the server when it assigns addresses, as a RADIUS Framed-MTU is. */
  framedMtu?: number;
} = {}): { h: EngineHarness; client: SessionEngine; server: SessionEngine } {
  const client = createClientEngine({
    certHashes: certHashes(opts.clientCert ?? CERT),
    user: "alice",
    password: opts.password ?? "s3cret!",
    authentication: opts.clientMethods ?? [opts.method ?? "mschap2"],
    helloMs: opts.helloMs === undefined ? 60_000 : opts.helloMs,
    randomBytes: seededRandomBytes(1),
    logger: NOOP_LOGGER,
    ...(opts.clientIpv6 ? { ipv6: true } : {}),
  });
  const server: SessionEngine = createServerEngine({
    certHashes: HASHES,
    authentication: opts.serverMethods ?? [opts.method ?? "mschap2"],
    lookupPassword: (u) => (u === "alice" ? "s3cret!" : undefined),
    assignAddresses: () => {
      if (opts.framedMtu !== undefined) server.limitMtu(opts.framedMtu);
      return { localAddress: "198.18.100.1", peerAddress: "198.18.100.2", dns: ["198.18.100.53"] };
    },
    serverName: "test-server",
    helloMs: opts.helloMs === undefined ? 60_000 : opts.helloMs,
    randomBytes: seededRandomBytes(2),
    logger: NOOP_LOGGER,
    ...(opts.serverIpv6 ? { ipv6: true } : {}),
  });
  const h = new EngineHarness(client, server);
  return { h, client, server };
}

for (const method of ["pap", "chap", "mschap1", "mschap2", "eap-mschap2"] as const) {
  Deno.test(`engine pair reaches Call Connected and IPCP Opened with ${method}, then carries IPv4 both ways`, () => {
    const { h, client, server } = pair({ method });
    h.start();
    assert.ok(h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server, 10_000));
    assert.equal(client.sstpState, "Client_Call_Connected");
    assert.equal(server.sstpState, "Server_Call_Connected");
    assert.equal(server.authenticated?.user, "alice");
    assert.equal(server.authenticated?.method, method);
    assert.deepEqual(h.linkUp.client, {
      localAddress: "198.18.100.2",
      peerAddress: "198.18.100.1",
      dns: ["198.18.100.53"],
      mtu: 1500,
    });
    assert.equal(h.linkUp.server?.peerAddress, "198.18.100.2");

    assert.ok(h.sendIp("client", buildIcmpEcho("198.18.100.2", "198.18.100.1", { seq: 7 })));
    assert.ok(h.sendIp("server", buildIcmpEcho("198.18.100.1", "198.18.100.2", { reply: true })));
    h.runUntil(() => h.delivered.server.length === 1 && h.delivered.client.length === 1, 1000);
    assert.deepEqual(parseIcmp(h.delivered.server[0]!)?.seq, 7);
    assert.equal(parseIcmp(h.delivered.client[0]!)?.type, 0);
  });
}

Deno.test("engine pair negotiates the strongest common method", () => {
  const { h, server } = pair({
    clientMethods: ["chap", "pap"],
    serverMethods: ["mschap2", "mschap1", "chap", "pap"],
  });
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client, 10_000));
  assert.equal(server.authenticated?.method, "chap");
});

for (const method of ["pap", "chap", "mschap1", "mschap2", "eap-mschap2"] as const) {
  Deno.test(`engine pair with a wrong ${method} password fails with an authentication error on both sides`, () => {
    const { h } = pair({ method, password: "wrong" });
    h.start();
    assert.ok(h.runUntil(() => !!h.closed.client && !!h.closed.server, 30_000));
    assert.equal(h.linkUp.client, undefined);
    const ce = h.closed.client?.error;
    const se = h.closed.server?.error;
    assert.ok(ce instanceof ProtocolError || ce instanceof PeerAbortError, String(ce));
    assert.ok(isAuthError(se), `server: ${se}`);
    if (method !== "pap") assert.ok(isAuthError(ce), `client: ${ce}`);
    if (method === "mschap2" || method === "eap-mschap2") assert.match(ce!.message, /691/);
  });
}

function tamperCallConnected(offset: number) {
  return (from: string, bytes: Uint8Array): Uint8Array => {
    if (from !== "client") return bytes;
    const p = decodeSstpPacket(bytes);
    if (p.kind === "control" && p.message.messageType === MESSAGE_TYPE.CALL_CONNECTED) {
      const copy = bytes.slice();
      copy[offset] = (copy[offset] ?? 0) ^ 0x01;
      return copy;
    }
    return bytes;
  };
}

// Call Connected layout: 4 header + 4 message header + 4 attribute header +
// 3 reserved + 1 hash protocol + 32 nonce (16..47) + 32 cert hash (48..79) + 32 MAC (80..111).
for (
  const [what, offset] of [["nonce", 20], ["certificate hash", 50], ["Compound MAC", 85]] as const
) {
  Deno.test(`server aborts on a tampered ${what} and never opens the IP gate`, () => {
    const { h, server } = pair();
    h.tap = tamperCallConnected(offset);
    h.start();
    assert.ok(h.runUntil(() => !!h.closed.server && !!h.closed.client, 30_000));
    const se = h.closed.server?.error;
    assert.ok(se instanceof ProtocolError, String(se));
    assert.equal(se.code, ERROR_CODE.CRYPTO_BINDING_MISMATCH);
    assert.equal(h.linkUp.server, undefined);
    assert.equal(server.isIpv4Open, false);
    assert.ok(h.closed.client?.error instanceof PeerAbortError);
  });
}

Deno.test("eap-mschap2: the server checks the Compound MAC keyed by the EAP HLAK", () => {
  const { h, server } = pair({ method: "eap-mschap2" });
  h.tap = tamperCallConnected(85);
  h.start();
  assert.ok(h.runUntil(() => !!h.closed.server && !!h.closed.client, 30_000));
  assert.equal(server.authenticated?.method, "eap-mschap2");
  const se = h.closed.server?.error;
  assert.ok(se instanceof ProtocolError, String(se));
  assert.equal(se.code, ERROR_CODE.CRYPTO_BINDING_MISMATCH);
  assert.equal(server.isIpv4Open, false);
});

Deno.test("eap-mschap2: a client allowing EAP and MS-CHAPv2 meets servers preferring either", () => {
  for (
    const [serverMethods, expected] of [
      [["eap-mschap2"], "eap-mschap2"],
      [["mschap2", "eap-mschap2"], "mschap2"],
      // The server asks first; a client that allows the request acks it.
      [["eap-mschap2", "mschap2"], "eap-mschap2"],
    ] as const
  ) {
    const { h, server } = pair({
      clientMethods: ["mschap2", "eap-mschap2"],
      serverMethods: [...serverMethods],
    });
    h.start();
    assert.ok(h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server, 10_000));
    assert.equal(server.authenticated?.method, expected, `server ${serverMethods}`);
  }
});

Deno.test("server aborts a client that hashed a different certificate (TLS man in the middle)", () => {
  const { h } = pair({ clientCert: new TextEncoder().encode("the attacker's certificate") });
  h.start();
  assert.ok(h.runUntil(() => !!h.closed.server, 30_000));
  assert.equal((h.closed.server?.error as ProtocolError).code, ERROR_CODE.CRYPTO_BINDING_MISMATCH);
});

Deno.test("server times out a client that never sends Call Connect Request (negotiation 60 s)", () => {
  const { h } = pair();
  h.silent.client = true;
  h.start();
  assert.equal(h.runUntil(() => !!h.closed.server, 59_000), false);
  assert.ok(h.runUntil(() => !!h.closed.server, 10_000));
  assert.ok(h.nowMs >= 60_000 && h.nowMs < 70_000, `closed at ${h.nowMs}`);
});

Deno.test("client detects a peer gone silent after connecting (hello 60 s, echo, then close)", () => {
  const { h } = pair();
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client, 10_000));
  const t0 = h.nowMs;
  h.silent.server = true;
  assert.ok(h.runUntil(() => !!h.closed.client, 300_000));
  const took = h.nowMs - t0;
  assert.ok(took >= 60_000 && took <= 125_000, `closed after ${took} ms`);
  const echoes = h.sent.client.filter((p) =>
    p.kind === "control" && p.message.messageType === MESSAGE_TYPE.ECHO_REQUEST
  );
  assert.ok(echoes.length >= 1);
});

Deno.test("keepalive disabled: an idle connected session stays up", () => {
  const { h } = pair({ helloMs: null });
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client, 10_000));
  h.runUntil(() => false, 600_000);
  assert.equal(h.closed.client, undefined);
  assert.equal(h.closed.server, undefined);
});

Deno.test("graceful close: Call Disconnect, Ack, both sides closed without error", () => {
  const { h } = pair();
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client, 10_000));
  h.close("client");
  assert.ok(h.runUntil(() => !!h.closed.client && !!h.closed.server, 20_000));
  assert.equal(h.closed.client?.error, undefined);
  assert.ok(
    h.sent.client.some((p) =>
      p.kind === "control" && p.message.messageType === MESSAGE_TYPE.CALL_DISCONNECT
    ),
  );
});

Deno.test("IP sent before the call is connected is not carried", () => {
  const { h, client } = pair();
  h.start();
  h.runUntil(() => client.pppPhase === "Authenticate", 10_000);
  assert.equal(h.sendIp("client", buildIcmpEcho("198.18.100.2", "198.18.100.1")), false);
});

Deno.test("engine pair with IPv6 on both sides reaches IPV6CP Opened with link-locals from the interface identifiers and carries IPv6", () => {
  const { h, client, server } = pair({ clientIpv6: true, serverIpv6: true });
  h.start();
  assert.ok(h.runUntil(() => h.ipv6Up.client !== undefined && h.ipv6Up.server !== undefined));
  assert.ok(h.linkUp.client && h.linkUp.server, "IPv4 is up as well");
  const c = h.ipv6Up.client!;
  const s = h.ipv6Up.server!;
  assert.deepEqual(c.localInterfaceId, s.peerInterfaceId);
  assert.deepEqual(c.peerInterfaceId, s.localInterfaceId);
  assert.notDeepEqual(c.localInterfaceId, c.peerInterfaceId);
  assert.equal(c.localInterfaceId.length, 8);
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  // fe80::/64 + the 64-bit identifier (RFC 5072 5), in RFC 5952 text.
  const iidGroups = (b: Uint8Array) =>
    [0, 2, 4, 6].map((i) => parseInt(hex(b.subarray(i, i + 2)), 16).toString(16)).join(":");
  assert.equal(c.localLinkLocal, `fe80::${iidGroups(c.localInterfaceId)}`);
  assert.equal(c.peerLinkLocal, s.localLinkLocal);
  assert.equal(s.peerLinkLocal, c.localLinkLocal);
  assert.ok(client.isIpv6Open && server.isIpv6Open);
  assert.equal(client.ip6?.localLinkLocal, c.localLinkLocal);
  const ip6 = new Uint8Array(40);
  ip6[0] = 0x60;
  ip6[6] = 59; // No Next Header
  ip6[7] = 64;
  assert.ok(h.sendIp6("client", ip6));
  assert.ok(h.sendIp6("server", ip6));
  h.runUntil(() => h.delivered.server.length === 1 && h.delivered.client.length === 1, 1000);
  assert.deepEqual(h.delivered.server[0], ip6);
  assert.deepEqual(h.delivered.client[0], ip6);
});

for (const rejecting of ["client", "server"] as const) {
  Deno.test(`engine pair: a ${rejecting} without IPV6CP Protocol-Rejects it and IPv4 still works`, () => {
    const { h, client, server } = pair({
      clientIpv6: rejecting !== "client",
      serverIpv6: rejecting !== "server",
    });
    h.start();
    assert.ok(h.runUntil(() => h.linkUp.client !== undefined && h.linkUp.server !== undefined));
    // Let every IPV6CP restart timer run out: nothing may take IPv4 down.
    h.runUntil(() => false, 40_000);
    assert.equal(h.closed.client, undefined);
    assert.equal(h.closed.server, undefined);
    assert.equal(h.ipv6Up.client, undefined);
    assert.equal(h.ipv6Up.server, undefined);
    assert.ok(!client.isIpv6Open && !server.isIpv6Open);
    assert.ok(client.isIpv4Open && server.isIpv4Open);
    const accepting = rejecting === "client" ? "server" : "client";
    const rejects = h.sent[rejecting].filter((p) =>
      p.kind === "data" && p.data[2] === 0xc0 && p.data[3] === 0x21 && p.data[4] === 8 &&
      p.data[8] === 0x80 && p.data[9] === 0x57
    );
    assert.equal(rejects.length, 1, "one LCP Protocol-Reject of IPV6CP");
    const ipv6cpSent = h.sent[accepting].filter((p) =>
      p.kind === "data" && p.data[2] === 0x80 && p.data[3] === 0x57
    );
    assert.equal(ipv6cpSent.length, 1, "the other side stops after the reject");
    const echo = buildIcmpEcho("198.18.100.2", "198.18.100.1");
    assert.ok(h.sendIp("client", echo));
    h.runUntil(() => h.delivered.server.length === 1, 1000);
    assert.equal(h.delivered.server.length, 1);
  });
}

Deno.test("engine pair: a Terminate-Request for IPV6CP alone takes IPv6 down on the client (ipv6Down), IPv4 stays up", () => {
  const { h, client } = pair({ clientIpv6: true, serverIpv6: true });
  h.start();
  assert.ok(h.runUntil(() => h.ipv6Up.client !== undefined && h.ipv6Up.server !== undefined));
  const before = h.sent.client.length;
  // FF 03 80 57 | Terminate-Request (5), id 0x42, no data.
  h.sendPpp("server", buildFrame(0x8057, [...buildCp(5, 0x42)]));
  h.runUntil(() => h.ipv6Up.client === undefined, 1000);
  assert.equal(h.ipv6Up.client, undefined, "the client saw ipv6Down");
  assert.ok(!client.isIpv6Open);
  const acks = h.sent.client.slice(before).filter((p) =>
    p.kind === "data" && p.data[2] === 0x80 && p.data[3] === 0x57 && p.data[4] === 6 &&
    p.data[5] === 0x42
  );
  assert.equal(acks.length, 1, "one IPV6CP Terminate-Ack");
  assert.ok(client.isIpv4Open);
  assert.equal(h.closed.client, undefined);
  assert.ok(h.sendIp("client", buildIcmpEcho("198.18.100.2", "198.18.100.1", { seq: 9 })));
  h.runUntil(() => h.delivered.server.length === 1, 1000);
  assert.equal(parseIcmp(h.delivered.server[0]!)?.seq, 9);
});

Deno.test("a Framed-MTU below the negotiated MTU caps the server's interface MTU; LCP is not renegotiated, the client keeps 1500 and IP flows", () => {
  const { h, server } = pair({ framedMtu: 1300 });
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server, 10_000));
  assert.equal(h.linkUp.server?.mtu, 1300);
  assert.equal(h.linkUp.client?.mtu, 1500);
  assert.equal(server.pppPhase, "Network");
  assert.ok(h.sendIp("client", buildIcmpEcho("198.18.100.2", "198.18.100.1", { seq: 3 })));
  h.runUntil(() => h.delivered.server.length === 1, 1000);
  assert.equal(parseIcmp(h.delivered.server[0]!)?.seq, 3);
  assert.deepEqual([h.closed.server, h.closed.client], [undefined, undefined]);
  // A cap, never a raise.
  const above = pair({ framedMtu: 9000 });
  above.h.start();
  assert.ok(above.h.runUntil(() => !!above.h.linkUp.server, 10_000));
  assert.equal(above.h.linkUp.server?.mtu, 1500);
});
