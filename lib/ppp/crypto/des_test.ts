import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { desEncrypt7, desEncryptBlock, expandDesKey } from "./des.ts";
import { fromHex, toHex } from "../../bytes/hex.ts";

// Known answers; each was also checked with
// `openssl enc -des-ecb -nopad -provider legacy -K <key>`.
const KNOWN_ANSWERS: readonly { key: string; plain: string; cipher: string; source: string }[] = [
  {
    key: "0123456789abcdef",
    plain: "4e6f772069732074", // "Now is t"
    cipher: "3fa40e8a984d4815",
    source: "FIPS 81 Appendix B example",
  },
  {
    key: "133457799bbcdff1",
    plain: "0123456789abcdef",
    cipher: "85e813540f0ab405",
    source: "classic worked example (Grabbe)",
  },
  {
    key: "0000000000000000",
    plain: "0000000000000000",
    cipher: "8ca64de9c1b123a7",
    source: "all-zero key and block",
  },
  {
    key: "0123456789abcdef",
    plain: "0123456789abcdef",
    cipher: "56cc09e7cfdc4cef",
    source: "openssl",
  },
];

Deno.test("desEncryptBlock() matches DES known answers", () => {
  for (const v of KNOWN_ANSWERS) {
    assertEquals(toHex(desEncryptBlock(fromHex(v.key), fromHex(v.plain))), v.cipher, v.source);
  }
});

Deno.test("desEncryptBlock() is an involution under the weak keys (FIPS 74)", () => {
  // With a weak key all 16 round keys are equal, so encryption is its own inverse.
  for (const weak of ["0101010101010101", "fefefefefefefefe", "e0e0e0e0f1f1f1f1"]) {
    const plain = fromHex("4e6f772069732074");
    const once = desEncryptBlock(fromHex(weak), plain);
    assertEquals(toHex(desEncryptBlock(fromHex(weak), once)), toHex(plain), weak);
  }
});

Deno.test("desEncryptBlock() ignores the parity bits of the key", () => {
  const key = fromHex("0123456789abcdef");
  const flipped = key.map((b) => b ^ 1);
  assertEquals(
    toHex(desEncryptBlock(flipped, fromHex("4e6f772069732074"))),
    "3fa40e8a984d4815",
  );
});

Deno.test("desEncryptBlock() rejects keys and blocks that are not 8 bytes", () => {
  assertThrows(() => desEncryptBlock(new Uint8Array(7), new Uint8Array(8)), RangeError);
  assertThrows(() => desEncryptBlock(new Uint8Array(8), new Uint8Array(9)), RangeError);
});

Deno.test("expandDesKey() spreads 7 bytes over 8 with odd parity", () => {
  // The NT hash of "MyPw" (RFC 2433 B.2) split into its DES keys.
  assertEquals(toHex(expandDesKey(fromHex("fc156af7edcd6c"))), "fd0b5b5e7f6e34d9");
  assertEquals(toHex(expandDesKey(fromHex("0edde3337d427f"))), "0e6e796737ea08fe");
  assertEquals(toHex(expandDesKey(fromHex("00000000000000"))), "0101010101010101");
  assertEquals(toHex(expandDesKey(fromHex("ffffffffffffff"))), "fefefefefefefefe");
  for (const b of expandDesKey(fromHex("4eac0000000000"))) {
    let ones = 0;
    for (let x = b; x; x >>= 1) ones += x & 1;
    assertEquals(ones % 2, 1);
  }
  assertThrows(() => expandDesKey(new Uint8Array(8)), RangeError);
});

Deno.test("desEncrypt7() equals DES under the expanded key", () => {
  const key7 = fromHex("fc156af7edcd6c");
  const clear = fromHex("102db5df085d3041");
  assertEquals(desEncrypt7(clear, key7), desEncryptBlock(expandDesKey(key7), clear));
  // RFC 2433 B.2: first third of the NT response to challenge 102DB5DF085D3041.
  assertEquals(toHex(desEncrypt7(clear, key7)), "4e9d3c8f9cfd385d");
});
