import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseServerConfig } from "./server_config.ts";

const BASE = "sstp-server:\n  certificate: /etc/sstp/server.pem\n";

Deno.test("radius, ppp-aaa, radius-incoming and proxy-protocol parse with RouterOS defaults", () => {
  const c = parseServerConfig(
    `sstp-server:
  certificate: /etc/sstp/server.pem
  proxy-protocol: v2
  proxy-protocol-from: [198.18.90.3, 198.18.91.0/24]
radius:
  - address: 198.18.90.1
    secret: "s3cret"
    timeout: 500ms
    src-address: 198.18.90.2
  - address: 198.18.90.5
    secret-file: /etc/sstp/radius.secret
    authentication-port: 11812
ppp-aaa:
  use-radius: yes
  interim-update: 1m
radius-incoming:
  accept: yes
`,
    "t.yaml",
  );
  assert.equal(c.sstpServer.proxyProtocol, "v2");
  assert.deepEqual(c.sstpServer.proxyProtocolFrom, ["198.18.90.3", "198.18.91.0/24"]);
  const [a, b] = c.radius.radius;
  assert.deepEqual(a?.secret, { kind: "text", text: "s3cret" });
  assert.equal(a?.timeoutMs, 500);
  assert.equal(a?.authenticationPort, 1812);
  assert.equal(a?.srcAddress, "198.18.90.2");
  assert.equal(a?.requireMessageAuth, true);
  assert.deepEqual(b?.secret, { kind: "file", path: "/etc/sstp/radius.secret" });
  assert.equal(b?.authenticationPort, 11812);
  assert.equal(b?.timeoutMs, 300);
  assert.deepEqual(c.radius.pppAaa, { useRadius: true, accounting: true, interimUpdateMs: 60_000 });
  assert.deepEqual(c.radius.radiusIncoming, { accept: true, port: 3799 });
  const none = parseServerConfig(BASE, "t.yaml");
  assert.equal(none.sstpServer.proxyProtocol, "no");
  assert.deepEqual(none.radius.radius, []);
  assert.equal(none.radius.pppAaa.useRadius, false);
});

Deno.test("RADIUS and PROXY mistakes are reported with their paths", () => {
  const bad = (yaml: string, re: RegExp) =>
    assert.throws(() => parseServerConfig(BASE + yaml, "t.yaml"), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, re);
      return true;
    });
  bad("radius:\n  - address: 198.18.90.1\n", /exactly one of "secret" and "secret-file"/);
  bad("radius:\n  - address: radius.example\n    secret: x\n", /radius\[0\]\.address/);
  bad(
    "radius:\n  - address: 198.18.90.1\n    secret: x\n    timeout: 2m\n",
    /between 10ms and 60s/,
  );
  bad("ppp-aaa:\n  use-radius: yes\n", /needs at least one radius entry/);
  bad("ppp-aaa:\n  interim-update: 2s\n", /at least 10s/);
  bad("radius-incoming:\n  port: 70000\n", /radius-incoming\.port/);
  bad("  proxy-protocol: yes\n", /proxy-protocol-from.*required/);
  bad("  proxy-protocol: v3\n  proxy-protocol-from: 198.18.90.3\n", /proxy-protocol/);
  bad("  proxy-protocol: yes\n  proxy-protocol-from: 198.18.90.3/33\n", /prefix length/);
  bad(
    "  proxy-protocol: yes\n  proxy-protocol-from: 198.18.90.3\n  verify-client-certificate: yes\n  ca: /etc/ca.pem\n",
    /cannot be combined with verify-client-certificate/,
  );
});

Deno.test("radius: a disabled entry is left out; use-radius needs an entry with service ppp", () => {
  const c = parseServerConfig(
    BASE + `radius:
  - { address: 198.18.90.1, secret: a, disabled: yes }
  - { address: 198.18.90.2, secret: b, service: [ppp, login] }
`,
    "t.yaml",
  );
  assert.deepEqual(c.radius.radius.map((r) => r.address), ["198.18.90.2"]);
  assert.deepEqual(c.radius.radius[0]?.service, ["ppp", "login"]);
  assert.throws(
    () =>
      parseServerConfig(
        BASE + `radius:
  - { address: 198.18.90.2, secret: b, service: login }
ppp-aaa:
  use-radius: yes
`,
        "t.yaml",
      ),
    (e: unknown) => e instanceof ConfigError && /service ppp/.test(e.message),
  );
});
