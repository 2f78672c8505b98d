import assert from "node:assert/strict";
import { SourceFilter } from "./source_filter.ts";

function ipv4From(src: string, length = 20): Uint8Array {
  const p = new Uint8Array(20);
  p[0] = 0x45;
  p.set(src.split(".").map(Number), 12);
  p.set([198, 18, 0, 1], 16);
  return p.slice(0, length);
}

Deno.test("SourceFilter allows the assigned address and nothing else without routes", () => {
  const f = new SourceFilter("198.18.5.2");
  assert.equal(f.allows(ipv4From("198.18.5.2")), true);
  assert.equal(f.allows(ipv4From("198.18.5.3")), false, "another client's address");
  assert.equal(f.allows(ipv4From("198.18.0.1")), false, "the server's LAN");
  assert.equal(f.allows(ipv4From("0.0.0.0")), false);
  assert.equal(f.allows(ipv4From("198.18.5.2", 12)), false, "truncated header");
});

Deno.test("SourceFilter allows sources inside the secret's routes", () => {
  const f = new SourceFilter("198.18.5.2", ["198.19.8.0/24", "198.19.9.7", "198.19.16.0/20"]);
  assert.equal(f.allows(ipv4From("198.19.8.0")), true);
  assert.equal(f.allows(ipv4From("198.19.8.255")), true);
  assert.equal(f.allows(ipv4From("198.19.9.7")), true);
  assert.equal(f.allows(ipv4From("198.19.9.8")), false);
  assert.equal(f.allows(ipv4From("198.19.31.255")), true);
  assert.equal(f.allows(ipv4From("198.19.32.0")), false);
  assert.equal(
    new SourceFilter("198.18.5.2", ["0.0.0.0/0"]).allows(ipv4From("198.51.100.1")),
    true,
  );
});

Deno.test("SourceFilter leaves non-IPv4 packets to the IPv6 gate and rejects bad settings", () => {
  const f = new SourceFilter("198.18.5.2");
  const v6 = new Uint8Array(40);
  v6[0] = 0x60;
  assert.equal(f.allows(v6), true);
  assert.throws(() => new SourceFilter("not-an-ip"), TypeError);
  assert.throws(() => new SourceFilter("198.18.5.2", ["198.19.0.0/40"]), TypeError);
});
