/**
 * `sstp serve` (the real process, in a namespace) against the in-process
 * test client: each authentication method, wrong password, a tampered
 * Compound MAC, `only-one`, and a ping through each tunnel.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "./helpers/netns.ts";
import { TestClient } from "./helpers/test_client.ts";
import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import {
  createTopology,
  POOL_YAML,
  PORT,
  ServeProcess,
  SERVER_IP,
  type Topology,
  TUNNEL_LOCAL,
  writeConfig,
} from "./server_fixture.ts";
import type { AuthMethod } from "../lib/ppp/auth/auth_types.ts";

const ignore = netnsTestIgnore("sstp serve netns tests");

function client(t: Topology, user: string, password: string, extra: {
  authentication?: AuthMethod[];
  tamperCallConnected?: boolean;
} = {}) {
  return TestClient.connect({
    netns: t.client,
    host: SERVER_IP,
    port: PORT,
    user,
    password,
    serverCertPem: t.certPem,
    ...extra,
  });
}

/** Pings the server's tunnel address through a MemoryTun client. */
async function pingThrough(c: TestClient, id: number): Promise<void> {
  const ip = await c.linkUp;
  const tun = c.tun as MemoryTun;
  const before = tun.written.length;
  tun.inject(buildIcmpEcho(ip.localAddress, ip.peerAddress, { id, seq: 1 }));
  const reply = parseIcmp(await tun.nextWritten(before, 5000));
  assert.equal(reply?.type, 0, "echo reply");
  assert.equal(reply?.src, ip.peerAddress);
}

Deno.test({
  name: "sstp serve authenticates pap, chap, mschap1 and mschap2 and passes a ping",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (tt) => {
  await using t = await createTopology();
  // Every method, deliberately: the default is mschap2 only.
  const config = await writeConfig(
    t,
    "  authentication: mschap2,mschap1,chap,pap\n" + POOL_YAML + `secrets:
  - { name: alice, password: "al1ce pass" }
  - { name: bob, password: b0b, profile: solo }
  - { name: carol, password: c, disabled: yes }
`,
  );
  // A second profile with only-one, using the same pool.
  await Deno.writeTextFile(
    config,
    (await Deno.readTextFile(config)).replace(
      "profiles:\n",
      `profiles:\n  - { name: solo, local-address: ${TUNNEL_LOCAL}, remote-address: pool1, only-one: yes }\n`,
    ),
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  await serve.waitFor(/mschap1, chap, pap derive no keys \(all-zero HLAK\)/);

  for (const method of ["pap", "chap", "mschap1", "mschap2"] as const) {
    await tt.step(`${method}: link up, address from the pool, ping`, async () => {
      const c = await client(t, "alice", "al1ce pass", { authentication: [method] });
      try {
        const ip = await c.linkUp;
        assert.equal(ip.peerAddress, TUNNEL_LOCAL);
        assert.match(ip.localAddress, /^198\.19\.0\.\d+$/);
        assert.equal(c.engine.authenticated?.method, method);
        await pingThrough(c, 7);
      } finally {
        await c.close();
      }
      await serve.waitFor(new RegExp(`Authenticated "alice" with ${method}$`));
    });
  }

  await tt.step("wrong password is refused", async () => {
    const c = await client(t, "alice", "wrong");
    await assert.rejects(() => c.linkUp);
    const r = await c.done;
    assert.ok(r.error !== undefined, "session ended with an error");
    await c.close();
  });

  await tt.step("a disabled secret cannot log in", async () => {
    const c = await client(t, "carol", "c");
    await assert.rejects(() => c.linkUp);
    await c.close();
  });

  await tt.step("wrong Compound MAC is aborted and never gets IP through", async () => {
    const c = await client(t, "alice", "al1ce pass", { tamperCallConnected: true });
    await assert.rejects(() => c.linkUp);
    const r = await c.done;
    assert.ok(r.error !== undefined);
    assert.equal(c.tun, undefined, "no interface on the client");
    await c.close();
    const closed = await serve.waitFor(/closed: Cannot accept Call Connected: crypto binding/);
    const tag = /\[(\{[^}]+\}\/[^\]]+)\]/.exec(closed)?.[1];
    assert.ok(tag, closed);
    const ofSession = serve.lines.filter((l) => l.includes(tag));
    assert.ok(!ofSession.some((l) => / up: /.test(l)), "no interface came up for it");
    assert.ok(ofSession.some((l) => /rx 0 B\/0 pkt, tx 0 B\/0 pkt/.test(l)), "no IP passed");
  });

  await tt.step("only-one refuses a second login of the same user", async () => {
    const first = await client(t, "bob", "b0b");
    try {
      await first.linkUp;
      const second = await client(t, "bob", "b0b");
      await assert.rejects(() => second.linkUp);
      await second.close();
      await serve.waitFor(/only-one: user "bob" already has a session/);
      await pingThrough(first, 9);
    } finally {
      await first.close();
    }
    // After the first one left, bob may log in again.
    await serve.waitFor(/closed sstp-bob/);
    const again = await client(t, "bob", "b0b");
    await again.linkUp;
    await again.close();
  });

  assert.equal(await serve.stop(), 0);
});
