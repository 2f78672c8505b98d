/**
 * The server and the client run as an unprivileged uid with only
 * CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (what the systemd units grant),
 * dropped with `setpriv` inside network namespaces: the server binds port
 * 443, the client brings its tunnel up, a ping crosses it, and both
 * processes are checked to hold exactly that uid and those capabilities.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "../helpers/netns.ts";
import { createTopology, POOL_YAML, SERVER_IP, TUNNEL_LOCAL } from "../server_fixture.ts";
import { SSTP_V8_FLAGS } from "../../lib/runtime_flags.ts";
import { toHex } from "../../lib/bytes/hex.ts";

const ignore = netnsTestIgnore("unprivileged sstp netns test");
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** Debian's "nobody": stands in for the units' dedicated `sstp` user. */
const UID = 65534;
/** CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12). */
const CAPS_MASK = (1n << 10n) | (1n << 12n);

class Child {
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #pumps: Promise<void>;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(netns: string, args: string[], env: Record<string, string>) {
    const caps = "+net_admin,+net_bind_service";
    this.#child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        netns,
        // /dev/net/tun is 0600 root here (Debian's default is 0666): give the
        // process its own node, owned by its uid, in a private mount
        // namespace, much as the unit's DeviceAllow= and PrivateDevices do.
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        `mount -t tmpfs -o mode=755 sstp-test-dev /dev/net && mknod -m 0600 /dev/net/tun c 10 200 && chown ${UID}:${UID} /dev/net/tun && exec "$@"`,
        "sh",
        "setpriv",
        `--reuid=${UID}`,
        `--regid=${UID}`,
        "--clear-groups",
        `--inh-caps=-all,${caps}`,
        `--ambient-caps=-all,${caps}`,
        `--bounding-set=-all,${caps}`,
        "--no-new-privs",
        Deno.execPath(),
        "run",
        "-A",
        `--v8-flags=${SSTP_V8_FLAGS}`,
        MAIN,
        ...args,
      ],
      clearEnv: true,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = Promise.all([this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)])
      .then(() => {});
    this.status = this.#child.status;
  }

  get pid(): number {
    return this.#child.pid;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts);
    }
    if (rest) this.lines.push(rest);
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.status.then(() => exited = true);
    while (Date.now() < deadline) {
      if (this.lines.some((l) => re.test(l))) return;
      if (exited) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no line matching ${re}:\n${this.lines.join("\n")}`);
  }

  async stop(): Promise<number> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 15_000);
    const s = await this.status;
    clearTimeout(timer);
    await this.#pumps;
    return s.code;
  }
}

/** Uid and effective/permitted capabilities of a running process. */
async function credentials(pid: number): Promise<{ uid: number; eff: bigint; prm: bigint }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "m").exec(status)?.[1] ?? "";
  return {
    uid: Number(field("Uid").split(/\s+/)[1]),
    eff: BigInt(`0x${field("CapEff")}`),
    prm: BigInt(`0x${field("CapPrm")}`),
  };
}

async function chownTree(path: string): Promise<void> {
  await Deno.chown(path, UID, UID);
  for await (const e of Deno.readDir(path)) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) await chownTree(p);
    else await Deno.chown(p, UID, UID);
  }
}

Deno.test({
  name: "server on port 443 and client run as an unprivileged uid with CAP_NET_ADMIN only",
  ignore,
}, async () => {
  await using t = await createTopology();
  const config = `${t.dir}/sstp.yaml`;
  await Deno.writeTextFile(
    config,
    `sstp-server:
  certificate: ${t.pemPath}
  port: 443
  listen: ${SERVER_IP}
  state-dir: ${t.dir}/state
  control-socket: ${t.dir}/run/sstp-server.sock
${POOL_YAML}secrets:
  - { name: alice, password: alice-pw }
`,
    { mode: 0o600 },
  );
  for (const d of ["state", "run", "run-client", "home", "deno"]) await Deno.mkdir(`${t.dir}/${d}`);
  // Deno's module cache, the way the unit's CacheDirectory= gives it one.
  const denoDir = Deno.env.get("DENO_DIR");
  await chownTree(t.dir);
  const env = {
    HOME: `${t.dir}/home`,
    ...(denoDir === undefined ? {} : { DENO_DIR: denoDir }),
  };
  // The deno cache of the test's own user is reused read-only when it is readable.
  const server = new Child(t.server.name, ["serve", "--config", config], env);
  let client: Child | undefined;
  try {
    await server.waitFor(/listening on 198\.18\.1\.1:443/, 30_000);
    const s = await credentials(server.pid);
    assert.equal(s.uid, UID);
    assert.equal(s.eff, CAPS_MASK, `server CapEff ${s.eff.toString(16)}`);
    assert.equal(s.prm, CAPS_MASK);
    client = new Child(t.client.name, [
      "connect",
      SERVER_IP,
      "--port",
      "443",
      "--user",
      "alice",
      "--server-fingerprint",
      `sha256:${toHex(t.fingerprint)}`,
      "--name",
      "sstp-unpriv",
      "--metrics",
      "127.0.0.1:9479",
    ], { ...env, SSTP_PASSWORD: "alice-pw", SSTP_RUN_DIR: `${t.dir}/run-client` });
    await client.waitFor(/up: sstp-unpriv/, 30_000);
    const c = await credentials(client.pid);
    assert.equal(c.uid, UID);
    assert.equal(c.eff, CAPS_MASK);
    const ping = await t.client.exec(["ping", "-c", "2", "-W", "2", TUNNEL_LOCAL]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    // The client's own /metrics (--metrics), scraped inside its namespace.
    const scraped = await t.client.run([
      "curl",
      "-sf",
      "--max-time",
      "5",
      "http://127.0.0.1:9479/metrics",
    ]);
    assert.match(scraped, /^sstp_client_up 1$/m);
    assert.match(scraped, /^sstp_client_phase\{phase="connected"\} 1$/m);
    const txPackets = Number(
      /^sstp_client_traffic_packets_total\{direction="tx"\} (\d+)$/m.exec(scraped)?.[1],
    );
    assert.ok(txPackets >= 2, scraped);
    if ((await t.client.exec(["sh", "-c", "command -v promtool"])).code === 0) {
      await Deno.writeTextFile(`${t.dir}/client-metrics.txt`, scraped);
      const check = await t.client.exec([
        "sh",
        "-c",
        `promtool check metrics < ${t.dir}/client-metrics.txt`,
      ]);
      assert.equal(check.code, 0, check.stdout + check.stderr);
    }
    // The control sockets answer (made by the unprivileged processes).
    const status = await t.server.exec([
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "status",
      "--dir",
      `${t.dir}/run`,
    ]);
    assert.match(status.stdout, /alice/, status.stderr);
    assert.equal(await client.stop(), 0, client.lines.join("\n"));
    client = undefined;
    assert.equal(await server.stop(), 0, server.lines.join("\n"));
    const leaked = await t.client.exec(["ip", "link", "show", "sstp-unpriv"]);
    assert.notEqual(leaked.code, 0, "the client's TUN device is gone");
  } finally {
    await client?.stop();
    await server.stop();
  }
});
