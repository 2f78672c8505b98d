/**
 * An in-process SSTP test client for server tests: `dialTls` + the HTTP
 * preamble + `createClientEngine` + `TunnelRunner`, with either a
 * {@linkcode MemoryTun} or a real TUN device in a client namespace.
 *
 * The TCP connection is opened from inside `netns` (the socket is created
 * synchronously while the JS thread is switched into it), so the server may
 * run in another namespace reached over a veth pair.
 *
 * `tamperCallConnected` flips one byte of the Compound MAC in the Call
 * Connected message on its way out: the raw-protocol client that a correct
 * server must abort (MS-SSTP 3.3.5.2.x, crypto binding check).
 *
 * @module
 */
import type { DirectLane } from "../../lib/duplex.ts";
import { denoConnDuplex } from "../../lib/transport/_deno_conn_duplex.ts";
import { leafCertificateDer } from "../../lib/cert/pem.ts";
import { readPreamble } from "../../lib/transport/preamble.ts";
import { buildSstpHttpRequest, parseSstpHttpResponse } from "../../lib/sstp/http_preamble.ts";
import { certHashes } from "../../lib/sstp/crypto_binding.ts";
import { createClientEngine } from "../../lib/tunnel/client_engine.ts";
import type { SessionEngine } from "../../lib/tunnel/session_engine.ts";
import { type RunnerTransport, type RunResult, TunnelRunner } from "../../lib/pipeline/runner.ts";
import type { IpConfig } from "../../lib/tunnel/events.ts";
import type { AuthMethod } from "../../lib/ppp/auth/auth_types.ts";
import type { TunDevice } from "../../lib/tun.ts";
import { systemClock } from "../../lib/clock.ts";
import { createLogger, type Logger, type LogLevel, NOOP_LOGGER } from "../../lib/log.ts";
import { openLinuxTun } from "../../ffi/linux_tun.ts";
import { MemoryTun } from "./memory_tun.ts";
import type { Netns } from "./netns.ts";

/** Options of {@linkcode TestClient.connect}. */
export interface TestClientOptions {
  /** Namespace to dial from. */
  netns: Netns;
  host: string;
  port: number;
  user: string;
  password: string;
  authentication?: AuthMethod[];
  /**
   * The server certificate (PEM): trusted as the only CA, and hashed for
   * the crypto binding (the configured-hash way, MS-SSTP 3.2.5.2).
   */
  serverCertPem: string;
  /** Flip a Compound MAC byte in Call Connected. */
  tamperCallConnected?: boolean;
  /** A real TUN of this name in `netns` (addressed with `ip`), else a MemoryTun. */
  tunName?: string;
  /**
   * Negotiate IPV6CP and leave IPv6 to the client namespace's kernel, as
   * pppd does on ppp0: the link-local from the negotiated identifier with
   * prefix length 10 (pppd's sif6addr), no kernel-made link-local (a ppp
   * device gets none: `addrgenmode none`), and every Router Advertisement
   * delivered to the device. Needs `tunName`.
   */
  kernelIpv6?: boolean;
  /** Log to the console at this level (default: silent). */
  logLevel?: LogLevel;
  /** Tag for log lines. */
  tag?: string;
}

/** A running test client session. */
export class TestClient {
  readonly engine: SessionEngine;
  readonly runner: TunnelRunner;
  /** Resolves with the negotiated addresses; rejects when the session ends first. */
  readonly linkUp: Promise<IpConfig>;
  /** Resolves when the session is over. */
  readonly done: Promise<RunResult>;
  /** The device once the link is up. */
  tun: TunDevice | undefined;
  /** Data packets the server sent before the link was up (should stay 0). */
  get droppedInbound(): number {
    return this.runner.counters.droppedInbound;
  }
  #tunClosed: Promise<void> = Promise.resolve();

  private constructor(
    engine: SessionEngine,
    runner: TunnelRunner,
    linkUp: Promise<IpConfig>,
    done: Promise<RunResult>,
  ) {
    this.engine = engine;
    this.runner = runner;
    this.linkUp = linkUp;
    this.done = done;
  }

