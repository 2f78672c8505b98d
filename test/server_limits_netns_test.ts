/**
 * `sstp serve` enforces profile `idle-timeout` and `session-timeout` and
 * `max-sessions`, each with a clear log line (topology: server_fixture.ts).
 */
import assert from "node:assert/strict";
import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho } from "./helpers/icmp.ts";
import {
  connectClient,
  createTopology,
  SERVE_NETNS_IGNORE,
  ServeProcess,
  TUNNEL_LOCAL,
  writeConfig,
} from "./server_fixture.ts";

const ignore = SERVE_NETNS_IGNORE;

const CONFIG = `profiles:
  - { name: default, local-address: ${TUNNEL_LOCAL}, remote-address: pool1 }
  - { name: idle, local-address: ${TUNNEL_LOCAL}, remote-address: pool1, idle-timeout: 2s }
  - { name: short, local-address: ${TUNNEL_LOCAL}, remote-address: pool1, session-timeout: 3s }
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
secrets:
  - { name: idler, password: pw, profile: idle }
  - { name: busy, password: pw, profile: idle }
  - { name: brief, password: pw, profile: short }
  - { name: other, password: pw }
`;

Deno.test({
  name:
    "sstp serve ends idle sessions at idle-timeout (traffic keeps them) and every session at session-timeout",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, CONFIG);
  await using server = await ServeProcess.start(t.server, ["--config", config]);
  const idler = await connectClient(t, "idler", "pw");
  const busy = await connectClient(t, "busy", "pw");
  const brief = await connectClient(t, "brief", "pw");
  try {
    const busyIp = await busy.linkUp;
    await idler.linkUp;
    await brief.linkUp;
    const t0 = performance.now();
    // Keep "busy" active with a ping every 500 ms for 4.5 s (bounded loop).
    for (let i = 0; i < 9; i++) {
      (busy.tun as MemoryTun).inject(
        buildIcmpEcho(busyIp.localAddress, busyIp.peerAddress, { id: 77, seq: i }),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    const idleLine = await server.waitFor(/idle-timeout 2s reached/, 10_000);
    const briefLine = await server.waitFor(/session-timeout 3s reached/, 10_000);
    assert.match(idleLine, /disconnect|idle-timeout/);
    assert.match(briefLine, /session-timeout/);
    const idleEnd = await Promise.race([
      idler.done.then(() => performance.now() - t0),
      new Promise<number>((r) => setTimeout(() => r(-1), 10_000)),
    ]);
    assert.ok(idleEnd > 0 && idleEnd < 8000, `idle session ended after ${idleEnd} ms`);
    await brief.done;
    // The active session outlived the idle timeout.
    assert.equal(busy.engine.sstpState, "Client_Call_Connected");
    assert.doesNotMatch(server.lines.filter((l) => l.includes("busy")).join("\n"), /idle-timeout/);
  } finally {
    await idler.close();
    await busy.close();
    await brief.close();
  }
});

Deno.test({
  name: "sstp serve refuses connections beyond max-sessions with a log line",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = await writeConfig(t, CONFIG, { "max-sessions": 1 });
  await using server = await ServeProcess.start(t.server, ["--config", config]);
  const first = await connectClient(t, "other", "pw");
  try {
    await first.linkUp;
    await assert.rejects(async () => {
      const second = await connectClient(t, "idler", "pw");
      try {
        await second.linkUp;
      } finally {
        await second.close();
      }
    });
    await server.waitFor(/refused: max-sessions 1 reached/, 5000);
  } finally {
    await first.close();
  }
});
