/**
 * `sstp completions bash|zsh|fish`: prints a shell completion script.
 *
 * @module
 */
import { type CommandContext, EXIT_CODE } from "../command_context.ts";
import { completionScript, type Shell, SHELLS } from "../ops/completions.ts";

const HELP = `Usage: sstp completions bash|zsh|fish

Prints a completion script for the shell:
  sstp completions bash > /usr/share/bash-completion/completions/sstp
  sstp completions zsh > /usr/local/share/zsh/site-functions/_sstp
  sstp completions fish > ~/.config/fish/completions/sstp.fish`;

/** Runs `sstp completions`. */
export function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [shell, ...rest] = argv;
  if (shell === undefined || shell === "-h" || shell === "--help") {
    ctx.print(HELP);
    return Promise.resolve(shell === undefined ? EXIT_CODE.USAGE : EXIT_CODE.OK);
  }
  if (rest.length > 0) throw new TypeError(`Cannot parse arguments: unexpected "${rest[0]}"`);
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new TypeError(`Cannot write completions for "${shell}": use bash, zsh or fish`);
  }
  ctx.print(completionScript(shell as Shell).trimEnd());
  return Promise.resolve(EXIT_CODE.OK);
}
