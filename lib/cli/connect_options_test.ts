import assert from "node:assert/strict";
import type { ConnectOptions } from "../config/client_config.ts";
import { isHelpRequested, parseConnectOptions } from "./connect_args.ts";
import { CONNECT_HELP } from "./connect_help.ts";

const FILES: Record<string, string> = {
  "/etc/sstp/pw": "from-file\nsecond line ignored\n",
  "/etc/sstp/empty": "\n",
  "/etc/sstp/client.yaml": `connect-to: vpn.example.com:8443
user: bob
password-file: pw
authentication: [mschap2, pap]
use-peer-dns: yes
name: sstp-file
ca: certs/ca.pem
keepalive-timeout: 30
ciphers: [aes128-gcm-sha256, chacha20-poly1305]
force-aes: yes
`,
};

function readFile(path: string): string {
  const text = FILES[path];
  if (text === undefined) throw new Deno.errors.NotFound(`No such file: ${path}`);
  return text;
}

const BASE = ["vpn.example.com", "--user", "alice"];
const ENV = { SSTP_PASSWORD: "env-secret" };

function parse(
  argv: string[],
  env: Record<string, string | undefined> = ENV,
): Promise<ConnectOptions> {
  return parseConnectOptions(argv, env, readFile);
}

Deno.test("parseConnectOptions() applies the defaults", async () => {
  assert.deepEqual(
    await parse(BASE),
    {
      connectTo: { host: "vpn.example.com", port: 443, kind: "name" },
      user: "alice",
      password: "env-secret",
      passwordSource: "environment",
      authentication: ["mschap2", "mschap1", "chap", "pap"],
      verifyServerCertificate: true,
      verifyServerAddressFromCertificate: true,
      ca: undefined,
      serverFingerprint: undefined,
      certificate: undefined,
      certificateKey: undefined,
      crl: undefined,
      keepaliveTimeoutMs: 60_000,
      maxMtu: 1500,
      maxMru: 1500,
      addDefaultRoute: false,
      defaultRouteDistance: 1,
      usePeerDns: false,
      bridge: undefined,
      useIpv6: false,
      dhcpv6Pd: false,
      dhcpv6PdInterface: undefined,
      name: "sstp-out1",
      sni: "vpn.example.com",
      tlsVersion: "any",
      tlsEngine: "deno",
      pfs: "yes",
      ciphers: [],
      forceAes: false,
      logLevel: "info",
      logFormat: "text",
      reconnect: true,
      comment: undefined,
      disabled: false,
      httpProxy: undefined,
      metrics: undefined,
      killSwitch: false,
      mrru: undefined,
      dialOnDemand: false,
      demandAddress: { local: "10.112.112.2", peer: "10.112.112.1" },
      idleTimeoutMs: null,
      profile: "default-encryption",
      changeTcpMss: true,
      configFile: undefined,
      warnings: [],
    } satisfies ConnectOptions,
  );
});

