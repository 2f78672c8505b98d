/**
 * Where `sstp connect` option text comes from: the command line (flags and
 * the positional server) and the YAML `--config` file. Values stay text here;
 * `lib/config/client_config.ts` checks them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, isAbsolute, join } from "node:path";
import type { ConfigIssue } from "../config/config_error.ts";
import type * as YamlSourceModule from "../config/yaml_source.ts";
import {
  BOOLEAN_KEYS,
  CLIENT_PROFILE_KEYS,
  type Key,
  profileRawKey,
  type Raw,
  SERVER_ONLY_PROFILE_KEYS,
  VALUE_KEYS,
} from "../config/client_config.ts";

/** Keys accepted in the YAML file. */
const FILE_KEYS: readonly string[] = [...VALUE_KEYS, ...BOOLEAN_KEYS, "profiles"];
/** Keys whose values are file paths, resolved against the config file's directory. */
const PATH_KEYS = new Set(["password-file", "ca", "certificate", "certificate-key", "crl"]);

/**
 * Reads the flags. Booleans accept `--key`, `--key=VALUE`, `--key VALUE`
 * (when VALUE is yes/no/true/false) and `--no-key`.
 */
export function readFlags(
  argv: readonly string[],
): { flags: Map<string, Raw>; positionals: string[] } {
  const normalized: string[] = [];
  let rest: string[] = [];
  /** Argument index → boolean key, for arguments right after a bare boolean flag. */
  const afterBare = new Map<number, string>();
  for (const [i, arg] of argv.entries()) {
    if (arg === "--") {
      rest = argv.slice(i);
      break;
    }
    const key = arg.startsWith("--") ? arg.slice(2) : "";
    if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      const next = argv[i + 1];
      const takesNext = next !== undefined && /^(yes|no|true|false)$/i.test(next);
      normalized.push(takesNext ? arg : `${arg}=yes`);
      if (!takesNext) afterBare.set(i + 1, key);
    } else if (
      key.startsWith("no-") && (BOOLEAN_KEYS as readonly string[]).includes(key.slice(3))
    ) {
      normalized.push(`--${key.slice(3)}=no`);
    } else normalized.push(arg);
  }
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const key of [...VALUE_KEYS, ...BOOLEAN_KEYS]) options[key] = { type: "string" };
  const { tokens } = parseArgs({
    args: [...normalized, ...rest],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags = new Map<string, Raw>();
  const positionals: string[] = [];
  let misplaced: { key: string; value: string } | undefined;
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      const key = afterBare.get(token.index);
      if (key !== undefined) misplaced ??= { key, value: token.value };
      continue;
    }
    if (token.kind !== "option") continue;
    const flag = token.rawName;
    if (!(token.name in options) || (flag !== "-h" && !flag.startsWith("--"))) {
      throw new TypeError(`Unknown option "${flag}"${suggest(token.name)}`);
    }
    if (token.name === "help") continue;
    const value = token.value;
    if (value === undefined) throw new TypeError(`Missing value for "${flag}"`);
    if (!token.inlineValue && value.startsWith("-")) {
      throw new TypeError(
        `Missing value for "${flag}" (write ${flag}=VALUE when the value starts with "-")`,
      );
    }
    if (flags.has(token.name)) throw new TypeError(`Option "${flag}" is given more than once`);
    flags.set(token.name, { text: value, where: "", line: 0 });
  }
  // "--use-peer-dns maybe host" reads as a bare flag and two arguments; the
  // likelier mistake is the value, so report that.
  if (positionals.length > 1 && misplaced !== undefined) {
    throw new TypeError(
      `Invalid value for "${misplaced.key}": "${misplaced.value}" is not yes, no, true or false`,
    );
  }
  return { flags, positionals };
}

function suggest(name: string): string {
  const close = [...VALUE_KEYS, ...BOOLEAN_KEYS, "config"].find((k) =>
    k.replaceAll("-", "") === name.replaceAll(/[-_]/g, "").toLowerCase()
  );
  return close === undefined ? "" : `: did you mean "--${close}"?`;
}

/**
 * Reads the YAML config file into raw values keyed by property, with every
 * problem of its shape (syntax, unknown keys, lists where one value belongs).
 *
 * The YAML reader (npm `yaml`, ~30 ms to import) is loaded here, only when a
 * `--config` is given. The `import()` takes a `URL` so that Deno's module
 * graph does not follow it: a plain literal `import("...")` is loaded (not
 * run) with the importing module, which is what this avoids.
 */
export async function readConfigFile(
  path: string,
  readFile: (path: string) => string,
): Promise<{ values: Map<Key, Raw>; issues: ConfigIssue[] }> {
  const { YamlSource } = await import(
    new URL("../config/yaml_source.ts", import.meta.url).href
  ) as typeof YamlSourceModule;
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new TypeError(`Cannot read config file "${path}": ${(e as Error).message}`, { cause: e });
  }
  const source = new YamlSource(text, path);
  const out = new Map<Key, Raw>();
  const entries = source.root === undefined
    ? new Map()
    : source.entries(source.root, "", FILE_KEYS, "a mapping of sstp-client properties");
  const base = dirname(path);
  for (const [key, entry] of entries) {
    if (key === "profiles") {
      readProfiles(source, entry.value, path, out);
      continue;
    }
    const isList = key === "authentication";
    const texts = isList ? source.list(entry, key) : [source.scalar(entry, key)];
    if (texts.some((t) => t === undefined)) continue;
    const first = texts[0];
    if (first === undefined) {
      source.report(entry.key, key, "a value is required");
      continue;
    }
    let value = texts.map((t) => t!.text).join(",");
    if (PATH_KEYS.has(key) && value !== "" && !isAbsolute(value)) value = join(base, value);
    const line = source.lineOf(first.node);
    out.set(key as Key, { text: value, where: `${path}:${line}: `, line });
  }
  return { values: out, issues: source.issues };
}

/**
 * Reads the `profiles:` section (RouterOS `/ppp profile`, the properties
 * that apply to a client) into raw values keyed `profiles/NAME/KEY`.
 */
function readProfiles(
  source: InstanceType<typeof YamlSourceModule.YamlSource>,
  node: Parameters<InstanceType<typeof YamlSourceModule.YamlSource>["sequence"]>[0],
  path: string,
  out: Map<Key, Raw>,
): void {
  const allowed = [...CLIENT_PROFILE_KEYS, ...SERVER_ONLY_PROFILE_KEYS];
  source.sequence(node, "profiles", "profile mappings").forEach((item, i) => {
    const at = `profiles[${i}]`;
    const fields = source.entries(item, at, allowed, "a mapping of profile properties");
    const nameEntry = fields.get("name");
    const name = nameEntry === undefined ? undefined : source.scalar(nameEntry, `${at}.name`);
    if (nameEntry === undefined) source.report(item, at, 'a profile needs a "name"');
    if (name === undefined) return;
    if (out.has(profileRawKey(name.text, "name") as Key)) {
      source.report(name.node, `${at}.name`, `profile "${name.text}" is defined twice`);
      return;
    }
    for (const [key, entry] of fields) {
      if ((SERVER_ONLY_PROFILE_KEYS as readonly string[]).includes(key)) {
        source.report(
          entry.key,
          `${at}.${key}`,
          `"${key}" applies to a server's sessions, not to a client`,
        );
        continue;
      }
      const text = source.scalar(entry, `${at}.${key}`);
      if (text === undefined) continue;
      const line = source.lineOf(text.node);
      out.set(profileRawKey(name.text, key) as Key, {
        text: text.text,
        where: `${path}:${line}: `,
        line,
      });
    }
  });
}
