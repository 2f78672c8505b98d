/**
 * Road warrior on the LAN: with `proxy-arp-interface`, a client's tunnel
 * address taken from the LAN's subnet answers ARP on the LAN, so a LAN host
 * reaches the remote client directly.
 *
 * ```
 *  lan ns                      server ns (server_fixture)             client ns
 *  198.18.80.50/24 ── veth ── lan0 198.18.80.1/24                     sstp connect
 *                             sstp serve, pool 198.18.80.100-110  ──  TUN 198.18.80.10x
 * ```
 */
import assert from "node:assert/strict";
import { createNetns, netnsTestIgnore } from "./helpers/netns.ts";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import { stopClient } from "./client_fixture.ts";
import { connectProcess, createTopology, ServeProcess, writeConfig } from "./server_fixture.ts";

const ignore = netnsTestIgnore("proxy-ARP");

Deno.test({
  name: "proxy-arp-interface lets a LAN host ping a remote client on a LAN address",
  ignore,
}, async () => {
  await using t = await createTopology();
  await using lan = await createNetns({ prefix: "sstp-lan" });
  await t.server.run(["ip", "link", "add", "lan0", "type", "veth", "peer", "host0"]);
  await t.server.run(["ip", "link", "set", "host0", "netns", lan.name]);
  await t.server.run(["ip", "addr", "add", "198.18.80.1/24", "dev", "lan0"]);
  await t.server.run(["ip", "link", "set", "lan0", "up"]);
  await t.server.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  await lan.run(["ip", "addr", "add", "198.18.80.50/24", "dev", "host0"]);
  await lan.run(["ip", "link", "set", "host0", "up"]);
  const config = await writeConfig(
    t,
    `profiles:
  - { name: default, local-address: 198.18.80.1, remote-address: lanpool }
pools:
  - { name: lanpool, ranges: 198.18.80.100-198.18.80.110 }
secrets:
  - { name: roadwarrior, password: rw }
`,
    { "proxy-arp-interface": "lan0" },
  );
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const client = connectProcess(t, "sstp-rw", [
    ...["--server-fingerprint", formatFingerprint(t.fingerprint, "sha256")],
  ], { user: "roadwarrior", password: "rw", env: { SSTP_RUN_DIR: t.dir } });
  try {
    const up = await client.waitFor(/ up: sstp-rw (198\.18\.80\.\d+) peer/, 30_000);
    const address = /(198\.18\.80\.\d+) peer/.exec(up)![1]!;
    await serve.waitFor(new RegExp(`proxy-arp for ${address.replaceAll(".", "\\.")} on lan0`));
    // The client needs a route back to the LAN (a real one would use add-default-route).
    await t.client.run(["ip", "route", "add", "198.18.80.0/24", "dev", "sstp-rw"]);
    const ping = await lan.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", address]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const neigh = await lan.run(["ip", "neigh", "show", address]);
    assert.match(neigh, /lladdr/);
  } finally {
    await stopClient(client);
  }
  await serve.waitFor(/closed sstp-roadwarri/);
  assert.equal(await t.server.run(["ip", "neigh", "show", "proxy"]), "");
});
