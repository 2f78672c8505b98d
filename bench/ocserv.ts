/**
 * ocserv + openconnect as the suite's second peer (issue 16): AnyConnect-style
 * VPN, TLS over TCP like SSTP (no DTLS: the config has no `udp-port`), both
 * C programs with one thread per session. A throwaway self-signed P-256
 * certificate and a password file are generated in a temp dir; ocserv listens
 * only on the veth address of namespace A (198.18.200.1:4443) and hands out
 * 198.18.250.0/24; openconnect in namespace B runs a tiny script of our own
 * instead of vpnc-script (address, MTU and one route on its device, nothing
 * else: no DNS, no default route) and prints a marker once the device is
 * configured, which is the "usable" moment of the connect time.
 *
 * @module
 */
import { BenchProcess, runIn } from "./process.ts";
import { onCleanup } from "./cleanup.ts";
import { VETH } from "./netns_pair.ts";

/** Tunnel addressing of the ocserv pair. */
export const OCSERV_NET = {
  network: "198.18.250.0",
  netmask: "255.255.255.0",
  prefix: "198.18.250.0/24",
  port: 4443,
} as const;

/** The marker the client script prints once the device is configured. */
const UP_MARKER = "ocserv-bench-up";

/** Certificate, password file, configs and the client script in a temp dir. */
export interface OcservFiles {
  dir: string;
  config: string;
  script: string;
  user: string;
  password: string;
  /** `pin-sha256:` of the server's public key, for openconnect `--servercert`. */
  pin: string;
  remove(): Promise<void>;
}

