import assert from "node:assert/strict";
import { ConfigError, formatConfigIssue } from "./config_error.ts";
import { parseServerConfig } from "./server_config.ts";

const SERVER = "sstp-server:\n  certificate: /etc/sstp/server.pem\n";

/** The formatted issues of a file the parser must refuse. */
const refused = (yaml: string): string[] => {
  let issues: string[] = [];
  assert.throws(() => parseServerConfig(yaml, "sstp.yaml"), (e) => {
    assert.ok(e instanceof ConfigError, String(e));
    issues = e.issues.map(formatConfigIssue);
    return true;
  });
  return issues;
};

Deno.test("interface-mode: shared and shared-interface are read; per-session and sstp0 by default", () => {
  const c = parseServerConfig(
    SERVER + "  interface-mode: shared\n  shared-interface: vpn-all\n",
    "sstp.yaml",
  );
  assert.equal(c.sstpServer.interfaceMode, "shared");
  assert.equal(c.sstpServer.sharedInterface, "vpn-all");
  const d = parseServerConfig(SERVER, "sstp.yaml");
  assert.equal(d.sstpServer.interfaceMode, "per-session");
  assert.equal(d.sstpServer.sharedInterface, "sstp0");
});

Deno.test("interface-mode refuses other values and shared-interface a bad name", () => {
  const issues = refused(
    SERVER + "  interface-mode: pooled\n  shared-interface: this-name-is-far-too-long\n",
  );
  assert.equal(issues.length, 2, issues.join("\n"));
  assert.match(
    issues[0]!,
    /sstp-server\.interface-mode.*"pooled" is not one of per-session, shared/,
  );
  assert.match(issues[1]!, /sstp-server\.shared-interface/);
});

Deno.test("interface-mode: shared refuses what needs a device per session, each with its line; IPv6 is allowed", () => {
  const issues = refused(
    SERVER + "  interface-mode: shared\n" +
      "profiles:\n" +
      "  - { name: br, bridge: br0 }\n" +
      "  - { name: v6, remote-ipv6-prefix-pool: p6 }\n" +
      "ipv6-pools:\n" +
      "  - { name: p6, prefix: 2001:2::/48, prefix-length: 64 }\n" +
      "secrets:\n" +
      "  - { name: alice, password: x }\n" +
      "interfaces:\n" +
      "  - { name: sstp-alice, user: alice }\n",
  );
  assert.equal(issues.length, 2, issues.join("\n"));
  assert.match(
    issues.find((i) => i.includes("bridge"))!,
    /sstp\.yaml:5: .*bridging \(BCP\) needs a TAP device per session, but interface-mode is shared/,
  );
  assert.match(
    issues.find((i) => i.includes("interfaces"))!,
    /sstp\.yaml:12: .*a static interface name needs a device per session/,
  );
});

Deno.test("interface-mode: per-session keeps every per-session feature", () => {
  const c = parseServerConfig(
    SERVER + "profiles:\n  - { name: br, bridge: br0 }\n",
    "sstp.yaml",
  );
  assert.equal(c.profiles.find((p) => p.name === "br")?.bridge, "br0");
});
