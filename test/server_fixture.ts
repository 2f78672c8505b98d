/**
 * Shared set-up for the `sstp serve` netns tests:
 *
 * ```
 *  client ns (sstp-c-…)                    server ns (sstp-s-…)
 *  veth "v-cli" 198.18.1.2/24 ──────────── veth "v-srv" 198.18.1.1/24
 *  (test clients dial from here)           `deno run -A main.ts serve` :4433
 *                                          tunnels: local 198.19.0.1,
 *                                          clients 198.19.0.10-198.19.0.250
 * ```
 *
 * Only 198.18.0.0/15 addresses; everything lives in namespaces the test
 * created and removes.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import assert from "node:assert/strict";
import {
  createNetns,
  execCommand,
  type ExecResult,
  type Netns,
  netnsTestIgnore,
} from "./helpers/netns.ts";
import { TestClient, type TestClientOptions } from "./helpers/test_client.ts";
import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import { SstpProcess, waitUntil } from "./helpers/sstp_process.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { certificateFingerprint } from "../lib/cert/fingerprint.ts";
import { leafCertificateDer } from "../lib/cert/pem.ts";

/**
 * The ignore rule of every `sstp serve` netns suite: they need root and
 * /dev/net/tun, and are skipped without them unless CI is set.
 */
export const SERVE_NETNS_IGNORE: boolean = netnsTestIgnore("sstp serve netns tests");

/** Server address on the veth. */
export const SERVER_IP = "198.18.1.1";
/** Client address on the veth. */
export const CLIENT_IP = "198.18.1.2";
/** Server TCP port. */
export const PORT = 4433;
/** Server side of every tunnel. */
export const TUNNEL_LOCAL = "198.19.0.1";

/** Two namespaces joined by a veth pair. */
export interface Topology extends AsyncDisposable {
  server: Netns;
  client: Netns;
  dir: string;
  /** SHA-256 of the server certificate. */
  fingerprint: Uint8Array;
  /** The server certificate (PEM, no key). */
  certPem: string;
  pemPath: string;
}

let cachedPem: string | undefined;

