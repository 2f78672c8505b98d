import assert from "node:assert/strict";
import { trustedSources } from "./proxy_source.ts";

Deno.test("proxy-protocol-from matches addresses, prefixes and IPv4-mapped peers only", () => {
  const t = trustedSources(["198.18.90.3", "198.18.91.0/24", "2001:2::/48"]);
  assert.ok(t("198.18.90.3"));
  assert.ok(t("::ffff:198.18.90.3"));
  assert.ok(!t("198.18.90.4"));
  assert.ok(t("198.18.91.200"));
  assert.ok(!t("198.18.92.1"));
  assert.ok(t("2001:2::1"));
  assert.ok(!t("2001:3::1"));
  assert.ok(!t("not an address"));
  assert.ok(!trustedSources([])("198.18.90.3"));
  assert.throws(() => trustedSources(["example.com"]), /not an address or prefix/);
});
