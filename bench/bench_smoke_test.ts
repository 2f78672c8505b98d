/**
 * Keeps the benchmark harness from rotting: a namespace pair, 1 s of iperf3
 * over the bare veth, an OpenVPN-TCP tunnel and 1 s of iperf3 through it,
 * ping, and the report renderer on the figures. Root-only; about 10 s.
 *
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { netnsTestIgnore } from "../test/helpers/netns.ts";
import { createNetnsPair, VETH } from "./netns_pair.ts";
import { iperf3Run, Iperf3Server, pingRun } from "./measure.ts";
import { connectOpenVpn, createOpenVpnFiles, OpenVpnServer } from "./openvpn.ts";
import { evaluateTargets, renderMarkdown } from "./report.ts";
import type { BenchResult } from "./result.ts";

Deno.test({
  name: "bench harness measures the bare veth and an OpenVPN-TCP tunnel, then cleans up",
  ignore: netnsTestIgnore("bench harness smoke test") ||
    (await new Deno.Command("sh", { args: ["-c", "command -v iperf3 && command -v openvpn"] })
        .output()).code !== 0,
  async fn() {
    const pair = await createNetnsPair({ prefix: "sstp-bs" });
    const files = await createOpenVpnFiles();
    let iperf: Iperf3Server | undefined;
    let server: OpenVpnServer | undefined;
    try {
      iperf = await Iperf3Server.start(pair.a.name);
      const veth = await iperf3Run(pair.b.name, VETH.a, { seconds: 1, reverse: false, pids: [] });
      ok(veth.mbps > 100, `veth ${veth.mbps} Mbit/s`);
      server = await OpenVpnServer.start(pair.a.name, files);
      const client = await connectOpenVpn(pair.b.name, files);
      try {
        strictEqual(client.cipher, "AES-256-GCM");
        ok(client.connectMs > 0 && client.connectMs < 20_000);
        const t = await iperf3Run(pair.b.name, client.serverAddress, {
          seconds: 1,
          reverse: true,
          pids: [server.proc.pid, client.proc.pid],
        });
        ok(t.mbps > 1, `openvpn ${t.mbps} Mbit/s`);
        strictEqual(t.cpuPercent.length, 2);
        ok(t.cpuPercent.every((c) => c > 0 && c < 250), `cpu ${t.cpuPercent}`);
        const ping = await pingRun(pair.b.name, client.serverAddress, 3, 0.05);
        strictEqual(ping.rttsMs.length, 3);
        const result: BenchResult = {
          date: new Date().toISOString(),
          machine: { cpus: 2 },
          options: { runs: 1, seconds: 1 },
          paths: {
            veth: {
              up: [veth.mbps],
              down: [],
              upCpu: [veth.cpuPercent],
              downCpu: [],
              pingMedianMs: [],
              pingAvgMs: [],
              rttsMs: [],
            },
            openvpn: {
              up: [],
              down: [t.mbps],
              upCpu: [],
              downCpu: [t.cpuPercent],
              pingMedianMs: [ping.rttsMs[1]!],
              pingAvgMs: [],
              rttsMs: ping.rttsMs,
            },
          },
          connect: { openvpn: { totalMs: [client.connectMs], handshakeMs: [client.handshakeMs] } },
          sessions: [],
          errors: [],
          targets: [],
        };
        result.targets = evaluateTargets(result);
        ok(renderMarkdown(result).includes("| openvpn |"));
      } finally {
        await client.proc.stop();
      }
    } finally {
      await server?.stop();
      await iperf?.stop();
      await files.remove();
      await pair.cleanup();
    }
    const left = new TextDecoder().decode(
      (await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output()).stdout,
    );
    ok(!left.includes(pair.a.name) && !left.includes(pair.b.name), "namespaces left behind");
  },
});
