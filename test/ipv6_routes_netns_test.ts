/**
 * A secret's IPv6 route (a network behind the client): once IPV6CP is up,
 * `sstp serve` routes it into the session's device, so the server side
 * reaches an address inside it, and the client may send from that address
 * (its packets are no longer dropped as spoofed). The route leaves with the
 * session.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTopology, SERVE_NETNS_IGNORE, waitTunnelUp } from "./server_fixture.ts";
import { waitUntil } from "./helpers/sstp_process.ts";
import {
  connectIpv6,
  ipv6ServerYaml,
  SERVER_SIDE_V6,
  startIpv6Server,
  stopClient,
  tunnelName,
  waitGlobalAddress,
} from "./client_fixture.ts";

/** An address of the network behind the client, inside the secret's route. */
const BEHIND = "2001:2:7::5";

for (const engine of ["deno", "openssl-worker"]) {
  Deno.test({
    name:
      `IPv6 (tls-engine ${engine}): a secret's IPv6 route lets the server side reach the client's network and its sources through`,
    ignore: SERVE_NETNS_IGNORE,
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
    const out = await t.server.exec(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", BEHIND]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    // ... and the client may send from it: a source inside the route is not spoofed.
    const from = await t.client.exec([
      "ping",
      "-6",
      "-c",
      "2",
      "-i",
      "0.2",
      "-W",
      "2",
      "-I",
      BEHIND,
      SERVER_SIDE_V6,
    ]);
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
