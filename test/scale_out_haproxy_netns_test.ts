/**
 * The scale-out recipe (docs/scale-out.md), run for real: Debian's HAProxy
 * (`mode tcp`, `send-proxy-v2`) in front of two `sstp serve` nodes (each in
 * its own namespace) that share one FreeRADIUS. 20 clients log in through
 * HAProxy and spread over both nodes; each node's `sstp status` shows the
 * real client address (from the PROXY header); one node shuts down and its
 * clients, dialling again, land on the other; accounting shows Stop for
 * the old sessions and Start for the new, all with the real
 * Calling-Station-Id.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createNetns, type Netns, netnsTestIgnore } from "./helpers/netns.ts";
import { TestClient } from "./helpers/test_client.ts";
import {
  CLIENT_IP,
  connectClient,
  createTopology,
  PORT,
  ServeProcess,
  SERVER_IP,
  statusSessions,
} from "./server_fixture.ts";
import { type FreeRadius, radiusServerYaml, startFreeRadius } from "./helpers/freeradius.ts";

/** What the test reads of a session in `sstp status --json`. */
type Session = { callerId: string; user: string };

const ignore = netnsTestIgnore("HAProxy + sstp serve + FreeRADIUS scale-out test");
const SECRET = "fl33t-secret";
const BRIDGE_IP = "198.18.3.1";
const NODE_IPS = ["198.18.3.11", "198.18.3.12"];

function nodeYaml(i: number, dir: string, pem: string, radius: FreeRadius) {
  return `sstp-server:
  certificate: ${pem}
  port: ${PORT}
  listen: ${NODE_IPS[i]}
  state-dir: ${dir}/state
  control-socket: ${dir}/control/sstp-server.sock
  keepalive-timeout: 30
  proxy-protocol: v2
  proxy-protocol-from: ${BRIDGE_IP}
profiles:
  - { name: default, local-address: 198.19.0.1, remote-address: pool${i} }
pools:
  - { name: pool${i}, ranges: 198.19.${i + 1}.10-198.19.${i + 1}.100 }
${radiusServerYaml(radius, SECRET, { address: BRIDGE_IP })}`;
}

