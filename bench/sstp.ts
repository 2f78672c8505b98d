/**
 * The real `sstp` program under test: `sstp serve` (zero-config: a
 * self-signed certificate and a random password in a temp state dir, a
 * 198.18.x pool) in namespace A and `sstp connect` in namespace B, each a
 * separate Deno process started from main.ts.
 *
 * @module
 */
import { BenchProcess, runIn } from "./process.ts";
import { onCleanup } from "./cleanup.ts";
import { VETH } from "./netns_pair.ts";
import { SSTP_DENO_RUN_FLAGS } from "../lib/runtime_flags.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Zero-config pool: 2,046 client addresses; the server side is 198.18.220.1. */
export const SSTP_POOL = "198.18.220.2-198.18.227.254";

/** Command line that runs main.ts with the current deno (by default with the shipped V8 flags). */
export function sstpCommand(
  args: string[],
  denoFlags: readonly string[] = SSTP_DENO_RUN_FLAGS,
): string[] {
  return [Deno.execPath(), "run", "--allow-all", ...denoFlags, MAIN, ...args];
}

/** A running `sstp serve`. */
export class SstpServer {
  readonly proc: BenchProcess;
  readonly user: string;
  readonly password: string;
  /** `sha256:HEX` of the server certificate. */
  readonly fingerprint: string;
  readonly port: number;
  readonly #stateDir: string;
  readonly #unregister: () => void;

  private constructor(
    proc: BenchProcess,
    stateDir: string,
    credentials: { user: string; password: string; fingerprint: string; port: number },
    unregister: () => void,
  ) {
    this.proc = proc;
    this.#stateDir = stateDir;
    this.user = credentials.user;
    this.password = credentials.password;
    this.fingerprint = credentials.fingerprint;
    this.port = credentials.port;
    this.#unregister = unregister;
  }

  /** Starts `sstp serve` in `netns` and waits until it listens. */
  static async start(
    netns: string,
    options: {
      port?: number;
      logLevel?: string;
      pool?: string;
      denoFlags?: string[];
      /** Zero-config user (default `sstp`); the server's TUN devices are named `sstp-USER`. */
      user?: string;
      /** More `sstp serve` arguments. */
      extraArgs?: string[];
    } = {},
  ): Promise<SstpServer> {
    const stateDir = await Deno.makeTempDir({ prefix: "sstp-bench-serve-" });
    const removeDir = () => Deno.remove(stateDir, { recursive: true }).catch(() => {});
    const unregister = onCleanup(removeDir);
    const port = options.port ?? 443;
    if (options.user !== undefined) {
      // Zero-config keeps the credentials it finds in its state directory.
      const password = Array.from(
        crypto.getRandomValues(new Uint8Array(16)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      await Deno.writeTextFile(
        `${stateDir}/credentials.json`,
        JSON.stringify({ user: options.user, password }),
        { mode: 0o600 },
      );
    }
    const proc = new BenchProcess(
      sstpCommand([
        "serve",
        "--state-dir",
        stateDir,
        "--listen",
        VETH.a,
        "--port",
        String(port),
        "--pool",
        options.pool ?? SSTP_POOL,
        "--control-socket",
        `${stateDir}/control.sock`,
        "--log-level",
        options.logLevel ?? "warn",
        ...(options.extraArgs ?? []),
      ], options.denoFlags),
      { netns },
    );
    try {
      await proc.waitFor(/connect with:/, 30_000);
      const fingerprint = /certificate (sha256:[0-9A-Fa-f]{64})/.exec(proc.output)?.[1];
      if (!fingerprint) throw new Error(`sstp serve printed no fingerprint:\n${proc.tail()}`);
      const credentials = JSON.parse(
        await Deno.readTextFile(`${stateDir}/credentials.json`),
      ) as { user: string; password: string };
      // The banner comes before the listener is bound: probe the port.
      const deadline = performance.now() + 10_000;
      for (;;) {
        const probe = await new Deno.Command("ip", {
          args: ["netns", "exec", netns, "ss", "-Hltn", `sport = :${port}`],
          stdout: "piped",
          stderr: "null",
        }).output();
        if (new TextDecoder().decode(probe.stdout).includes("LISTEN")) break;
        if (performance.now() > deadline || proc.exited) {
          throw new Error(`sstp serve does not listen on ${port}:\n${proc.tail()}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return new SstpServer(proc, stateDir, { ...credentials, fingerprint, port }, unregister);
    } catch (e) {
      await proc.stop(3000);
      await removeDir();
      unregister();
      throw e;
    }
  }

  /** Stops the server and removes its state dir. */
  async stop(): Promise<void> {
    await this.proc.stop(5000);
    await Deno.remove(this.#stateDir, { recursive: true }).catch(() => {});
    this.#unregister();
  }
}

/** `sstp connect` arguments against `server` (password in SSTP_PASSWORD), pinned by fingerprint. */
export function sstpConnectArgs(server: SstpServer, name: string, logLevel: string): string[] {
  return [
    "connect",
    "--connect-to",
    `${VETH.a}:${server.port}`,
    "--user",
    server.user,
    "--server-fingerprint",
    server.fingerprint,
    "--verify-server-address-from-certificate",
    "no",
    "--name",
    name,
    "--reconnect",
    "no",
    "--log-level",
    logLevel,
  ];
}

/** A connected `sstp connect`. */
export interface SstpClient {
  proc: BenchProcess;
  /** The server's address inside the tunnel. */
  serverAddress: string;
  localAddress: string;
  interfaceName: string;
  mtu: number;
  /** From spawning the client to its ` up:` line, ms. */
  connectMs: number;
  /** From the client's first log line to the ` up:` line, ms (excludes Deno start-up). */
  handshakeMs: number;
}

let clientCounter = 0;

/** Starts `sstp connect` in `netns` and waits until the tunnel is up and answers a ping. */
export async function connectSstp(
  netns: string,
  server: SstpServer,
  options: {
    logLevel?: string;
    denoFlags?: string[];
    extraArgs?: string[];
    env?: Record<string, string>;
  } = {},
): Promise<SstpClient> {
  const name = `sbc${Deno.pid % 10000}x${clientCounter++ % 100}`;
  const proc = new BenchProcess(
    sstpCommand(
      [...sstpConnectArgs(server, name, options.logLevel ?? "info"), ...(options.extraArgs ?? [])],
      options.denoFlags,
    ),
    { netns, env: { SSTP_PASSWORD: server.password, ...options.env } },
  );
  try {
    const up = await proc.waitFor(/ up: (\S+) ([\d.]+) peer ([\d.]+) mtu (\d+)/, 30_000);
    const m = / up: (\S+) ([\d.]+) peer ([\d.]+) mtu (\d+)/.exec(up.text)!;
    const first = proc.lines[0]!;
    await runIn(netns, ["ping", "-n", "-c", "1", "-W", "2", m[3]!], 5000);
    return {
      proc,
      interfaceName: m[1]!,
      localAddress: m[2]!,
      serverAddress: m[3]!,
      mtu: Number(m[4]),
      connectMs: up.atMs - proc.startedAtMs,
      handshakeMs: up.atMs - first.atMs,
    };
  } catch (e) {
    await proc.stop(3000);
    throw new Error(`${e instanceof Error ? e.message : e}\n${proc.tail()}`);
  }
}
