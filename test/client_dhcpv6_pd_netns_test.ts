/**
 * Client DHCPv6 prefix delegation against `sstp serve`'s `dhcpv6-pd-pool`:
 * `sstp connect --dhcpv6-pd yes --dhcpv6-pd-interface LAN` gets a /60, routes
 * it as unreachable, puts its first /64 on the LAN interface, shows it in
 * `sstp status`; the server routes the prefix into the session, so the
 * server side reaches the client's LAN address through the tunnel; all of it
 * goes on disconnect. A source in another /60 of the pool is dropped by the
 * server (the session may send only from what was delegated to it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTopology, SERVE_NETNS_IGNORE, waitTunnelUp } from "./server_fixture.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import {
  connectIpv6,
  ipv6ServerYaml,
  ping6,
  randomHex,
  SERVER_SIDE_V6,
  startIpv6Server,
  stopClient,
  tunnelName,
} from "./client_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

Deno.test({
  name:
    "DHCPv6-PD: sstp connect --dhcpv6-pd gets a /60 from sstp serve, routes it, puts ::1/64 on its LAN, and the server side reaches it",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  // The client's LAN: one end of a veth pair inside the client namespace.
  const lan = `lan-${randomHex(3)}`;
  await t.client.run(["ip", "link", "add", lan, "type", "veth", "peer", "name", `${lan}p`]);
  await t.client.run(["ip", "link", "set", lan, "up"]);
  await t.client.run(["ip", "link", "set", `${lan}p`, "up"]);
  await using serve = await startIpv6Server(t, ipv6ServerYaml({ pdPrefix: "2001:2:0:8000::/52" }));
  const dev = tunnelName("p");
  const client = connectIpv6(t, dev, [
    ...["--add-default-route", "yes", "--dhcpv6-pd", "yes", "--dhcpv6-pd-interface", lan],
  ]);
  try {
    await waitTunnelUp(t, dev);
    await waitUntil(
      async () => {
        const r = await t.client.exec(["ip", "-6", "route", "show"]);
        return /^unreachable 2001:2:0:8000::\/60/m.test(r.stdout);
      },
      20_000,
      "unreachable route for the delegated prefix",
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${client.output}\n${serve.lines.join("\n")}`);
    });
    // The LAN address, once duplicate address detection is over.
    await waitUntil(
      async () => {
        const r = await t.client.run(["ip", "-6", "addr", "show", "dev", lan, "scope", "global"]);
        return /inet6 2001:2:0:8000::1\/64 scope global/.test(r) && !/tentative/.test(r);
      },
      10_000,
      `2001:2:0:8000::1/64 on ${lan}`,
    );
    await serve.waitFor(/DHCPv6-PD: 2001:2:0:8000::\/60 delegated via sstp-real/);
    const serverRoutes = await t.server.run(["ip", "-6", "route", "show"]);
    // `proto static`: both ends added their routes through rtnetlink, not `ip`.
    assert.match(serverRoutes, /^2001:2:0:8000::\/60 dev sstp-real proto static/m);
    assert.match(
      await t.client.run(["ip", "-6", "route", "show"]),
      /^unreachable 2001:2:0:8000::\/60 dev lo proto static/m,
    );
    // The server side reaches the client's LAN address through the tunnel,
    // and the LAN address reaches the server side.
    await ping6(t.server, "2001:2:0:8000::1");
    await ping6(t.client, SERVER_SIDE_V6, ["-I", "2001:2:0:8000::1"]);
    // The next /60 of the pool is not this session's: the server drops what comes from it,
    // although a route back through the session exists.
    await t.server.run(["ip", "-6", "route", "add", "2001:2:0:8010::/60", "dev", "sstp-real"]);
    await t.client.run(["ip", "-6", "addr", "add", "2001:2:0:8010::1/128", "dev", lan, "nodad"]);
    const foreign = ["-c", "2", "-i", "0.2", "-W", "1", "-I", "2001:2:0:8010::1", SERVER_SIDE_V6];
    const spoofed = await t.client.exec(["ping", "-6", ...foreign]);
    assert.match(spoofed.stdout, /2 packets transmitted, 0 received/, spoofed.stderr);
    // Parts of the prefix no LAN uses are unreachable here, not sent back.
    const hole = await t.client.exec(["ping", "-6", "-c", "1", "-W", "1", "2001:2:0:8001::1"]);
    assert.notEqual(hole.code, 0);
    const status = new SstpProcess(["status", dev]);
    assert.equal((await status.wait(30_000)).code, 0, status.output);
    assert.match(status.output, /ipv6-delegated-prefix: 2001:2:0:8000::\/60$/m);
    assert.match(
      status.output,
      new RegExp(`ipv6-delegated-to: 2001:2:0:8000::1/64 on ${lan}$`, "m"),
    );
  } finally {
    await stopClient(client, 10_000);
  }
  assert.match(client.output, /DHCPv6-PD: 2001:2:0:8000::\/60 removed/);
  const routes = await t.client.run(["ip", "-6", "route", "show"]);
  assert.doesNotMatch(routes, /2001:2:0:8000::/);
  const lanAfter = await t.client.run(["ip", "-6", "addr", "show", "dev", lan, "scope", "global"]);
  assert.doesNotMatch(lanAfter, /2001:2:0:8000::1/);
  await serve.waitFor(/closed sstp-real/);
  assert.doesNotMatch(await t.server.run(["ip", "-6", "route", "show"]), /2001:2:0:8000::/);
  assert.equal(await serve.stop(), 0);
});