Deno.test("parseConnectOptions() reads every property", async () => {
  const fp = "AB".repeat(32);
  const cases: Array<[string[], Partial<ConnectOptions>]> = [
    [["--connect-to", "198.18.0.1:444"], {
      connectTo: { host: "198.18.0.1", port: 444, kind: "ipv4" },
    }],
    [["--connect-to", "[2001:db8::1]:8443"], {
      connectTo: { host: "2001:db8::1", port: 8443, kind: "ipv6" },
    }],
    [["--connect-to", "2001:db8::1", "--port", "4433"], {
      connectTo: { host: "2001:db8::1", port: 4433, kind: "ipv6" },
    }],
    [["--connect-to", "h.example", "--port", "8443"], {
      connectTo: { host: "h.example", port: 8443, kind: "name" },
    }],
    [["--authentication", "pap,mschap2"], { authentication: ["mschap2", "pap"] }],
    [["--authentication=chap"], { authentication: ["chap"] }],
    [["--verify-server-certificate", "yes"], { verifyServerCertificate: true }],
    [["--verify-server-address-from-certificate=false"], {
      verifyServerAddressFromCertificate: false,
    }],
    [["--no-verify-server-address-from-certificate"], {
      verifyServerAddressFromCertificate: false,
    }],
    [["--ca", "/etc/ca.pem"], { ca: "/etc/ca.pem" }],
    [["--server-fingerprint", `sha256:${fp}`], { serverFingerprint: fp.toLowerCase() }],
    [["--server-fingerprint", `SHA256:${fp.match(/../g)!.join(":")}`], {
      serverFingerprint: fp.toLowerCase(),
    }],
    [["--certificate", "/c.pem"], { certificate: "/c.pem", certificateKey: undefined }],
    [["--certificate", "/c.pem", "--certificate-key", "/k.pem"], {
      certificate: "/c.pem",
      certificateKey: "/k.pem",
    }],
    [["--crl", "/crl.pem"], { crl: "/crl.pem" }],
    [["--keepalive-timeout", "disabled"], { keepaliveTimeoutMs: null }],
    [["--keepalive-timeout", "15"], { keepaliveTimeoutMs: 15_000 }],
    [["--keepalive-timeout", "2m"], { keepaliveTimeoutMs: 120_000 }],
    [["--max-mtu", "1400", "--max-mru", "576"], { maxMtu: 1400, maxMru: 576 }],
    [["--max-mtu", "4087"], { maxMtu: 4087 }],
    [["--max-mtu", "1400", "--mrru", "1600"], { maxMtu: 1400, mrru: 1600 }],
    [["--mrru", "disabled"], { mrru: undefined }],
    [["--add-default-route"], { addDefaultRoute: true }],
    [["--add-default-route", "true", "--default-route-distance", "255"], {
      addDefaultRoute: true,
      defaultRouteDistance: 255,
    }],
    [["--use-peer-dns", "YES"], { usePeerDns: true }],
    [["--name", "vpn0"], { name: "vpn0" }],
    [["--sni", "front.example"], { sni: "front.example" }],
    [["--sni", "no"], { sni: undefined }],
    [["--sni", "off"], { sni: undefined }],
    [["--sni", "yes"], { sni: "vpn.example.com" }],
    [["--tls-version", "only-1.3"], { tlsVersion: "only-1.3" }],
    [["--pfs", "required"], { pfs: "required" }],
    [["--ciphers", "chacha20-poly1305,aes256-gcm-sha384"], {
      ciphers: ["chacha20-poly1305", "aes256-gcm-sha384"],
    }],
    [["--force-aes"], { forceAes: true }],
    [["--authentication", "eap-mschap2"], { authentication: ["eap-mschap2"] }],
    [["--log-level", "trace"], { logLevel: "trace" }],
    [["--no-reconnect"], { reconnect: false }],
    [["--reconnect", "no"], { reconnect: false }],
    [["--comment", "office link"], { comment: "office link" }],
    [["--disabled"], { disabled: true }],
    [["--http-proxy", "proxy.example"], { httpProxy: { host: "proxy.example", port: 443 } }],
    [["--http-proxy", "198.18.0.3:3128"], { httpProxy: { host: "198.18.0.3", port: 3128 } }],
  ];
  for (const [extra, expected] of cases) {
    const argv = extra.includes("--connect-to")
      ? ["--user", "alice", ...extra]
      : [...BASE, ...extra];
    const options = await parse(argv);
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(options[key as keyof ConnectOptions], value, `${extra.join(" ")} → ${key}`);
    }
  }
});

