/**
 * `sstp serve --config` for the session benchmarks: a generated certificate
 * (RSA-2048 or ECDSA P-256), one user, a pool large enough for the run, and
 * the admission limits raised for ONE load generator that dials every session
 * from one address. The defaults (8 handshakes and 8 unauthenticated
 * connections per source, login throttling on) exist to keep one address
 * from crowding out the others; a load test from one address is exactly that
 * address, so only this generated file raises them, never the defaults.
 *
 * The server runs under `prlimit --nofile` (a socket and a TUN fd per
 * session; the socket only with `interface-mode: shared`; with `tls-engine
 * openssl-worker` also the data-plane Worker's duplicate of the TUN fd),
 * raised for this process only.
 *
 * @module
 */
import { BenchProcess, runIn } from "./process.ts";
import { onCleanup } from "./cleanup.ts";
import { VETH } from "./netns_pair.ts";
import { sstpCommand } from "./sstp.ts";
import { createSelfSignedServerCertificate } from "../lib/cert/self_signed.ts";
import type { KeyType } from "../lib/cert/_generate.ts";
import { certificateFingerprint, formatFingerprint } from "../lib/cert/fingerprint.ts";
import { leafCertificateDer } from "../lib/cert/pem.ts";
import { SSTP_DENO_RUN_FLAGS } from "../lib/runtime_flags.ts";

/** Server address inside every tunnel (outside the pool). */
export const SCALE_LOCAL_ADDRESS = "198.19.255.1";
/** Client pool: 16,381 addresses (198.19.0.2 - 198.19.63.254). */
export const SCALE_POOL = "198.19.0.2-198.19.63.254";

/** The hard open-file limit this process may give its children (`ulimit -Hn`). */
export async function hardNofileLimit(): Promise<number> {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -Hn"], stdout: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? 1_048_576 : Number(text);
}

/**
 * Open files per server session: the TLS connection's socket and the TUN
 * device (`interface-mode: per-session`), or the socket only (`shared`).
 */
export function serverFdsPerSession(
  interfaceMode: string | undefined,
  tlsEngine?: string,
): number {
  const tun = interfaceMode === "shared" ? 0 : tlsEngine === "openssl-worker" ? 2 : 1;
  return 1 + tun;
}

/** Options of {@linkcode ScaleServer.start}. */
export interface ScaleServerOptions {
  /** Certificate key type (default `rsa2048`). */
  keyType?: KeyType;
  /** Sessions the run opens (sizes `max-sessions`). */
  sessions: number;
  /** Set-ups in flight at once from the load generator (sizes the per-source caps). */
  concurrency: number;
  port?: number;
  logLevel?: string;
  /** Deno flags of the server (default: the shipped ones). */
  denoFlags?: readonly string[];
  /** Open-file limit of the server (default: 2 per session + 1024). */
  nofile?: number;
  /** `--tls-engine` of `sstp serve` (default deno). */
  tlsEngine?: string;
  /** Keepalive (s) the server asks for (default 60: idle sessions stay idle). */
  keepaliveSeconds?: number;
  /** `interface-mode` of the server (default per-session: a TUN device per session). */
  interfaceMode?: "per-session" | "shared";
  /** Prefix the command (e.g. `perf record ...`); the server's PID is then not the first. */
  wrapper?: readonly string[];
}

/** A running `sstp serve --config` in the server namespace. */
export class ScaleServer {
  readonly proc: BenchProcess;
  readonly user = "load";
  readonly password: string;
  /** `sha256:HEX` of the server certificate. */
  readonly fingerprint: string;
  readonly port: number;
  readonly keyType: KeyType;
  readonly #dir: string;
  readonly #unregister: () => void;

  private constructor(
    proc: BenchProcess,
    dir: string,
    values: { password: string; fingerprint: string; port: number; keyType: KeyType },
    unregister: () => void,
  ) {
    this.proc = proc;
    this.#dir = dir;
    this.password = values.password;
    this.fingerprint = values.fingerprint;
    this.port = values.port;
    this.keyType = values.keyType;
    this.#unregister = unregister;
  }

