/**
 * TLS offload, run for real: Debian's HAProxy terminates TLS (`bind ... ssl
 * crt` with the test's generated certificate) and forwards the cleartext
 * stream with `send-proxy-v2` to `sstp serve` (`tls: no`, `proxy-protocol:
 * v2`), which listens on the namespace's loopback only. Our client dials
 * HAProxy and checks HAProxy's certificate; the server checks the crypto
 * binding against `certificate-hash-from` (the same certificate), so the
 * link comes up, and `sstp status` shows the real client address. With the
 * hashes of another certificate in `certificate-hash-from`, the binding
 * does not match and the call is aborted.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "./helpers/netns.ts";
import { TestClient } from "./helpers/test_client.ts";
import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import {
  CLIENT_IP,
  createTopology,
  POOL_YAML,
  PORT,
  ServeProcess,
  SERVER_IP,
  statusSessions,
  type Topology,
} from "./server_fixture.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";

const ignore = netnsTestIgnore("HAProxy TLS offload + sstp serve netns test");
/** Where `sstp serve` listens in cleartext: the server namespace's loopback. */
const BACKEND = "127.0.0.1";
const BACKEND_PORT = 4480;

async function writeOffloadConfig(t: Topology, hashFrom: string): Promise<string> {
  const path = `${t.dir}/sstp.yaml`;
  await Deno.writeTextFile(
    path,
    `sstp-server:
  tls: no
  certificate-hash-from: ${hashFrom}
  port: ${BACKEND_PORT}
  listen: ${BACKEND}
  proxy-protocol: v2
  proxy-protocol-from: ${BACKEND}
  state-dir: ${t.dir}/state
  control-socket: ${t.dir}/control/sstp-server.sock
  keepalive-timeout: 30
${POOL_YAML}secrets:
  - { name: off, password: "0ffload pass" }
`,
    { mode: 0o600 },
  );
  return path;
}

/** HAProxy in the server namespace: TLS on SERVER_IP:PORT, cleartext + PROXY v2 to the backend. */
async function startHaproxy(t: Topology): Promise<Deno.ChildProcess> {
  const cfg = `${t.dir}/haproxy.cfg`;
  await Deno.writeTextFile(
    cfg,
    `global
  maxconn 100
defaults
  mode tcp
  timeout connect 2s
  timeout client 120s
  timeout server 120s
frontend sstp
  bind ${SERVER_IP}:${PORT} ssl crt ${t.pemPath}
  default_backend node
backend node
  server n0 ${BACKEND}:${BACKEND_PORT} send-proxy-v2
`,
  );
  const haproxy = new Deno.Command("ip", {
    args: ["netns", "exec", t.server.name, "haproxy", "-db", "-f", cfg],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 50; i++) {
    const probe = await t.client.exec(["bash", "-c", `exec 3<>/dev/tcp/${SERVER_IP}/${PORT}`]);
    if (probe.code === 0) return haproxy;
    await new Promise((r) => setTimeout(r, 100));
  }
  haproxy.kill("SIGTERM");
  await haproxy.status;
  throw new Error("HAProxy did not start accepting");
}

function dial(t: Topology): Promise<TestClient> {
  return TestClient.connect({
    netns: t.client,
    host: SERVER_IP,
    port: PORT,
    user: "off",
    password: "0ffload pass",
    serverCertPem: t.certPem,
    authentication: ["mschap2"],
  });
}

Deno.test({
  name:
    "TLS offload: HAProxy ssl + send-proxy-v2 → sstp serve tls: no; binding checked against certificate-hash-from",
  ignore,
}, async (tt) => {
  await using t = await createTopology();
  const haproxy = await startHaproxy(t);
  try {
    await tt.step("the balancer's certificate in certificate-hash-from: link up", async () => {
      await using serve = await ServeProcess.start(t.server, [
        "--config",
        await writeOffloadConfig(t, t.pemPath),
      ]);
      await serve.waitFor(/tls: no: SSTP is served WITHOUT TLS .* on 127\.0\.0\.1:4480/);
      const c = await dial(t);
      try {
        const ip = await c.linkUp;
        const tun = c.tun as MemoryTun;
        const before = tun.written.length;
        tun.inject(buildIcmpEcho(ip.localAddress, ip.peerAddress, { id: 9, seq: 1 }));
        assert.equal(parseIcmp(await tun.nextWritten(before, 5000))?.type, 0);
        await serve.waitFor(/Authenticated "off" with mschap2/);
        const sessions = await statusSessions<{ callerId: string }>(t.dir);
        assert.equal(sessions.length, 1);
        // The PROXY header's client, not HAProxy's loopback connection.
        assert.match(sessions[0]!.callerId, new RegExp(`^${CLIENT_IP}:\\d+$`));
      } finally {
        await c.close();
      }
    });

    await tt.step(
      "another certificate's hashes: the binding fails, the call is aborted",
      async () => {
        const other = await createSelfSignedServerCertificate({
          commonName: "not-the-balancer",
          ipAddresses: [SERVER_IP],
        });
        const otherPath = `${t.dir}/other.pem`;
        await Deno.writeTextFile(otherPath, other.certPem, { mode: 0o600 });
        await using serve = await ServeProcess.start(t.server, [
          "--config",
          await writeOffloadConfig(t, otherPath),
        ]);
        const c = await dial(t);
        try {
          await assert.rejects(() => c.linkUp);
          await serve.waitFor(/crypto binding .* does not match/);
          assert.ok(!serve.lines.some((l) => / up: sstp-/.test(l)), serve.lines.join("\n"));
        } finally {
          await c.close();
        }
      },
    );
  } finally {
    try {
      haproxy.kill("SIGTERM");
    } catch { /* gone */ }
    await haproxy.status;
  }
});