Deno.test("parseConnectOptions() rejects each malformed value naming the property", async () => {
  const cases: Array<[string[], ErrorConstructor, string]> = [
    [
      ["--keepalive-timeout", "abc"],
      TypeError,
      'Invalid value for "keepalive-timeout": "abc" is not a number of seconds or "disabled"',
    ],
    [
      ["--keepalive-timeout", "0"],
      RangeError,
      'Invalid value for "keepalive-timeout": 0 seconds is out of range (1-2147483 or "disabled")',
    ],
    [["--port", "0"], RangeError, 'Invalid value for "port": 0 is out of range (1-65535)'],
    [["--port", "https"], TypeError, 'Invalid value for "port": "https" is not a whole number'],
    [
      ["--port", "444"],
      RangeError,
      'Invalid value for "port": 444 conflicts with port 8443 in "connect-to"',
    ],
    [
      ["--authentication", "mschap3"],
      TypeError,
      'Invalid value for "authentication": "mschap3" is not one of mschap2, eap-mschap2, mschap1, chap, pap',
    ],
    [
      ["--authentication", ","],
      TypeError,
      'Invalid value for "authentication": at least one method is required',
    ],
    [
      ["--verify-server-certificate", "maybe"],
      TypeError,
      'Invalid value for "verify-server-certificate": "maybe" is not yes, no, true or false',
    ],
    [
      ["--use-peer-dns=1"],
      TypeError,
      'Invalid value for "use-peer-dns": "1" is not yes, no, true or false',
    ],
    [
      ["--server-fingerprint", "abcd"],
      TypeError,
      'Invalid value for "server-fingerprint": "abcd" is not "sha256:" followed by 64 hexadecimal digits',
    ],
    [
      ["--server-fingerprint", `sha1:${"a".repeat(64)}`],
      TypeError,
      `Invalid value for "server-fingerprint": "sha1:${
        "a".repeat(64)
      }" is not "sha256:" followed by 64 hexadecimal digits`,
    ],
    [
      ["--certificate-key", "/k.pem"],
      TypeError,
      'Invalid value for "certificate-key": it needs "certificate" as well',
    ],
    [
      ["--max-mtu", "575"],
      RangeError,
      'Invalid value for "max-mtu": 575 is out of range (576-4087)',
    ],
    [
      ["--mrru", "511"],
      RangeError,
      'Invalid value for "mrru": 511 is out of range (512-16384)',
    ],
    [
      ["--max-mru", "4088"],
      RangeError,
      'Invalid value for "max-mru": 4088 is out of range (576-4087)',
    ],
    [
      ["--default-route-distance", "256"],
      RangeError,
      'Invalid value for "default-route-distance": 256 is out of range (0-255)',
    ],
    [
      ["--name", "sstp-name-too-long"],
      RangeError,
      'Invalid value for "name": "sstp-name-too-long" is 18 bytes; an interface name must be at most 15 bytes',
    ],
    [
      ["--name", "<sstp-a>"],
      TypeError,
      'Invalid value for "name": "<sstp-a>" is not a valid interface name: use only letters, digits, "_", "." and "-"',
    ],
    [
      ["--sni", "not a name"],
      TypeError,
      'Invalid value for "sni": "not a name" is not a host name, yes or no',
    ],
    [
      ["--ciphers", "aes256-sha"],
      TypeError,
      'Invalid value for "ciphers": none of aes256-sha can be negotiated by this TLS stack (it offers aes256-gcm-sha384, aes128-gcm-sha256, chacha20-poly1305; CBC suites such as aes256-sha are not available)',
    ],
    [
      ["--ciphers", "rc4-md5"],
      TypeError,
      'Invalid value for "ciphers": "rc4-md5" is not one of aes256-sha, aes256-gcm-sha384, aes128-gcm-sha256, chacha20-poly1305',
    ],
    [
      ["--pfs", "always"],
      TypeError,
      'Invalid value for "pfs": "always" is not one of no, yes, required',
    ],
    [
      ["--tls-version", "1.3"],
      TypeError,
      'Invalid value for "tls-version": "1.3" is not one of any, only-1.2, only-1.3',
    ],
    [
      ["--log-level", "verbose"],
      TypeError,
      'Invalid value for "log-level": "verbose" is not one of error, warn, info, debug, trace',
    ],
    [
      ["--http-proxy", "proxy:99999"],
      RangeError,
      'Invalid value for "http-proxy": port 99999 is out of range (1-65535)',
    ],
    [["--user", ""], TypeError, 'Invalid value for "user": a value is required'],
  ];
  for (const [extra, type, message] of cases) {
    const argv = ["vpn.example.com:8443", "--user", "alice", ...extra];
    if (extra[0] === "--user") argv.splice(1, 2);
    await assert.rejects(
      () => parse(argv),
      (e) => e instanceof type && (e as Error).message === message,
      extra.join(" "),
    );
  }
});

Deno.test("parseConnectOptions() rejects malformed connect-to", async () => {
  const cases: Array<[string, string]> = [
    ["10.0.0.300", 'Invalid value for "connect-to": "10.0.0.300" is not an IPv4 address'],
    ["bad host", 'Invalid value for "connect-to": "bad host" is not a host name or IP address'],
    ["[2001:db8::1", 'Invalid value for "connect-to": "[2001:db8::1" is not a valid [IPv6]:port'],
    ["host:70000", 'Invalid value for "connect-to": port 70000 is out of range (1-65535)'],
  ];
  for (const [target, message] of cases) {
    await assert.rejects(() => parse([target, "--user", "a"]), { message }, target);
  }
});

