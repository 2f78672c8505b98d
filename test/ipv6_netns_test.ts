/**
 * IPv6 through the tunnel: `sstp serve` gives the client a /64 from its
 * `remote-ipv6-prefix-pool` by Router Advertisement, `sstp connect
 * --use-ipv6 yes` configures the address itself (SLAAC) and the split IPv6
 * default routes, and the kernels' ping6 crosses the tunnel both ways. A
 * client without IPv6 still gets IPv4 from the same server.
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
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import {
  connectIpv6,
  ipv6ServerYaml,
  ping6BothWays,
  startIpv6Server,
  stopClient,
  tunnelName,
  waitGlobalAddress,
} from "./client_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

const IPV6_YAML = ipv6ServerYaml({ dnsServers: '[198.19.0.53, "2001:2::53"]' });

Deno.test({
  name:
    "IPv6: sstp connect --use-ipv6 gets a SLAAC address from sstp serve's RA and ping6 crosses the tunnel both ways",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  await using serve = await startIpv6Server(t, IPV6_YAML);
  const dev = tunnelName("6");
  const client = connectIpv6(t, dev, ["--add-default-route", "yes"]);
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
