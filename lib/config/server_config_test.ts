import assert from "node:assert/strict";
import { ConfigError, formatConfigIssue } from "./config_error.ts";
import { formatIpv4Range } from "../ip.ts";
import { parseServerConfig } from "./server_config.ts";

/** Parses and returns the formatted issues, failing if parsing succeeds. */
function issuesOf(yaml: string): string[] {
  try {
    parseServerConfig(yaml, "sstp.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map(formatConfigIssue);
  }
  assert.fail("parseServerConfig() accepted a bad file");
}

const MINIMAL = "sstp-server:\n  certificate: /etc/sstp/server.pem\n";

Deno.test("parseServerConfig() applies RouterOS defaults to a minimal file", () => {
  const config = parseServerConfig(MINIMAL, "sstp.yaml");
  assert.deepEqual(config.sstpServer, {
    enabled: true,
    port: 443,
    certificate: "/etc/sstp/server.pem",
    certificateKey: undefined,
    tls: true,
    certificateHashFrom: undefined,
    hostName: undefined,
    authentication: ["mschap2"],
    cryptoBinding: "any",
    authThrottle: { delayAfter: 3, blockAfter: 6, blockMs: 60_000 },
    defaultProfile: "default",
    keepaliveTimeoutMs: 60_000,
    maxMtu: 1500,
    maxMru: 1500,
    mrru: undefined, // disabled, as RouterOS
    verifyClientCertificate: false,
    ca: undefined,
    tlsVersion: "any",
    pfs: "yes",
    ciphers: [],
    forceAes: false,
    listen: ["0.0.0.0", "::"],
    stateDir: "/var/lib/sstp",
    controlSocket: "/run/sstp/sstp-server.sock",
    maxSessions: 4096,
    maxHandshakes: 256,
    maxHandshakesPerSource: 8,
    maxUnauthenticated: 256,
    maxUnauthenticatedPerSource: 8,
    authenticationDeadlineMs: 30_000,
    proxyArpInterface: undefined,
    proxyProtocol: "no",
    proxyProtocolFrom: [],
    linkUpTimeoutMs: 30_000,
    interfaceMode: "per-session",
    sharedInterface: "sstp0",
  });
  assert.deepEqual(config.warnings, [], "the default (mschap2 only) needs no warning");
  assert.deepEqual(config.profiles, [{
    name: "default",
    localAddress: undefined,
    remoteAddress: undefined,
    dnsServer: [],
    onlyOne: false,
    sessionTimeoutMs: null,
    idleTimeoutMs: null,
    changeTcpMss: true,
    useEncryption: undefined,
    rateLimitText: undefined,
    rateLimit: undefined,
    addressList: undefined,
    onUp: undefined,
    onDown: undefined,
  }]);
  assert.deepEqual([config.secrets, config.pools, config.interfaces], [[], [], []]);
});

Deno.test("parseServerConfig() reads every sstp-server property", () => {
  const config = parseServerConfig(
    `sstp-server:
  enabled: yes
  port: 8443
  certificate: /etc/sstp/server.pem
  certificate-key: /etc/sstp/server.key
  host-name: [vpn.example.com, 198.18.0.1]
  authentication: [pap, mschap2]
  default-profile: vpn
  keepalive-timeout: disabled
  max-mtu: 1400
  max-mru: 1450
  mrru: 1600
  verify-client-certificate: "yes"
  ca: /etc/sstp/ca.pem
  tls-version: only-1.2
  pfs: required
  ciphers: [aes256-gcm-sha384, chacha20-poly1305]
  force-aes: yes
  listen: [198.18.0.1, "2001:db8::1"]
  state-dir: /srv/sstp
  control-socket: /run/sstp.sock
  max-sessions: 10
  max-handshakes: 100
  max-handshakes-per-source: 4
  max-unauthenticated: 50
  max-unauthenticated-per-source: 2
  authentication-deadline: 20s
  proxy-arp-interface: eth0
  link-up-timeout: 45s
  crypto-binding: sha256-only
  auth-throttle: yes
  auth-throttle-delay-after: 2
  auth-throttle-block-after: 10
  auth-throttle-block-time: 5m
profiles:
  - name: vpn
`,
    "sstp.yaml",
  );
  assert.deepEqual(config.sstpServer, {
    enabled: true,
    port: 8443,
    certificate: "/etc/sstp/server.pem",
    certificateKey: "/etc/sstp/server.key",
    tls: true,
    certificateHashFrom: undefined,
    hostName: ["vpn.example.com", "198.18.0.1"],
    authentication: ["mschap2", "pap"],
    cryptoBinding: "sha256-only",
    authThrottle: { delayAfter: 2, blockAfter: 10, blockMs: 300_000 },
    defaultProfile: "vpn",
    keepaliveTimeoutMs: null,
    maxMtu: 1400,
    maxMru: 1450,
    mrru: 1600,
    verifyClientCertificate: true,
    ca: "/etc/sstp/ca.pem",
    tlsVersion: "only-1.2",
    pfs: "required",
    ciphers: ["aes256-gcm-sha384", "chacha20-poly1305"],
    forceAes: true,
    listen: ["198.18.0.1", "2001:db8::1"],
    stateDir: "/srv/sstp",
    controlSocket: "/run/sstp.sock",
    maxSessions: 10,
    maxHandshakes: 100,
    maxHandshakesPerSource: 4,
    maxUnauthenticated: 50,
    maxUnauthenticatedPerSource: 2,
    authenticationDeadlineMs: 20_000,
    proxyArpInterface: "eth0",
    proxyProtocol: "no",
    proxyProtocolFrom: [],
    linkUpTimeoutMs: 45_000,
    interfaceMode: "per-session",
    sharedInterface: "sstp0",
  });
  assert.equal(config.warnings.length, 1);
  assert.match(
    config.warnings[0]!,
    /^sstp\.yaml:7: sstp-server\.authentication: pap derives no keys \(all-zero HLAK\), so the SSTP crypto binding does not protect that login/,
  );
});

Deno.test("parseServerConfig() reads secrets, profiles, pools and interfaces", () => {
  const config = parseServerConfig(
    `sstp-server:
  certificate: /etc/sstp/server.pem
  default-profile: vpn
profiles:
  - name: default
    only-one: yes
    change-tcp-mss: no
  - name: vpn
    local-address: 198.18.0.1
    remote-address: vpn-pool
    dns-server: [198.18.0.53, 198.18.0.54]
    only-one: default
    session-timeout: 1h30m
    idle-timeout: 300
    change-tcp-mss: default
  - { name: fixed, remote-address: 198.18.20.1, only-one: no, session-timeout: 0s }
pools:
  - name: vpn-pool
    ranges: 198.18.10.2-198.18.10.254, 198.18.11.0/24
    next-pool: spare
  - { name: spare, ranges: [198.18.12.0/25, 198.18.12.200] }
secrets:
  - name: alice
    password: "0123"
    routes: "10.1.202.0/24 172.16.1.2 1, 10.1.203.0/24, 2001:2:5::/48 fe80::1 2"
  - name: bob
    password: no
    service: sstp
    profile: fixed
    local-address: 198.18.0.1
    remote-address: 198.18.30.5
    routes: [198.19.0.0/16 5, "2001:2:6::9"]
    disabled: true
interfaces:
  - { name: sstp-alice, user: alice }
`,
    "sstp.yaml",
  );
  assert.deepEqual(config.warnings, []);
  assert.deepEqual(config.secrets, [
    {
      name: "alice",
      password: "0123",
      service: "any",
      profile: "vpn",
      localAddress: undefined,
      remoteAddress: undefined,
      routes: [
        { dst: "10.1.202.0/24", gateway: "172.16.1.2", distance: 1 },
        { dst: "10.1.203.0/24", gateway: undefined, distance: 1 },
        { dst: "2001:2:5::/48", gateway: "fe80::1", distance: 2 },
      ],
      disabled: false,
      callerId: undefined,
      limitBytesIn: null,
      limitBytesOut: null,
    },
    {
      name: "bob",
      password: "no",
      service: "sstp",
      profile: "fixed",
      localAddress: "198.18.0.1",
      remoteAddress: "198.18.30.5",
      routes: [
        { dst: "198.19.0.0/16", gateway: undefined, distance: 5 },
        { dst: "2001:2:6::9/128", gateway: undefined, distance: 1 },
      ],
      disabled: true,
      callerId: undefined,
      limitBytesIn: null,
      limitBytesOut: null,
    },
  ]);
  assert.deepEqual(config.profiles.map((p) => p.name), ["default", "vpn", "fixed"]);
  const [base, vpn, fixed] = config.profiles;
  assert.deepEqual([base?.onlyOne, base?.changeTcpMss], [true, false]);
  assert.deepEqual(vpn, {
    name: "vpn",
    localAddress: { kind: "address", address: "198.18.0.1" },
    remoteAddress: { kind: "pool", pool: "vpn-pool" },
    dnsServer: ["198.18.0.53", "198.18.0.54"],
    onlyOne: true, // "default" → the default profile's yes
    sessionTimeoutMs: 5_400_000,
    idleTimeoutMs: 300_000,
    changeTcpMss: false,
    useEncryption: undefined,
    rateLimitText: undefined,
    rateLimit: undefined,
    addressList: undefined,
    onUp: undefined,
    onDown: undefined,
  });
  assert.deepEqual(fixed?.remoteAddress, { kind: "address", address: "198.18.20.1" });
  assert.deepEqual([fixed?.onlyOne, fixed?.sessionTimeoutMs, fixed?.changeTcpMss], [
    false,
    null,
    false,
  ]);
  assert.deepEqual(
    config.pools.map((p) => [p.name, p.ranges.map(formatIpv4Range), p.nextPool]),
    [
      ["vpn-pool", ["198.18.10.2-198.18.10.254", "198.18.11.0-198.18.11.255"], "spare"],
      ["spare", ["198.18.12.0-198.18.12.127", "198.18.12.200"], undefined],
    ],
  );
  assert.deepEqual(config.interfaces, [{ name: "sstp-alice", user: "alice" }]);
});

Deno.test("parseServerConfig() reports every mistake at once with file, line and path", () => {
  const yaml = `sstp-server:                          # 1
  certificate: /etc/sstp/server.pem   # 2
  port: 70000                         # 3
  keepalive-timeout: abc              # 4
  authentication: mschap2, foo        # 5
  bogus: 1                            # 6
  listen: [198.18.0.1, nowhere]       # 7
  state-dir: relative/dir             # 8
  max-mtu: 9000                       # 9
profiles:                             # 10
  - name: vpn                         # 11
    remote-address: vpn-pool          # 12
    dns-server: [198.18.0.1, 198.18.0.2, 198.18.0.3]  # 13
    session-timeout: 1x               # 14
    only-one: maybe                   # 15
  - { name: other, remote-address: nopool }  # 16
pools:                                # 17
  - { name: vpn-pool, ranges: "198.18.10.2-198.18.10.254, 198.18.11.0/24" }  # 18
  - name: p2                          # 19
    ranges: [198.18.10.100-198.18.10.110]  # 20
    next-pool: p2                     # 21
  - { name: p3, ranges: 198.18.12.1/24 }  # 22
secrets:                              # 23
  - { name: alice, password: x, profile: vpn }  # 24
  - { name: bob, password: y, profile: nope }   # 25
  - name: carol                       # 26
    password: z                       # 27
    remote-address: 10.0.0.300        # 28
    routes: "10.1.202.1/24"           # 29
  - { name: alice, password: w }      # 30
  - { password: v }                   # 31
interfaces:                           # 32
  - { name: sstp-way-too-long-name, user: alice }  # 33
  - { name: sstp-x, user: dave }      # 34
  - { name: sstp-x, user: bob }       # 35
`;
  assert.deepEqual(issuesOf(yaml), [
    "sstp.yaml:3: sstp-server.port: 70000 is out of range (1-65535)",
    'sstp.yaml:4: sstp-server.keepalive-timeout: "abc" is not a number of seconds or "disabled"',
    'sstp.yaml:5: sstp-server.authentication: "foo" is not one of mschap2, eap-mschap2, mschap1, chap, pap',
    'sstp.yaml:6: sstp-server: unknown key "bogus"',
    'sstp.yaml:7: sstp-server.listen: "nowhere" is not an IPv4 or IPv6 address',
    'sstp.yaml:8: sstp-server.state-dir: "relative/dir" is not an absolute path',
    "sstp.yaml:9: sstp-server.max-mtu: 9000 is out of range (576-4087)",
    "sstp.yaml:13: profiles[0].dns-server: 3 servers given; IPCP carries at most 2 (RFC 1877)",
    'sstp.yaml:14: profiles[0].session-timeout: "1x" is not a duration such as 30s, 1h30m, 1d or seconds',
    'sstp.yaml:15: profiles[0].only-one: "maybe" is not yes, no or default',
    'sstp.yaml:16: profiles[1].remote-address: pool "nopool" is not defined in pools',
    'sstp.yaml:20: pools[1].ranges: 198.18.10.100-198.18.10.110 overlaps 198.18.10.2-198.18.10.254 of pool "vpn-pool"',
    'sstp.yaml:21: pools[1].next-pool: next-pool chain of "p2" loops back to it',
    'sstp.yaml:22: pools[2].ranges: "198.18.12.1/24" has host bits set (the prefix is 198.18.12.0/24)',
    'sstp.yaml:25: secrets[1].profile: profile "nope" is not defined in profiles',
    'sstp.yaml:28: secrets[2].remote-address: "10.0.0.300" is not an IPv4 address',
    'sstp.yaml:29: secrets[2].routes: "10.1.202.1/24" has host bits set (the prefix is 10.1.202.0/24)',
    'sstp.yaml:30: secrets[3].name: secret "alice" is already defined on line 24',
    'sstp.yaml:31: secrets[4]: "name" is required',
    'sstp.yaml:33: interfaces[0].name: "sstp-way-too-long-name" is 22 bytes; an interface name must be at most 15 bytes',
    'sstp.yaml:34: interfaces[1].user: user "dave" is not defined in secrets',
    'sstp.yaml:35: interfaces[2].name: interface "sstp-x" is already defined on line 34',
  ]);
});

Deno.test("parseServerConfig() throws one ConfigError whose message lists every issue", () => {
  const yaml = "sstp-server:\n  port: 0\nsecrets:\n  - { name: a }\n";
  assert.throws(
    () => parseServerConfig(yaml, "sstp.yaml"),
    (e) =>
      e instanceof ConfigError && e.name === "ConfigError" && e.issues.length === 3 &&
      e.message === 'Cannot load configuration "sstp.yaml": 3 problems\n' +
          "  sstp.yaml:1: sstp-server.certificate: a certificate is required when the server is enabled\n" +
          "  sstp.yaml:2: sstp-server.port: 0 is out of range (1-65535)\n" +
          '  sstp.yaml:4: secrets[0]: "password" is required',
  );
});

Deno.test("parseServerConfig() reports unknown keys and wrong shapes in every section", () => {
  assert.deepEqual(
    issuesOf(`${MINIMAL}secret:
  - { name: a, password: b }
profiles:
  name: vpn
pools:
  - just-a-string
  - { name: p, ranges: 198.18.0.0/24, color: blue }
secrets:
  - { name: a, password: [x, y], remote-adress: 198.18.0.2 }
`),
    [
      'sstp.yaml:3: unknown key "secret"',
      "sstp.yaml:6: profiles: must be a list of profiles",
      "sstp.yaml:8: pools[0]: must be a mapping (one of the pools)",
      'sstp.yaml:9: pools[1]: unknown key "color"',
      "sstp.yaml:11: secrets[0].password: must be a single value, not a list or mapping",
      'sstp.yaml:11: secrets[0]: unknown key "remote-adress"',
    ],
  );
});

Deno.test("parseServerConfig() reports YAML syntax errors with their line", () => {
  assert.deepEqual(issuesOf(`${MINIMAL}  port: 1\n port: 2\n`), [
    "sstp.yaml:4: All mapping items must start at the same column",
  ]);
  assert.deepEqual(issuesOf(`${MINIMAL}\tport: 1\n`), [
    "sstp.yaml:3: Tabs are not allowed as indentation",
  ]);
  assert.deepEqual(issuesOf(`${MINIMAL}pools: []\npools: []\n`), [
    "sstp.yaml:4: Map keys must be unique",
  ]);
});

Deno.test("parseServerConfig() checks cross-references", () => {
  assert.deepEqual(
    issuesOf(`sstp-server:
  certificate: /c.pem
  default-profile: missing
  verify-client-certificate: yes
profiles:
  - { name: vpn, local-address: lan-pool }
  - { name: vpn }
pools:
  - { name: a, ranges: 198.18.0.0/24, next-pool: b }
  - { name: b, ranges: [198.18.1.0/24, 198.18.1.128/25], next-pool: a }
  - { name: c, ranges: 198.18.2.0/24, next-pool: z }
secrets:
  - { name: u, password: p }
interfaces:
  - { name: if1, user: u }
  - { name: if2, user: u }
`),
    [
      'sstp.yaml:3: sstp-server.default-profile: profile "missing" is not defined in profiles',
      "sstp.yaml:4: sstp-server.ca: a CA bundle is required when verify-client-certificate is yes",
      'sstp.yaml:6: profiles[0].local-address: pool "lan-pool" is not defined in pools',
      'sstp.yaml:7: profiles[1].name: profile "vpn" is already defined on line 6',
      'sstp.yaml:9: pools[0].next-pool: next-pool chain of "a" loops back to it',
      "sstp.yaml:10: pools[1].ranges: 198.18.1.128-198.18.1.255 overlaps 198.18.1.0-198.18.1.255 of another range of this pool",
      'sstp.yaml:10: pools[1].next-pool: next-pool chain of "b" loops back to it',
      'sstp.yaml:11: pools[2].next-pool: pool "z" is not defined in pools',
      'sstp.yaml:16: interfaces[1].user: user "u" already has an interface on line 15',
    ],
  );
});

Deno.test("parseServerConfig() warns about secrets that will get no address", () => {
  const config = parseServerConfig(
    `${MINIMAL}pools:\n  - { name: p, ranges: 198.18.0.0/24 }\nsecrets:\n  - { name: u, password: p }\n  - { name: v, password: p, remote-address: 198.18.0.9 }\n`,
    "sstp.yaml",
  );
  assert.deepEqual(config.warnings, [
    'sstp.yaml:6: secrets[0]: neither the secret nor profile "default" sets remote-address, so "u" will get no address',
    'sstp.yaml:7: secrets[1].remote-address: 198.18.0.9 is also in pool "p"',
  ]);
});

Deno.test("parseServerConfig() accepts an empty file only when the server is disabled", () => {
  assert.deepEqual(issuesOf(""), [
    "sstp.yaml: sstp-server.certificate: a certificate is required when the server is enabled",
  ]);
  assert.equal(
    parseServerConfig("sstp-server:\n  enabled: no\n", "s.yaml").sstpServer.enabled,
    false,
  );
});

Deno.test("parseServerConfig() refuses a host-name that is neither a name nor an address", () => {
  assert.throws(
    () =>
      parseServerConfig(
        MINIMAL.replace(
          "sstp-server:\n",
          "sstp-server:\n  host-name: vpn.example.com, bad_name!\n",
        ),
        "sstp.yaml",
      ),
    /host-name.*"bad_name!" is neither a host name nor an IP address/s,
  );
});

Deno.test("parseServerConfig() warns about every keyless method and checks crypto-binding and link-up-timeout", () => {
  const config = parseServerConfig(
    MINIMAL + "  authentication: mschap2,mschap1,chap,pap\n",
    "s.yaml",
  );
  assert.equal(config.warnings.length, 1);
  assert.match(config.warnings[0]!, /mschap1, chap, pap derive no keys/);
  assert.throws(
    () => parseServerConfig(MINIMAL + "  crypto-binding: sha1\n", "s.yaml"),
    /sstp-server\.crypto-binding: "sha1" is not one of any, sha256-only/,
  );
  assert.throws(
    () => parseServerConfig(MINIMAL + "  link-up-timeout: 0\n", "s.yaml"),
    /sstp-server\.link-up-timeout: 0 seconds is out of range \(1-3600\)/,
  );
});

Deno.test("parseServerConfig() turns auth-throttle off and checks its thresholds", () => {
  assert.equal(
    parseServerConfig(MINIMAL + "  auth-throttle: no\n", "s.yaml").sstpServer.authThrottle,
    null,
  );
  assert.throws(
    () =>
      parseServerConfig(
        MINIMAL + "  auth-throttle-delay-after: 5\n  auth-throttle-block-after: 2\n",
        "s.yaml",
      ),
    /sstp-server\.auth-throttle-block-after: 2 is less than auth-throttle-delay-after \(5\)/,
  );
});

Deno.test("parseServerConfig() refuses TLS policies this TLS stack cannot meet", () => {
  const parse = (lines: string) =>
    parseServerConfig(`sstp-server:\n  certificate: /etc/sstp/server.pem\n${lines}`, "sstp.yaml");
  assert.throws(
    () => parse("  ciphers: aes256-sha\n"),
    /sstp\.yaml:3: sstp-server\.ciphers: none of aes256-sha can be negotiated by this TLS stack/,
  );
  assert.throws(
    () => parse("  ciphers: [aes256-sha, aes256-gcm-sha384]\n  pfs: required\n"),
    /sstp-server\.ciphers: aes256-sha without ECDHE has no forward secrecy/,
  );
  assert.throws(
    () => parse("  ciphers: chacha20-poly1305\n  force-aes: yes\n"),
    /none of the listed ciphers can be negotiated/,
  );
  assert.throws(
    () => parse("  ciphers: rc4\n"),
    /"rc4" is not one of aes256-sha, aes256-gcm-sha384/,
  );
  assert.throws(
    () => parse("  pfs: maybe\n"),
    /sstp-server\.pfs: "maybe" is not one of no, yes, required/,
  );
  const ok = parse("  ciphers: aes256-sha, aes128-gcm-sha256\n  pfs: no\n");
  assert.deepEqual(ok.sstpServer.ciphers, ["aes256-sha", "aes128-gcm-sha256"]);
  assert.equal(ok.sstpServer.pfs, "no");
});

Deno.test("parseServerConfig() takes eap-mschap2 with use-radius without a warning (EAP is relayed)", () => {
  const config = parseServerConfig(
    `sstp-server:
  certificate: /etc/sstp/server.pem
  authentication: [mschap2, eap-mschap2]
radius:
  - { address: 198.18.0.9, secret: s, service: [ppp] }
ppp-aaa:
  use-radius: yes
`,
    "sstp.yaml",
  );
  assert.deepEqual(config.sstpServer.authentication, ["mschap2", "eap-mschap2"]);
  assert.deepEqual(config.warnings, []);
});

Deno.test("parseServerConfig() reads the issue-13 secret and profile properties", () => {
  const c = parseServerConfig(
    MINIMAL + `profiles:
  - name: shaped
    use-encryption: required
    rate-limit: 2M/10M
    address-list: vpn-users
    on-up: "logger up"
    on-down: "logger down"
secrets:
  - { name: a, password: p, profile: shaped, caller-id: 198.18.3.3, limit-bytes-in: 1000, limit-bytes-out: 0 }
  - { name: b, password: p, service: ovpn }
`,
    "sstp.yaml",
  );
  const p = c.profiles.find((x) => x.name === "shaped")!;
  assert.equal(p.useEncryption, "required");
  assert.equal(p.rateLimit?.rx.rate, 2_000_000);
  assert.equal(p.rateLimit?.tx.rate, 10_000_000);
  assert.equal(p.rateLimitText, "2M/10M");
  assert.equal(p.addressList, "vpn-users");
  assert.equal(p.onUp, "logger up");
  assert.equal(p.onDown, "logger down");
  const a = c.secrets[0]!;
  assert.equal(a.callerId, "198.18.3.3");
  assert.equal(a.limitBytesIn, 1000);
  assert.equal(a.limitBytesOut, null);
  assert.equal(c.secrets[1]!.service, "ovpn");
  assert.ok(c.warnings.some((w) => /"b" is for ovpn, so it is skipped for SSTP logins/.test(w)));
});

Deno.test("parseServerConfig() refuses certificate none, mrru and malformed issue-13 values", () => {
  const none = issuesOf("sstp-server:\n  certificate: none\n");
  assert.ok(none.some((i) => /anonymous.*zero-config/.test(i)), none.join("\n"));
  // Multilink is supported now: a number in range is taken, disabled too.
  assert.equal(parseServerConfig(MINIMAL + "  mrru: 1600\n", "sstp.yaml").sstpServer.mrru, 1600);
  assert.doesNotThrow(() => parseServerConfig(MINIMAL + "  mrru: disabled\n", "sstp.yaml"));
  const bad = issuesOf(
    MINIMAL + `profiles:
  - { name: x, rate-limit: fast, address-list: "1 bad", use-encryption: maybe }
secrets:
  - { name: a, password: p, caller-id: "00:11:22:33:44:55", limit-bytes-in: -1, service: ipsec }
`,
  );
  for (
    const re of [
      /rate-limit.*"fast" is not a rate/,
      /address-list.*not a usable list name/,
      /use-encryption/,
      /caller-id.*not an IP address/,
      /limit-bytes-in.*not a number of bytes/,
      /service/,
    ]
  ) assert.ok(bad.some((i) => re.test(i)), `${re} in\n${bad.join("\n")}`);
});

Deno.test("parseServerConfig() checks the admission limits and authentication-deadline", () => {
  assert.throws(
    () =>
      parseServerConfig(
        MINIMAL.replace(
          "sstp-server:\n",
          "sstp-server:\n  max-unauthenticated-per-source: 0\n  authentication-deadline: 2h\n" +
            "  max-handshakes: many\n",
        ),
        "sstp.yaml",
      ),
    (e: Error) =>
      /max-unauthenticated-per-source/.test(e.message) &&
      /authentication-deadline.*out of range \(1s-10m\)/.test(e.message) &&
      /max-handshakes/.test(e.message),
  );
});

Deno.test("parseServerConfig() reads ipv6-pools and the profile's IPv6 keys", () => {
  const config = parseServerConfig(
    MINIMAL + `ipv6-pools:
  - { name: v6, prefix: "2001:2:0:100::/56", prefix-length: 64 }
  - { name: pd, prefix: "2001:2:0:8000::/52", prefix-length: 60 }
profiles:
  - name: default
    remote-ipv6-prefix-pool: v6
    dhcpv6-pd-pool: pd
    local-ipv6-interface-id: "::1"
    dns-server: [198.18.0.53, "2001:2:0:0::53"]
  - { name: other, local-ipv6-interface-id: auto }
`,
    "s.yaml",
  );
  assert.deepEqual(config.ipv6Pools, [
    { name: "v6", prefix: "2001:2:0:100::/56", prefixLength: 64 },
    { name: "pd", prefix: "2001:2:0:8000::/52", prefixLength: 60 },
  ]);
  const p = config.profiles.find((x) => x.name === "default")!;
  assert.equal(p.remoteIpv6PrefixPool, "v6");
  assert.equal(p.dhcpv6PdPool, "pd");
  assert.deepEqual(p.localIpv6InterfaceId, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]));
  assert.deepEqual(p.dnsServer, ["198.18.0.53"]);
  assert.deepEqual(p.dnsServer6, ["2001:2::53"]);
  assert.equal(config.profiles.find((x) => x.name === "other")!.localIpv6InterfaceId, undefined);
});