Deno.test({
  name:
    "HAProxy send-proxy-v2 → two sstp serve nodes → one FreeRADIUS: spread, real addresses, failover",
  ignore,
}, async () => {
  await using t = await createTopology();
  const nodes: Netns[] = [];
  const serves: ServeProcess[] = [];
  const clients: TestClient[] = [];
  let haproxy: Deno.ChildProcess | undefined;
  let fr: Awaited<ReturnType<typeof startFreeRadius>> | undefined;
  try {
    // A bridge in the balancer's namespace with one veth per node.
    await t.server.run(["ip", "link", "add", "br-n", "type", "bridge"]);
    await t.server.run(["ip", "addr", "add", `${BRIDGE_IP}/24`, "dev", "br-n"]);
    await t.server.run(["ip", "link", "set", "br-n", "up"]);
    for (const [i, ip] of NODE_IPS.entries()) {
      const ns = await createNetns({ prefix: "sstp-n" });
      nodes.push(ns);
      await t.server.run(["ip", "link", "add", `v-n${i}`, "type", "veth", "peer", "v-up"]);
      await t.server.run(["ip", "link", "set", "v-up", "netns", ns.name]);
      await t.server.run(["ip", "link", "set", `v-n${i}`, "master", "br-n", "up"]);
      await ns.run(["ip", "addr", "add", `${ip}/24`, "dev", "v-up"]);
      await ns.run(["ip", "link", "set", "v-up", "up"]);
    }
    fr = await startFreeRadius({
      address: BRIDGE_IP,
      client: "198.18.3.0/24",
      secret: SECRET,
      netns: t.server.name,
      users: [{ name: "fleet", password: "fl33t pass" }],
    });
    for (const [i, ns] of nodes.entries()) {
      const dir = `${t.dir}/node${i}`;
      await Deno.mkdir(dir);
      const config = `${dir}/sstp.yaml`;
      await Deno.writeTextFile(
        config,
        nodeYaml(i, dir, t.pemPath, fr),
        { mode: 0o600 },
      );
      serves.push(await ServeProcess.start(ns, ["--config", config]));
    }
    const cfg = `${t.dir}/haproxy.cfg`;
    await Deno.writeTextFile(
      cfg,
      `global
  maxconn 1000
defaults
  mode tcp
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch
frontend sstp
  bind ${SERVER_IP}:${PORT}
  default_backend nodes
backend nodes
  balance roundrobin
  server n0 ${NODE_IPS[0]}:${PORT} send-proxy-v2 check inter 300ms fall 1 rise 1
  server n1 ${NODE_IPS[1]}:${PORT} send-proxy-v2 check inter 300ms fall 1 rise 1
`,
    );
    haproxy = new Deno.Command("ip", {
      args: ["netns", "exec", t.server.name, "haproxy", "-db", "-f", cfg],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const haproxyErr = new Response(haproxy.stderr).text();
    // Ready once it accepts TCP on the frontend.
    for (let i = 0; i < 50; i++) {
      const probe = await t.client.exec(["bash", "-c", `exec 3<>/dev/tcp/${SERVER_IP}/${PORT}`]);
      if (probe.code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const dial = () => connectClient(t, "fleet", "fl33t pass", { authentication: ["mschap2"] });
    for (let i = 0; i < 20; i++) clients.push(await dial());
    const ips = await Promise.all(clients.map((c) => c.linkUp));
    const [s0, s1] = [
      await statusSessions<Session>(`${t.dir}/node0`),
      await statusSessions<Session>(`${t.dir}/node1`),
    ];
    assert.equal(s0.length + s1.length, 20, JSON.stringify([s0, s1]));
    assert.ok(s0.length >= 5 && s1.length >= 5, `spread ${s0.length}/${s1.length}`);
    for (const s of [...s0, ...s1]) {
      assert.match(s.callerId, new RegExp(`^${CLIENT_IP.replaceAll(".", "\\.")}:\\d+$`));
    }
    const onNode0 = ips.map((ip, i) => ({ ip, i })).filter(({ ip }) =>
      ip.localAddress.startsWith("198.19.1.")
    ).map(({ i }) => i);
    assert.equal(onNode0.length, s0.length);

    // Node 0 shuts down: its clients are disconnected and dial again through HAProxy.
    await serves[0]!.stop();
    for (const i of onNode0) {
      await clients[i]!.done;
      await clients[i]!.close();
      clients[i] = await dial();
      const ip = await clients[i]!.linkUp;
      assert.ok(
        ip.localAddress.startsWith("198.19.2."),
        `re-dial landed on node 1: ${ip.localAddress}`,
      );
    }
    assert.equal((await statusSessions<Session>(`${t.dir}/node1`)).length, 20);

    let detail = "";
    for (let i = 0; i < 50; i++) {
      detail = await fr.detail();
      if ((detail.match(/Acct-Status-Type = Stop/g) ?? []).length >= onNode0.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const records = detail.split(/\n\n+/).filter((r) => r.trim() !== "");
    const count = (re: RegExp) => records.filter((r) => re.test(r)).length;
    assert.equal(count(/Acct-Status-Type = Start/), 20 + onNode0.length, detail.slice(-3000));
    assert.equal(count(/Acct-Status-Type = Stop/), onNode0.length);
    assert.equal(count(/Acct-Status-Type = Accounting-On/), 2);
    assert.equal(count(/Acct-Status-Type = Accounting-Off/), 1);
    const sessionRecords = records.filter((r) => /Acct-Status-Type = (Start|Stop)/.test(r));
    for (const r of sessionRecords) {
      assert.match(r, new RegExp(`Calling-Station-Id = "${CLIENT_IP.replaceAll(".", "\\.")}"`));
    }
    assert.ok(
      records.filter((r) => /Stop/.test(r)).every((r) =>
        /Acct-Terminate-Cause = NAS-Reboot/.test(r)
      ),
    );
    void haproxyErr;
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const s of serves) await s.stop();
    if (haproxy !== undefined) {
      try {
        haproxy.kill("SIGTERM");
      } catch { /* gone */ }
      await haproxy.status;
    }
    await fr?.stop();
    for (const ns of nodes) await ns.cleanup();
  }
});
