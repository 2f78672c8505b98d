import assert from "node:assert/strict";
import { parseConnectOptions } from "../cli/connect_args.ts";

const ENV = { SSTP_PASSWORD: "pw" };
const BASE = ["198.18.60.1", "--user", "alice"];
const FILES: Record<string, string> = {
  "/c/empty.yaml": 'connect-to: 198.18.60.1\nuser: guest\npassword: ""\n',
  "/c/ks.yaml": "connect-to: 198.18.60.1\nuser: a\nadd-default-route: yes\nkill-switch: yes\n",
};
const read = (p: string) => {
  const t = FILES[p];
  if (t === undefined) throw new Deno.errors.NotFound(p);
  return t;
};
const parse = (argv: string[], env: Record<string, string> = ENV) =>
  parseConnectOptions(argv, env, read);

Deno.test("kill-switch needs add-default-route and an IP address to pin", async () => {
  const on = await parse([...BASE, "--add-default-route", "--kill-switch"]);
  assert.equal(on.killSwitch, true);
  assert.equal((await parse(["--config", "/c/ks.yaml"])).killSwitch, true);
  assert.equal((await parse(BASE)).killSwitch, false);
  await assert.rejects(() => parse([...BASE, "--kill-switch"]), {
    name: "TypeError",
    message: /^Invalid value for "kill-switch": it needs "add-default-route" yes/,
  });
  await assert.rejects(
    () => parse(["vpn.example.com", "--user", "a", "--add-default-route", "--kill-switch"]),
    { message: /"connect-to" must be an IP address/ },
  );
  await assert.rejects(
    () => parse([...BASE, "--add-default-route", "--kill-switch", "--http-proxy", "proxy.example"]),
    { message: /"http-proxy" must be an IP address/ },
  );
  const viaProxy = await parse([
    "vpn.example.com",
    "--user",
    "a",
    "--add-default-route",
    "--kill-switch",
    "--http-proxy",
    "198.18.70.1:3128",
  ]);
  assert.deepEqual(viaProxy.httpProxy, { host: "198.18.70.1", port: 3128 });
});

Deno.test("mrru is checked and taken without a warning (multilink is negotiated)", async () => {
  const o = await parse([...BASE, "--mrru", "1600"]);
  assert.equal(o.mrru, 1600);
  assert.ok(!o.warnings.some((w) => /mrru/.test(w)), o.warnings.join());
  assert.equal((await parse([...BASE, "--mrru", "disabled"])).mrru, undefined);
  await assert.rejects(() => parse([...BASE, "--mrru", "100"]), {
    name: "RangeError",
    message: 'Invalid value for "mrru": 100 is out of range (512-16384)',
  });
  await assert.rejects(() => parse([...BASE, "--mrru", "big"]), { name: "TypeError" });
});

Deno.test("default-route-distance takes 0-255, http-proxy defaults to port 443", async () => {
  assert.equal((await parse([...BASE, "--default-route-distance", "0"])).defaultRouteDistance, 0);
  assert.deepEqual((await parse([...BASE, "--http-proxy", "198.18.70.1"])).httpProxy, {
    host: "198.18.70.1",
    port: 443,
  });
});

Deno.test("an empty password is allowed when given explicitly, as RouterOS's default", async () => {
  const fromFlag = await parse([...BASE, "--password="], {});
  assert.equal(fromFlag.password, "");
  assert.equal(fromFlag.passwordSource, "command-line");
  const fromFile = await parse(["--config", "/c/empty.yaml"], {});
  assert.deepEqual([fromFile.password, fromFile.passwordSource], ["", "config-file"]);
  await assert.rejects(() => parse(BASE, {}), { message: /^Missing "password"/ });
});

Deno.test("comment is one line of text", async () => {
  assert.equal((await parse([...BASE, "--comment", "office link"])).comment, "office link");
  await assert.rejects(() => parse([...BASE, "--comment", "a\nb"]), {
    message: 'Invalid value for "comment": a comment is one line of printable text',
  });
});

