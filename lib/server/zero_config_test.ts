import assert from "node:assert/strict";
import { loadZeroConfig, mayShowPassword, zeroConfigBanner } from "./zero_config.ts";

Deno.test({
  name:
    "zero-config prints the credentials file, and the password only on first creation at a terminal",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-zero-test-" });
  try {
    const options = {
      stateDir: dir,
      pool: "198.18.77.10-198.18.77.20",
      hostNames: ["vpn.test"],
      hostAddresses: ["198.18.77.1"],
    };
    const first = await loadZeroConfig(options);
    assert.equal(first.credentialsPath, `${dir}/credentials.json`);
    assert.ok(first.created.includes(first.credentialsPath));
    assert.equal(mayShowPassword(first, true), true);
    assert.equal(mayShowPassword(first, false), false, "not a terminal: journal-readable");
    const shown = zeroConfigBanner(first, "198.18.77.1", 443, { showPassword: true }).join("\n");
    assert.ok(shown.includes(first.password));
    const hidden = zeroConfigBanner(first, "198.18.77.1", 443, { showPassword: false }).join("\n");
    assert.ok(!hidden.includes(first.password));
    assert.match(hidden, new RegExp(`password in ${dir}/credentials.json`));

    const again = await loadZeroConfig(options);
    assert.equal(again.password, first.password);
    assert.deepEqual(again.created, []);
    assert.equal(mayShowPassword(again, true), false, "every later start hides it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
