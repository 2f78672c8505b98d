/**
 * Reads the text of a RouterOS `/export` (`.rsc`): menu lines
 * (`/ppp secret`), commands (`add`, `set`, `remove`), `key=value` arguments,
 * `[ find key=value ]` selectors, line continuations (a `\` at the end of a
 * line), quoted values with RouterOS escapes (`\"`, `\\`, `\n`, `\r`, `\t`,
 * `\$`, `\?`, `\_` for a space, `\a`, `\b`, `\f`, `\v`, `\XX` hex bytes),
 * and `#` comments.
 *
 * @module
 */

/** One command of the export, with the line it starts on (1-based). */
export interface RscCommand {
  line: number;
  /** The menu path, e.g. `/ppp secret`. */
  menu: string;
  /** `add`, `set`, `remove`, … */
  verb: string;
  /** `key=value` arguments, in order. */
  args: Map<string, string>;
  /** Positional words (e.g. `*0`, a name), in order. */
  words: string[];
  /** `[ find key=value ... ]`, when the command has one. */
  find: Map<string, string> | undefined;
}

/** A line the reader could not understand. */
export interface RscProblem {
  line: number;
  message: string;
}

/** What {@linkcode parseRsc} returns. */
export interface RscDocument {
  commands: RscCommand[];
  problems: RscProblem[];
}

const VERBS = new Set(["add", "set", "remove", "enable", "disable", "print", "export"]);

/** Joins continued lines; each logical line keeps the number of its first line. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const raw = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let line = raw[i]!;
    // A trailing backslash continues the line; the next line's indentation
    // is not part of the value.
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(line) && i + 1 < raw.length) {
      line = line.slice(0, -1) + raw[++i]!.replace(/^\s+/, "");
    }
    out.push({ line: start + 1, text: line });
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  n: "\n",
  r: "\r",
  t: "\t",
  $: "$",
  "?": "?",
  _: " ",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
};

/** Splits a logical line into tokens; quoted strings are unescaped. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  let current: string | undefined;
  const flush = () => {
    if (current !== undefined) tokens.push(current);
    current = undefined;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      flush();
      i++;
    } else if (c === "[" || c === "]") {
      flush();
      tokens.push(c);
      i++;
    } else if (c === '"') {
      current ??= "";
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\") {
          const e = text[i + 1];
          if (e !== undefined && SIMPLE_ESCAPES[e] !== undefined) {
            current += SIMPLE_ESCAPES[e];
            i += 2;
          } else if (/^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
            current += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
            i += 3;
          } else {
            throw new Error(`unknown escape "\\${e ?? ""}" in a quoted value`);
          }
          continue;
        }
        current += d;
        i++;
      }
      if (!closed) throw new Error("a quoted value is not closed");
    } else if (c === "#" && current === undefined) {
      break;
    } else {
      current = (current ?? "") + c;
      i++;
    }
  }
  flush();
  return tokens;
}

function keyValue(token: string): [string, string] | undefined {
  const eq = token.indexOf("=");
  if (eq <= 0) return undefined;
  return [token.slice(0, eq), token.slice(eq + 1)];
}

/**
 * Parses an export.
 *
 * @example
 * ```ts
 * import { parseRsc } from "./rsc_parser.ts";
 * const doc = parseRsc('/ppp secret\nadd name=alice password="p \\"q\\"" \\\n    service=sstp\n');
 * const c = doc.commands[0]!;
 * if (c.args.get("password") !== 'p "q"' || c.args.get("service") !== "sstp") throw new Error();
 * ```
 */
export function parseRsc(text: string): RscDocument {
  const commands: RscCommand[] = [];
  const problems: RscProblem[] = [];
  let menu: string | undefined;
  for (const { line, text: raw } of logicalLines(text)) {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(":")) {
      if (trimmed.startsWith(":")) {
        problems.push({
          line,
          message: `script command "${trimmed.slice(0, 40)}" is not settings`,
        });
      }
      continue;
    }
    let tokens: string[];
    try {
      tokens = tokenize(trimmed);
    } catch (e) {
      problems.push({ line, message: `Cannot read the line: ${(e as Error).message}` });
      continue;
    }
    let lineMenu = menu;
    if (tokens[0]?.startsWith("/")) {
      // "/ppp secret" alone, or "/ppp secret add ...".
      const path: string[] = [tokens.shift()!];
      while (tokens.length > 0 && !VERBS.has(tokens[0]!) && !tokens[0]!.includes("=")) {
        path.push(tokens.shift()!);
      }
      lineMenu = path.join(" ");
      if (tokens.length === 0) {
        menu = lineMenu;
        continue;
      }
    }
    if (lineMenu === undefined) {
      problems.push({ line, message: "a command before any menu line" });
      continue;
    }
    const verb = tokens.shift()!;
    const args = new Map<string, string>();
    const words: string[] = [];
    let find: Map<string, string> | undefined;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t === "[") {
        find = new Map();
        for (i++; i < tokens.length && tokens[i] !== "]"; i++) {
          const kv = keyValue(tokens[i]!);
          if (kv !== undefined) find.set(kv[0], kv[1]);
        }
        continue;
      }
      const kv = keyValue(t);
      if (kv === undefined) words.push(t);
      else args.set(kv[0], kv[1]);
    }
    commands.push({ line, menu: lineMenu, verb, args, words, find });
  }
  return { commands, problems };
}
