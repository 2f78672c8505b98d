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
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";

const ignore = SERVE_NETNS_IGNORE;

/** A client interface name of our own (the state file is named after it). */
function clientName(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `sstp-w${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** The server's own address behind the tunnel (on its `lo`). */
const SERVER_SIDE_V6 = "2001:2:0:ff::1";

const YAML = `profiles:
  - name: default
    local-address: ${TUNNEL_LOCAL}
    remote-address: pool1
    remote-ipv6-prefix-pool: v6
    local-ipv6-interface-id: "::1"
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
ipv6-pools:
  - { name: v6, prefix: "2001:2:0:100::/56", prefix-length: 64 }
secrets:
  - { name: real, password: pw }
`;

Deno.test({
  name:
    "openssl-worker: IPv4 and IPv6 cross the Worker's data path both ways, RAs reach the main thread, disconnect is orderly",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  await t.server.run(["ip", "-6", "addr", "add", `${SERVER_SIDE_V6}/128`, "dev", "lo"]);
  const config = await writeConfig(t, YAML);
  await using serve = await ServeProcess.start(t.server, ["--config", config]);
  const dev = clientName();
  const client = connectProcess(t, dev, [
    "--server-fingerprint",
    formatFingerprint(t.fingerprint, "sha256"),
    "--tls-engine",
    "openssl-worker",
    "--use-ipv6",
    "yes",
    "--add-default-route",
    "yes",
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
    // The client's own IPv6 code saw the RA (it runs on the main thread).
    const status = new SstpProcess(["status", dev]);
    assert.equal((await status.wait(30_000)).code, 0, status.output);
    assert.match(status.output, new RegExp(`ipv6-addresses: \\["${address}/64"\\]`));
    assert.match(status.output, /ipv6-peer-link-local: fe80::1$/m);
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
  } finally {
    client.kill("SIGTERM");
    const status = await client.wait(10_000);
    assert.equal(status.code, 0, client.output);
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
  const dev = clientName();
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
