/**
 * `sstp demo`: a server and a client in two fresh network namespaces.
 *
 * ```
 *  netns sstp-demo-s-XXXX                        netns sstp-demo-c-XXXX
 *  ┌──────────────────────────┐  veth 198.18.42.0/30  ┌──────────────────────────┐
 *  │ sstp serve (zero-config) │───────────────────────│ sstp connect             │
 *  │ 198.18.42.1:443          │ .1                 .2 │ sstp-demo 198.18.43.x    │
 *  │ tunnel 198.18.43.1       │                       │                          │
 *  └──────────────────────────┘                       └──────────────────────────┘
 * ```
 *
 * Everything it creates (namespaces, the veth pair, the state directory,
 * processes) is removed on exit, on error and on SIGINT/SIGTERM. Traffic stays
 * inside the two namespaces (198.18.0.0/15 only). Every wait is bounded.
 *
 * @module
 */
import type { CommandContext } from "../command_context.ts";
import { EXIT_CODE } from "../command_context.ts";
import { SSTP_DENO_RUN_FLAGS } from "../runtime_flags.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * How to start this program again: `deno run -A main.ts` from source, or the
 * binary itself when compiled (`deno compile`), where `Deno.execPath()` is sstp.
 */
function self(): string[] {
  const exe = Deno.execPath();
  return /(^|\/)deno$/.test(exe) ? [exe, "run", "-A", ...SSTP_DENO_RUN_FLAGS, MAIN] : [exe];
}
const SERVER_ADDR = "198.18.42.1";
const CLIENT_ADDR = "198.18.42.2";
const POOL = "198.18.43.10-198.18.43.50";
const PROBE_PORT = "5201";

/** A child process whose output lines are collected and optionally echoed. */
class Child {
  readonly lines: string[] = [];
  readonly #proc: Deno.ChildProcess;
  readonly done: Promise<Deno.CommandStatus>;

  constructor(cmd: string[], env: Record<string, string>, echo?: (line: string) => void) {
    this.#proc = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      let rest = "";
      for await (const t of s.pipeThrough(new TextDecoderStream())) {
        rest += t;
        const parts = rest.split("\n");
        rest = parts.pop() ?? "";
        for (const l of parts) {
          this.lines.push(l);
          echo?.(l);
        }
      }
    };
    const pumps = Promise.all([pump(this.#proc.stdout), pump(this.#proc.stderr)]);
    this.done = this.#proc.status.then(async (s) => {
      await pumps;
      return s;
    });
  }

  async waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> {
    const deadline = performance.now() + ms;
    let exited = false;
    void this.done.then(() => (exited = true));
    while (performance.now() < deadline) {
      for (const l of this.lines) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (exited) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`gave up waiting for ${re} after ${ms} ms`);
  }

  kill(signal: Deno.Signal): void {
    try {
      this.#proc.kill(signal);
    } catch { /* gone */ }
  }

  async stop(ms: number): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const t = setTimeout(() => this.kill("SIGKILL"), ms);
    const s = await this.done;
    clearTimeout(t);
    return s;
  }
}

