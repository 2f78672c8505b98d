import assert from "node:assert/strict";
import { SecretBook } from "./secrets.ts";
import { AddressPools } from "./address_pool.ts";
import { ProtocolError } from "../errors.ts";
import { parseServerConfig } from "../config/server_config.ts";

const YAML = `sstp-server: { certificate: /x.pem }
profiles:
  - { name: default, local-address: 198.18.0.1, remote-address: pool1, dns-server: 198.18.0.53 }
  - { name: fixed, local-address: 198.18.9.1, remote-address: 198.18.9.2 }
  - { name: bare }
  - { name: pooled-local, local-address: pool1, remote-address: pool1 }
pools:
  - { name: pool1, ranges: 198.18.1.10-198.18.1.11 }
secrets:
  - { name: alice, password: a }
  - { name: static, password: s, local-address: 198.18.7.1, remote-address: 198.18.7.2 }
  - { name: off, password: o, disabled: yes }
  - { name: fixed, password: f, profile: fixed }
  - { name: bare, password: b, profile: bare }
  - { name: both, password: b, profile: pooled-local }
`;

function book() {
  const config = parseServerConfig(YAML, "t.yaml");
  return { book: new SecretBook(config), pools: new AddressPools(config.pools) };
}

Deno.test("SecretBook.lookupPassword() honours disabled and unknown users", () => {
  const { book: b } = book();
  assert.equal(b.lookupPassword("alice"), "a");
  assert.equal(b.lookupPassword("off"), undefined);
  assert.equal(b.lookupPassword("nobody"), undefined);
  assert.equal(b.find("alice")?.profile.name, "default");
});

Deno.test("SecretBook.assignAddresses(): profile pool, profile DNS, release list", () => {
  const { book: b, pools } = book();
  const a = b.assignAddresses("alice", pools);
  assert.ok(!(a instanceof ProtocolError));
  assert.deepEqual(a, {
    localAddress: "198.18.0.1",
    peerAddress: "198.18.1.10",
    dns: ["198.18.0.53"],
    release: ["198.18.1.10"],
  });
});

Deno.test("SecretBook.assignAddresses(): the secret's addresses win; a fixed address is one session's", () => {
  const { book: b, pools } = book();
  const s = b.assignAddresses("static", pools);
  assert.ok(!(s instanceof ProtocolError));
  assert.equal(s.localAddress, "198.18.7.1");
  assert.equal(s.peerAddress, "198.18.7.2");
  const again = b.assignAddresses("static", pools);
  assert.ok(again instanceof ProtocolError);
  assert.match(again.message, /198\.18\.7\.2 is already in use/);
  for (const x of s.release) pools.release(x);
  assert.ok(!(b.assignAddresses("static", pools) instanceof ProtocolError));
  const f = b.assignAddresses("fixed", pools);
  assert.ok(!(f instanceof ProtocolError));
  assert.equal(f.peerAddress, "198.18.9.2", "profile fixed address");
});

Deno.test("SecretBook.assignAddresses() refuses cleanly: no address configured, exhausted pool", () => {
  const { book: b, pools } = book();
  const bare = b.assignAddresses("bare", pools);
  assert.ok(bare instanceof ProtocolError);
  assert.equal(bare.code, "NO_ADDRESS");
  assert.match(bare.message, /sets remote-address/);
  // pooled-local takes two addresses per session: the second session finds the pool empty
  // and must give back what it took.
  const first = b.assignAddresses("both", pools);
  assert.ok(!(first instanceof ProtocolError));
  assert.equal(pools.inUse, 2);
  const second = b.assignAddresses("both", pools);
  assert.ok(second instanceof ProtocolError);
  assert.equal(pools.inUse, 2, "nothing stays taken after a refusal");
  assert.ok(b.assignAddresses("off", pools) instanceof ProtocolError);
});

Deno.test("SecretBook: caller-id admits only the client's address (any IPv6 spelling, IPv4-mapped)", () => {
  const config = parseServerConfig(
    `sstp-server: { certificate: /x.pem }
secrets:
  - { name: v4, password: a, caller-id: 198.18.5.5 }
  - { name: v6, password: b, caller-id: "2001:2:0::7" }
  - { name: any, password: c }
  - { name: tunnel, password: d, service: l2tp }
`,
    "t.yaml",
  );
  const b = new SecretBook(config);
  assert.equal(b.lookupPassword("v4", "198.18.5.5"), "a");
  assert.equal(b.lookupPassword("v4", "::ffff:198.18.5.5"), "a");
  assert.equal(b.lookupPassword("v4", "198.18.5.6"), undefined);
  assert.match(b.callerIdProblem("v4", "198.18.5.6") ?? "", /caller-id of "v4" is 198\.18\.5\.5/);
  assert.equal(b.callerIdProblem("v4", "198.18.5.5"), undefined);
  assert.equal(b.lookupPassword("v6", "2001:2::7"), "b");
  assert.equal(b.lookupPassword("v6", "[2001:2:0:0::7]"), "b");
  assert.equal(b.lookupPassword("v6", "2001:2::8"), undefined);
  assert.equal(b.lookupPassword("any", "198.18.9.9"), "c");
  // A secret for another RouterOS service never logs in over SSTP.
  assert.equal(b.lookupPassword("tunnel", "198.18.9.9"), undefined);
  assert.ok(config.warnings.some((w) => /"tunnel" is for l2tp, so it is skipped/.test(w)));
});
