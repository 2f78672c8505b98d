/**
 * `metrics` and `web-status` of a real `sstp serve` in a namespace: the
 * Prometheus document is checked by `promtool check metrics` (Debian
 * `prometheus`) and its values move with two live sessions, traffic and a
 * refused login; the status page is loaded in headless Chromium (Debian
 * `chromium`) and its DOM shows both users and a chart with points.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "../helpers/netns.ts";
import { assertPromtoolValid, samples } from "../helpers/exposition.ts";
import { TestClient } from "../helpers/test_client.ts";
import type { MemoryTun } from "../helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "../helpers/icmp.ts";
import {
  connectClient,
  createTopology,
  POOL_YAML,
  ServeProcess,
  writeConfig,
} from "../server_fixture.ts";

const ignore = netnsTestIgnore("metrics and status page netns test");

async function ping(c: TestClient, seq: number): Promise<void> {
  const ip = await c.linkUp;
  const tun = c.tun as MemoryTun;
  const before = tun.written.length;
  tun.inject(
    buildIcmpEcho(ip.localAddress, ip.peerAddress, { id: 7, seq, payload: new Uint8Array(1000) }),
  );
  const reply = parseIcmp(await tun.nextWritten(before, 5000));
  assert.equal(reply?.type, 0);
}

async function commandExists(name: string): Promise<boolean> {
  const r = await new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .output();
  return r.success;
}

Deno.test({
  name: "metrics: promtool-valid, values move with sessions, traffic and a refused login",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    `  metrics: 127.0.0.1:9477
  web-status: 127.0.0.1:9478
  log-format: json
${POOL_YAML}secrets:
  - { name: alice, password: alice-pw }
  - { name: bob, password: bob-pw }
`,
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  // log-format json: every line is one object with the stable fields.
  for (const line of serve.lines) {
    const r = JSON.parse(line);
    assert.deepEqual(Object.keys(r), ["ts", "level", "program", "tags", "msg"]);
  }
  await serve.waitFor(/metrics on http:\/\/127\.0\.0\.1:9477\/metrics/);
  const scrape = async () =>
    await t.server.run(["curl", "-sf", "--max-time", "5", "http://127.0.0.1:9477/metrics"]);

  const before = samples(await scrape());
  assert.equal(before.get('sstp_sessions{state="connected"}'), 0);
  assert.equal(before.get('sstp_traffic_bytes_total{direction="rx"}'), 0);
  assert.ok((before.get("process_resident_memory_bytes") ?? 0) > 0);

  const alice = await connectClient(t, "alice", "alice-pw");
  const bob = await connectClient(t, "bob", "bob-pw");
  try {
    await alice.linkUp;
    await bob.linkUp;
    for (let i = 0; i < 5; i++) {
      await ping(alice, i);
      await ping(bob, i);
    }
    const wrong = await connectClient(t, "alice", "not-her-password");
    await wrong.done.catch(() => {});
    await wrong.close().catch(() => {});

    const text = await scrape();
    const after = samples(text);
    assert.equal(after.get('sstp_sessions{state="connected"}'), 2);
    assert.equal(after.get('sstp_session_setups_total{method="mschap2"}'), 2);
    assert.equal(after.get("sstp_session_setup_duration_seconds_count"), 2);
    assert.ok((after.get('sstp_traffic_bytes_total{direction="rx"}') ?? 0) >= 10 * 1028);
    assert.ok((after.get('sstp_traffic_packets_total{direction="tx"}') ?? 0) >= 10);
    const failures = [...after].filter(([k]) => k.startsWith("sstp_session_setup_failures_total"));
    assert.equal(failures.reduce((n, [, v]) => n + v, 0), 1, text);
    assert.match(failures[0]![0], /reason="auth_failed"/);

    await assertPromtoolValid(text);

    // The status page's snapshot and, in a real browser, the page itself.
    const snap = JSON.parse(
      await t.server.run(["curl", "-sf", "--max-time", "5", "http://127.0.0.1:9478/status.json"]),
    );
    assert.deepEqual(snap.sessions.map((s: { user: string }) => s.user).sort(), ["alice", "bob"]);
    assert.equal(snap.failures.length, 1);
    const browser = (await commandExists("chromium")) ? "chromium" : undefined;
    if (browser === undefined) {
      if (Deno.env.get("CI")) assert.fail("chromium is missing: apt-get install chromium");
      return;
    }
    // Traffic while the page is open so the total chart has something to draw.
    let pinging = true;
    const traffic = (async () => {
      for (let i = 100; pinging && i < 400; i++) {
        await ping(alice, i);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const shot = `${t.dir}/status.png`;
    const domFile = `${t.dir}/status.html`;
    await t.server.run([
      Deno.execPath(),
      "run",
      "-A",
      new URL("../helpers/headless_chromium.ts", import.meta.url).pathname,
      "http://127.0.0.1:9478/",
      "4000",
      domFile,
      shot,
    ], { timeoutMs: 90_000 });
    const dom = await Deno.readTextFile(domFile);
    pinging = false;
    await traffic;
    assert.match(dom, /<tr data-user="alice"/);
    assert.match(dom, /<tr data-user="bob"/);
    const points = Number(/id="total-chart"[^>]*data-points="(\d+)"/.exec(dom)?.[1] ?? "0");
    assert.ok(points >= 2, `the chart drew ${points} points`);
    const max = Number(/id="total-chart"[^>]*data-max="(\d+)"/.exec(dom)?.[1] ?? "0");
    assert.ok(max > 1, `the chart's peak is ${max} B/s`);
    assert.ok((await Deno.stat(shot)).size > 1000);
    // To look at it: SSTP_TEST_SCREENSHOT=/tmp/status.png deno test -A this file.
    const keep = Deno.env.get("SSTP_TEST_SCREENSHOT");
    if (keep) await Deno.copyFile(shot, keep);
  } finally {
    await alice.close().catch(() => {});
    await bob.close().catch(() => {});
  }
});
