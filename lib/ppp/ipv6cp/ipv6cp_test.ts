import assert from "node:assert/strict";
import { Ipv6cp } from "./ipv6cp.ts";
import { linkLocalAddress } from "./interface_identifier.ts";
import { CpPair } from "../_cp_pair.ts";
import type { CpAction } from "../control_protocol.ts";
import { buildCp, buildOptions, seededRandomBytes } from "../../../test/helpers/ppp_builders.ts";

function sends(actions: CpAction[]): Uint8Array[] {
  return actions.flatMap((a) => a.type === "send" ? [a.packet] : []);
}

Deno.test("Ipv6cp pair agrees on distinct non-zero Interface-Identifiers", () => {
  const a = new Ipv6cp({ randomBytes: seededRandomBytes(21) });
  const b = new Ipv6cp({ randomBytes: seededRandomBytes(22) });
  new CpPair(a, b).start().run();
  assert.equal(a.state, "Opened");
  assert.equal(b.state, "Opened");
  assert.ok(a.result.localIdentifier?.some((x) => x !== 0));
  assert.deepEqual(a.result.localIdentifier, b.result.peerIdentifier);
  assert.deepEqual(b.result.localIdentifier, a.result.peerIdentifier);
  assert.notDeepEqual(a.result.localIdentifier, a.result.peerIdentifier);
  assert.match(a.result.localLinkLocal ?? "", /^fe80::[0-9a-f]{1,4}(:[0-9a-f]{1,4}){3}$/);
});

Deno.test("Ipv6cp pair resolves an Interface-Identifier collision (RFC 5072 4.1)", () => {
  const same = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]);
  const a = new Ipv6cp({ randomBytes: seededRandomBytes(23), localIdentifier: same });
  const b = new Ipv6cp({ randomBytes: seededRandomBytes(24), localIdentifier: same });
  const pair = new CpPair(a, b).start().run();
  assert.ok(pair.wire.some((l) => l.includes("IPV6CP ConfNak")), pair.wire.join("\n"));
  assert.equal(a.state, "Opened");
  assert.equal(b.state, "Opened");
  assert.notDeepEqual(a.result.localIdentifier, b.result.localIdentifier);
});

Deno.test("Ipv6cp Naks a zero identifier with a non-zero suggestion and rejects bad lengths", () => {
  const v6 = new Ipv6cp({ randomBytes: seededRandomBytes(25) });
  v6.open(0);
  v6.up(0);
  const [nak] = sends(v6.receive(buildCp(1, 1, buildOptions([1, 0, 0, 0, 0, 0, 0, 0, 0])), 0));
  assert.equal(nak?.[0], 3);
  assert.ok(nak?.subarray(6).some((x) => x !== 0));
  const [rej] = sends(v6.receive(buildCp(1, 2, buildOptions([1, 1, 2, 3], [2, 0, 0x4f])), 0));
  assert.deepEqual(rej, buildCp(4, 2, buildOptions([1, 1, 2, 3], [2, 0, 0x4f])));
  assert.throws(
    () => new Ipv6cp({ randomBytes: seededRandomBytes(1), localIdentifier: new Uint8Array(8) }),
    RangeError,
  );
});

Deno.test("Ipv6cp does not hang on a constant random source", () => {
  const v6 = new Ipv6cp({ randomBytes: (n) => new Uint8Array(n) });
  v6.open(0);
  const [req] = sends(v6.up(0));
  assert.ok(req?.subarray(6).some((x) => x !== 0));
  assert.equal(linkLocalAddress(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1])), "fe80::1");
  assert.equal(linkLocalAddress(new Uint8Array([2, 0, 0, 0, 0, 0, 0xab, 0])), "fe80::200:0:0:ab00");
});
