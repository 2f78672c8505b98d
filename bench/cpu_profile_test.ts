import assert from "node:assert/strict";
import { summarizeCpuProfile } from "./cpu_profile.ts";

Deno.test("summarizeCpuProfile() sums self time by function and by file", () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({
    functionName,
    url,
    lineNumber,
  });
  const s = summarizeCpuProfile({
    nodes: [
      { id: 1, callFrame: frame("(root)", ""), children: [2, 3, 4] },
      { id: 2, callFrame: frame("handle", "file:///x/lib/tunnel/session_engine.ts", 136) },
      { id: 3, callFrame: frame("(garbage collector)", "") },
      { id: 4, callFrame: frame("receive", "file:///x/lib/tunnel/session_engine.ts", 9) },
    ],
    samples: [2, 2, 3, 4],
    timeDeltas: [1000, 1000, 1000, 1000],
  });
  assert.equal(s.totalMs, 4);
  assert.deepEqual(s.byFile[0], ["lib/tunnel/session_engine.ts", 3, 75]);
  assert.deepEqual(s.byFile[1], ["(garbage collector)", 1, 25]);
  assert.deepEqual(s.byFunction[0], ["handle @ lib/tunnel/session_engine.ts:137", 2, 50]);
});