Deno.test("dial-on-demand, its placeholder address and idle-timeout", async () => {
  const o = await parse([...BASE, "--dial-on-demand", "--idle-timeout", "5m"]);
  assert.deepEqual([o.dialOnDemand, o.demandAddress, o.idleTimeoutMs], [
    true,
    { local: "10.112.112.2", peer: "10.112.112.1" },
    300_000,
  ]);
  const one = await parse([
    ...BASE,
    "--dial-on-demand",
    "--dial-on-demand-address",
    "10.112.112.1",
  ]);
  assert.deepEqual(one.demandAddress, { local: "10.112.112.1", peer: "10.112.112.2" });
  const pair = await parse([
    ...BASE,
    "--dial-on-demand",
    "--dial-on-demand-address",
    "10.112.112.9, 10.112.112.10",
  ]);
  assert.deepEqual(pair.demandAddress, { local: "10.112.112.9", peer: "10.112.112.10" });
  assert.equal(
    (await parse([...BASE, "--dial-on-demand", "--idle-timeout", "none"])).idleTimeoutMs,
    null,
  );
  await assert.rejects(() => parse([...BASE, "--idle-timeout", "30s"]), {
    message: /^Invalid value for "idle-timeout": it needs "dial-on-demand" yes/,
  });
  await assert.rejects(
    () => parse([...BASE, "--dial-on-demand", "--dial-on-demand-address", "fe80::1"]),
    { message: /"fe80::1" is not an IPv4 address/ },
  );
  await assert.rejects(
    () => parse(["vpn.example.com", "--user", "a", "--dial-on-demand", "--add-default-route"]),
    { message: /"connect-to" must be an IP address/ },
  );
  assert.equal(
    (await parse(["vpn.example.com", "--user", "a", "--dial-on-demand"])).dialOnDemand,
    true,
  );
});

Deno.test("profile: the profiles section's client properties apply, server ones are refused", async () => {
  FILES["/c/profiles.yaml"] = `connect-to: 198.18.60.1
user: a
profile: branch
dial-on-demand: yes
profiles:
  - name: branch
    change-tcp-mss: no
    use-encryption: required
    idle-timeout: 2m
  - name: other
    idle-timeout: 5s
`;
  const o = await parse(["--config", "/c/profiles.yaml"]);
  assert.deepEqual([o.profile, o.changeTcpMss, o.idleTimeoutMs], ["branch", false, 120_000]);
  // The client's own idle-timeout wins over the profile's; a flag picks another profile.
  const own = await parse(["--config", "/c/profiles.yaml", "--idle-timeout", "10s"]);
  assert.equal(own.idleTimeoutMs, 10_000);
  const other = await parse(["--config", "/c/profiles.yaml", "--profile", "other"]);
  assert.deepEqual([other.changeTcpMss, other.idleTimeoutMs], [true, 5000]);
  // Built-ins exist without a section.
  const builtin = await parse([...BASE, "--profile", "default"]);
  assert.deepEqual([builtin.profile, builtin.changeTcpMss], ["default", true]);
  await assert.rejects(() => parse([...BASE, "--profile", "nope"]), {
    message:
      /"nope" is neither in the "profiles" section of the config file nor a built-in profile/,
  });
  FILES["/c/server-key.yaml"] = `connect-to: 198.18.60.1
user: a
profiles:
  - name: p
    local-address: 10.0.0.1
`;
  await assert.rejects(() => parse(["--config", "/c/server-key.yaml"]), {
    message: /local-address.*applies to a server's sessions, not to a client/,
  });
  FILES["/c/bad.yaml"] = `connect-to: 198.18.60.1
user: a
profile: p
profiles:
  - name: p
    use-encryption: no
    change-tcp-mss: maybe
`;
  await assert.rejects(() => parse(["--config", "/c/bad.yaml"]), {
    message: /bad\.yaml:7: Invalid value for "profiles\.p\.change-tcp-mss"/,
  });
  FILES["/c/noenc.yaml"] = FILES["/c/bad.yaml"].replace("    change-tcp-mss: maybe\n", "");
  const noenc = await parse(["--config", "/c/noenc.yaml"]);
  assert.ok(noenc.warnings.some((w) => /use-encryption=no: SSTP always runs inside TLS/.test(w)));
});

Deno.test("README's client property table lists every sstp connect key", async () => {
  const { BOOLEAN_KEYS, VALUE_KEYS, CLIENT_PROFILE_KEYS } = await import("./client_config.ts");
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const table = readme.slice(
    readme.indexOf("| property (flag and YAML key)"),
    readme.indexOf("#### Routes and DNS"),
  );
  const rows = table.split("\n").filter((l) => l.startsWith("| `")).map((l) => l.split("|")[1]!);
  for (const key of [...VALUE_KEYS, ...BOOLEAN_KEYS]) {
    if (key === "password-file") continue; // a source of "password", described in its row
    assert.ok(rows.some((r) => r.includes(`\`${key}\``)), `README row for "${key}"`);
  }
  for (const key of CLIENT_PROFILE_KEYS) {
    if (key !== "name") assert.match(table, new RegExp(`^    ${key}:`, "m"), key);
  }
});
