/**
 * `sstp serve` (the real process, in a namespace) against the in-process
 * test client: each authentication method, wrong password, a tampered
 * Compound MAC, `only-one`, and a ping through each tunnel.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  connectClient,
  createTopology,
  pingThroughTunnel,
  POOL_YAML,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  TUNNEL_LOCAL,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

Deno.test({
  name: "sstp serve authenticates pap, chap, mschap1, mschap2 and eap-mschap2 and passes a ping",
  ignore,
}, async (tt) => {
  await using t = await createTopology();
  // Every method, deliberately: the default is mschap2 only.
  // A second profile with only-one, using the same pool.
  const solo =
    `  - { name: solo, local-address: ${TUNNEL_LOCAL}, remote-address: pool1, only-one: yes }\n`;
  const config = await writeConfig(
    t,
    POOL_YAML.replace("profiles:\n", `profiles:\n${solo}`) + `secrets:
  - { name: alice, password: "al1ce pass" }
  - { name: bob, password: b0b, profile: solo }
  - { name: carol, password: c, disabled: yes }
`,
    { authentication: "mschap2,eap-mschap2,mschap1,chap,pap" },
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  await serve.waitFor(/mschap1, chap, pap derive no keys \(all-zero HLAK\)/);

  // eap-mschap2 runs over the real TLS listener: the server verifies the
  // crypto binding with the EAP HLAK before the link comes up.
  for (const method of ["pap", "chap", "mschap1", "mschap2", "eap-mschap2"] as const) {
    await tt.step(`${method}: link up, address from the pool, ping`, async () => {
      const c = await connectClient(t, "alice", "al1ce pass", { authentication: [method] });
      try {
        const ip = await c.linkUp;
        assert.equal(ip.peerAddress, TUNNEL_LOCAL);
        assert.match(ip.localAddress, /^198\.19\.0\.\d+$/);
        assert.equal(c.engine.authenticated?.method, method);
        await pingThroughTunnel(c, 1, 7);
      } finally {
        await c.close();
      }
      await serve.waitFor(new RegExp(`Authenticated "alice" with ${method}$`));
    });
  }

  await tt.step("wrong password is refused", async () => {
    const c = await connectClient(t, "alice", "wrong");
    await assert.rejects(() => c.linkUp);
    const r = await c.done;
    assert.ok(r.error !== undefined, "session ended with an error");
    await c.close();
  });

  await tt.step("a disabled secret cannot log in", async () => {
    const c = await connectClient(t, "carol", "c");
    await assert.rejects(() => c.linkUp);
    await c.close();
  });

  await tt.step("wrong Compound MAC is aborted and never gets IP through", async () => {
    const c = await connectClient(t, "alice", "al1ce pass", { tamperCallConnected: true });
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
    const first = await connectClient(t, "bob", "b0b");
    try {
      await first.linkUp;
      const second = await connectClient(t, "bob", "b0b");
      await assert.rejects(() => second.linkUp);
      await second.close();
      await serve.waitFor(/only-one: user "bob" already has a session/);
      await pingThroughTunnel(first, 1, 9);
    } finally {
      await first.close();
    }
    // After the first one left, bob may log in again.
    await serve.waitFor(/closed sstp-bob/);
    const again = await connectClient(t, "bob", "b0b");
    await again.linkUp;
    await again.close();
  });

  assert.equal(await serve.stop(), 0);
});
