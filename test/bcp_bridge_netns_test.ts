/**
 * BCP bridging (RFC 3518): the server's profile and the client each name a
 * Linux bridge; the session adds a TAP device to each, and Ethernet frames
 * (ARP included) cross the tunnel as PPP protocol 0x0031, so two hosts in
 * one subnet on the two LANs reach each other as if on one segment.
 *
 * ```
 *  lan-a ns                    server ns                        client ns                    lan-b ns
 *  198.18.90.1/24 ── veth ── br-lan ─ sstp-br0 ══ SSTP ══ sstp-brc0 ─ br-lan ── veth ── 198.18.90.2/24
 * ```
 */
import assert from "node:assert/strict";
import { createNetns, type Netns, netnsTestIgnore } from "./helpers/netns.ts";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import { connectProcess, createTopology, ServeProcess, writeConfig } from "./server_fixture.ts";
import { controlRequest } from "../lib/control/control_client.ts";

const ignore = netnsTestIgnore("BCP bridging");

/** A bridge `br-lan` in `ns` with a veth into a new LAN namespace holding `address`. */
async function lanBehind(ns: Netns, address: string): Promise<Netns> {
  const lan = await createNetns({ prefix: "sstp-lan" });
  try {
    await ns.run(["ip", "link", "add", "br-lan", "type", "bridge"]);
    await ns.run(["ip", "link", "set", "br-lan", "up"]);
    await ns.run(["ip", "link", "add", "lan0", "type", "veth", "peer", "host0"]);
    await ns.run(["ip", "link", "set", "host0", "netns", lan.name]);
    await ns.run(["ip", "link", "set", "lan0", "master", "br-lan"]);
    await ns.run(["ip", "link", "set", "lan0", "up"]);
    await lan.run(["ip", "addr", "add", address, "dev", "host0"]);
    await lan.run(["ip", "link", "set", "host0", "up"]);
    return lan;
  } catch (e) {
    await lan[Symbol.asyncDispose]();
    throw e;
  }
}

Deno.test({
  name:
    "bridge on both sides: hosts on the two LANs ping each other across the tunnel, ARP included",
  ignore,
}, async () => {
  await using t = await createTopology();
  await using lanA = await lanBehind(t.server, "198.18.90.1/24");
  await using lanB = await lanBehind(t.client, "198.18.90.2/24");
  const config = await writeConfig(
    t,
    `profiles:
  - name: default
    local-address: 198.18.91.1
    remote-address: 198.18.91.2
    bridge: br-lan
    bridge-path-cost: 20
    bridge-port-priority: 64
    bridge-horizon: 1
secrets:
  - { name: branch, password: br }
`,
    // Room for full-size Ethernet frames (1514 bytes + the 2-byte bridged header).
    { "max-mru": 1600, "max-mtu": 1600 },
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const client = connectProcess(t, "sstp-br", [
    ...["--server-fingerprint", formatFingerprint(t.fingerprint, "sha256")],
    ...["--bridge", "br-lan", "--max-mru", "1600", "--max-mtu", "1600"],
  ], { user: "branch", password: "br", env: { SSTP_RUN_DIR: t.dir } });
  let serverPort = "";
  try {
    const clientUp = await client.waitFor(/bridge: (\S+) joined br-lan/, 30_000);
    const serverUp = await serve.waitFor(/bridge: (\S+) joined br-lan/, 30_000);
    serverPort = /bridge: (\S+) joined/.exec(serverUp)![1]!;
    const clientPort = /bridge: (\S+) joined/.exec(clientUp)![1]!;
    // The profile's port settings, as Linux expresses them.
    const port = await t.server.run(["bridge", "-d", "link", "show", "dev", serverPort]);
    assert.match(port, /master br-lan/);
    assert.match(port, /priority 16 cost 20/);
    assert.match(port, /isolated on/);
    assert.match(
      await t.client.run(["bridge", "link", "show", "dev", clientPort]),
      /master br-lan/,
    );

    const reply = await controlRequest(`${t.dir}/control/sstp-server.sock`, { op: "status" });
    const status = JSON.stringify(reply.sessions);
    assert.match(status, new RegExp(`"bridge":"${serverPort} in br-lan"`));
    const macB = (await lanB.run(["cat", "/sys/class/net/host0/address"])).trim();
    await lanA.run(["ip", "neigh", "flush", "dev", "host0"]);
    const ping = await lanA.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", "198.18.90.2"]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    // ARP crossed the tunnel: lan-a learned lan-b's own MAC address.
    assert.match(
      await lanA.run(["ip", "neigh", "show", "198.18.90.2"]),
      new RegExp(`lladdr ${macB}`),
    );
    // A full 1500-byte IP packet (1514-byte frame) crosses whole, DF set.
    const full = await lanA.exec([
      "ping",
      "-c",
      "2",
      "-i",
      "0.2",
      "-W",
      "3",
      "-M",
      "do",
      "-s",
      "1472",
      "198.18.90.2",
    ]);
    assert.equal(full.code, 0, full.stdout + full.stderr);
    const back = await lanB.exec(["ping", "-c", "2", "-i", "0.2", "-W", "3", "198.18.90.1"]);
    assert.equal(back.code, 0, back.stdout + back.stderr);
  } finally {
    client.kill("SIGTERM");
    assert.equal((await client.wait(15_000)).code, 0, client.output);
  }
  await serve.waitFor(/closed sstp-branch/);
  // The session's bridge port is gone with the session.
  assert.equal(
    await t.server.run(["bridge", "link", "show", "master", "br-lan"]).then((s) =>
      s.includes(serverPort)
    ),
    false,
  );
});
