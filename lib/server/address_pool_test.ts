import assert from "node:assert/strict";
import { AddressPools } from "./address_pool.ts";
import { ProtocolError } from "../errors.ts";
import { parseIpv4Range } from "../ip.ts";
import type { IpPool } from "../config/server_config.ts";

function pool(name: string, ranges: string[], nextPool?: string): IpPool {
  return {
    name,
    ranges: ranges.map((r) => {
      const range = parseIpv4Range(r);
      if (typeof range === "string") throw new Error(range);
      return range;
    }),
    nextPool,
  };
}

Deno.test("AddressPools.allocate() walks every range, then follows next-pool", () => {
  const pools = new AddressPools([
    pool("a", ["198.18.0.1-198.18.0.2", "198.18.5.7"], "b"),
    pool("b", ["198.19.0.0/31"]),
  ]);
  const got = Array.from({ length: 5 }, () => pools.allocate("a"));
  assert.deepEqual(got, ["198.18.0.1", "198.18.0.2", "198.18.5.7", "198.19.0.0", "198.19.0.1"]);
  const exhausted = pools.allocate("a");
  assert.ok(exhausted instanceof ProtocolError);
  assert.equal(exhausted.code, "NO_ADDRESS");
  assert.match(exhausted.message, /pool "a" → "b" is exhausted/);
  assert.equal(pools.inUse, 5);
});

Deno.test("AddressPools does not hand a just-released address out again at once", () => {
  const pools = new AddressPools([pool("p", ["198.18.0.1-198.18.0.3"])]);
  assert.equal(pools.allocate("p"), "198.18.0.1");
  pools.release("198.18.0.1");
  assert.equal(pools.allocate("p"), "198.18.0.2");
  assert.equal(pools.allocate("p"), "198.18.0.3");
  assert.equal(pools.allocate("p"), "198.18.0.1", "wraps around to the free one");
});

Deno.test("AddressPools.claim() keeps a fixed address away from the pool and from a second claim", () => {
  const pools = new AddressPools([pool("p", ["198.18.0.1-198.18.0.2"])]);
  assert.equal(pools.claim("198.18.0.1"), true);
  assert.equal(pools.claim("198.18.0.1"), false);
  assert.equal(pools.allocate("p"), "198.18.0.2");
  assert.ok(pools.allocate("p") instanceof ProtocolError);
  pools.release("198.18.0.1");
  assert.equal(pools.isUsed("198.18.0.1"), false);
  assert.throws(() => pools.claim("nope"), TypeError);
});

Deno.test("AddressPools refuses an unknown pool and keeps addresses across replace()", () => {
  const pools = new AddressPools([pool("p", ["198.18.0.1-198.18.0.2"])]);
  const unknown = pools.allocate("q");
  assert.ok(unknown instanceof ProtocolError);
  assert.match(unknown.message, /pool "q" is not defined/);
  assert.equal(pools.allocate("p"), "198.18.0.1");
  pools.replace([pool("p", ["198.18.0.1-198.18.0.2"]), pool("q", ["198.18.0.1"])]);
  assert.ok(pools.allocate("q") instanceof ProtocolError, "198.18.0.1 is still in use");
  assert.equal(pools.allocate("p"), "198.18.0.2");
});
