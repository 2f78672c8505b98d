/**
 * contrib/systemd: `systemd-analyze verify` accepts both units (with the
 * ExecStart binary pointed at a stand-in, since verify checks it exists), it
 * does report a broken copy (so the check can fail), and the units carry the
 * hardening the program was tested with (test/ops/unprivileged_netns_test.ts).
 */
import assert from "node:assert/strict";
import { run } from "../helpers/sstp_process.ts";

const DIR = new URL("../../contrib/systemd/", import.meta.url).pathname;
const UNITS = ["sstp-server.service", "sstp-client@.service"] as const;

async function hasSystemdAnalyze(): Promise<boolean> {
  return (await run(["sh", "-c", "command -v systemd-analyze"])).code === 0;
}

/** Runs verify on the units in a temp dir; returns the lines about our units. */
async function verify(
  edit: (name: string, text: string) => string = (_n, t) => t,
): Promise<{ code: number; ours: string[] }> {
  const tmp = await Deno.makeTempDir({ prefix: "sstp-units-" });
  try {
    await Deno.writeTextFile(`${tmp}/sstp`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    for (const u of UNITS) {
      const text = (await Deno.readTextFile(DIR + u)).replaceAll(
        "/usr/local/bin/sstp",
        `${tmp}/sstp`,
      );
      const name = u === "sstp-client@.service" ? "sstp-client@office.service" : u;
      await Deno.writeTextFile(`${tmp}/${name}`, edit(name, text));
    }
    const r = await run(
      [
        "systemd-analyze",
        "verify",
        "--man=no",
        `${tmp}/sstp-server.service`,
        `${tmp}/sstp-client@office.service`,
      ],
      { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", SYSTEMD_LOG_COLOR: "0" },
    );
    const ours = (r.stdout + r.stderr).split("\n").filter((l) => l.includes("sstp"));
    return { code: r.code, ours };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test({
  name: "systemd-analyze verify accepts the units and rejects a broken one",
  ignore: !(await hasSystemdAnalyze()) && !Deno.env.get("CI"),
}, async () => {
  const good = await verify();
  assert.equal(good.code, 0, good.ours.join("\n"));
  assert.deepEqual(good.ours, []);
  const bad = await verify((name, t) =>
    name === "sstp-server.service" ? t.replace("ProtectSystem=strict", "ProtectSystem=stricter") : t
  );
  assert.ok(bad.ours.some((l) => /protect system value.*stricter/i.test(l)), bad.ours.join("\n"));
});

Deno.test("the units are hardened as documented and call options that exist", async () => {
  const help = await run([Deno.execPath(), "run", "-A", "main.ts", "serve", "--help"]);
  for (const u of UNITS) {
    const text = await Deno.readTextFile(DIR + u);
    const lines = new Set(text.split("\n").map((l) => l.trim()));
    for (
      const want of [
        "User=sstp",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "DeviceAllow=/dev/net/tun rw",
        "DevicePolicy=closed",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX",
        "StateDirectory=sstp",
        "RuntimeDirectory=sstp",
      ]
    ) {
      assert.ok(lines.has(want), `${u}: missing ${want}`);
    }
    assert.match(text, /--log-format json/);
    assert.doesNotMatch(text, /^MemoryDenyWriteExecute=yes/m, "V8 needs W+X pages");
  }
  const server = await Deno.readTextFile(DIR + "sstp-server.service");
  assert.match(server, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  for (const flag of /^ExecStart=\S+ serve (.*)$/m.exec(server)![1]!.match(/--[a-z-]+/g)!) {
    assert.ok(help.stdout.includes(flag), `sstp serve --help has no ${flag}`);
  }
  const sysusers = await Deno.readTextFile(DIR + "sstp.sysusers");
  assert.match(sysusers, /^u sstp /m);
});
