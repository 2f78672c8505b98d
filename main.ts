// deno-lint-ignore-file no-console
/**
 * `sstp`: an SSTP VPN client and server for Linux.
 *
 * The only file that binds console, Deno.exit, signals and the Linux platform
 * (`ffi/`). Picks the subcommand from the command line.
 *
 * @module
 */
import type { CommandContext, SignalName } from "./lib/command_context.ts";
import type { Platform } from "./lib/platform.ts";
import { openLinuxTun } from "./ffi/linux_tun.ts";
import { EpollReactor } from "./ffi/epoll_reactor.ts";
import { RtNetlink } from "./ffi/rtnetlink.ts";
import { interfaceIndex } from "./ffi/netdev.ts";
import type * as OpenSslDialer from "./ffi/openssl_dialer.ts";
import type * as OpenSslWorkerServer from "./ffi/openssl_worker_server.ts";

const USAGE = `usage: sstp <command> [options]

commands:
  connect     run the SSTP client (RouterOS /interface sstp-client properties)
  serve       run the SSTP server (RouterOS /interface sstp-server, /ppp secret, ...)
  status      show running tunnels and sessions (like RouterOS monitor)
  disconnect  end one server session
  cert        create and inspect certificates
  demo        client and server in two fresh network namespaces, with a ping and a throughput figure
  doctor      check this machine and a configuration, one line per problem with its fix
  import      translate a RouterOS export (sstp import routeros EXPORT.rsc > sstp.yaml)
  completions print a shell completion script (bash, zsh or fish)

  --version   print the version and the git commit

Run "sstp <command> --help" for a command's options.`;

type CommandModule = { main(argv: string[], ctx: CommandContext): Promise<number> };

/**
 * The module of each command, loaded on use. The specifiers are resolved as
 * `URL`s rather than written as `import("./...")` literals: Deno loads the
 * whole graph of every literal dynamic import when the importing module
 * loads, which made `sstp connect` read (not run) the server, certificate
 * and demo code too (~70 ms of start-up). `deno compile` needs these files
 * named with `--include` (see the `compile` task).
 */
const COMMANDS: Record<string, string> = {
  connect: "./lib/commands/connect.ts",
  serve: "./lib/commands/serve.ts",
  status: "./lib/commands/status.ts",
  disconnect: "./lib/commands/disconnect.ts",
  cert: "./lib/commands/cert.ts",
  demo: "./lib/commands/demo.ts",
  doctor: "./lib/commands/doctor.ts",
  import: "./lib/commands/import.ts",
  completions: "./lib/commands/completions.ts",
  // Internal: the TCP probes `sstp demo` runs inside its namespaces.
  probe: "./lib/demo/probe.ts",
};

function loadCommand(path: string): Promise<CommandModule> {
  return import(new URL(path, import.meta.url).href);
}

/**
 * The first TLS handshake of a Deno process stalls its JS thread for ~30 ms
 * of CPU while the runtime's TLS crypto library seeds its random generator
 * (once per process; the handshake's client random is its first use). An
 * ECDSA key generation seeds it too, and Web Crypto runs that on a worker
 * thread: started before the command's modules load, the seeding overlaps
 * with them instead of delaying `sstp connect`'s handshake (bench/README.md,
 * "Connect start-up"). The key is thrown away.
 */
function seedTlsRandom(): void {
  crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
    .catch(() => {});
}

const linuxPlatform: Platform = {
  openTun: (o) =>
    openLinuxTun({
      name: o.name,
      ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
      ...(o.txQueueLen !== undefined ? { txQueueLen: o.txQueueLen } : {}),
      ...(o.up !== undefined ? { up: o.up } : {}),
      ...(o.reactor ? { reactor: o.reactor as EpollReactor } : {}),
      ...(o.mode !== undefined ? { mode: o.mode } : {}),
    }),
  createReactor: () => new EpollReactor(),
  tlsEngine: async (name) =>
    (await import(new URL("./ffi/openssl_dialer.ts", import.meta.url).href) as typeof OpenSslDialer)
      .openSslDialer(name === "openssl-worker" ? "worker" : undefined),
  tlsEngineServer: async (name) =>
    name === "openssl-worker"
      ? (await import(
        new URL("./ffi/openssl_worker_server.ts", import.meta.url).href
      ) as typeof OpenSslWorkerServer).openSslWorkerServer()
      : (await import(
        new URL("./ffi/openssl_dialer.ts", import.meta.url).href
      ) as typeof OpenSslDialer).openSslServer(),
  openNetlink: () => {
    const nl = RtNetlink.open();
    return {
      interfaceIndex,
      addAddress: (r) => nl.addAddress(r),
      setLink: (r) => nl.setLink(r),
      addRoute: (r) => nl.addRoute(r),
      deleteRoute: (r) => nl.deleteRoute(r),
      addAddress6: (r) => nl.addAddress6(r),
      deleteAddress6: (r) => nl.deleteAddress6(r),
      addRoute6: (r) => nl.addRoute6(r),
      deleteRoute6: (r) => nl.deleteRoute6(r),
      close: () => nl.close(),
    };
  },
};

function context(): CommandContext {
  return {
    platform: linuxPlatform,
    print: (line) => console.log(line),
    isOutputTerminal: Deno.stdout.isTerminal(),
    printError: (line) => console.error(line),
    env: Deno.env.toObject(),
    onSignal(signal: SignalName, handler: () => void) {
      Deno.addSignalListener(signal, handler);
      return () => Deno.removeSignalListener(signal, handler);
    },
  };
}

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (command === "--version" || command === "-V" || command === "version") {
    const { gitCommit, versionLine } = await import(
      new URL("./lib/ops/version.ts", import.meta.url).href
    ) as typeof import("./lib/ops/version.ts");
    const here = new URL(".", import.meta.url);
    console.log(
      versionLine(here.protocol === "file:" ? await gitCommit(here.pathname) : undefined),
    );
    console.log(
      `deno ${Deno.version.deno}, v8 ${Deno.version.v8}, typescript ${Deno.version.typescript}`,
    );
    Deno.exit(0);
  }
  const path = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (path === undefined) {
    console.error(`sstp: unknown command "${command}"\n\n${USAGE}`);
    Deno.exit(64);
  }
  if (command === "connect") seedTlsRandom();
  let code: number;
  try {
    code = await (await loadCommand(path)).main(rest, context());
  } catch (e) {
    console.error(`sstp ${command}: ${e instanceof Error ? e.message : String(e)}`);
    code = e instanceof TypeError || e instanceof RangeError ? 64 : 1;
  }
  Deno.exit(code);
}