async function ip(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

function netnsExec(ns: string, cmd: string[]): string[] {
  return ["ip", "netns", "exec", ns, ...cmd];
}

/** Runs the demo; returns an exit code. */
export async function runDemo(ctx: CommandContext): Promise<number> {
  if (Deno.uid() !== 0) {
    ctx.printError("sstp demo: needs root (it creates network namespaces and TUN devices)");
    return EXIT_CODE.OS;
  }
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    ctx.printError("sstp demo: /dev/net/tun is missing (load the tun module)");
    return EXIT_CODE.OS;
  }
  const tag = crypto.getRandomValues(new Uint8Array(2)).reduce(
    (s, b) => s + b.toString(16).padStart(2, "0"),
    "",
  );
  const nsS = `sstp-demo-s-${tag}`;
  const nsC = `sstp-demo-c-${tag}`;
  const vethS = `vdemo-s-${tag}`;
  const vethC = `vdemo-c-${tag}`;
  const stateDir = await Deno.makeTempDir({ prefix: "sstp-demo-" });
  const children: Child[] = [];
  const say = (line: string) => ctx.print(line);
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    for (const c of children) c.kill("SIGTERM");
  };
  const unsubscribe = [ctx.onSignal("SIGINT", onSignal), ctx.onSignal("SIGTERM", onSignal)];
  try {
    say(
      `== namespaces ${nsS} (server) and ${nsC} (client), veth ${SERVER_ADDR} <-> ${CLIENT_ADDR}`,
    );
    await ip(["netns", "add", nsS]);
    await ip(["netns", "add", nsC]);
    await ip(["link", "add", vethS, "netns", nsS, "type", "veth", "peer", vethC, "netns", nsC]);
    await ip(["-n", nsS, "addr", "add", `${SERVER_ADDR}/30`, "dev", vethS]);
    await ip(["-n", nsC, "addr", "add", `${CLIENT_ADDR}/30`, "dev", vethC]);
    for (const [ns, dev] of [[nsS, vethS], [nsC, vethC]] as const) {
      await ip(["-n", ns, "link", "set", "lo", "up"]);
      await ip(["-n", ns, "link", "set", dev, "up"]);
    }

    say(`== sstp serve (zero-config, state in ${stateDir})`);
    const server = new Child(
      netnsExec(nsS, [
        ...self(),
        "serve",
        "--state-dir",
        stateDir,
        "--listen",
        SERVER_ADDR,
        "--pool",
        POOL,
        "--control-socket",
        `${stateDir}/run/sstp-server.sock`,
      ]),
      { SSTP_RUN_DIR: `${stateDir}/run` },
      (l) => say(`   server | ${l}`),
    );
    children.push(server);
    const fp = await server.waitFor(/certificate (sha256:[0-9A-Fa-f:]+)/, 60_000);
    await server.waitFor(/listening/i, 30_000);
    const cred = JSON.parse(await Deno.readTextFile(`${stateDir}/credentials.json`)) as {
      user: string;
      password: string;
    };

    say(`== sstp connect ${SERVER_ADDR} --user ${cred.user} --server-fingerprint ${fp[1]}`);
    const t0 = performance.now();
    const client = new Child(
      netnsExec(nsC, [
        ...self(),
        "connect",
        SERVER_ADDR,
        "--user",
        cred.user,
        "--server-fingerprint",
        fp[1]!,
        "--verify-server-address-from-certificate",
        "no",
        "--name",
        "sstp-demo",
      ]),
      { SSTP_PASSWORD: cred.password, SSTP_RUN_DIR: `${stateDir}/run-client` },
      (l) => say(`   client | ${l}`),
    );
    children.push(client);
    const up = await client.waitFor(/ up: sstp-demo (\S+) peer (\S+)/, 60_000);
    const tunnelServer = up[2]!;
    say(
      `== tunnel up in ${(performance.now() - t0).toFixed(0)} ms (process start included): ${
        up[1]
      } <-> ${up[2]}`,
    );

    const sink = new Child(
      netnsExec(nsS, [...self(), "probe", "serve", tunnelServer, PROBE_PORT, "30"]),
      {},
      (l) => l !== "ready" && say(`   ${l}`),
    );
    children.push(sink);
    await sink.waitFor(/ready/, 30_000);
    const pingCmd = (await hasPing())
      ? netnsExec(nsC, ["ping", "-c", "3", "-i", "0.2", "-W", "2", tunnelServer])
      : netnsExec(nsC, [...self(), "probe", "rtt", tunnelServer, PROBE_PORT, "5"]);
    say(`== ping ${tunnelServer} through the tunnel`);
    const ping = new Child(pingCmd, {}, (l) => say(`   ${l}`));
    children.push(ping);
    const pingStatus = await ping.done;

    say(`== throughput: 3 s of TCP through the tunnel, client -> server`);
    const send = new Child(
      netnsExec(nsC, [...self(), "probe", "send", tunnelServer, PROBE_PORT, "3"]),
      {},
      (l) => say(`   ${l}`),
    );
    children.push(send);
    await send.done;

    say("== sstp status (client)");
    const status = new Child(
      netnsExec(nsC, [...self(), "status", "--dir", `${stateDir}/run-client`]),
      { SSTP_RUN_DIR: `${stateDir}/run-client` },
      (l) => say(`   ${l}`),
    );
    children.push(status);
    await status.done;

    say("== disconnecting (SIGTERM: Call Disconnect, cleanup)");
    const cs = await client.stop(15_000);
    const ss = await server.stop(15_000);
    await sink.stop(5000);
    const ok = pingStatus.success && cs.code === 0 && ss.code === 0 && !interrupted;
    say(ok ? "== demo finished: everything worked" : "== demo finished with problems (see above)");
    return ok ? EXIT_CODE.OK : EXIT_CODE.FAILURE;
  } catch (e) {
    ctx.printError(`sstp demo: ${(e as Error).message}`);
    return interrupted ? EXIT_CODE.OK : EXIT_CODE.FAILURE;
  } finally {
    for (const c of children) await c.stop(5000);
    for (const ns of [nsS, nsC]) await ip(["netns", "del", ns]).catch(() => {});
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    for (const u of unsubscribe) u();
    say(`== removed ${nsS}, ${nsC}, the veth pair and ${stateDir}`);
  }
}

async function hasPing(): Promise<boolean> {
  try {
    const out = await new Deno.Command("ping", { args: ["-V"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}
