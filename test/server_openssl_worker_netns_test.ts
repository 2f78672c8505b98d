/**
 * `sstp serve --tls-engine openssl-worker`: the server's TLS handshakes run
 * with OpenSSL on the main thread's epoll reactor, and each session's TLS
 * connection and TUN device are handed to a pool of data-plane Workers
 * (ffi/openssl_worker_server.ts, ffi/data_plane_worker.ts). A client of
 * each engine (node:tls and openssl-worker) pings through it and moves a
 * bulk transfer whose checksum must match; after the sessions end no TUN
 * device and no socket or TUN descriptor is left in the server; a TCP
 * connection that never starts its handshake is dropped at the deadline;
 * required client certificates are verified by the engine's OpenSSL.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { waitUntil } from "./helpers/sstp_process.ts";
import { formatFingerprint } from "../lib/cert/fingerprint.ts";
import {
  connectProcess,
  createTopology,
  PORT,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  SERVER_IP,
  type Topology,
  TUNNEL_LOCAL,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;
const PYTHON = "/usr/bin/python3";
/** The server's TLS handshake deadline (lib/server/server.ts DEFAULTS). */
const HANDSHAKE_MS = 10_000;
const BULK_PORT = 5001;
const BULK_BYTES = 8 * 1024 * 1024;

const YAML = `profiles:
  - name: default
    local-address: ${TUNNEL_LOCAL}
    remote-address: pool1
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
secrets:
  - { name: real, password: pw }
`;

/** Receives one TCP stream on the tunnel address and prints its length and SHA-256. */
const SINK = `
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${TUNNEL_LOCAL}", ${BULK_PORT})); s.listen(1); s.settimeout(60)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
c.sendall(h.hexdigest().encode()); c.close()
print(n, h.hexdigest(), flush=True)
`;

/** Sends BULK_BYTES of pseudo-random bytes, prints their SHA-256 and the server's. */
const SOURCE = `
import hashlib, random, socket
data = random.Random(16).randbytes(${BULK_BYTES})
c = socket.create_connection(("${TUNNEL_LOCAL}", ${BULK_PORT}), timeout=60)
c.sendall(data); c.shutdown(socket.SHUT_WR)
echo = b""
while True:
    b = c.recv(256)
    if not b: break
    echo += b
print(hashlib.sha256(data).hexdigest(), echo.decode(), flush=True)
`;

