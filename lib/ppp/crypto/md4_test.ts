import { strictEqual as assertEquals } from "node:assert/strict";
import { md4 } from "./md4.ts";
import { toHex } from "../../bytes/hex.ts";

// RFC 1320 A.5 "Test suite" (also checked here with `openssl dgst -md4`).
const RFC_1320_SUITE: readonly [string, string][] = [
  ["", "31d6cfe0d16ae931b73c59d7e0c089c0"],
  ["a", "bde52cb31de33e46245e05fbdbd6fb24"],
  ["abc", "a448017aaf21d8525fc10ae87aa6729d"],
  ["message digest", "d9130a8164549fe818874806e1c7014b"],
  ["abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"],
  [
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "043f8582f241db351ce627e153e7f0e4",
  ],
  [
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
    "e33b4ddc9c38f2199c3e7b164fcc0536",
  ],
];

Deno.test("md4() matches the RFC 1320 A.5 test suite", () => {
  for (const [input, want] of RFC_1320_SUITE) {
    assertEquals(toHex(md4(new TextEncoder().encode(input))), want, JSON.stringify(input));
  }
});

Deno.test("md4() hashes a subarray view, not its whole buffer", () => {
  const buf = new TextEncoder().encode("xxabcxx");
  assertEquals(toHex(md4(buf.subarray(2, 5))), "a448017aaf21d8525fc10ae87aa6729d");
});
