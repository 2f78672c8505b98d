/**
 * Two PPP links back to back running EAP-MSCHAPv2: LCP negotiates EAP
 * (0xc227), the HLAK both roles hand to the SSTP crypto binding is the same
 * non-zero key as plain MS-CHAPv2 gives, the trace names EAP packets, and
 * EAP frames that are malformed, stale or outside their phase are dropped.
 */
import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { type LinkAction, PppLink, type PppLinkOptions } from "./link.ts";
import type { AuthMethod } from "./auth/auth_types.ts";
import { createAuthAuthenticator } from "./auth/create_auth.ts";
import { describeCpPacket } from "./describe.ts";
import { encodePppFrame } from "./frame.ts";
import { PROTOCOL } from "./constants.ts";

function seeded(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

type Role = "client" | "server";

function links(opts: {
  client: AuthMethod[];
  server: AuthMethod[];
  password?: string;
}) {
  const lines: Record<Role, string[]> = { client: [], server: [] };
  const logger = (role: Role) => createLogger("debug", (_l, line) => lines[role].push(line));
  const common = { restartTimerMs: 3000 };
  const client = new PppLink(
    {
      ...common,
      role: "client",
      user: "alice",
      password: opts.password ?? "s3cret!",
      acceptAuth: opts.client,
      randomBytes: seeded(1),
      logger: logger("client"),
    } satisfies PppLinkOptions,
  );
  const server = new PppLink(
    {
      ...common,
      role: "server",
      authenticateWith: opts.server,
      lookupPassword: (u) => (u === "alice" ? "s3cret!" : undefined),
      createAuthenticator: createAuthAuthenticator,
      serverName: "vpn",
      assignAddresses: () => ({ localAddress: "198.18.0.1", peerAddress: "198.18.0.2" }),
      randomBytes: seeded(2),
      logger: logger("server"),
    } satisfies PppLinkOptions,
  );
  const actions: Record<Role, LinkAction[]> = { client: [], server: [] };
  const queue: { to: Role; frame: Uint8Array }[] = [];
  const take = (from: Role, out: LinkAction[]) => {
    actions[from].push(...out);
    for (const a of out) {
      if (a.type === "sendFrame") {
        queue.push({ to: from === "client" ? "server" : "client", frame: a.frame });
      }
    }
  };
  const link = { client, server };
  const pump = (limit = 200) => {
    for (let i = 0; i < limit && queue.length > 0; i++) {
      const { to, frame } = queue.shift()!;
      take(to, link[to].receive(frame, 0));
    }
  };
  take("server", server.start(0));
  take("client", client.start(0));
  return { client, server, actions, lines, pump, take };
}

const authenticated = (actions: LinkAction[]) =>
  actions.find((a): a is Extract<LinkAction, { type: "authenticated" }> =>
    a.type === "authenticated"
  );

Deno.test("PppLink pair authenticates with EAP-MSCHAPv2 and both roles get the same non-zero HLAK", () => {
  const eap = links({ client: ["eap-mschap2"], server: ["eap-mschap2"] });
  eap.pump();
  const c = authenticated(eap.actions.client);
  const s = authenticated(eap.actions.server);
  assert.equal(c?.method, "eap-mschap2");
  assert.equal(s?.method, "eap-mschap2");
  assert.equal(s?.user, "alice");
  assert.equal(c?.hlak.length, 32);
  assert.deepEqual(c?.hlak, s?.hlak);
  assert.ok(c?.hlak.some((b) => b !== 0), "HLAK must not be all zeros");
  assert.equal(eap.client.phase, "Network");
  assert.ok(eap.actions.client.some((a) => a.type === "ipUp"));

  // The trace names each EAP step, redacting the response.
  const server = eap.lines.server.join("\n");
  assert.match(server, /send \[LCP ConfReq id=0x\w+ .*<auth eap>/);
  assert.match(server, /send \[EAP Request id=0x\w+ Identity\]/);
  assert.match(server, /recv \[EAP Response id=0x\w+ Identity "alice"\]/);
  assert.match(
    server,
    /send \[EAP Request id=0x\w+ MSCHAPv2 Challenge id=0x\w+ <[0-9a-f]{32}>, name = "vpn"\]/,
  );
  assert.match(
    server,
    /recv \[EAP Response id=0x\w+ MSCHAPv2 Response id=0x\w+ <redacted len=49>, name = "alice"\]/,
  );
  assert.match(
    server,
    /send \[EAP Request id=0x\w+ MSCHAPv2 Success id=0x\w+ "S=<redacted len=40> M=/,
  );
  assert.match(server, /recv \[EAP Response id=0x\w+ MSCHAPv2 Success\]/);
  assert.match(server, /send \[EAP Success id=0x\w+\]/);
  assert.match(eap.lines.client.join("\n"), /recv \[EAP Request id=0x\w+ Identity\]/);
});

Deno.test("PppLink: a client allowing both methods Naks EAP toward MS-CHAPv2 only when EAP is not allowed", () => {
  // Server prefers EAP, client allows only MS-CHAPv2: Nak, then plain MS-CHAPv2.
  const a = links({ client: ["mschap2"], server: ["eap-mschap2", "mschap2"] });
  a.pump();
  assert.equal(authenticated(a.actions.server)?.method, "mschap2");
  // EAP-only client (a Windows-style EAP profile) against a server preferring MS-CHAPv2.
  const b = links({ client: ["eap-mschap2"], server: ["mschap2", "eap-mschap2"] });
  b.pump();
  assert.equal(authenticated(b.actions.server)?.method, "eap-mschap2");
  // A server that asks for EAP first is acked when the client allows it (RRAS, SoftEther).
  const c = links({ client: ["mschap2", "eap-mschap2"], server: ["eap-mschap2"] });
  c.pump();
  assert.equal(authenticated(c.actions.client)?.method, "eap-mschap2");
});

Deno.test("PppLink with a wrong EAP-MSCHAPv2 password fails both sides with 691", () => {
  const l = links({ client: ["eap-mschap2"], server: ["eap-mschap2"], password: "wrong" });
  l.pump();
  const dead = (r: Role) =>
    l.actions[r].find((a): a is Extract<LinkAction, { type: "dead" }> => a.type === "dead");
  assert.equal(authenticated(l.actions.server), undefined);
  assert.equal(authenticated(l.actions.client), undefined);
  assert.match(dead("client")?.error?.message ?? "", /691/);
  assert.match(dead("server")?.error?.message ?? "", /did not verify/);
  assert.match(l.lines.server.join("\n"), /send \[EAP Failure id=0x\w+\]/);
});

Deno.test("PppLink drops malformed, stale and out-of-phase EAP frames without failing", () => {
  const l = links({ client: ["eap-mschap2"], server: ["eap-mschap2"] });
  // Step until both links are in the Authenticate phase.
  for (let i = 0; i < 50; i++) {
    if (l.server.phase === "Authenticate" && l.client.phase === "Authenticate") break;
    l.pump(1);
  }
  assert.equal(l.server.phase, "Authenticate");
  const eapFrame = (bytes: number[]) => encodePppFrame(PROTOCOL.EAP, new Uint8Array(bytes));
  const malformed = [
    [], // empty
    [1], // code only
    [2, 9, 0], // short header
    [2, 9, 0, 3], // Length below the header
    [2, 9, 0, 40, 1], // Length beyond the data
    [2, 9, 0, 4], // Response without a Type
    [5, 9, 0, 4], // unknown code
    [2, 9, 0, 5, 26], // MSCHAPv2 Response without Type-Data
    [2, 9, 0, 9, 26, 2, 9, 0, 4], // MSCHAPv2 Response with no value
    [2, 9, 0, 10, 26, 2, 9, 0, 5, 49], // Value-Size beyond the data
    [2, 9, 0, 6, 26, 99], // unknown OpCode
    [3, 9, 0, 4], // Success sent to an authenticator
  ];
  for (const bytes of malformed) {
    assert.deepEqual(l.server.receive(eapFrame(bytes), 0), [], `server answered ${bytes}`);
  }
  // Malformed Requests to the peer: discarded, no answer, no failure.
  const badRequests = [
    [1, 7, 0, 4], // Request without a Type
    [1, 7, 0, 5, 26], // MSCHAPv2 Challenge without Type-Data
    [1, 7, 0, 9, 26, 1, 7, 0, 4], // Challenge with no value
    [1, 7, 0, 10, 26, 1, 7, 0, 6, 16], // Value-Size beyond the data
    [1, 7, 0, 6, 26, 99], // unknown OpCode
    [1, 7, 0, 30, 1], // Length beyond the data
  ];
  for (const bytes of badRequests) {
    const out = l.client.receive(eapFrame(bytes), 0);
    assert.ok(!out.some((a) => a.type !== "startTimer"), `client answered ${bytes}`);
  }
  assert.equal(l.server.phase, "Authenticate");
  // Everything still completes afterwards.
  l.pump();
  assert.equal(authenticated(l.actions.server)?.method, "eap-mschap2");
  // After authentication, EAP is discarded (not Protocol-Rejected, not re-run).
  const late = l.server.receive(eapFrame([2, 1, 0, 10, 1, 0x61, 0x6c, 0x69, 0x63, 0x65]), 0);
  assert.deepEqual(late, []);
  assert.match(describeCpPacket(PROTOCOL.EAP, new Uint8Array([2, 9, 0, 6, 26, 99])), /opcode=0x63/);
});
