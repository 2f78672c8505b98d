/**
 * Runs a network tool (`tc`, `nft`) and returns what it printed: the seam
 * the session's traffic shaping and address lists go through, so tests can
 * inject a recorder and only `lib/net/` starts processes.
 *
 * @module
 */
import { type CommandResult, NetCommandError } from "./net_config.ts";

/** Runs `argv[0]` with the rest as arguments. */
export type ToolRunner = (argv: readonly string[]) => Promise<CommandResult>;

const decoder = new TextDecoder();

/** Default {@linkcode ToolRunner}: `Deno.Command`, no shell. */
export const runTool: ToolRunner = async (argv: readonly string[]): Promise<CommandResult> => {
  const [program = "", ...args] = argv;
  try {
    const out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (e) {
    throw new NetCommandError([...argv], -1, (e as Error).message, { cause: e });
  }
};

/** Runs `argv` and throws a {@linkcode NetCommandError} unless it exits 0. */
export async function runToolChecked(run: ToolRunner, argv: readonly string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new NetCommandError([...argv], r.code, r.stderr.trim());
  return r.stdout;
}
