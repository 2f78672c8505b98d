/**
 * Takes a V8 heap snapshot of a process started with `--inspect=HOST:PORT`
 * through the inspector protocol and prints the live JS heap by constructor
 * (count and self size), for per-session memory work: run it at 0 and N
 * sessions and compare.
 *
 *   ip netns exec NS deno run -A bench/heap_summary.ts 127.0.0.1:9229 [out.json]
 *
 * The inspector port must be reachable only inside the benchmark's
 * namespace (the server's loopback). Prints `HEAP {json}`: total self size
 * and the top constructors.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { openInspector } from "./inspector.ts";

/** Live JS heap by constructor. */
export interface HeapSummary {
  totalBytes: number;
  nodes: number;
  /** name → [count, self bytes], the largest first. */
  byName: [string, number, number][];
}

/** Summarises a `.heapsnapshot` (JSON text). */
export function summarizeHeapSnapshot(text: string, top = 200): HeapSummary {
  const snap = JSON.parse(text) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = snap.snapshot.meta.node_types[0];
  const by = new Map<string, [number, number]>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? "?";
    const size = snap.nodes[i + sizeAt]!;
    total += size;
    // Objects by constructor; strings, arrays, code, closures by type.
    const name = type === "object" || type === "native"
      ? snap.strings[snap.nodes[i + nameAt]!] ?? "?"
      : type === "closure"
      ? `(closure) ${snap.strings[snap.nodes[i + nameAt]!] ?? ""}`
      : type === "code" || type === "array" || type === "hidden"
      ? `(${type}) ${(snap.strings[snap.nodes[i + nameAt]!] ?? "").slice(0, 40)}`
      : `(${type})`;
    const entry = by.get(name) ?? [0, 0];
    entry[0]++;
    entry[1] += size;
    by.set(name, entry);
  }
  const byName = [...by.entries()].map(([n, [c, b]]) => [n, c, b] as [string, number, number])
    .sort((a, b) => b[2] - a[2]).slice(0, top);
  return { totalBytes: total, nodes: snap.nodes.length / width, byName };
}

/** Takes a heap snapshot over the inspector at `hostPort`; returns its JSON text. */
export async function takeHeapSnapshot(hostPort: string, timeoutMs = 120_000): Promise<string> {
  const chunks: string[] = [];
  const session = await openInspector(hostPort, (m) => {
    if (m.method === "HeapProfiler.addHeapSnapshotChunk") {
      chunks.push(String(m.params?.chunk ?? ""));
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      (async () => {
        await session.send("HeapProfiler.enable");
        await session.send("HeapProfiler.collectGarbage");
        await session.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      })(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("heap snapshot: timed out")), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    session.close();
  }
  return chunks.join("");
}

if (import.meta.main) {
  const [hostPort = "127.0.0.1:9229", out] = Deno.args;
  const text = await takeHeapSnapshot(hostPort);
  if (out) await Deno.writeTextFile(out, text);
  console.log(`HEAP ${JSON.stringify(summarizeHeapSnapshot(text))}`);
}