async function run(cmd: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (out.code !== 0) {
    throw new Error(`${cmd[0]} ${cmd[1]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** True when both programs are installed (`apt-get install ocserv openconnect`). */
export async function hasOcserv(): Promise<boolean> {
  for (const p of ["/usr/sbin/ocserv", "/usr/sbin/openconnect"]) {
    try {
      await Deno.stat(p);
    } catch {
      return false;
    }
  }
  return true;
}

/** Makes the certificate, the password file, the server config and the client script. */
export async function createOcservFiles(): Promise<OcservFiles> {
  const dir = await Deno.makeTempDir({ prefix: "sstp-bench-ocserv-" });
  const remove = async () => {
    unregister();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const unregister = onCleanup(remove);
  try {
    // ocserv's workers drop privileges: they must read the files.
    await Deno.chmod(dir, 0o755);
    await run([
      "openssl",
      "req",
      "-x509",
      ...["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", `${dir}/server.key`, "-out", `${dir}/server.crt`, "-days", "2"],
      ...["-subj", "/CN=sstp-bench-ocserv"],
    ]);
    const der = await run([
      "sh",
      "-c",
      `openssl x509 -in ${dir}/server.crt -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
    ]);
    const pin = `pin-sha256:${der.trim()}`;
    const user = "bench";
    const password = crypto.randomUUID();
    const hash = (await run(["openssl", "passwd", "-6", "-stdin"], password + "\n")).trim();
    await Deno.writeTextFile(`${dir}/passwd`, `${user}:*:${hash}\n`);
    const config = `${dir}/ocserv.conf`;
    await Deno.writeTextFile(
      config,
      [
        `auth = "plain[passwd=${dir}/passwd]"`,
        `listen-host = ${VETH.a}`,
        `tcp-port = ${OCSERV_NET.port}`,
        // No udp-port: no DTLS, the data goes over the TLS connection (as SSTP's).
        `socket-file = ${dir}/ocserv.sock`,
        `pid-file = ${dir}/ocserv.pid`,
        `server-cert = ${dir}/server.crt`,
        `server-key = ${dir}/server.key`,
        "run-as-user = nobody",
        "run-as-group = nogroup",
        "isolate-workers = false",
        "max-clients = 64",
        "max-same-clients = 64",
        "keepalive = 32400",
        "dpd = 90",
        "mobile-dpd = 1800",
        "try-mtu-discovery = false",
        "auth-timeout = 240",
        "cookie-timeout = 300",
        "deny-roaming = false",
        "rekey-time = 172800",
        "rekey-method = ssl",
        "use-occtl = false",
        "device = ocsv",
        "predictable-ips = true",
        `ipv4-network = ${OCSERV_NET.network}`,
        `ipv4-netmask = ${OCSERV_NET.netmask}`,
        `route = ${OCSERV_NET.network}/${OCSERV_NET.netmask}`,
        "ping-leases = false",
        "cisco-client-compat = true",
        "",
      ].join("\n"),
    );
    // openconnect calls this with the settings in the environment (reason=connect, ...).
    const script = `${dir}/client-script.sh`;
    await Deno.writeTextFile(
      script,
      [
        "#!/bin/sh",
        'case "$reason" in',
        "  connect)",
        '    ip link set dev "$TUNDEV" up mtu "${INTERNAL_IP4_MTU:-1400}"',
        '    ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"',
        `    ip route add ${OCSERV_NET.prefix} dev "$TUNDEV"`,
        `    echo "${UP_MARKER} $TUNDEV $INTERNAL_IP4_ADDRESS" >&2`,
        "    ;;",
        "esac",
        "exit 0",
        "",
      ].join("\n"),
    );
    await Deno.chmod(script, 0o755);
    return { dir, config, script, user, password, pin, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** A running ocserv. */
export class OcservServer {
  readonly proc: BenchProcess;
  private constructor(proc: BenchProcess) {
    this.proc = proc;
  }

  /** Starts ocserv in the foreground in `netns` and waits until it listens. */
  static async start(netns: string, files: OcservFiles): Promise<OcservServer> {
    const proc = new BenchProcess(["ocserv", "--foreground", "--config", files.config], { netns });
    try {
      await proc.waitFor(/listening \(TCP\) on/, 15_000);
      return new OcservServer(proc);
    } catch (e) {
      await proc.stop(3000);
      throw new Error(
        `ocserv did not start: ${e instanceof Error ? e.message : e}\n${proc.tail()}`,
      );
    }
  }

  /**
   * The process that carries the newest session's data: ocserv forks one
   * worker per connection (the newest child of the main process; the first
   * child is its security module).
   */
  async sessionWorkerPid(): Promise<number> {
    const out = await runIn(undefined, ["pgrep", "-n", "-P", String(this.proc.pid)]);
    const pid = Number(String(out).trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no ocserv worker process: ${out}`);
    return pid;
  }

  /** Stops it. */
  async stop(): Promise<void> {
    await this.proc.stop(3000);
  }
}

/** A connected openconnect client. */
export interface OcservClient {
  proc: BenchProcess;
  interfaceName: string;
  localAddress: string;
  /** The server's tunnel address (the first of the pool). */
  serverAddress: string;
  /** Spawn → the device configured. */
  connectMs: number;
  /** First log line → the device configured. */
  handshakeMs: number;
}

/** Connects openconnect (TLS only, `--no-dtls`) in `netns` and checks one ping. */
export async function connectOpenconnect(netns: string, files: OcservFiles): Promise<OcservClient> {
  const proc = new BenchProcess([
    "openconnect",
    "--protocol=anyconnect",
    "--no-dtls",
    "--non-inter",
    "--passwd-on-stdin",
    `--user=${files.user}`,
    `--servercert=${files.pin}`,
    `--script=${files.script}`,
    `https://${VETH.a}:${OCSERV_NET.port}/`,
  ], { netns, stdin: true });
  try {
    await proc.writeStdin(files.password + "\n");
    const up = await proc.waitFor(new RegExp(`${UP_MARKER} (\\S+) ([\\d.]+)`), 30_000);
    const m = new RegExp(`${UP_MARKER} (\\S+) ([\\d.]+)`).exec(up.text)!;
    const first = proc.lines[0]!;
    // ocserv's own end of every tunnel: the pool's first address.
    const serverAddress = OCSERV_NET.network.replace(/\.0$/, ".1");
    await runIn(netns, ["ping", "-n", "-c", "1", "-W", "2", serverAddress], 5000);
    return {
      proc,
      interfaceName: m[1]!,
      localAddress: m[2]!,
      serverAddress,
      connectMs: up.atMs - proc.startedAtMs,
      handshakeMs: up.atMs - first.atMs,
    };
  } catch (e) {
    await proc.stop(3000);
    throw new Error(`${e instanceof Error ? e.message : e}\n${proc.tail()}`);
  }
}

/** A started ocserv pair; {@linkcode OcservPair.stop} stops both and removes the files. */
export interface OcservPair {
  server: OcservServer;
  client: OcservClient;
  connect: { totalMs: number[]; handshakeMs: number[] };
  /** ocserv's worker of the measured session and the client, for the CPU columns. */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Starts ocserv in `netnsA`, measures `connects` connect times of openconnect
 * in `netnsB` (each stopped again), then connects the client the
 * measurements run through.
 */
export async function startOcservPair(
  netnsA: string,
  netnsB: string,
  connects: number,
  log: (line: string) => void,
): Promise<OcservPair> {
  const files = await createOcservFiles();
  let server: OcservServer | undefined;
  try {
    server = await OcservServer.start(netnsA, files);
    const connect = { totalMs: [] as number[], handshakeMs: [] as number[] };
    for (let i = 1; i <= connects; i++) {
      const c = await connectOpenconnect(netnsB, files);
      connect.totalMs.push(c.connectMs);
      connect.handshakeMs.push(c.handshakeMs);
      await c.proc.stop(3000);
      log(`connect ${i}/${connects}: ocserv ${c.connectMs.toFixed(0)} ms`);
    }
    const client = await connectOpenconnect(netnsB, files);
    const s = server;
    return {
      server: s,
      client,
      connect,
      pids: [await s.sessionWorkerPid(), client.proc.pid],
      stop: async () => {
        await client.proc.stop(3000);
        await s.stop();
        await files.remove();
      },
    };
  } catch (e) {
    await server?.stop();
    await files.remove();
    throw e;
  }
}
