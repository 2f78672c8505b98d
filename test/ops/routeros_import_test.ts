/**
 * `sstp import routeros`: golden files from realistic exports (RouterOS 6
 * and 7 syntax: menus, continuations, quoting, escapes, built-in profiles),
 * and the reader's edge cases.
 */
import assert from "node:assert/strict";
import { parseRsc } from "../../lib/ops/routeros/rsc_parser.ts";
import { importRouterOs } from "../../lib/ops/routeros/import_routeros.ts";
import { parseServerConfig } from "../../lib/config/server_config.ts";
import { run } from "../helpers/sstp_process.ts";

const FIXTURES = new URL("../fixtures/routeros/", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

for (const name of ["office", "branch_client"]) {
  Deno.test(`sstp import routeros ${name}.rsc matches its golden output and notes`, async () => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "import", "routeros", `${name}.rsc`],
      cwd: FIXTURES,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, stderr);
    assert.equal(stdout, await Deno.readTextFile(`${FIXTURES}${name}.expected.yaml`));
    assert.equal(stderr, await Deno.readTextFile(`${FIXTURES}${name}.expected.notes`));
  });
}

Deno.test("the translated office export loads as a server configuration", async () => {
  const text = await Deno.readTextFile(`${FIXTURES}office.rsc`);
  const result = importRouterOs(text);
  const config = parseServerConfig(result.serverYaml, "office.yaml");
  assert.equal(config.sstpServer.port, 4443);
  assert.equal(config.sstpServer.tlsVersion, "only-1.2");
  assert.deepEqual(config.secrets.map((s) => s.name), ["alice", "branch1", "dave"]);
  assert.equal(config.secrets[0]!.password, 's3cr"et with space');
  const vpn = config.profiles.find((p) => p.name === "vpn")!;
  assert.equal(vpn.idleTimeoutMs, 30 * 60_000);
  assert.deepEqual(config.interfaces, [{ name: "sstp-branch1", user: "branch1" }]);
  // Every untranslated line is reported once, with its number.
  const lines = result.notes.map((n) => n.line);
  for (const l of [12, 20, 24, 29, 30, 31, 33, 35, 37, 39]) {
    assert.ok(lines.includes(l), `line ${l}`);
  }
  assert.equal(result.clients.length, 1);
  assert.match(result.clients[0]!.yaml, /connect-to: vpn.example.net:4443/);
});

Deno.test("--client-dir writes each sstp-client as a 0600 file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sstp-import-" });
  try {
    const r = await run([
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "import",
      "routeros",
      `${FIXTURES}office.rsc`,
      "--client-dir",
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = await Deno.stat(`${dir}/sstp-hq.yaml`);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.match(await Deno.readTextFile(`${dir}/sstp-hq.yaml`), /password: Br4nch!/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rsc reader: continuations, escapes, selectors and bad lines", () => {
  const doc = parseRsc([
    "add name=x", // before any menu
    '/ppp secret add name=a password="\\41\\_\\\\\\$\\?\\t" comment="x \\',
    '    y"',
    "/ppp profile",
    "set [ find name=vpn ] only-one=yes",
    'add name="unterminated',
    'add name=b password="bad \\q escape"',
    "# comment",
    "add name=c # trailing comment",
  ].join("\r\n"));
  assert.deepEqual(doc.problems.map((p) => p.line), [1, 6, 7]);
  assert.match(doc.problems[1]!.message, /not closed/);
  assert.match(doc.problems[2]!.message, /unknown escape/);
  const [secret, set, c] = doc.commands;
  assert.equal(secret!.line, 2);
  assert.equal(secret!.args.get("password"), "A \\$?\t");
  assert.equal(secret!.args.get("comment"), "x y");
  assert.equal(set!.menu, "/ppp profile");
  assert.deepEqual([...set!.find!], [["name", "vpn"]]);
  assert.equal(set!.args.get("only-one"), "yes");
  assert.deepEqual([...c!.args], [["name", "c"]]);
});

Deno.test("an export with nothing to translate exits 64", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/x.rsc`,
      "/ip address\nadd address=198.18.0.1/24 interface=ether1\n",
    );
    const r = await run([Deno.execPath(), "run", "-A", MAIN, "import", "routeros", `${dir}/x.rsc`]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /x\.rsc:2: \/ip address add: not an SSTP setting/);
    assert.match(r.stderr, /nothing to translate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
