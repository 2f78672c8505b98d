/**
 * Text a peer sent (user names, Terminate-Request reasons, server
 * messages, HTTP header values) made safe to put in a log line, a status
 * display or a PPP reply: one helper, so every path applies the same rules.
 *
 * - Control characters (C0, DEL, C1), line and paragraph separators and
 *   bidirectional overrides are shown as `\xNN` / `\uNNNN`: a peer cannot
 *   forge log lines, hide text or reorder what an admin reads.
 * - `"` and `\` are escaped, so the text can be quoted in `key="value"`
 *   lines that fail2ban-style filters parse.
 * - The result is cut to `max` characters (default 64) and marked with `…`,
 *   so kilobytes of peer input cannot flood the log or overflow a reply.
 *
 * @module
 */

/** Default length limit of {@linkcode peerText}. */
export const PEER_TEXT_MAX = 64;

// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"\\]/g;

function escape(ch: string): string {
  if (ch === '"' || ch === "\\") return `\\${ch}`;
  const code = ch.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` with unsafe characters escaped, at most `max` characters long
 * (escapes count in full; a cut text ends in `…`).
 *
 * @example
 * ```ts
 * import { peerText } from "./peer_text.ts";
 * if (peerText('bob"\n') !== 'bob\\"\\x0a') throw new Error();
 * if (peerText("x".repeat(100), 8) !== "xxxxxxx…") throw new Error();
 * ```
 */
export function peerText(text: string, max: number = PEER_TEXT_MAX): string {
  return limit(text, max, false);
}

function limit(text: string, max: number, isLonger: boolean): string {
  // Look at a bounded prefix only: the input may be kilobytes long.
  const head = text.length > max * 2 + 2 ? text.slice(0, max * 2 + 2) : text;
  const safe = head.replace(UNSAFE, escape);
  if (safe.length <= max && head.length === text.length && !isLonger) return safe;
  // Cut whole characters and whole escapes only.
  let out = "";
  for (const ch of head) {
    const piece = ch.replace(UNSAFE, escape);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/** {@linkcode peerText} in double quotes: `user="alice"`. */
export function quotePeerText(text: string, max: number = PEER_TEXT_MAX): string {
  return `"${peerText(text, max)}"`;
}

/** {@linkcode peerText} of bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
export function peerBytesText(data: Uint8Array, max: number = PEER_TEXT_MAX): string {
  const head = data.subarray(0, max * 4 + 4);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head);
  return limit(text, max, head.length < data.length);
}
