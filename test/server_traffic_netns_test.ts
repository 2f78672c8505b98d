/**
 * `sstp serve` in a namespace with many clients, a static secret with
 * routes, `sstp status` / `sstp disconnect`, 50 MiB with equal SHA-256, and
 * SIGTERM cleanup.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PeerDisconnectError } from "../lib/errors.ts";
import {
  connectClient,
  createTopology,
  pingThroughTunnel,
  POOL_YAML,
  runSstp,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  TUNNEL_LOCAL,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

const STATIC_YAML = POOL_YAML + `secrets:
  - name: static
    password: st4tic
    local-address: 198.19.1.1
    remote-address: 198.19.1.2
    routes: "198.19.200.0/24 198.19.1.2 3, 198.19.201.0/24"
interfaces:
  - { name: sstp-fixed, user: static }
`;

Deno.test({
  name: "sstp serve gives 20 concurrent clients distinct pool addresses and passes their traffic",
  ignore,
}, async () => {
  await using t = await createTopology();
  const users = Array.from({ length: 20 }, (_, i) => `user${i}`);
  // All 20 dial from one address at once, as users behind one NAT would:
  // above the per-source defaults (8) for connections not yet logged in.
  const config = await writeConfig(
    t,
    "  max-handshakes-per-source: 32\n  max-unauthenticated-per-source: 32\n" + POOL_YAML +
      "secrets:\n" + users.map((u) => `  - { name: ${u}, password: pw-${u} }\n`).join(""),
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const clients = await Promise.all(users.map((u) => connectClient(t, u, `pw-${u}`)));
  try {
    const ips = await Promise.all(clients.map((c) => c.linkUp));
    const addresses = new Set(ips.map((ip) => ip.localAddress));
    assert.equal(addresses.size, 20, "distinct addresses");
    for (const a of addresses) assert.match(a, /^198\.19\.0\.\d+$/);
    await Promise.all(clients.map((c, i) => pingThroughTunnel(c, i + 1)));
    const links = await t.server.run(["ip", "-br", "link", "show"]);
    assert.equal(links.split("\n").filter((l) => l.startsWith("sstp-user")).length, 20);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  await serve.waitFor(/closed sstp-user19/);
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name: "sstp serve: a static secret gets its addresses, interface and routes; status and " +
    "disconnect reach it; routes go with it",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, STATIC_YAML);
  const socket = `${t.dir}/control/sstp-server.sock`;
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const c = await connectClient(t, "static", "st4tic");
  const ip = await c.linkUp;
  assert.equal(ip.localAddress, "198.19.1.2");
  assert.equal(ip.peerAddress, "198.19.1.1");
  await pingThroughTunnel(c, 1);
  const routes = await t.server.run(["ip", "route", "show"]);
  assert.match(routes, /198\.19\.200\.0\/24 via 198\.19\.1\.2 dev sstp-fixed .*metric 3/);
  assert.match(routes, /198\.19\.201\.0\/24 dev sstp-fixed .*metric 1/);
  const addr = await t.server.run(["ip", "-br", "addr", "show", "dev", "sstp-fixed"]);
  assert.match(addr, /198\.19\.1\.1 peer 198\.19\.1\.2\/32/);

  const json = await runSstp(["status", "--json", "--dir", `${t.dir}/control`]);
  assert.equal(json.code, 0, json.stderr);
  const [server] = JSON.parse(json.stdout) as {
    role: string;
    sessions: Record<string, unknown>[];
  }[];
  assert.equal(server?.role, "server");
  assert.equal(server?.sessions.length, 1);
  const row = server!.sessions[0]!;
  assert.equal(row.name, "sstp-fixed");
  assert.equal(row.user, "static");
  assert.equal(row.address, "198.19.1.2");
  assert.equal(row.state, "connected");
  assert.match(String(row.callerId), /^198\.18\.1\.2:\d+$/);
  assert.ok(Number(row.rxBytes) > 0 && Number(row.txBytes) > 0);
  const table = await runSstp(["status", "--dir", `${t.dir}/control`]);
  assert.match(table.stdout, /sstp-fixed\s+static\s+198\.18\.1\.2:\d+\s+198\.19\.1\.2/);
  const monitor = await runSstp(["status", "--dir", `${t.dir}/control`, "static"]);
  assert.match(monitor.stdout, /caller-id: 198\.18\.1\.2:\d+/);

  const off = await runSstp(["disconnect", "--socket", socket, "sstp-fixed"]);
  assert.equal(off.code, 0, off.stderr);
  await c.done;
  await c.close();
  await serve.waitFor(/closed sstp-fixed: disconnected by administrator/);
  const after = await t.server.run(["ip", "route", "show"]);
  assert.doesNotMatch(after, /198\.19\.20[01]\.0/);
  const none = await runSstp(["disconnect", "--socket", socket, "nobody"]);
  assert.equal(none.code, 1);
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name: "sstp serve carries 50 MiB over TCP through the tunnel with equal SHA-256",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, POOL_YAML + "secrets:\n  - { name: bulk, password: b }\n");
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const c = await connectClient(t, "bulk", "b", { tunName: "tc-bulk" });
  try {
    await c.linkUp;
    const listener = t.server.enter(() => Deno.listen({ hostname: TUNNEL_LOCAL, port: 5001 }));
    const total = 50 * 1024 * 1024;
    const received = (async () => {
      const conn = await listener.accept();
      const hash = createHash("sha256");
      let n = 0;
      for await (const chunk of conn.readable) {
        hash.update(chunk);
        n += chunk.length;
      }
      return { n, digest: hash.digest("hex") };
    })();
    const conn = await t.client.enter(() => ({
      p: Deno.connect({ hostname: TUNNEL_LOCAL, port: 5001 }),
    })).p;
    const sent = createHash("sha256");
    const block = new Uint8Array(64 * 1024);
    const started = performance.now();
    const writer = conn.writable.getWriter();
    for (let off = 0; off < total; off += block.length) {
      crypto.getRandomValues(block);
      sent.update(block);
      await writer.write(block.slice());
    }
    await writer.close();
    const got = await received;
    const seconds = (performance.now() - started) / 1000;
    listener.close();
    assert.equal(got.n, total);
    assert.equal(got.digest, sent.digest("hex"));
    // deno-lint-ignore no-console
    console.log(
      `50 MiB through the tunnel in ${seconds.toFixed(2)} s ` +
        `(${(total * 8 / seconds / 1e6).toFixed(0)} Mbit/s)`,
    );
  } finally {
    await c.close();
  }
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name: "sstp serve on SIGTERM disconnects clients and leaves no interface, route or socket",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, STATIC_YAML);
  const socket = `${t.dir}/control/sstp-server.sock`;
  const serve = await ServeProcess.start(t.server, ["--config", config]);
  const c = await connectClient(t, "static", "st4tic");
  await c.linkUp;
  assert.match(await t.server.run(["ip", "route", "show"]), /sstp-fixed/);
  await Deno.stat(socket);
  const code = await serve.stop();
  assert.equal(code, 0);
  const r = await c.done;
  assert.ok(r.error instanceof PeerDisconnectError, `graceful Call Disconnect, not ${r.error}`);
  await c.close();
  assert.ok(serve.lines.some((l) => /closed sstp-fixed: server shutting down/.test(l)));
  assert.doesNotMatch(await t.server.run(["ip", "-br", "link", "show"]), /sstp-/);
  assert.doesNotMatch(await t.server.run(["ip", "route", "show"]), /sstp-|198\.19\./);
  await assert.rejects(() => Deno.stat(socket), Deno.errors.NotFound);
});
