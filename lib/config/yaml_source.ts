/**
 * A thin reader over the `yaml` package that keeps line numbers for every
 * value and collects {@linkcode ConfigIssue}s instead of throwing.
 *
 * Documents are parsed with the YAML *failsafe* schema: every scalar stays the
 * text the admin wrote (`no` is not turned into `false`, `0123` keeps its
 * zero), and the property parsers decide what it means.
 *
 * @module
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { ConfigIssue } from "./config_error.ts";
import { InvalidValueError, splitList } from "./values.ts";

/**
 * A node of a parsed document: a scalar, a list or a mapping. Outside this
 * module it is a handle to pass back to {@linkcode YamlSource}'s methods (for
 * positions in issues, or to read it as a mapping or list); only its place in
 * the text is visible, so the `yaml` package's types stay out of the signatures
 * that the config readers export.
 */
export interface YamlNode {
  /** Offsets of the node in the text: start, end of the value, end of the node. */
  readonly range?: readonly [number, number, number] | null;
}

/** A scalar value with where it was written. */
export interface YamlText {
  /** The text as written. */
  text: string;
  /** The node, for error positions. */
  node: YamlNode;
}

/** A mapping entry: the key node and its value node (absent for `key:` with nothing). */
export interface YamlEntry {
  /** The key as parsed (a scalar), with its position. */
  key: YamlNode;
  /** The value node; undefined for `key:` with nothing after it. */
  value: YamlNode | undefined;
}

/** A parsed list item with the lines it came from. */
export interface Located<T> {
  /** The parsed item. */
  value: T;
  /** Path of the item: `secrets[2]`. */
  path: string;
  /** Line where the item starts. */
  line: number;
  /** Line of one of its keys (the item's line when the key is absent). */
  lineOf(key: string): number;
}

/** Reads one YAML document and collects issues with file, line and path. */
export class YamlSource {
  /** File name used in issues. */
  readonly file: string;
  /** Every issue found so far. */
  readonly issues: ConfigIssue[] = [];
  /** The document's root node, or `undefined` when it is empty or unreadable. */
  readonly root: YamlNode | undefined;
  readonly #lines = new LineCounter();

  /** Parses `text`; syntax errors become issues. */
  constructor(text: string, file: string) {
    this.file = file;
    const doc = parseDocument(text, {
      lineCounter: this.#lines,
      schema: "failsafe",
      prettyErrors: false,
    });
    for (const e of [...doc.errors, ...doc.warnings]) {
      const pos = this.#lines.linePos(e.pos[0]);
      const message = e.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? "";
      this.issues.push({ file, line: pos.line, column: pos.col, path: "", message });
    }
    this.root = doc.errors.length === 0 ? (doc.contents ?? undefined) : undefined;
  }

  /** Records an issue at `node` (or at the start of the file). */
  report(node: YamlNode | undefined, path: string, message: string): void {
    const offset = node?.range?.[0];
    const pos = offset === undefined ? { line: 0, col: 0 } : this.#lines.linePos(offset);
    this.issues.push({ file: this.file, line: pos.line, column: pos.col, path, message });
  }

  /**
   * The entries of a mapping, keyed by name. Keys not in `allowed` and
   * non-mapping nodes are reported.
   */
  entries(
    node: YamlNode | undefined,
    path: string,
    allowed: readonly string[],
    what = "a mapping of keys to values",
  ): Map<string, YamlEntry> {
    const out = new Map<string, YamlEntry>();
    if (!isMap(node)) {
      this.report(node, path, `must be ${what}`);
      return out;
    }
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== "string") {
        this.report(key as YamlNode, path, "keys must be plain names");
        continue;
      }
      const name = key.value;
      if (!allowed.includes(name)) {
        this.report(key, path, `unknown key "${name}"`);
        continue;
      }
      out.set(name, { key, value: (pair.value ?? undefined) as YamlNode | undefined });
    }
    return out;
  }

  /**
   * The text of a scalar entry, or `undefined` (reported) when the value is
   * missing or is a list or mapping.
   */
  scalar(entry: YamlEntry, path: string): YamlText | undefined {
    const { key, value } = entry;
    if (value === undefined || (isScalar(value) && value.type === "PLAIN" && value.value === "")) {
      this.report(key, path, "a value is required");
      return undefined;
    }
    if (!isScalar(value) || typeof value.value !== "string") {
      this.report(value, path, "must be a single value, not a list or mapping");
      return undefined;
    }
    return { text: value.value, node: value };
  }

  /**
   * The items of a list entry. Accepts a YAML sequence of scalars or a
   * RouterOS comma list in one string (`"a, b"`).
   */
  list(entry: YamlEntry, path: string, splitCommas = true): YamlText[] {
    const { key, value } = entry;
    if (value === undefined || (isScalar(value) && value.value === "")) return [];
    if (isScalar(value) && typeof value.value === "string") {
      const items = splitCommas ? splitList(value.value) : [value.value];
      return items.map((text) => ({ text, node: value }));
    }
    if (!isSeq(value)) {
      this.report(value ?? key, path, "must be a list or a comma-separated string");
      return [];
    }
    const out: YamlText[] = [];
    value.items.forEach((item, i) => {
      if (isScalar(item) && typeof item.value === "string") {
        out.push({ text: item.value, node: item });
      } else {
        this.report(item as YamlNode, `${path}[${i}]`, "must be a single value");
      }
    });
    return out;
  }

  /** The nodes of a sequence, or `[]` (reported) when `node` is not one. */
  sequence(node: YamlNode | undefined, path: string, what: string): YamlNode[] {
    if (node === undefined || (isScalar(node) && node.value === "")) return [];
    if (!isSeq(node)) {
      this.report(node, path, `must be a list of ${what}`);
      return [];
    }
    return node.items as YamlNode[];
  }

  /**
   * Parses a scalar entry with `parse`; an {@linkcode InvalidValueError} becomes
   * an issue and the result is `undefined`.
   */
  value<T>(entry: YamlEntry | undefined, path: string, parse: (text: string) => T): T | undefined {
    if (entry === undefined) return undefined;
    const text = this.scalar(entry, path);
    if (text === undefined) return undefined;
    return this.parseText(text, path, parse);
  }

  /** Parses one text with `parse`, reporting an {@linkcode InvalidValueError}. */
  parseText<T>(text: YamlText, path: string, parse: (text: string) => T): T | undefined {
    try {
      return parse(text.text);
    } catch (e) {
      if (!(e instanceof InvalidValueError)) throw e;
      this.report(text.node, path, e.message);
      return undefined;
    }
  }

  /** Records an issue at a known line (cross-reference checks). */
  reportAt(line: number, path: string, message: string): void {
    this.issues.push({ file: this.file, line, column: 0, path, message });
  }

  /**
   * Wraps a parsed list item with the lines of its keys, for cross-reference
   * messages that point at the offending key.
   */
  locate<T>(value: T, path: string, item: YamlNode, fields: Map<string, YamlEntry>): Located<T> {
    const line = this.lineOf(item);
    return { value, path, line, lineOf: (key) => this.lineOf(fields.get(key)?.key) || line };
  }

  /** Line (1-based) of a node, or 0. */
  lineOf(node: YamlNode | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 0 : this.#lines.linePos(offset).line;
  }
}