Deno.test("parseConnectOptions() rejects unknown, repeated and incomplete options", async () => {
  const cases: Array<[string[], string]> = [
    [["--bogus", "1"], 'Unknown option "--bogus"'],
    [["--connectto", "x"], 'Unknown option "--connectto": did you mean "--connect-to"?'],
    [["-x"], 'Unknown option "-x"'],
    [["--no-user"], 'Unknown option "--no-user"'],
    [["--user", "bob"], 'Option "--user" is given more than once'],
    [["--ca"], 'Missing value for "--ca"'],
    [
      ["--ca", "--crl", "x"],
      'Missing value for "--ca" (write --ca=VALUE when the value starts with "-")',
    ],
    [["other.example"], 'Unexpected argument "other.example": give one server to connect to'],
    [
      ["--connect-to", "x.example"],
      'Option "connect-to" is given twice: as the argument "vpn.example.com" and as --connect-to',
    ],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(
      () => parse([...BASE, ...extra]),
      (e) => e instanceof TypeError && e.message === message,
      extra.join(" "),
    );
  }
  await assert.rejects(() => parse(["--user", "a"]), {
    name: "TypeError",
    message: 'Missing "connect-to": give the server as the argument or as --connect-to HOST[:PORT]',
  });
  await assert.rejects(() => parse(["vpn.example.com"]), {
    name: "TypeError",
    message: 'Missing "user": give --user NAME',
  });
});

Deno.test("parseConnectOptions() takes the password from flag, file, environment or config", async () => {
  const withFlag = await parse([...BASE, "--password", "flag-secret"]);
  assert.equal(withFlag.password, "flag-secret");
  assert.equal(withFlag.passwordSource, "command-line");
  assert.equal(withFlag.warnings.length, 1);
  assert.match(withFlag.warnings[0]!, /command line.*process list/);
  assert.doesNotMatch(withFlag.warnings[0]!, /flag-secret/);

  const fromFile = await parse([...BASE, "--password-file", "/etc/sstp/pw"]);
  assert.deepEqual([fromFile.password, fromFile.passwordSource, fromFile.warnings], [
    "from-file",
    "password-file",
    [],
  ]);

  const fromEnv = await parse(BASE, { SSTP_PASSWORD: "e" });
  assert.deepEqual([fromEnv.password, fromEnv.passwordSource], ["e", "environment"]);

  const fromConfig = await parse(["--config", "/etc/sstp/client.yaml"], {});
  assert.deepEqual([fromConfig.password, fromConfig.passwordSource], [
    "from-file",
    "password-file",
  ]);
  // The environment beats the config file; the command line beats both.
  assert.equal(
    (await parse(["--config", "/etc/sstp/client.yaml"], { SSTP_PASSWORD: "e" })).password,
    "e",
  );
  assert.equal(
    (await parse(["--config", "/etc/sstp/client.yaml", "--password-file", "/etc/sstp/pw"], {
      SSTP_PASSWORD: "e",
    })).password,
    "from-file",
  );
});

Deno.test("parseConnectOptions() rejects missing, unreadable or conflicting passwords", async () => {
  await assert.rejects(() => parse(BASE, {}), {
    name: "TypeError",
    message:
      'Missing "password": give --password-file FILE, the SSTP_PASSWORD environment variable or "password" in the config file',
  });
  await assert.rejects(() => parse(BASE, { SSTP_PASSWORD: "" }), {
    message: /^Missing "password"/,
  });
  await assert.rejects(() => parse([...BASE, "--password-file", "/nope"]), {
    name: "TypeError",
    message: 'Invalid value for "password-file": cannot read "/nope": No such file: /nope',
  });
  await assert.rejects(() => parse([...BASE, "--password-file", "/etc/sstp/empty"]), {
    message: 'Invalid value for "password-file": "/etc/sstp/empty" is empty',
  });
  await assert.rejects(
    () => parse([...BASE, "--password", "x", "--password-file", "/etc/sstp/pw"]),
    {
      message: 'Invalid value for "password-file": "password" is given as well; use one',
    },
  );
});