/** Creates the namespaces, the veth pair, a temp dir and a certificate. */
export async function createTopology(
  options: { ipv6?: boolean; prefix?: string } = {},
): Promise<Topology> {
  const disableIpv6 = !(options.ipv6 ?? false);
  const prefix = options.prefix ?? "sstp";
  const server = await createNetns({ prefix: `${prefix}-s`, disableIpv6 });
  let client: Netns | undefined;
  const dir = await Deno.makeTempDir({ prefix: "sstp-serve-test-" });
  try {
    client = await createNetns({ prefix: `${prefix}-c`, disableIpv6 });
    await server.run(["ip", "link", "add", "v-srv", "type", "veth", "peer", "v-cli"]);
    await server.run(["ip", "link", "set", "v-cli", "netns", client.name]);
    await server.run(["ip", "addr", "add", `${SERVER_IP}/24`, "dev", "v-srv"]);
    await server.run(["ip", "link", "set", "v-srv", "up"]);
    await client.run(["ip", "addr", "add", `${CLIENT_IP}/24`, "dev", "v-cli"]);
    await client.run(["ip", "link", "set", "v-cli", "up"]);
    cachedPem ??= await (async () => {
      const c = await createSelfSignedServerCertificate({
        commonName: "sstp-test",
        ipAddresses: [SERVER_IP],
      });
      return c.certPem + c.keyPem;
    })();
    const certPem = cachedPem.slice(0, cachedPem.indexOf("-----END CERTIFICATE-----") + 26);
    const pemPath = `${dir}/server.pem`;
    await Deno.writeTextFile(pemPath, cachedPem, { mode: 0o600 });
    const fingerprint = certificateFingerprint(leafCertificateDer(cachedPem));
    const c = client;
    return {
      server,
      client: c,
      dir,
      fingerprint,
      certPem,
      pemPath,
      async [Symbol.asyncDispose]() {
        await c.cleanup();
        await server.cleanup();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (e) {
    await client?.cleanup();
    await server.cleanup();
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

/** Attacker address (a second veth into the server namespace). */
export const ATTACKER_IP = "198.18.2.2";

/**
 * Adds a third namespace that reaches {@linkcode SERVER_IP} from another
 * source address ({@linkcode ATTACKER_IP}, through veth "v-atk" ↔ "v-srv2"
 * 198.18.2.1/24 in the server namespace). Removed by the returned dispose.
 */
export async function createAttackerNamespace(t: Topology): Promise<Netns> {
  const attacker = await createNetns({ prefix: "sstp-a" });
  try {
    await t.server.run(["ip", "link", "add", "v-srv2", "type", "veth", "peer", "v-atk"]);
    await t.server.run(["ip", "link", "set", "v-atk", "netns", attacker.name]);
    await t.server.run(["ip", "addr", "add", "198.18.2.1/24", "dev", "v-srv2"]);
    await t.server.run(["ip", "link", "set", "v-srv2", "up"]);
    await attacker.run(["ip", "addr", "add", `${ATTACKER_IP}/24`, "dev", "v-atk"]);
    await attacker.run(["ip", "link", "set", "v-atk", "up"]);
    await attacker.run(["ip", "route", "add", `${SERVER_IP}/32`, "via", "198.18.2.1"]);
    return attacker;
  } catch (e) {
    await attacker.cleanup();
    throw e;
  }
}

/** The control socket of the topology's server (see {@linkcode writeConfig}). */
export function controlSocket(t: Topology): string {
  return `${t.dir}/control/sstp-server.sock`;
}

/**
 * A config file for the topology; `body` is appended (YAML). `server` sets
 * or adds `sstp-server` keys (YAML flow values, e.g. `{ listen: "[a, b]" }`).
 */
export async function writeConfig(
  t: Topology,
  body: string,
  server: Record<string, string | number> = {},
): Promise<string> {
  const path = `${t.dir}/sstp.yaml`;
  const keys: Record<string, string | number> = {
    certificate: t.pemPath,
    port: PORT,
    listen: SERVER_IP,
    "state-dir": `${t.dir}/state`,
    "control-socket": controlSocket(t),
    "keepalive-timeout": 30,
    ...server,
  };
  const lines = Object.entries(keys).map(([k, v]) => `  ${k}: ${v}\n`).join("");
  await Deno.writeTextFile(path, `sstp-server:\n${lines}${body}`, { mode: 0o600 });
  return path;
}

/** The usual profile and pool. */
export const POOL_YAML = `profiles:
  - { name: default, local-address: ${TUNNEL_LOCAL}, remote-address: pool1 }
pools:
  - { name: pool1, ranges: 198.19.0.10-198.19.0.250 }
`;

/** A running `sstp serve` process. */
export class ServeProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly stdout: string[] = [];
  readonly #waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  readonly #pumps: Promise<void>;

  private constructor(child: Deno.ChildProcess, echo: boolean) {
    this.#child = child;
    this.#pumps = Promise.all([
      this.#pump(child.stderr, this.lines, echo),
      this.#pump(child.stdout, this.stdout, echo),
    ]).then(() => {});
    this.status = child.status;
  }

  /**
   * Starts `sstp serve ARGS` inside `ns` (with `env` added) and waits for
   * "listening on". `nofile` runs it under `prlimit --nofile=N` (soft and hard
   * open-file limit).
   */
  static async start(
    ns: Netns,
    args: string[],
    echo = false,
    options: { nofile?: number; env?: Record<string, string> } = {},
  ): Promise<ServeProcess> {
    const limit = options.nofile === undefined ? [] : ["prlimit", `--nofile=${options.nofile}`];
    const serve = [Deno.execPath(), "run", "-A", mainPath(), "serve", ...args];
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns.name, ...limit, ...serve],
      env: options.env ?? {},
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const p = new ServeProcess(child, echo || Deno.env.get("SSTP_TEST_ECHO") === "1");
    const ready = await Promise.race([
      // The SSTP listener's line, not radius-incoming's ("listening on UDP port"), which may
      // come first.
      p.waitFor(/listening on .+; interfaces via/, 30_000).then(() => true, () => false),
      p.status.then(() => false),
    ]);
    if (!ready) {
      await p.stop();
      throw new Error(`sstp serve did not start:\n${p.lines.join("\n")}`);
    }
    return p;
  }

  async #pump(stream: ReadableStream<Uint8Array>, into: string[], echo: boolean): Promise<void> {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        into.push(line);
        if (echo) console.error(`[serve] ${line}`);
        for (const w of [...this.#waiters]) {
          if (w.re.test(line)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
  }

  /** Process id of the server (`ip netns exec` and `prlimit` exec into deno). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves with the first (past or future) output line matching `re`. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = [...this.lines, ...this.stdout].find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(`no line matching ${re} within ${timeoutMs} ms:\n${this.lines.join("\n")}`),
        );
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends a signal to the server (the `ip netns exec` child execs into deno). */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; returns the exit code. */
  async stop(timeoutMs = 15_000): Promise<number> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) =>
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, timeoutMs)
    );
    await Promise.race([this.status, killed]);
    const status = await this.status;
    clearTimeout(timer);
    await this.#pumps;
    return status.code;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop().then(() => {});
  }
}

