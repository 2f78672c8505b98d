/**
 * `sstp connect --tls-engine openssl-worker` against `sstp serve`: the TLS
 * connection and, from link-up on, the TUN device belong to the data-plane
 * Worker (ffi/data_plane_worker.ts). IPv4 and IPv6 cross the tunnel both
 * ways (IPv6 proves that Router Advertisements still reach the client's
 * IPv6 code on the main thread while data stays in the Worker), a
 * disconnect is orderly, and a server that goes away ends the client with
 * its interface removed.
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
  TUNNEL_LOCAL,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";
import { SstpProcess } from "./helpers/sstp_process.ts";
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

const YAML = ipv6ServerYaml();

Deno.test({
  name:
    "openssl-worker: IPv4 and IPv6 cross the Worker's data path both ways, RAs reach the main thread, disconnect is orderly",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  await using serve = await startIpv6Server(t, YAML);
  const dev = tunnelName("w");
  const client = connectIpv6(t, dev, [
    ...["--tls-engine", "openssl-worker", "--add-default-route", "yes"],
  ]);
  try {
    await waitTunnelUp(t, dev);
    assert.match(client.output, /by openssl \(worker I\/O\)/);
    await pingTunnelFromClient(t);
    // Full-size packets and a burst: batches through one SSL_write.
    const big = await t.client.exec([
      ...["ping", "-c", "20", "-i", "0.01", "-s", "1300", "-W", "2", TUNNEL_LOCAL],
    ]);
    assert.equal(big.code, 0, big.stdout + big.stderr);
    assert.match(big.stdout, / 0% packet loss/);
    // SLAAC from the server's RA (handled on the main thread), then IPv6 data both ways.
    const address = await waitGlobalAddress(t, dev);
    // The client's own IPv6 code saw the RA (it runs on the main thread).
    const status = new SstpProcess(["status", dev]);
    assert.equal((await status.wait(30_000)).code, 0, status.output);
    assert.match(status.output, new RegExp(`ipv6-addresses: \\["${address}/64"\\]`));
    assert.match(status.output, /ipv6-peer-link-local: fe80::1$/m);
    await ping6BothWays(t, address);
  } finally {
    await stopClient(client, 10_000);
  }
  await serve.waitFor(/closed sstp-real/);
  const links = await t.client.run(["ip", "-br", "link", "show"]);
  assert.doesNotMatch(links, new RegExp(dev));
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name: "openssl-worker: the server going away ends the client and removes its interface",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, YAML.replace(/ {4}remote-ipv6.*\n/, ""));
  const serve = await ServeProcess.start(t.server, ["--config", config]);
  const dev = tunnelName("w");
  const client = connectProcess(t, dev, [
    "--server-fingerprint",
    formatFingerprint(t.fingerprint, "sha256"),
    "--tls-engine",
    "openssl-worker",
    "--keepalive-timeout",
    "4",
  ]);
  try {
    await waitTunnelUp(t, dev);
    await pingTunnelFromClient(t);
    // SIGKILL: no Call Disconnect, the TCP connection is reset by the kernel.
    serve.kill("SIGKILL");
    await serve.status;
    const status = await client.wait(20_000);
    assert.notEqual(status.code, 0, client.output);
  } finally {
    client.kill("SIGTERM");
    await client.wait(10_000);
    await serve.stop();
  }
  const links = await t.client.run(["ip", "-br", "link", "show"]);
  assert.doesNotMatch(links, new RegExp(dev));
});
