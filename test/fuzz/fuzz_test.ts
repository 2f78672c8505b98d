/**
 * The CI slice of `deno task fuzz`: every target for a fixed number of
 * cases from a fixed seed (a few seconds in all), so the suite fails when a
 * change lets a decoder throw an untyped error, makes the framer depend on
 * segmentation, or lets an engine throw or hang on hostile input. Longer
 * runs: `deno task fuzz --seconds 600 --seed N`.
 */
import assert from "node:assert/strict";
import { TARGETS } from "./targets.ts";
import { replayHandle, runFuzz } from "./runner.ts";
import { mutate, Rng } from "./mutator.ts";

/** Cases per target: decoders are ~20k/s, engines ~1k/s, the pair ~300/s. */
const CASES: Record<string, number> = {
  "sstp-decode": 6000,
  "ppp-decode": 6000,
  "http-preamble": 6000,
  "framer": 6000,
  "server-engine": 1500,
  "client-engine": 1500,
  "engine-pair": 500,
};

for (const target of TARGETS) {
  Deno.test(`fuzz slice: ${target.name} finds no untyped error (seed 0x5eed)`, () => {
    const cases = CASES[target.name];
    assert.ok(cases !== undefined, `no CI case count for ${target.name}`);
    const { findings, stats } = runFuzz({ targets: [target], seed: 0x5eed, casesPerTarget: cases });
    assert.equal(stats[0]?.cases, cases);
    assert.deepEqual(
      findings.map((f) => `${replayHandle(f)}: ${f.error.name}: ${f.error.message}`),
      [],
    );
  });
}

Deno.test("fuzz mutator is deterministic per seed and bounded", () => {
  const seed = new Uint8Array([0x10, 0x01, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x01, 1, 2, 3, 4]);
  const a = Array.from({ length: 50 }, (_, i) => mutate(seed, new Rng(i + 1), [seed]));
  const b = Array.from({ length: 50 }, (_, i) => mutate(seed, new Rng(i + 1), [seed]));
  assert.deepEqual(a, b);
  assert.ok(a.some((x) => x.length !== seed.length || x.some((v, i) => v !== seed[i])));
  assert.ok(a.every((x) => x.length <= 4200));
});

Deno.test("fuzz runner reports a throwing target with a replayable seed", () => {
  const { findings } = runFuzz({
    targets: [{
      name: "boom",
      run(rng) {
        if (rng.below(4) === 0) throw new RangeError("boom");
      },
    }],
    seed: 7,
    casesPerTarget: 100,
  });
  assert.equal(findings.length, 1);
  assert.ok(findings[0]!.hits > 5);
  assert.match(replayHandle(findings[0]!), /^boom:0x[0-9a-f]{8}$/);
});
