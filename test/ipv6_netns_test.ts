/**
 * IPv6 through the tunnel: `sstp serve` gives the client a /64 from its
 * `remote-ipv6-prefix-pool` by Router Advertisement, `sstp connect
 * --use-ipv6 yes` configures the address itself (SLAAC) and the split IPv6
 * default routes, and the kernels' ping6 crosses the tunnel both ways. A
 * client without IPv6 still gets IPv4 from the same server. A client that
 * sends IPv6 from a source outside its /64 has those packets dropped by the
 * server before they reach the server's namespace. A secret's IPv6 route
 * lets the server side reach the network behind the client, and sources
 * inside it through (in-process and Worker data paths).
 *
 * @module
 */
import assert from "node:assert/strict";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import {
  connectProcess,
  createTopology,
  pingTunnelFromClient,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  statusSessions,
  type Topology,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import {
  connectIpv6,
  ipv6ServerYaml,
  ping6,
  ping6BothWays,
  SERVER_SIDE_V6,
  startIpv6Server,
  stopClient,
  tunnelName,
  waitGlobalAddress,
} from "./client_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

const IPV6_YAML = ipv6ServerYaml({ dnsServers: '[198.19.0.53, "2001:2::53"]' });

/** `sstp connect --use-ipv6 yes --add-default-route yes` on an interface of its own. */
function connectWithDefaultRoute(t: Topology) {
  const dev = tunnelName("6");
  return { dev, client: connectIpv6(t, dev, ["--add-default-route", "yes"]) };
}

Deno.test({
  name:
    "IPv6: sstp connect --use-ipv6 gets a SLAAC address from sstp serve's RA and ping6 crosses the tunnel both ways",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  await using serve = await startIpv6Server(t, IPV6_YAML);
  const { dev, client } = connectWithDefaultRoute(t);
  try {
    await waitTunnelUp(t, dev);
    await pingTunnelFromClient(t);
    const address = await waitGlobalAddress(t, dev);
    // The /64 is the pool's first, the interface id the client's IPV6CP one.
    assert.match(address, /^2001:2:0:100:/);
    const up = await serve.waitFor(
      /IPv6 up: sstp-real fe80::1 → fe80::[0-9a-f:]+, prefix 2001:2:0:100::\/64, dns 2001:2::53/,
    );
    const peerLinkLocal = /→ (fe80::[0-9a-f:]+),/.exec(up)![1]!;
    // SLAAC used the interface identifier IPV6CP negotiated (RFC 5072 5).
    assert.equal(address.split(":").slice(4).join(":"), peerLinkLocal.slice("fe80::".length));
    const links = await t.client.run(["ip", "-6", "addr", "show", "dev", dev]);
    assert.match(links, new RegExp(`${peerLinkLocal}/64 scope link`));
    // The split default routes follow the address (same RA, added right after it).
    await waitUntil(
      async () => {
        const routes = await t.client.run(["ip", "-6", "route", "show"]);
        // rtnetlink marks them proto static, `ip` (the fallback) does not.
        return new RegExp(`^::/1 dev ${dev} (proto static )?metric 1`, "m").test(routes) &&
          new RegExp(`^8000::/1 dev ${dev} (proto static )?metric 1`, "m").test(routes);
      },
      10_000,
      "IPv6 split default routes",
    );
    // Client → server side (through the split default) and server → client.
    await ping6BothWays(t, address);
    // The server's link-local on the session's interface, from the client.
    const ll = await t.client.exec(["ping", "-6", "-c", "1", "-W", "2", `fe80::1%${dev}`]);
    assert.equal(ll.code, 0, ll.stdout + ll.stderr);
    // `sstp status` shows the IPv6 side in both roles.
    const clientStatus = new SstpProcess(["status", dev]);
    assert.equal((await clientStatus.wait(30_000)).code, 0, clientStatus.output);
    assert.match(clientStatus.output, new RegExp(`ipv6-addresses: \\["${address}/64"\\]`));
    assert.match(clientStatus.output, /ipv6-prefixes: \["2001:2:0:100::\/64"\]/);
    assert.match(clientStatus.output, /ipv6-peer-link-local: fe80::1$/m);
    assert.match(clientStatus.output, /ipv6-default-route: split ::\/1\+8000::\/1 metric 1/);
    const [session] = await statusSessions(t.dir);
    assert.equal(session?.ipv6Prefix, "2001:2:0:100::/64");
    assert.equal(session?.ipv6LinkLocal, peerLinkLocal);
    const serverRoutes = await t.server.run(["ip", "-6", "route", "show"]);
    assert.match(serverRoutes, /^2001:2:0:100::\/64 dev sstp-real/m);
  } finally {
    await stopClient(client, 10_000);
  }
  await serve.waitFor(/closed sstp-real/);
  assert.doesNotMatch(await t.server.run(["ip", "-6", "route", "show"]), /2001:2:0:100::/);
  const routes = await t.client.run(["ip", "-6", "route", "show"]);
  assert.doesNotMatch(routes, new RegExp(`${dev}|^::/1|^8000::/1`, "m"));
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name:
    "IPv6: a client without use-ipv6 rejects IPV6CP and still gets IPv4 from an IPv6 server; the prefix is reused after release",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  // A pool of ONE /64: the later sessions get it only if the earlier one gave it back.
  const config = await writeConfig(
    t,
    ipv6ServerYaml({ v6Prefix: "2001:2:0:100::/64", dnsServers: '[198.19.0.53, "2001:2::53"]' }),
  );
  await using serve = await ServeProcess.start(t.server, [
    "--config",
    config,
    "--log-level",
    "debug",
  ]);
  const dev = tunnelName("6");
  const v4only = connectProcess(t, dev, [
    "--server-fingerprint",
    formatFingerprint(t.fingerprint, "sha256"),
  ]);
  try {
    await waitTunnelUp(t, dev);
    await pingTunnelFromClient(t);
    await serve.waitFor(/peer rejected IPV6CP: IPv6 stays off/);
  } finally {
    await stopClient(v4only, 10_000);
  }
  await serve.waitFor(/closed sstp-real/);
  // Two IPv6 sessions one after the other: the first's /64 went back to the pool.
  for (let round = 0; round < 2; round++) {
    const c = connectIpv6(t, dev, []);
    try {
      assert.match(await waitGlobalAddress(t, dev), /^2001:2:0:100:/);
    } finally {
      await stopClient(c, 10_000);
    }
    await waitUntil(
      async () => !(await t.server.run(["ip", "-br", "link"])).includes("sstp-real"),
      10_000,
      "server interface gone",
    );
  }
  assert.equal(await serve.stop(), 0);
});

/** `count` pings from the client namespace to {@linkcode SERVER_SIDE_V6}, from `source`. */
function pingServerSide(
  t: Topology,
  source: string,
  count: number,
) {
  const args = ["-c", String(count), "-i", "0.2", "-W", "1", "-I", source, SERVER_SIDE_V6];
  return t.client.exec(["ping", "-6", ...args]);
}

/** Packets from `saddr` the server namespace's nftables probe (prerouting) has counted. */
async function nftCount(t: Topology, saddr: string) {
  const chain = await t.server.run(["nft", "list", "chain", "ip6", "srcfilter_probe", "pre"]);
  const m = new RegExp(`saddr ${saddr.replaceAll(".", "\\.")} counter packets (\\d+)`).exec(chain);
  assert.ok(m, chain);
  return Number(m[1]);
}

Deno.test({
  name:
    "IPv6: sstp serve drops a client's IPv6 packets from a source outside its /64 before its TUN device, and counts them",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  await using serve = await startIpv6Server(t, IPV6_YAML);
  const { dev, client } = connectWithDefaultRoute(t);
  // Another client's /64 of the same pool: what a spoofing client would pretend to be.
  const spoofed = "2001:2:0:101::5";
  try {
    await waitTunnelUp(t, dev);
    const address = await waitGlobalAddress(t, dev);
    assert.match(address, /^2001:2:0:100:/);
    // What reaches the server namespace from the tunnel, counted by source.
    await t.server.run(["nft", "add", "table", "ip6", "srcfilter_probe"]);
    await t.server.run([
      "nft",
      "add chain ip6 srcfilter_probe pre { type filter hook prerouting priority -300; }",
    ]);
    for (const saddr of ["2001:2:0:100::/64", "2001:2:0:101::/64"]) {
      await t.server.run([
        "nft",
        `add rule ip6 srcfilter_probe pre iifname "sstp-real" ip6 saddr ${saddr} counter`,
      ]);
    }
    // A way back to the spoofed source: were the echo requests let in, the replies would
    // come back through the tunnel and the ping would succeed.
    await t.server.run(["ip", "-6", "route", "add", "2001:2:0:101::/64", "dev", "sstp-real"]);
    await t.client.run(["ip", "-6", "addr", "add", `${spoofed}/128`, "dev", dev, "nodad"]);
    const bad = await pingServerSide(t, spoofed, 3);
    assert.notEqual(bad.code, 0, `a spoofed source got answers:\n${bad.stdout}`);
    assert.match(bad.stdout, /3 packets transmitted, 0 received/);
    // The client's own address (its SLAAC one) still crosses, in the same session.
    const good = await pingServerSide(t, address, 2);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(await nftCount(t, "2001:2:0:101::/64"), 0, "a spoofed packet reached the server");
    assert.ok(await nftCount(t, "2001:2:0:100::/64") >= 2, "the legitimate pings were counted");
    const [session] = await statusSessions(t.dir);
    assert.ok(Number(session?.droppedSpoofed) >= 3, JSON.stringify(session));
  } finally {
    await stopClient(client, 10_000);
  }
  const closed = await serve.waitFor(/closed sstp-real/);
  const drops = /(\d+) pkt dropped for a spoofed source/.exec(closed);
  assert.ok(drops !== null && Number(drops[1]) >= 3, closed);
  assert.equal(await serve.stop(), 0);
});

/** An address of the network behind the client, inside the secret's route. */
const BEHIND = "2001:2:7::5";

for (const engine of ["deno", "openssl-worker"]) {
  Deno.test({
    name:
      `IPv6 (tls-engine ${engine}): a secret's IPv6 route lets the server side reach the client's network and its sources through`,
    ignore,
  }, () => secretIpv6Route(engine));
}

/** The test, with the server's data path in-process (`deno`) or in the TLS Worker (`openssl-worker`). */
async function secretIpv6Route(engine: string) {
  await using t = await createTopology({ ipv6: true });
  const yaml = ipv6ServerYaml().replace(
    "{ name: real, password: pw }",
    '{ name: real, password: pw, routes: "2001:2:7::/48 2" }',
  );
  // openssl-worker: the Worker checks sources with its own copy of the filter (updateSources).
  await using serve = await startIpv6Server(t, yaml, ["--tls-engine", engine]);
  const dev = tunnelName("6");
  const client = connectIpv6(t, dev, ["--add-default-route", "yes"]);
  try {
    await waitTunnelUp(t, dev);
    await waitGlobalAddress(t, dev);
    await serve.waitFor(/IPv6: route 2001:2:7::\/48 dev sstp-real metric 2 added/);
    assert.match(
      await t.server.run(["ip", "-6", "route", "show", "2001:2:7::/48"]),
      /dev sstp-real .*metric 2/,
    );
    // The network behind the client: here one address on the client's own device.
    await t.client.run(["ip", "-6", "addr", "add", `${BEHIND}/128`, "dev", dev, "nodad"]);
    // The server side reaches it (no route added by hand) ...
    await ping6(t.server, BEHIND);
    // ... and the client may send from it: a source inside the route is not spoofed.
    const from = await pingServerSide(t, BEHIND, 2);
    assert.equal(from.code, 0, from.stdout + from.stderr);
  } finally {
    await stopClient(client, 10_000);
  }
  await serve.waitFor(/closed sstp-real/);
  await waitUntil(
    async () => !(await t.server.run(["ip", "-6", "route", "show"])).includes("2001:2:7::"),
    10_000,
    "the route gone with the session",
  );
  assert.equal(await serve.stop(), 0);
}
