import assert from "node:assert/strict";
import { rangeToCidrs } from "./_shared_link.ts";
import { parseIpv4 } from "../ip.ts";

const range = (a: string, b: string) => ({ first: parseIpv4(a)!, last: parseIpv4(b)! });

Deno.test("rangeToCidrs covers a pool range exactly with the fewest aligned blocks", () => {
  assert.deepEqual(rangeToCidrs(range("198.19.0.0", "198.19.0.255")), ["198.19.0.0/24"]);
  assert.deepEqual(rangeToCidrs(range("198.19.0.7", "198.19.0.7")), ["198.19.0.7/32"]);
  assert.deepEqual(rangeToCidrs(range("198.19.0.10", "198.19.0.17")), [
    "198.19.0.10/31",
    "198.19.0.12/30",
    "198.19.0.16/31",
  ]);
  const scale = rangeToCidrs(range("198.19.0.2", "198.19.63.254"));
  assert.equal(scale[0], "198.19.0.2/31");
  assert.equal(scale.at(-1), "198.19.63.254/32");
  // Exactly the range: sizes add up, blocks are disjoint and in order.
  let next = parseIpv4("198.19.0.2")!;
  for (const c of scale) {
    const [a, len] = c.split("/");
    assert.equal(parseIpv4(a!), next, c);
    next += 2 ** (32 - Number(len));
  }
  assert.equal(next, parseIpv4("198.19.63.255"));
  assert.equal(scale.length, 25, "12 blocks growing from .0.2, 13 shrinking to .63.254");
  assert.deepEqual(rangeToCidrs(range("0.0.0.0", "255.255.255.255")), ["0.0.0.0/0"]);
});
