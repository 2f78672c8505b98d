import assert from "node:assert/strict";
import { PEER_TEXT_MAX, peerBytesText, peerText, quotePeerText } from "./peer_text.ts";

Deno.test("peerText escapes control characters, quotes, backslashes and bidi overrides", () => {
  assert.equal(peerText("alice"), "alice");
  assert.equal(peerText("a\nb\rc\u0000"), "a\\x0ab\\x0dc\\x00");
  assert.equal(peerText('x" injected="1'), 'x\\" injected=\\"1');
  assert.equal(peerText("a\\b"), "a\\\\b");
  assert.equal(peerText("\u202eevil\u2028"), "\\u202eevil\\u2028");
  assert.equal(peerText("\u0085\u009b"), "\\x85\\x9b");
  assert.equal(peerText("Jörg 日本"), "Jörg 日本");
});

Deno.test("peerText cuts long text to the limit without splitting an escape or a surrogate pair", () => {
  assert.equal(PEER_TEXT_MAX, 64);
  const long = peerText("u".repeat(8000));
  assert.equal(long.length, 64);
  assert.ok(long.endsWith("…"));
  assert.equal(peerText("abcdefgh\n", 10), "abcdefgh…");
  assert.equal(peerText("abcdefgh\\x41", 10), "abcdefgh…");
  assert.equal(peerText("abcdefg\\x41", 10), "abcdefg\\\\…");
  const emoji = peerText("😀".repeat(10), 6);
  assert.equal(emoji, "😀😀…");
  for (let max = 2; max < 20; max++) {
    const s = peerText('a"\\\n😀'.repeat(10), max);
    assert.ok(s.length <= max, `${s} longer than ${max}`);
    // An even run of backslashes before the mark: no escape was cut in half.
    assert.equal((/\\*…$/.exec(s)?.[0].length ?? 1) % 2, 1, s);
  }
});

Deno.test("quotePeerText and peerBytesText", () => {
  assert.equal(quotePeerText('bob"'), '"bob\\""');
  assert.equal(peerBytesText(new TextEncoder().encode("bye\u0007")), "bye\\x07");
  assert.equal(peerBytesText(new Uint8Array([0x66, 0xff, 0x67])), "f\ufffdg");
  const big = peerBytesText(new Uint8Array(5000).fill(0x41));
  assert.equal(big.length, 64);
  assert.ok(big.endsWith("…"));
});