function mainPath(): string {
  return new URL("../main.ts", import.meta.url).pathname;
}

/** Runs the `sstp` CLI (status, disconnect, …) in the test's own namespace (at most 30 s). */
export function runSstp(args: string[]): Promise<ExecResult> {
  return execCommand([Deno.execPath(), "run", "-A", mainPath(), ...args], { timeoutMs: 30_000 });
}

/**
 * The sessions `sstp status --json` shows for the server whose control
 * socket is under `dir`/control (the topology's `dir`, see
 * {@linkcode writeConfig}); asserts that the command succeeds.
 */
export async function statusSessions<T = Record<string, unknown>>(dir: string): Promise<T[]> {
  const r = await runSstp(["status", "--json", "--dir", `${dir}/control`]);
  assert.equal(r.code, 0, r.stderr);
  const [server] = JSON.parse(r.stdout) as { sessions: T[] }[];
  return server?.sessions ?? [];
}

/** What a suite may vary about a {@linkcode connectClient} client. */
export type ClientExtras = Partial<
  Pick<TestClientOptions, "authentication" | "tamperCallConnected" | "tunName" | "kernelIpv6">
>;

/**
 * An in-process SSTP client (memory TUN unless `tunName`) dialling the
 * server of `t` from the client namespace, trusting the test certificate.
 */
export function connectClient(
  t: Topology,
  user: string,
  password: string,
  extra: ClientExtras = {},
): Promise<TestClient> {
  return TestClient.connect({
    netns: t.client,
    host: SERVER_IP,
    port: PORT,
    user,
    password,
    serverCertPem: t.certPem,
    ...extra,
  });
}

/**
 * Pings the server's tunnel address through a memory-TUN client and checks
 * the reply: an echo reply from the server's address with the same sequence.
 */
export async function pingThroughTunnel(c: TestClient, seq: number, id = 42): Promise<void> {
  const ip = await c.linkUp;
  const tun = c.tun as MemoryTun;
  const before = tun.written.length;
  tun.inject(buildIcmpEcho(ip.localAddress, ip.peerAddress, { id, seq }));
  const reply = parseIcmp(await tun.nextWritten(before, 5000));
  assert.equal(reply?.type, 0, "echo reply");
  assert.equal(reply?.src, ip.peerAddress);
  assert.equal(reply?.seq, seq);
}

/**
 * `sstp connect` as a process in the client namespace, user `real`
 * (password `pw`) unless `login` names another, interface `name`, no
 * reconnect; `login.env` is added to its environment.
 */
export function connectProcess(
  t: Topology,
  name: string,
  extra: string[],
  login: { user?: string; password?: string; env?: Record<string, string> } = {},
): SstpProcess {
  return new SstpProcess([
    ...["connect", SERVER_IP, "--port", String(PORT)],
    ...["--user", login.user ?? "real", "--password", login.password ?? "pw"],
    ...["--name", name, "--reconnect", "no", ...extra],
  ], { netns: t.client.name, ...(login.env ? { env: login.env } : {}) });
}

/** Waits until interface `name` in the client namespace has its tunnel address. */
export async function waitTunnelUp(t: Topology, name: string): Promise<void> {
  await waitUntil(
    async () => {
      const r = await t.client.exec(["ip", "-br", "addr", "show", "dev", name]);
      return r.code === 0 && /198\.19\.0\.\d+ peer/.test(r.stdout);
    },
    20_000,
    `${name} up`,
  );
}

/** Pings the server's tunnel address from the client namespace. */
export async function pingTunnelFromClient(t: Topology): Promise<void> {
  const r = await t.client.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", TUNNEL_LOCAL]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}