Deno.test("parseServerConfig() reports bad IPv6 pools and profile references", () => {
  const issues = issuesOf(
    MINIMAL + `ipv6-pools:
  - { name: a, prefix: "2001:2::/48", prefix-length: 40 }
  - { name: b, prefix: "nonsense", prefix-length: 64 }
  - { name: c, prefix: "2001:2::/48", prefix-length: 60 }
profiles:
  - { name: default, remote-ipv6-prefix-pool: c, dhcpv6-pd-pool: missing }
  - { name: x, local-ipv6-interface-id: "2001:2::1" }
  - { name: y, local-ipv6-interface-id: "::" }
  - { name: z, dns-server: "2001:zz::1" }
`,
  );
  const text = issues.join("\n");
  assert.match(text, /ipv6-pools\[0\]\.prefix-length: 40 is shorter than the pool's \/48/);
  assert.match(text, /ipv6-pools\[1\]\.prefix/);
  assert.match(
    text,
    /remote-ipv6-prefix-pool: pool "c" hands out \/60 prefixes; SLAAC needs prefix-length 64/,
  );
  assert.match(text, /dhcpv6-pd-pool: pool "missing" is not defined in ipv6-pools/);
  assert.match(text, /profiles\[1\]\.local-ipv6-interface-id/);
  assert.match(text, /profiles\[2\]\.local-ipv6-interface-id: .*must not be zero/);
  assert.match(text, /profiles\[3\]\.dns-server: .*not an IPv6 address/);
});

Deno.test("parseServerConfig() takes tls: no with certificate-hash-from (no certificate needed) and refuses it without", () => {
  const c = parseServerConfig(
    "sstp-server:\n  tls: no\n  certificate-hash-from: /etc/haproxy/sstp.pem\n  tls-version: only-1.3\n",
    "sstp.yaml",
  );
  assert.equal(c.sstpServer.tls, false);
  assert.equal(c.sstpServer.certificateHashFrom, "/etc/haproxy/sstp.pem");
  assert.ok(
    c.warnings.some((w) => /sstp\.yaml:2: sstp-server\.tls: no: tls-version does nothing/.test(w)),
    c.warnings.join("\n"),
  );
  assert.equal(parseServerConfig(MINIMAL, "sstp.yaml").sstpServer.tls, true);
  const missing = issuesOf("sstp-server:\n  tls: no\n");
  assert.deepEqual(missing, [
    "sstp.yaml:2: sstp-server.certificate-hash-from: is required with tls: no (the PEM certificate " +
    "the load balancer presents: the SSTP crypto binding is checked against its hashes)",
  ]);
  const both = issuesOf(
    MINIMAL + "  certificate-hash-from: /x.pem\n",
  );
  assert.ok(both.some((i) => /certificate-hash-from: applies only with tls: no/.test(i)));
  const clientCerts = issuesOf(
    "sstp-server:\n  tls: no\n  certificate-hash-from: /x.pem\n  verify-client-certificate: yes\n  ca: /c.pem\n",
  );
  assert.ok(clientCerts.some((i) => /cannot be combined with tls: no/.test(i)));
});
