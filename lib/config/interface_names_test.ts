import assert from "node:assert/strict";
import {
  dynamicInterfaceName,
  dynamicNameSuffix,
  interfaceNameProblem,
  MAX_INTERFACE_NAME_BYTES,
} from "./interface_names.ts";

Deno.test("interfaceNameProblem() accepts Linux-safe names up to 15 bytes", () => {
  for (const good of ["sstp-out1", "a", "sstp-alice.corp", "x_y-z.1", "123456789012345"]) {
    assert.equal(interfaceNameProblem(good), undefined, good);
  }
});

Deno.test("interfaceNameProblem() explains each refusal", () => {
  assert.equal(interfaceNameProblem(""), "an interface name cannot be empty");
  assert.equal(
    interfaceNameProblem("1234567890123456"),
    '"1234567890123456" is 16 bytes; an interface name must be at most 15 bytes',
  );
  assert.match(interfaceNameProblem("sstp out")!, /use only letters, digits/);
  assert.match(interfaceNameProblem("<sstp-a>")!, /use only letters, digits/);
  assert.match(interfaceNameProblem("a/b")!, /use only letters, digits/);
  assert.match(interfaceNameProblem("é")!, /use only letters, digits/);
  assert.equal(interfaceNameProblem(".."), '".." is not a valid interface name');
  assert.match(interfaceNameProblem("-x")!, /starts with "-"/);
});

Deno.test("dynamicInterfaceName() is sstp-USER within 15 bytes", () => {
  assert.equal(dynamicInterfaceName("alice", new Set()), "sstp-alice");
  assert.equal(dynamicInterfaceName("averyveryverylonguser", new Set()), "sstp-averyveryv");
  assert.equal(
    dynamicInterfaceName("averyveryverylonguser", new Set()).length,
    MAX_INTERFACE_NAME_BYTES,
  );
});

Deno.test("dynamicInterfaceName() replaces odd characters", () => {
  assert.equal(dynamicInterfaceName("bob@corp", new Set()), "sstp-bob_corp");
  assert.equal(dynamicInterfaceName("a b/c", new Set()), "sstp-a_b_c");
  assert.equal(dynamicInterfaceName("", new Set()), "sstp-user");
  const unicode = dynamicInterfaceName("ユーザー名前テスト長い", new Set());
  assert.equal(interfaceNameProblem(unicode), undefined);
  assert.ok(new TextEncoder().encode(unicode).length <= MAX_INTERFACE_NAME_BYTES);
});

Deno.test("dynamicInterfaceName() adds a numeric suffix on collision, keeping 15 bytes", () => {
  const taken = new Set<string>();
  const names: string[] = [];
  for (let i = 0; i < 120; i++) {
    const name = dynamicInterfaceName("averyveryverylonguser", taken);
    assert.equal(interfaceNameProblem(name), undefined, name);
    assert.ok(!taken.has(name));
    taken.add(name);
    names.push(name);
  }
  assert.deepEqual(names.slice(0, 3), ["sstp-averyveryv", "sstp-averyvery1", "sstp-averyvery2"]);
  assert.equal(names[10], "sstp-averyver10");
  assert.equal(names[100], "sstp-averyve100");
  assert.equal(dynamicInterfaceName("bob", new Set(["sstp-bob", "sstp-bob1"])), "sstp-bob2");
});

Deno.test("dynamicInterfaceName() keeps distinct users apart after sanitising", () => {
  const taken = new Set<string>();
  const a = dynamicInterfaceName("a@b", taken);
  taken.add(a);
  const b = dynamicInterfaceName("a#b", taken);
  assert.equal(a, "sstp-a_b");
  assert.equal(b, "sstp-a_b1");
});

Deno.test("dynamicNameSuffix inverts dynamicInterfaceName, also for cut and digit-ending names", () => {
  for (const user of ["alice", "bob1", "a-very-long-user-name", "x9", "ü"]) {
    const taken = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const name = dynamicInterfaceName(user, taken);
      taken.add(name);
      assert.equal(dynamicNameSuffix(user, name), i === 0 ? undefined : i, `${user} ${name}`);
    }
    // A floor skips the probing but not a free name at or above it.
    assert.equal(dynamicNameSuffix(user, dynamicInterfaceName(user, taken, 120)), 120);
  }
  assert.equal(dynamicNameSuffix("alice", "sstp-bob1"), undefined);
});