  /** Writes the certificate and config, starts the server in `netns` and waits until it listens. */
  static async start(netns: string, o: ScaleServerOptions): Promise<ScaleServer> {
    const dir = await Deno.makeTempDir({ prefix: "sstp-bench-scale-" });
    const removeDir = () => Deno.remove(dir, { recursive: true }).catch(() => {});
    const unregister = onCleanup(removeDir);
    const keyType = o.keyType ?? "rsa2048";
    const port = o.port ?? 443;
    const password = Array.from(
      crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    let proc: BenchProcess | undefined;
    try {
      const cert = await createSelfSignedServerCertificate({
        commonName: "sstp-bench",
        ipAddresses: [VETH.a],
        keyType,
      });
      const pem = cert.certPem + cert.keyPem;
      await Deno.writeTextFile(`${dir}/server.pem`, pem, { mode: 0o600 });
      const fingerprint = formatFingerprint(
        certificateFingerprint(leafCertificateDer(pem)),
        "sha256",
      );
      // Per-source caps at the load generator's concurrency (+ slack for the
      // connections that are between TLS and login), global caps the same.
      const perSource = Math.max(8, o.concurrency * 2);
      const config = `sstp-server:
  certificate: ${dir}/server.pem
  port: ${port}
  listen: ${VETH.a}
  state-dir: ${dir}/state
  control-socket: ${dir}/control.sock
  keepalive-timeout: ${o.keepaliveSeconds ?? 60}
  max-sessions: ${Math.min(65535, o.sessions + 16)}
  max-handshakes: ${Math.max(256, perSource)}
  max-handshakes-per-source: ${perSource}
  max-unauthenticated: ${Math.max(256, perSource)}
  max-unauthenticated-per-source: ${perSource}
  auth-throttle: no
  interface-mode: ${o.interfaceMode ?? "per-session"}
profiles:
  - { name: default, local-address: ${SCALE_LOCAL_ADDRESS}, remote-address: load-pool }
pools:
  - { name: load-pool, ranges: ${SCALE_POOL} }
secrets:
  - { name: load, password: "${password}" }
`;
      await Deno.writeTextFile(`${dir}/sstp.yaml`, config, { mode: 0o600 });
      // Raising the hard limit needs CAP_SYS_RESOURCE; without it the
      // current hard limit is the most this process can get.
      const nofile = Math.min(
        o.nofile ?? o.sessions * serverFdsPerSession(o.interfaceMode, o.tlsEngine) + 1024,
        await hardNofileLimit(),
      );
      proc = new BenchProcess(
        [
          ...(o.wrapper ?? []),
          "prlimit",
          `--nofile=${nofile}:${nofile}`,
          ...sstpCommand([
            "serve",
            "--config",
            `${dir}/sstp.yaml`,
            "--log-level",
            o.logLevel ?? "warn",
            ...(o.tlsEngine === undefined ? [] : ["--tls-engine", o.tlsEngine]),
          ], o.denoFlags ?? SSTP_DENO_RUN_FLAGS),
        ],
        { netns },
      );
      // Probe the port (the "listening" line is info level; the bench logs errors only).
      const deadline = performance.now() + 30_000;
      for (;;) {
        const probe = await runIn(netns, ["ss", "-Hltn", `sport = :${port}`]);
        if (probe.includes("LISTEN")) break;
        if (performance.now() > deadline || proc.exited) {
          throw new Error(`sstp serve does not listen on ${port}:\n${proc.tail()}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return new ScaleServer(proc, dir, { password, fingerprint, port, keyType }, unregister);
    } catch (e) {
      await proc?.stop(3000);
      await removeDir();
      unregister();
      throw e;
    }
  }

  /** Stops the server (SIGTERM: every session is disconnected) and removes its files. */
  async stop(timeoutMs = 10_000): Promise<void> {
    await this.proc.stop(timeoutMs);
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
    this.#unregister();
  }
}
