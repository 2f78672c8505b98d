/**
 * OpenVPN over TCP, the peer `sstp` is measured against: Debian `openvpn`
 * 2.6 in TLS mode (a throwaway CA with server and client certificates made
 * by `openssl` in a temp dir), its default data cipher AES-256-GCM
 * (negotiated, checked in the log), `dev tun`, userspace (`disable-dco`),
 * `proto tcp-server` in namespace A and `tcp-client` in namespace B,
 * `topology subnet` with 198.18.210.0/24 inside the tunnel.
 *
 * @module
 */
import { BenchProcess, runIn } from "./process.ts";
import { onCleanup } from "./cleanup.ts";
import { VETH } from "./netns_pair.ts";

/** Tunnel addressing. */
export const OPENVPN_NET = {
  server: "198.18.210.1",
  network: "198.18.210.0",
  netmask: "255.255.255.0",
  port: 1194,
} as const;

/** Certificates and configs in a temp dir (removed by {@linkcode OpenVpnFiles.remove}). */
export interface OpenVpnFiles {
  dir: string;
  serverConfig: string;
  clientConfig: string;
  remove(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes the CA, the two leaf certificates and both configs. */
export async function createOpenVpnFiles(): Promise<OpenVpnFiles> {
  const dir = await Deno.makeTempDir({ prefix: "sstp-bench-ovpn-" });
  const remove = async () => {
    unregister();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const unregister = onCleanup(remove);
  try {
    await openssl(dir, [
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=sstp-bench-ca",
    ]);
    for (const [name, eku] of [["server", "serverAuth"], ["client", "clientAuth"]] as const) {
      await Deno.writeTextFile(
        `${dir}/${name}.ext`,
        `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=${eku}\n`,
      );
      await openssl(dir, [
        "req",
        ...EC_KEY,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=sstp-bench-${name}`,
      ]);
      await openssl(dir, [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      ]);
    }
    const common = [
      "dev-type tun",
      "disable-dco",
      `ca ${dir}/ca.crt`,
      "verb 3",
      "txqueuelen 1000",
    ];
    const serverConfig = `${dir}/server.conf`;
    await Deno.writeTextFile(
      serverConfig,
      [
        ...common,
        "dev ovpn-s",
        "proto tcp-server",
        `local ${VETH.a}`,
        `port ${OPENVPN_NET.port}`,
        `server ${OPENVPN_NET.network} ${OPENVPN_NET.netmask}`,
        "topology subnet",
        `cert ${dir}/server.crt`,
        `key ${dir}/server.key`,
        "dh none",
        "",
      ].join("\n"),
    );
    const clientConfig = `${dir}/client.conf`;
    await Deno.writeTextFile(
      clientConfig,
      [
        ...common,
        "client",
        "dev ovpn-c",
        "proto tcp-client",
        `remote ${VETH.a} ${OPENVPN_NET.port}`,
        "nobind",
        "connect-retry 1",
        "remote-cert-tls server",
        `cert ${dir}/client.crt`,
        `key ${dir}/client.key`,
        "",
      ].join("\n"),
    );
    return { dir, serverConfig, clientConfig, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** A running OpenVPN server. */
export class OpenVpnServer {
  readonly proc: BenchProcess;
  private constructor(proc: BenchProcess) {
    this.proc = proc;
  }

  /** Starts the server in `netns` and waits until it listens. */
  static async start(netns: string, files: OpenVpnFiles): Promise<OpenVpnServer> {
    const proc = new BenchProcess(["openvpn", "--config", files.serverConfig], { netns });
    try {
      await proc.waitFor(
        /Listening for incoming TCP connection|Initialization Sequence Completed/,
        15_000,
      );
    } catch (e) {
      await proc.stop(2000);
      throw e;
    }
    return new OpenVpnServer(proc);
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    await this.proc.stop(3000);
  }
}

/** A connected OpenVPN client. */
export interface OpenVpnClient {
  proc: BenchProcess;
  /** Address the server can be reached at through the tunnel. */
  serverAddress: string;
  /** Client's tunnel address. */
  localAddress: string;
  /** From spawning the client to "Initialization Sequence Completed", ms. */
  connectMs: number;
  /** From the client's first log line to that line, ms (excludes process start). */
  handshakeMs: number;
  /** Negotiated data channel cipher. */
  cipher: string;
}

/** Starts a client in `netns` and waits until the tunnel is up and answers a ping. */
export async function connectOpenVpn(netns: string, files: OpenVpnFiles): Promise<OpenVpnClient> {
  const proc = new BenchProcess(["openvpn", "--config", files.clientConfig], { netns });
  try {
    const ready = await proc.waitFor(/Initialization Sequence Completed/, 20_000);
    const first = proc.lines[0]!;
    const addr = /net_addr_v4_add: ([\d.]+)\/\d+/.exec(proc.output)?.[1] ??
      /ifconfig \S+ ([\d.]+)/.exec(proc.output)?.[1] ?? "?";
    // "Data Channel: cipher" may come just after the ready line; the pushed option comes before.
    const cipher = /Data Channel: cipher '([^']+)'/.exec(proc.output)?.[1] ??
      /PUSH_REPLY,.*\bcipher ([\w-]+)/.exec(proc.output)?.[1] ?? "?";
    await runIn(netns, ["ping", "-n", "-c", "1", "-W", "2", OPENVPN_NET.server], 5000);
    return {
      proc,
      serverAddress: OPENVPN_NET.server,
      localAddress: addr,
      connectMs: ready.atMs - proc.startedAtMs,
      handshakeMs: ready.atMs - first.atMs,
      cipher,
    };
  } catch (e) {
    await proc.stop(2000);
    throw e;
  }
}
