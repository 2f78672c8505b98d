/**
 * Keeps `deno task bench scale` from rotting: the option checks and the
 * report (pure), and a 20-session run of the whole mode as a subprocess
 * (root only, ~20 s): every session up, pinged, on its own server TUN
 * device, every re-dial of the reconnect storm through a resumed TLS session.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "../test/helpers/netns.ts";
import { parseScaleOptions, renderScaleMarkdown, rssParts, type ScaleRun } from "./scale.ts";
import { summarizeHeapSnapshot } from "./heap_summary.ts";

Deno.test("parseScaleOptions() checks its bounds and key types", () => {
  const o = parseScaleOptions(["--sessions", "300", "--key-types", "rsa2048", "--reconnect", "10"]);
  assert.equal(o.sessions, 300);
  assert.deepEqual(o.keyTypes, ["rsa2048"]);
  assert.equal(o.reconnect, 10);
  assert.throws(() => parseScaleOptions(["--sessions", "0"]), /--sessions 0/);
  assert.throws(() => parseScaleOptions(["--key-types", "dsa"]), /key type "dsa"/);
  assert.throws(() => parseScaleOptions(["--sessions", "5", "--reconnect", "6"]), /--reconnect 6/);
});

Deno.test("renderScaleMarkdown() shows each key type's figures and failures", () => {
  const run: ScaleRun = {
    keyType: "ecdsa-p256",
    sessions: 2,
    rssSteps: [],
    baselineRssKib: 1024,
    loadedRssKib: 1124,
    rssPerSessionKib: 50,
    error: "Cannot reach the server",
  };
  const md = renderScaleMarkdown("2026-12-04T00:00:00Z", parseScaleOptions(["--sessions", "2"]), [
    run,
  ]);
  assert.match(md, /\| ecdsa-p256 \|/);
  assert.match(md, /\| 50\.0 \|/);
  assert.match(md, /Failed \(ecdsa-p256\): Cannot reach the server/);
});

Deno.test("rssParts() splits this process's resident memory", () => {
  const p = rssParts(Deno.pid);
  assert.ok(p.file > 0 && p.anon > 0, JSON.stringify(p));
});

Deno.test("summarizeHeapSnapshot() sums self sizes by constructor", () => {
  const snapshot = {
    snapshot: {
      meta: {
        node_fields: ["type", "name", "id", "self_size", "edge_count"],
        node_types: [["hidden", "array", "string", "object", "code", "closure"]],
      },
    },
    nodes: [3, 0, 1, 100, 0, 3, 0, 3, 50, 0, 3, 1, 5, 10, 0, 2, 2, 7, 8, 0],
    strings: ["Foo", "Bar", "x"],
  };
  const s = summarizeHeapSnapshot(JSON.stringify(snapshot));
  assert.equal(s.totalBytes, 168);
  assert.deepEqual(s.byName[0], ["Foo", 2, 150]);
  assert.deepEqual(s.byName.find((e) => e[0] === "(string)"), ["(string)", 1, 8]);
});

Deno.test({
  name: "bench scale runs 20 sessions end to end and cleans up",
  ignore: netnsTestIgnore("bench scale smoke test"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sstp-bench-scale-test-" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./run.ts", import.meta.url).pathname,
          "scale",
          "--sessions",
          "20",
          "--key-types",
          "ecdsa-p256",
          "--reconnect",
          "5",
          "--settle-seconds",
          "0",
          "--time-limit-seconds",
          "120",
          "--results-dir",
          dir,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const file = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".json"));
      assert.ok(file, "results written");
      const { runs } = JSON.parse(await Deno.readTextFile(`${dir}/${file.name}`)) as {
        runs: ScaleRun[];
      };
      const r = runs[0]!;
      assert.equal(r.load?.established, 20);
      assert.equal(r.load?.pingsAnswered, 20);
      assert.equal(r.load?.distinctAddresses, 20);
      assert.equal(r.tunDevices, 20);
      assert.equal(r.reconnect?.up, 5);
      // Deterministic, not a share: each re-dial offers the session its client
      // stored at verification, and its SNI name holds tickets of >= 1 earlier
      // connection (read before its pings), more than the storm's dials of
      // that name take (bench/load_client.ts TICKET_NAMES).
      assert.equal(r.reconnect?.resumed, 5, "every re-dial of the storm resumed its TLS session");
      assert.ok((r.rssPerSessionKib ?? 0) > 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
