/**
 * IPv6 through the tunnel: `sstp serve` gives the client a /64 from its
 * `remote-ipv6-prefix-pool` by Router Advertisement, `sstp connect
 * --use-ipv6 yes` configures the address itself (SLAAC) and the split IPv6
 * default routes, and the kernels' ping6 crosses the tunnel both ways. A
 * client without IPv6 still gets IPv4 from the same server. A client that
 * sends IPv6 from a source outside its /64 has those packets dropped by the
 * server before they reach the server's namespace.
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
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import { ipv6ServerYaml, SERVER_SIDE_V6, tunnelName } from "./client_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

/** A client interface name of our own (client_fixture.ts's `tunnelName`). */
const clientName = () => tunnelName("6");

const IPV6_YAML = ipv6ServerYaml({ dnsServers: '[198.19.0.53, "2001:2::53"]' });

/** The client's global IPv6 address on `dev` once SLAAC has added it. */
async function waitGlobalAddress(
  t: Awaited<ReturnType<typeof createTopology>>,
  dev: string,
): Promise<string> {
  let address = "";
  await waitUntil(
    async () => {
      const r = await t.client.exec([
        "ip",
        "-6",
        "-br",
        "addr",
        "show",
        "dev",
        dev,
        "scope",
        "global",
      ]);
      const m = /(2001:2:0:1[0-9a-f]{2}:[0-9a-f:]+)\/64/.exec(r.stdout);
      if (m) address = m[1]!;
      return m !== null;
    },
    20_000,
    `${dev} global IPv6 address`,
  );
  return address;
}

/**
 * `sstp serve` with {@linkcode IPV6_YAML} in the server namespace, and
 * {@linkcode SERVER_SIDE_V6} on its `lo`.
 */
async function serveIpv6(t: Awaited<ReturnType<typeof createTopology>>): Promise<ServeProcess> {
  await t.server.run(["ip", "-6", "addr", "add", `${SERVER_SIDE_V6}/128`, "dev", "lo"]);
  return await ServeProcess.start(t.server, ["--config", await writeConfig(t, IPV6_YAML)]);
}

/** `sstp connect --use-ipv6 yes --add-default-route yes` on interface `dev`. */
function connectIpv6(t: Awaited<ReturnType<typeof createTopology>>, dev: string): SstpProcess {
  return connectProcess(t, dev, [
    "--server-fingerprint",
    formatFingerprint(t.fingerprint, "sha256"),
    "--use-ipv6",
    "yes",
    "--add-default-route",
    "yes",
  ]);
}

/** `count` pings from the client namespace to {@linkcode SERVER_SIDE_V6}, from `source`. */
function pingServerSide(
  t: Awaited<ReturnType<typeof createTopology>>,
  source: string,
  count: number,
) {
  const args = ["-c", String(count), "-i", "0.2", "-W", "1", "-I", source, SERVER_SIDE_V6];
  return t.client.exec(["ping", "-6", ...args]);
}

Deno.test({
  name:
    "IPv6: sstp connect --use-ipv6 gets a SLAAC address from sstp serve's RA and ping6 crosses the tunnel both ways",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  await using serve = await serveIpv6(t);
  const dev = clientName();
  const client = connectIpv6(t, dev);
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
    const out = await t.client.exec([
      "ping",
      "-6",
      "-c",
      "2",
      "-i",
      "0.2",
      "-W",
      "2",
      SERVER_SIDE_V6,
    ]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const back = await t.server.exec(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", address]);
    assert.equal(back.code, 0, back.stdout + back.stderr);
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
    const serverStatus = new SstpProcess(["status", "--json", "--dir", `${t.dir}/control`]);
    assert.equal((await serverStatus.wait(30_000)).code, 0, serverStatus.output);
    const [server] = JSON.parse(serverStatus.output) as { sessions: Record<string, unknown>[] }[];
    assert.equal(server?.sessions[0]?.ipv6Prefix, "2001:2:0:100::/64");
    assert.equal(server?.sessions[0]?.ipv6LinkLocal, peerLinkLocal);
    const serverRoutes = await t.server.run(["ip", "-6", "route", "show"]);
    assert.match(serverRoutes, /^2001:2:0:100::\/64 dev sstp-real/m);
  } finally {
    client.kill("SIGTERM");
    const status = await client.wait(10_000);
    assert.equal(status.code, 0, client.output);
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
    IPV6_YAML.replace('prefix: "2001:2:0:100::/56"', 'prefix: "2001:2:0:100::/64"'),
  );
  await using serve = await ServeProcess.start(t.server, [
    "--config",
    config,
    "--log-level",
    "debug",
  ]);
  const fp = formatFingerprint(t.fingerprint, "sha256");
  const dev = clientName();
  const v4only = connectProcess(t, dev, ["--server-fingerprint", fp]);
  try {
    await waitTunnelUp(t, dev);
    await pingTunnelFromClient(t);
    await serve.waitFor(/peer rejected IPV6CP: IPv6 stays off/);
  } finally {
    v4only.kill("SIGTERM");
    assert.equal((await v4only.wait(10_000)).code, 0, v4only.output);
  }
  await serve.waitFor(/closed sstp-real/);
  // Two IPv6 sessions one after the other: the first's /64 went back to the pool.
  for (let round = 0; round < 2; round++) {
    const c = connectProcess(t, dev, ["--server-fingerprint", fp, "--use-ipv6", "yes"]);
    try {
      assert.match(await waitGlobalAddress(t, dev), /^2001:2:0:100:/);
    } finally {
      c.kill("SIGTERM");
      assert.equal((await c.wait(10_000)).code, 0, c.output);
    }
    await waitUntil(
      async () => !(await t.server.run(["ip", "-br", "link"])).includes("sstp-real"),
      10_000,
      "server interface gone",
    );
  }
  assert.equal(await serve.stop(), 0);
});

/** Packets from `saddr` the server namespace's nftables probe (prerouting) has counted. */
async function nftCount(t: Awaited<ReturnType<typeof createTopology>>, saddr: string) {
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
  await using serve = await serveIpv6(t);
  const dev = clientName();
  const client = connectIpv6(t, dev);
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
    const status = new SstpProcess(["status", "--json", "--dir", `${t.dir}/control`]);
    assert.equal((await status.wait(30_000)).code, 0, status.output);
    const [server] = JSON.parse(status.output) as { sessions: Record<string, unknown>[] }[];
    assert.ok(Number(server?.sessions[0]?.droppedSpoofed) >= 3, status.output);
  } finally {
    client.kill("SIGTERM");
    assert.equal((await client.wait(10_000)).code, 0, client.output);
  }
  const closed = await serve.waitFor(/closed sstp-real/);
  const drops = /(\d+) pkt dropped for a spoofed source/.exec(closed);
  assert.ok(drops !== null && Number(drops[1]) >= 3, closed);
  assert.equal(await serve.stop(), 0);
});
