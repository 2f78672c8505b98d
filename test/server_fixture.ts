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
import { createNetns, type Netns } from "./helpers/netns.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import { certificateFingerprint } from "../lib/cert/fingerprint.ts";
import { leafCertificateDer } from "../lib/cert/pem.ts";

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
export async function createTopology(): Promise<Topology> {
  const server = await createNetns({ prefix: "sstp-s" });
  let client: Netns | undefined;
  const dir = await Deno.makeTempDir({ prefix: "sstp-serve-test-" });
  try {
    client = await createNetns({ prefix: "sstp-c" });
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

/** A config file for the topology; `extra` is appended (YAML). */
export async function writeConfig(t: Topology, body: string): Promise<string> {
  const path = `${t.dir}/sstp.yaml`;
  const text = `sstp-server:
  certificate: ${t.pemPath}
  port: ${PORT}
  listen: ${SERVER_IP}
  state-dir: ${t.dir}/state
  control-socket: ${t.dir}/control/sstp-server.sock
  keepalive-timeout: 30
${body}`;
  await Deno.writeTextFile(path, text, { mode: 0o600 });
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

  /** Starts `sstp serve ARGS` inside `ns` (with `env` added) and waits for "listening on". */
  static async start(
    ns: Netns,
    args: string[],
    echo = false,
    env: Record<string, string> = {},
  ): Promise<ServeProcess> {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns.name, Deno.execPath(), "run", "-A", mainPath(), "serve", ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const p = new ServeProcess(child, echo || Deno.env.get("SSTP_TEST_ECHO") === "1");
    const ready = await Promise.race([
      p.waitFor(/listening on/, 30_000).then(() => true, () => false),
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

  /** Process id of the server (`ip netns exec` execs into deno, so it is deno's). */
  get pid(): number {
    return this.#child.pid;
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
