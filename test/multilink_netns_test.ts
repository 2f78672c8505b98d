/**
 * Multilink (RFC 1990) between the real `sstp serve` and `sstp connect`, each
 * in its own namespace: with `max-mtu 1400` and `mrru 1600` on both sides the
 * tunnel interface gets MTU 1600, and a 1,500-byte ping with DF set crosses
 * (as MP fragments inside PPP) without any IP fragmentation in either
 * namespace.
 *
 * @module
 */
import assert from "node:assert/strict";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import {
  connectProcess,
  createTopology,
  POOL_YAML,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  type Topology,
  TUNNEL_LOCAL,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";
import { stopClient } from "./client_fixture.ts";
import type { Netns } from "./helpers/netns.ts";

const ignore = SERVE_NETNS_IGNORE;

/** The namespace's IP fragmentation counters (/proc/net/snmp is per namespace). */
async function ipFragmentCounters(ns: Netns): Promise<Record<string, number>> {
  const r = await ns.exec(["cat", "/proc/net/snmp"]);
  assert.equal(r.code, 0, r.stderr);
  const [names, values] = r.stdout.split("\n").filter((l) => l.startsWith("Ip:"));
  assert.ok(names && values, r.stdout);
  const keys = names.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  const all = Object.fromEntries(keys.map((k, i) => [k, nums[i] ?? NaN]));
  return {
    FragCreates: all.FragCreates!,
    FragOKs: all.FragOKs!,
    ReasmReqds: all.ReasmReqds!,
  };
}

/**
 * `sstp serve` and `sstp connect` (interface "sstp-out1") with the same
 * link `limits` on both sides (config keys and flags alike); waits until
 * the tunnel is up (and stops both when it does not come up).
 */
async function session(t: Topology, limits: Record<string, number>) {
  const config = await writeConfig(
    t,
    POOL_YAML + "secrets:\n  - { name: real, password: pw }\n",
    limits,
  );
  const serve = await ServeProcess.start(t.server, ["--config", config]);
  const client = connectProcess(t, "sstp-out1", [
    ...["--server-fingerprint", formatFingerprint(t.fingerprint, "sha256")],
    ...Object.entries(limits).flatMap(([k, v]) => [`--${k}`, String(v)]),
  ]);
  try {
    await waitTunnelUp(t, "sstp-out1");
  } catch (e) {
    client.kill("SIGKILL");
    await client.wait(5000);
    await serve.stop();
    throw e;
  }
  return { serve, client };
}

/** A DF ping of a 1,500-byte IP packet (1472 bytes of ICMP data + 8 + 20) to the server. */
function dfPing(t: Topology, args: string[]) {
  return t.client.exec(["ping", "-M", "do", "-s", "1472", ...args, TUNNEL_LOCAL]);
}

Deno.test({
  name: "max-mtu 1400 with mrru 1600: a 1,500-byte DF ping crosses the tunnel unfragmented",
  ignore,
}, async () => {
  await using t = await createTopology();
  // max-mru 1400 as well: a 1,500-byte packet then cannot cross as one PPP
  // frame at all (each side drops frames over the peer's MRU), only as MP
  // fragments.
  const { serve, client } = await session(t, { "max-mtu": 1400, "max-mru": 1400, mrru: 1600 });
  await using _serve = serve;
  try {
    assert.match(await t.client.run(["ip", "link", "show", "dev", "sstp-out1"]), /mtu 1600/);
    assert.match(await t.server.run(["ip", "link", "show", "dev", "sstp-real"]), /mtu 1600/);
    await serve.waitFor(/LCP Opened: .*mrru 1600, peer mrru 1600/);
    const before = {
      client: await ipFragmentCounters(t.client),
      server: await ipFragmentCounters(t.server),
    };
    const r = await dfPing(t, ["-c", "3", "-i", "0.2", "-W", "3"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 received/);
    assert.match(r.stdout, /1480 bytes from/, "full-size replies");
    const after = {
      client: await ipFragmentCounters(t.client),
      server: await ipFragmentCounters(t.server),
    };
    assert.deepEqual(after, before, "no IP fragment was made or reassembled in either namespace");
  } finally {
    await stopClient(client, 10_000);
  }
  await serve.waitFor(/closed sstp-real/);
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name: "max-mtu 1400 without mrru: the same DF ping is refused at the interface MTU",
  ignore,
}, async () => {
  await using t = await createTopology();
  const { serve, client } = await session(t, { "max-mtu": 1400 });
  await using _serve = serve;
  try {
    assert.match(await t.client.run(["ip", "link", "show", "dev", "sstp-out1"]), /mtu 1400/);
    const r = await dfPing(t, ["-c", "1", "-W", "2"]);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
  } finally {
    await stopClient(client, 10_000);
  }
  await serve.waitFor(/closed sstp-real/);
  assert.equal(await serve.stop(), 0);
});
