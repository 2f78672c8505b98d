/**
 * `/ppp secret` and `/ppp profile` properties of `sstp serve` that touch the
 * kernel or the session's life (topology: server_fixture.ts): `on-up` /
 * `on-down` scripts with the session's variables, `address-list` as an
 * nftables set, `caller-id` refusal, `limit-bytes-in/out`,
 * `last-logged-out` / `last-caller-id` kept across a restart, and
 * `rate-limit` measured with iperf3 both ways.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import assert from "node:assert/strict";
import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho } from "./helpers/icmp.ts";
import { SstpProcess } from "./helpers/sstp_process.ts";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import {
  connectClient,
  createTopology,
  PORT,
  runSstp,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  SERVER_IP,
  statusSessions,
  TUNNEL_LOCAL,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

function envOf(text: string): Map<string, string> {
  return new Map(
    text.split("\n").filter((l) => l.includes("=")).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

function profilesYaml(dir: string): string {
  return `profiles:
  - { name: default, local-address: ${TUNNEL_LOCAL}, remote-address: pool1 }
  - name: scripted
    local-address: ${TUNNEL_LOCAL}
    remote-address: pool1
    use-encryption: required
    address-list: vpn-users
    on-up: "env > ${dir}/up.env; echo script-output-up"
    on-down: "env > ${dir}/down.env; exit 3"
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
`;
}

Deno.test({
  name: "sstp serve: on-up/on-down see the session's variables, address-list holds the client " +
    "while it is up, caller-id refuses other addresses, last-logged-out survives a restart",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    profilesYaml(t.dir) + `secrets:
  - { name: alice, password: pw, profile: scripted, caller-id: 198.18.1.2 }
  - { name: pinned, password: pw, caller-id: 198.18.1.99 }
  - { name: dialup, password: pw, service: pptp }
`,
  );
  let serve = await ServeProcess.start(t.server, ["--config", config]);
  try {
    await serve.waitFor(/"dialup" is for pptp, so it is skipped for SSTP logins/);

    // caller-id names another address: the login fails as a wrong password would.
    const pinned = await connectClient(t, "pinned", "pw");
    await assert.rejects(() => pinned.linkUp);
    await pinned.close();
    await serve.waitFor(/caller-id of "pinned" is 198\.18\.1\.99, the client is 198\.18\.1\.2/);
    // A secret for another service never logs in over SSTP.
    const dialup = await connectClient(t, "dialup", "pw");
    await assert.rejects(() => dialup.linkUp);
    await dialup.close();

    const c = await connectClient(t, "alice", "pw");
    const ip = await c.linkUp;
    // Logged once the script has exited (its file is then complete).
    await serve.waitFor(/on-up script stdout: script-output-up/);
    const up = envOf(await Deno.readTextFile(`${t.dir}/up.env`));
    assert.equal(up.get("USER"), "alice");
    assert.equal(up.get("CALLER_ID"), "198.18.1.2");
    assert.equal(up.get("LOCAL_ADDRESS"), TUNNEL_LOCAL);
    assert.equal(up.get("REMOTE_ADDRESS"), ip.localAddress);
    assert.equal(up.get("INTERFACE"), "sstp-alice");
    const set = await t.server.run(["nft", "list", "set", "inet", "sstp", "vpn-users"]);
    assert.match(set, new RegExp(`elements = \\{ ${ip.localAddress.replaceAll(".", "\\.")} \\}`));

    const [row] = await statusSessions(t.dir);
    assert.equal(row?.profile, "scripted");
    assert.equal(row?.lastCallerId, "198.18.1.2");

    await c.close();
    await serve.waitFor(/closed sstp-alice/);
    const down = envOf(await Deno.readTextFile(`${t.dir}/down.env`));
    assert.equal(down.get("USER"), "alice");
    assert.equal(down.get("INTERFACE"), "sstp-alice");
    await serve.waitFor(/on-down script failed: exit code 3/);
    // No session now: `sstp status alice` prints the secret's history, as `/ppp secret print`.
    const history = await runSstp(["status", "--dir", `${t.dir}/control`, "alice"]);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /alice\s+\d{4}-\d\d-\d\dT\S+\s+198\.18\.1\.2/);
    const after = await t.server.run(["nft", "list", "set", "inet", "sstp", "vpn-users"]);
    assert.doesNotMatch(after, /elements/);
    assert.equal(await serve.stop(), 0);

    // last-logged-out / last-caller-id come back after a restart (state-dir).
    serve = await ServeProcess.start(t.server, ["--config", config]);
    const again = await connectClient(t, "alice", "pw");
    await again.linkUp;
    const [row2] = await statusSessions(t.dir);
    assert.match(String(row2?.lastLoggedOut), /^\d{4}-\d\d-\d\dT/);
    assert.equal(row2?.lastCallerId, "198.18.1.2");
    const monitor = await runSstp(["status", "--dir", `${t.dir}/control`, "alice"]);
    assert.match(monitor.stdout, /last-logged-out: \d{4}-/);
    await again.close();
    await serve.waitFor(/closed sstp-alice/);
  } finally {
    await serve.stop();
  }
});

Deno.test({
  name: "sstp serve ends a session once limit-bytes-in or limit-bytes-out is reached",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    `profiles:
  - { name: default, local-address: ${TUNNEL_LOCAL}, remote-address: pool1 }
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
secrets:
  - { name: upper, password: pw, limit-bytes-in: 20000 }
  - { name: downer, password: pw, limit-bytes-out: 20000 }
  - { name: free, password: pw }
`,
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const clients = await Promise.all(
    ["upper", "downer", "free"].map((u) => connectClient(t, u, "pw")),
  );
  try {
    const ips = await Promise.all(clients.map((c) => c.linkUp));
    const ended = new Set<number>();
    clients.forEach((c, i) => c.done.then(() => ended.add(i)));
    const payload = new Uint8Array(1000);
    // ~1 KB pings both ways, 20 per second, for at most 6 s: 40 KB each way.
    for (let seq = 0; seq < 120; seq++) {
      clients.forEach((c, i) => {
        const ip = ips[i]!;
        const tun = c.tun as MemoryTun;
        // A session the server ended has closed its device.
        if (!ended.has(i)) {
          tun.inject(buildIcmpEcho(ip.localAddress, ip.peerAddress, { id: 9, seq, payload }));
        }
      });
      await new Promise((r) => setTimeout(r, 50));
    }
    await serve.waitFor(/closed sstp-upper: limit-bytes-in 20000 reached/, 10_000);
    await serve.waitFor(/closed sstp-downer: limit-bytes-out 20000 reached/, 10_000);
    assert.equal(serve.lines.some((l) => /closed sstp-free/.test(l)), false);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

/** iperf3 receiver rate (bit/s) of a run from the client namespace. */
async function iperf(t: Awaited<ReturnType<typeof createTopology>>, reverse: boolean) {
  const r = await t.client.exec(
    ["iperf3", "-c", TUNNEL_LOCAL, "-t", "6", "-O", "1", "-J", ...(reverse ? ["-R"] : [])],
    { timeoutMs: 40_000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second;
}

Deno.test({
  name:
    "sstp serve rate-limit 10M: iperf3 download (tbf) and upload (policer) stay within +10 %/-20 %",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    `profiles:
  - { name: default, local-address: ${TUNNEL_LOCAL}, remote-address: pool1, rate-limit: 10M/10M }
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
secrets:
  - { name: real, password: pw }
`,
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const client = new SstpProcess([
    "connect",
    SERVER_IP,
    "--port",
    String(PORT),
    "--user",
    "real",
    "--server-fingerprint",
    formatFingerprint(t.fingerprint, "sha256"),
    "--name",
    "sstp-rl",
    "--reconnect",
    "no",
  ], { netns: t.client.name, env: { SSTP_PASSWORD: "pw", SSTP_RUN_DIR: t.dir } });
  const iperfServer = new Deno.Command("ip", {
    args: ["netns", "exec", t.server.name, "iperf3", "-s", "-B", TUNNEL_LOCAL, "-1"],
    stdout: "null",
    stderr: "null",
  });
  try {
    await waitTunnelUp(t, "sstp-rl");
    const qdisc = await t.server.run(["tc", "qdisc", "show", "dev", "sstp-real"]);
    // The shaper as the kernel has it: exact, whatever the machine's load.
    assert.match(qdisc, /tbf .*rate 10Mbit burst 62500b lat 50ms/);
    const rates: Record<string, number> = {};
    for (const reverse of [true, false]) {
      const child = iperfServer.spawn();
      try {
        await new Promise((r) => setTimeout(r, 500));
        rates[reverse ? "download" : "upload"] = await iperf(t, reverse);
      } finally {
        try {
          child.kill("SIGTERM");
        } catch { /* exited after one test (-1) */ }
        await child.status;
      }
    }
    console.error(`rate-limit 10M: ${JSON.stringify(rates)}`);
    // Above the limit is the limiter failing, whatever the load: +10 %. Below
    // it is also the machine: a shaper's dequeue timer or the data path run
    // late on a loaded one and the lost time is not made up (8.7-9.7M beside
    // two `yes`, lower under the parallel suite). -20 % still fails the
    // buckets that were too small before (100 ms upload bucket: half of 10M);
    // their sizes are pinned in lib/config/rate_limit_test.ts.
    for (const [way, bps] of Object.entries(rates)) {
      assert.ok(
        bps <= 11e6 && bps >= 8e6,
        `${way} ${Math.round(bps)} bit/s is not within 10M +10 %/-20 %`,
      );
    }
  } finally {
    client.kill("SIGTERM");
    await client.wait(15_000);
  }
  await serve.waitFor(/closed sstp-real/);
});