/** A client interface name of our own. */
function clientName(tag: string): string {
  const b = crypto.getRandomValues(new Uint8Array(2));
  return `sstp-${tag}${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** The pid of the process listening on PORT in the server namespace. */
async function servePid(t: Topology): Promise<number> {
  const out = await t.server.run(["ss", "-Htlnp", `sport = :${PORT}`]);
  const m = /pid=(\d+)/.exec(out);
  assert.ok(m, `no listener on ${PORT}: ${out}`);
  return Number(m[1]);
}

/** Sockets and TUN descriptors the server process holds. */
function descriptors(pid: number): { sockets: number; tun: number } {
  let sockets = 0;
  let tun = 0;
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    let target = "";
    try {
      target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
    } catch { /* closed meanwhile */ }
    if (target.startsWith("socket:")) sockets++;
    else if (target === "/dev/net/tun") tun++;
  }
  return { sockets, tun };
}

/** Bulk transfer client → server through the tunnel, checksummed on both ends. */
async function bulk(t: Topology): Promise<void> {
  const sink = new Deno.Command("ip", {
    args: ["netns", "exec", t.server.name, PYTHON, "-c", SINK],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = sink.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const first = await reader.read();
    assert.match(first.value ?? "", /ready/);
    const sent = await t.client.exec([PYTHON, "-c", SOURCE], { timeoutMs: 90_000 });
    assert.equal(sent.code, 0, sent.stderr);
    const [mine, theirs] = sent.stdout.trim().split(" ");
    assert.equal(theirs, mine, "the server received other bytes than were sent");
    let rest = first.value ?? "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
    assert.match(rest, new RegExp(`${BULK_BYTES} ${mine}`));
  } finally {
    reader.releaseLock();
    try {
      sink.kill("SIGKILL");
    } catch { /* ended */ }
    await sink.status;
    await sink.stderr.cancel().catch(() => {});
    await sink.stdout.cancel().catch(() => {});
  }
}

Deno.test({
  name:
    "openssl-worker server: a node:tls and an openssl-worker client ping and move a checksummed bulk transfer; teardown leaves no TUN, socket or fd",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, YAML);
  await using serve = await ServeProcess.start(t.server, [
    "--config",
    config,
    "--tls-engine",
    "openssl-worker",
  ]);
  assert.doesNotMatch(serve.lines.join("\n"), /unavailable/);
  const pid = await servePid(t);
  const before = descriptors(pid);
  const fingerprint = formatFingerprint(t.fingerprint, "sha256");
  for (const engine of ["deno", "openssl-worker"]) {
    const dev = clientName(engine === "deno" ? "d" : "w");
    const client = connectProcess(t, dev, [
      ...["--server-fingerprint", fingerprint, "--tls-engine", engine],
    ]);
    try {
      await waitTunnelUp(t, dev);
      const ping = await t.client.exec([
        ...["ping", "-c", "20", "-i", "0.01", "-s", "1300", "-W", "2", TUNNEL_LOCAL],
      ]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      assert.match(ping.stdout, / 0% packet loss/);
      await bulk(t);
      // The session's TUN device, and the Worker's duplicate of it: the data path is the Worker's.
      assert.equal(descriptors(pid).tun, 2, "the TUN device and the Worker's duplicate");
    } finally {
      client.kill("SIGTERM");
      const status = await client.wait(10_000);
      assert.equal(status.code, 0, client.output);
    }
    await serve.waitFor(/closed sstp-real/);
  }
  const links = await t.server.run(["ip", "-br", "link", "show"]);
  assert.doesNotMatch(links, /sstp-/);
  const after = descriptors(pid);
  assert.equal(after.tun, 0);
  assert.equal(after.sockets, before.sockets, "every session socket was closed");
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name:
    "openssl-worker server: a TCP connection that never starts its TLS handshake is dropped at the deadline",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, YAML);
  await using serve = await ServeProcess.start(t.server, [
    ...["--config", config, "--tls-engine", "openssl-worker", "--log-level", "debug"],
  ]);
  const stall = `
import socket, time
c = socket.create_connection(("${SERVER_IP}", ${PORT}), timeout=30)
t0 = time.monotonic()
try:
    b = c.recv(1)
except ConnectionResetError:
    b = b""
print(round((time.monotonic() - t0) * 1000), len(b), flush=True)
`;
  const r = await t.client.exec([PYTHON, "-c", stall], { timeoutMs: 40_000 });
  assert.equal(r.code, 0, r.stderr);
  const [ms, bytes] = r.stdout.trim().split(" ").map(Number);
  assert.equal(bytes, 0, "the server sent nothing and closed");
  assert.ok(ms! >= HANDSHAKE_MS - 500 && ms! < HANDSHAKE_MS + 5000, `closed after ${ms} ms`);
  await serve.waitFor(/no TLS handshake within 10000 ms/);
  const established = await t.server.run(["ss", "-Htn", "state", "established"]);
  assert.equal(established.trim(), "", "the server's socket is released");
  assert.equal(await serve.stop(), 0);
});

Deno.test({
  name:
    "openssl-worker server: refuses to start with settings its data path cannot honour, naming them",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(
    t,
    `  proxy-protocol: v2\n  proxy-protocol-from: ${SERVER_IP}\n${YAML}`,
  );
  const main = new URL("../main.ts", import.meta.url).pathname;
  const r = await t.server.exec(
    [
      Deno.execPath(),
      "run",
      "-A",
      main,
      "serve",
      "--config",
      config,
      "--tls-engine",
      "openssl-worker",
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 64, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /--tls-engine openssl-worker cannot be used with proxy-protocol: v2 \(use --tls-engine openssl or deno\)/,
  );
  const listening = await t.server.run(["ss", "-Htln"]);
  assert.equal(listening.trim(), "");
});

Deno.test({
  name:
    "openssl-worker server: IPv6 through the Worker: the client's RS reaches the server's IPv6 code, SLAAC from its RA, ping6 both ways",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  const serverSide = "2001:2:0:ff::1";
  await t.server.run(["ip", "-6", "addr", "add", `${serverSide}/128`, "dev", "lo"]);
  const config = await writeConfig(
    t,
    YAML.replace(
      "    remote-address: pool1\n",
      '    remote-address: pool1\n    remote-ipv6-prefix-pool: v6\n    local-ipv6-interface-id: "::1"\n',
    ).replace(
      "secrets:",
      `ipv6-pools:\n  - { name: v6, prefix: "2001:2:0:100::/56", prefix-length: 64 }\nsecrets:`,
    ),
  );
  await using serve = await ServeProcess.start(t.server, [
    ...["--config", config, "--tls-engine", "openssl-worker"],
  ]);
  const dev = clientName("6");
  const client = connectProcess(t, dev, [
    ...[
      "--server-fingerprint",
      formatFingerprint(t.fingerprint, "sha256"),
      "--use-ipv6",
      "yes",
      "--add-default-route",
      "yes",
    ],
  ]);
  try {
    await waitTunnelUp(t, dev);
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
    const out = await t.client.exec(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", serverSide]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const back = await t.server.exec(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", address]);
    assert.equal(back.code, 0, back.stdout + back.stderr);
  } finally {
    client.kill("SIGTERM");
    assert.equal((await client.wait(10_000)).code, 0, client.output);
  }
  await serve.waitFor(/closed sstp-real/);
  assert.equal(await serve.stop(), 0);
});