Deno.test("parseConnectOptions() reads the YAML file and lets flags win", async () => {
  const fromFile = await parse(["--config", "/etc/sstp/client.yaml"], {});
  assert.deepEqual(fromFile.connectTo, { host: "vpn.example.com", port: 8443, kind: "name" });
  assert.equal(fromFile.user, "bob");
  assert.deepEqual(fromFile.authentication, ["mschap2", "pap"]);
  assert.deepEqual(fromFile.ciphers, ["aes128-gcm-sha256", "chacha20-poly1305"]);
  assert.equal(fromFile.forceAes, true);
  assert.equal(fromFile.usePeerDns, true);
  assert.equal(fromFile.name, "sstp-file");
  assert.equal(fromFile.ca, "/etc/sstp/certs/ca.pem", "relative paths follow the config file");
  assert.equal(fromFile.keepaliveTimeoutMs, 30_000);
  assert.equal(fromFile.configFile, "/etc/sstp/client.yaml");

  const overridden = await parse(
    [
      "other.example",
      "--config",
      "/etc/sstp/client.yaml",
      "--user",
      "carol",
      "--no-use-peer-dns",
      "--name",
      "sstp-flag",
    ],
    {},
  );
  assert.deepEqual(overridden.connectTo, { host: "other.example", port: 443, kind: "name" });
  assert.equal(overridden.user, "carol");
  assert.equal(overridden.usePeerDns, false);
  assert.equal(overridden.name, "sstp-flag");
  assert.equal(
    overridden.keepaliveTimeoutMs,
    30_000,
    "keys not given as flags still come from the file",
  );
});

Deno.test("parseConnectOptions() reports config file mistakes with file and line", async () => {
  const configs: Array<[string, ErrorConstructor, string]> = [
    ["connect-to: h.example\nuser: bob\nbogus: 1\n", TypeError, '/c.yaml:3: unknown key "bogus"'],
    ["connect-to: h.example\nconfig: other.yaml\n", TypeError, '/c.yaml:2: unknown key "config"'],
    [
      "connect-to: h.example\nuser: bob\nkeepalive-timeout: abc\n",
      TypeError,
      '/c.yaml:3: Invalid value for "keepalive-timeout": "abc" is not a number of seconds or "disabled"',
    ],
    [
      "user: bob\n\nmax-mtu: 100\nconnect-to: h.example\n",
      RangeError,
      '/c.yaml:3: Invalid value for "max-mtu": 100 is out of range (576-4087)',
    ],
    ["user: [a, b]\n", TypeError, "/c.yaml:1: user: must be a single value, not a list or mapping"],
    ["- a\n- b\n", TypeError, "/c.yaml:1: must be a mapping of sstp-client properties"],
    [
      'connect-to: a.example\nuser: "x\n',
      TypeError,
      '/c.yaml:3: Missing closing "quote',
    ],
  ];
  for (const [text, type, message] of configs) {
    const files = { "/c.yaml": text };
    // The server and user come from flags, so each file's own mistake is the only one.
    const argv = ["h.example", "--user", "bob", "--config", "/c.yaml"];
    await assert.rejects(
      () => parseConnectOptions(argv, ENV, (p) => files[p as "/c.yaml"]),
      (e) => e instanceof type && (e as Error).message === message,
      message,
    );
  }
  await assert.rejects(() => parse(["--config", "/missing.yaml"]), {
    name: "TypeError",
    message: 'Cannot read config file "/missing.yaml": No such file: /missing.yaml',
  });
});

Deno.test("parseConnectOptions() lists every problem of the file and the flags", async () => {
  const files: Record<string, string> = {
    "/c.yaml": "foo: 1\nmax-mtu: 100\nuser: [a, b]\nkeepalive-timeout: abc\nbar: 2\n",
  };
  await assert.rejects(
    () =>
      parseConnectOptions(
        ["--config", "/c.yaml", "--port", "0"],
        {},
        (p) => files[p] ?? "",
      ),
    {
      name: "TypeError",
      message: [
        'Cannot use configuration "/c.yaml": 9 problems',
        '  /c.yaml:1: unknown key "foo"',
        '  /c.yaml:2: Invalid value for "max-mtu": 100 is out of range (576-4087)',
        "  /c.yaml:3: user: must be a single value, not a list or mapping",
        '  /c.yaml:4: Invalid value for "keepalive-timeout": "abc" is not a number of seconds or "disabled"',
        '  /c.yaml:5: unknown key "bar"',
        '  Missing "connect-to": give the server as the argument or as --connect-to HOST[:PORT]',
        '  Invalid value for "port": 0 is out of range (1-65535)',
        '  Missing "user": give --user NAME',
        '  Missing "password": give --password-file FILE, the SSTP_PASSWORD environment variable or "password" in the config file',
      ].join("\n"),
    },
  );
});

