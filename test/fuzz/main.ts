// deno-lint-ignore-file no-console
/**
 * `deno task fuzz`: seeded, mutation-based fuzzing of every decoder, the
 * framer, the engines fed hostile streams and an engine pair on a faulty
 * link. Prints inputs/s per target and every untyped error with the case
 * seed that replays it; exits 1 when something was found.
 *
 * ```sh
 * deno task fuzz                               # 60 s over all targets, random seed
 * deno task fuzz --seconds 600 --seed 42       # as long as asked, reproducibly
 * deno task fuzz --target framer,engine-pair   # some targets only
 * deno task fuzz --replay server-engine:0x1a2b3c4d   # one case, with its stack
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { TARGETS } from "./targets.ts";
import { replayHandle, runCase, runFuzz } from "./runner.ts";

const HELP = `usage: deno task fuzz [--seconds N] [--seed N] [--target A,B] [--replay TARGET:SEED]
targets: ${TARGETS.map((t) => t.name).join(", ")}`;

function parseNumber(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`Invalid value for "${what}": "${text}"`);
  return n;
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string" },
      seed: { type: "string" },
      target: { type: "string" },
      replay: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.replay !== undefined) {
    const [name, seedText = ""] = values.replay.split(":");
    const target = TARGETS.find((t) => t.name === name);
    if (target === undefined) throw new TypeError(`Unknown target "${name}"\n${HELP}`);
    const error = runCase(target, parseNumber(seedText, "replay") >>> 0);
    if (error === undefined) {
      console.log(`${values.replay}: no error`);
      return 0;
    }
    console.log(`${values.replay}: ${error.stack ?? error}`);
    return 1;
  }
  const names = values.target?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const targets = names === undefined ? TARGETS : names.map((n) => {
    const t = TARGETS.find((x) => x.name === n);
    if (t === undefined) throw new TypeError(`Unknown target "${n}"\n${HELP}`);
    return t;
  });
  const seed = values.seed === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0]!
    : parseNumber(values.seed, "seed") >>> 0;
  const seconds = values.seconds === undefined ? 60 : parseNumber(values.seconds, "seconds");
  console.log(`fuzz: seed ${seed}, ${seconds} s over ${targets.length} targets`);
  const { findings, stats } = runFuzz({
    targets,
    seed,
    seconds,
    onTarget(s, found) {
      const rate = s.ms > 0 ? Math.round(s.cases / (s.ms / 1000)) : s.cases;
      console.log(
        `${s.target.padEnd(14)} ${String(s.cases).padStart(9)} inputs  ${
          String(rate).padStart(7)
        } inputs/s  ${found.length} finding(s)`,
      );
      for (const [issue, n] of Object.entries(s.known)) {
        console.log(`  known: ${n} inputs hit ${issue}`);
      }
      for (const f of found) {
        console.log(
          `  FOUND ${replayHandle(f)} (${f.hits} hits): ${f.error.name}: ${f.error.message}\n` +
            `    replay: deno task fuzz --replay ${replayHandle(f)}`,
        );
      }
    },
  });
  const total = stats.reduce((n, s) => n + s.cases, 0);
  console.log(`fuzz: ${total} inputs, ${findings.length} distinct finding(s), seed ${seed}`);
  return findings.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(main(Deno.args));