  /** Dials, sends the HTTP request, reads the 200 and starts the session. */
  static async connect(o: TestClientOptions): Promise<TestClient> {
    const log: Logger = o.logLevel === undefined ? NOOP_LOGGER : createLogger(
      o.logLevel,
      // deno-lint-ignore no-console
      (_l, line) => console.error(line),
      [o.tag ?? `client ${o.user}`],
    );
    // Deno.connect creates (and starts connecting) its socket synchronously,
    // so it lives in the client namespace. node:tls defers its connect past
    // enter() and would dial from the test's own namespace instead.
    const tcp = await o.netns.enter(() => ({
      p: Deno.connect({ hostname: o.host, port: o.port }),
    })).p;
    if (!/^198\.1[89]\./.test(tcp.localAddr.hostname)) {
      tcp.close();
      throw new Error(`test client dialled from ${tcp.localAddr.hostname}, not from its namespace`);
    }
    const tls = await Deno.startTls(tcp, { hostname: o.host, caCerts: [o.serverCertPem] });
    await tls.handshake();
    const duplex = denoConnDuplex(tls, {});
    const w = duplex.writable.getWriter();
    await w.write(
      buildSstpHttpRequest({ host: o.host, correlationId: `{${crypto.randomUUID()}}` }),
    );
    w.releaseLock();
    let leftover: Uint8Array;
    try {
      const got = await readPreamble(duplex.readable, parseSstpHttpResponse, 10_000, "response");
      if (got.header.response.status !== 200) {
        throw new Error(`server answered HTTP ${got.header.response.status}`);
      }
      leftover = got.leftover;
    } catch (e) {
      duplex.close();
      throw e;
    }
    const transport: RunnerTransport = o.tamperCallConnected
      ? { lane: tamperingLane(duplex.lane), close: () => duplex.close() }
      : duplex;
    const engine = createClientEngine({
      certHashes: certHashes(leafCertificateDer(o.serverCertPem)),
      user: o.user,
      password: o.password,
      authentication: o.authentication ?? ["mschap2", "mschap1", "chap", "pap"],
      helloMs: 60_000,
      randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
      logger: log,
      ...(o.kernelIpv6 ? { ipv6: true } : {}),
    });
    const up = Promise.withResolvers<IpConfig>();
    const self: { client?: TestClient } = {};
    const runner = new TunnelRunner({
      engine,
      transport,
      leftover,
      clock: systemClock,
      logger: log,
      onLinkUp: async (ip) => {
        let tun: TunDevice;
        if (o.tunName !== undefined) {
          const name = o.tunName;
          const real = o.netns.enter(() =>
            openLinuxTun({ name, mtu: ip.mtu, txQueueLen: 5000, up: !o.kernelIpv6 })
          );
          if (o.kernelIpv6) {
            await o.netns.run(["ip", "link", "set", "dev", name, "addrgenmode", "none"]);
            await o.netns.run(["ip", "link", "set", "dev", name, "up"]);
          }
          self.client!.#tunClosed = real.closed;
          tun = real;
          await o.netns.run([
            "ip",
            "addr",
            "add",
            ip.localAddress,
            "peer",
            `${ip.peerAddress}/32`,
            "dev",
            name,
          ]);
        } else tun = new MemoryTun("client-mem");
        self.client!.tun = tun;
        up.resolve(ip);
        return tun;
      },
      ...(o.kernelIpv6
        ? {
          onIpv6Up: async (ip6) => {
            await o.netns.run([
              "ip",
              "-6",
              "addr",
              "add",
              `${ip6.localLinkLocal}/10`,
              "dev",
              o.tunName!,
            ]);
            return undefined;
          },
        }
        : {}),
    });
    const done = runner.run().then((r) => {
      up.reject(r.error ?? new Error("session ended before the link came up"));
      self.client?.tun?.close();
      return r;
    });
    up.promise.catch(() => {});
    const client = new TestClient(engine, runner, up.promise, done);
    self.client = client;
    return client;
  }

  /** Disconnects gracefully and waits for the end (and the TUN to be gone). */
  async close(): Promise<RunResult> {
    this.runner.close("test done");
    const r = await this.done;
    this.tun?.close();
    await this.#tunClosed;
    return r;
  }
}

/** Flips the first Compound MAC byte of every outgoing Call Connected. */
function tamperingLane(inner: DirectLane): DirectLane {
  return {
    takeReads: (onChunk, onEnd) => inner.takeReads(onChunk, onEnd),
    write(chunk) {
      let out = chunk;
      // The output queue writes whole SSTP packets; walk their headers.
      for (let off = 0; off + 4 <= chunk.length;) {
        const isControl = (chunk[off]! === 0x10) && (chunk[off + 1]! & 1) === 1;
        const length = ((chunk[off + 2]! & 0x0f) << 8) | chunk[off + 3]!;
        if (length < 4) break;
        const type = (chunk[off + 4]! << 8) | chunk[off + 5]!;
        if (isControl && type === 0x0004 && off + 81 <= chunk.length) {
          if (out === chunk) out = chunk.slice();
          // 4 header + 4 message header + 4 attribute header + 4 reserved/hash
          // + 32 nonce + 32 cert hash = 80: the first Compound MAC byte.
          out[off + 80] = out[off + 80]! ^ 0xff;
        }
        off += length;
      }
      return inner.write(out);
    },
  };
}