Deno.test("parseConnectOptions() checks that ca, certificate, certificate-key and crl can be read", async () => {
  const readable = new Set(["/etc/sstp/ca.pem"]);
  const checks = {
    fileProblem: (p: string) => readable.has(p) ? undefined : "no such file",
  };
  const ok = await parseConnectOptions(
    [...BASE, "--ca", "/etc/sstp/ca.pem"],
    ENV,
    readFile,
    checks,
  );
  assert.equal(ok.ca, "/etc/sstp/ca.pem");
  await assert.rejects(
    () => parseConnectOptions([...BASE, "--crl", "/x/crl.pem"], ENV, readFile, checks),
    {
      name: "TypeError",
      message: 'Invalid value for "crl": cannot read "/x/crl.pem": no such file',
    },
  );
  await assert.rejects(
    () =>
      parseConnectOptions(
        ["--config", "/etc/sstp/client.yaml", "--certificate", "/x/c.pem"],
        ENV,
        readFile,
        checks,
      ),
    {
      name: "TypeError",
      message: [
        'Cannot use configuration "/etc/sstp/client.yaml": 2 problems',
        '  /etc/sstp/client.yaml:7: Invalid value for "ca": cannot read "/etc/sstp/certs/ca.pem": no such file',
        '  Invalid value for "certificate": cannot read "/x/c.pem": no such file',
      ].join("\n"),
    },
  );
});

Deno.test("parseConnectOptions() warns when nothing checks the server certificate", async () => {
  const options = await parse([...BASE, "--verify-server-certificate", "no"]);
  assert.equal(options.verifyServerCertificate, false);
  assert.match(options.warnings[0]!, /not verified/);
  const pinned = await parse([
    ...BASE,
    "--no-verify-server-certificate",
    "--server-fingerprint",
    `sha256:${"0".repeat(64)}`,
  ]);
  assert.deepEqual(pinned.warnings, []);
});

Deno.test("parseConnectOptions() sends no SNI for an IP address", async () => {
  assert.equal((await parse(["198.18.0.1", "--user", "a"])).sni, undefined);
  const explicit = await parse(["198.18.0.1", "--user", "a", "--sni", "yes"]);
  assert.equal(explicit.sni, undefined);
  assert.deepEqual(explicit.warnings, [
    'sni=yes sends no server name: "198.18.0.1" is an IP address (RFC 6066 3)',
  ]);
  assert.equal(
    (await parse(["198.18.0.1", "--user", "a", "--sni", "vpn.example.com"])).sni,
    "vpn.example.com",
  );
});

Deno.test("isHelpRequested() finds -h and --help before --", async () => {
  assert.equal(isHelpRequested(["--help"]), true);
  assert.equal(isHelpRequested(["vpn.example.com", "-h"]), true);
  assert.equal(isHelpRequested(["vpn.example.com"]), false);
  assert.equal(isHelpRequested(["--", "--help"]), false);
  // --help among other options does not disturb parsing either.
  assert.equal((await parse([...BASE, "--help"])).user, "alice");
});

Deno.test("CONNECT_HELP documents every property", () => {
  for (
    const key of [
      "connect-to",
      "port",
      "user",
      "password",
      "password-file",
      "authentication",
      "verify-server-certificate",
      "verify-server-address-from-certificate",
      "ca",
      "server-fingerprint",
      "certificate",
      "certificate-key",
      "crl",
      "keepalive-timeout",
      "max-mtu",
      "max-mru",
      "add-default-route",
      "default-route-distance",
      "use-peer-dns",
      "bridge",
      "name",
      "sni",
      "tls-version",
      "tls-engine",
      "pfs",
      "ciphers",
      "force-aes",
      "log-level",
      "log-format",
      "reconnect",
      "comment",
      "disabled",
      "http-proxy",
      "metrics",
      "kill-switch",
      "mrru",
      "dial-on-demand",
      "dial-on-demand-address",
      "idle-timeout",
      "profile",
      "config",
      "help",
    ]
  ) {
    assert.match(CONNECT_HELP, new RegExp(`--${key}\\b`), key);
  }
});

Deno.test("parseConnectOptions() keeps arguments after -- as positionals", async () => {
  assert.deepEqual(
    (await parse(["--user", "a", "--", "vpn.example.com"])).connectTo.host,
    "vpn.example.com",
  );
});
