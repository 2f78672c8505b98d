/**
 * The `sstp-worker` pair of the suite: a third `sstp serve` (port 445, its
 * own pool and user, so that its tunnel leads to its own server address) and
 * `sstp connect --tls-engine openssl-worker` (the client's data path in a
 * Worker that owns the socket and the TUN device). The server runs `--tls-engine
 * openssl-worker` (its sessions' data paths in its pool of Workers) unless
 * the bench's `--worker-server openssl` keeps them on its main thread. Connect times are measured here for both client
 * engines, alternately against this one server (`openssl`, then
 * `openssl-worker`, N times), so that the two columns see the same load.
 *
 * @module
 */
import { connectSstp, type SstpClient, SstpServer } from "./sstp.ts";
import type { ConnectResult } from "./result.ts";

/** The pool of the worker pair's server. */
export const SSTP_WORKER_POOL = "198.18.240.2-198.18.247.254";

/** A started pair; stop the client before the server. */
export interface WorkerPair {
  server: SstpServer;
  client: SstpClient;
  /** `sstp connect --tls-engine openssl-worker`. */
  connect: ConnectResult;
  /** `sstp connect --tls-engine openssl`, alternating with `connect`. */
  connectOpenssl: ConnectResult;
}

/** The client's arguments for the worker data path. */
export const WORKER_CLIENT_ARGS = ["--tls-engine", "openssl-worker"];

/**
 * Starts the server, measures `connects` connect times (each client stopped
 * again), then connects the client the measurements run through.
 */
export async function startWorkerPair(
  netnsA: string,
  netnsB: string,
  options: { serverArgs: string[]; denoFlags: string[]; connects: number },
  log: (line: string) => void,
): Promise<WorkerPair> {
  const server = await SstpServer.start(netnsA, {
    port: 445,
    pool: SSTP_WORKER_POOL,
    user: "wrk",
    extraArgs: options.serverArgs,
    denoFlags: options.denoFlags,
  });
  try {
    const connect: ConnectResult = { totalMs: [], handshakeMs: [] };
    const connectOpenssl: ConnectResult = { totalMs: [], handshakeMs: [] };
    for (let i = 1; i <= options.connects; i++) {
      const line: string[] = [];
      for (
        const [name, args, into] of [
          ["sstp-openssl", ["--tls-engine", "openssl"], connectOpenssl],
          ["sstp-worker", WORKER_CLIENT_ARGS, connect],
        ] as const
      ) {
        const c = await connectSstp(netnsB, server, { extraArgs: [...args] });
        into.totalMs.push(c.connectMs);
        into.handshakeMs.push(c.handshakeMs);
        await c.proc.stop(5000);
        line.push(`${name} ${c.connectMs.toFixed(0)} ms`);
      }
      log(`connect ${i}/${options.connects}: ${line.join(", ")}`);
    }
    const client = await connectSstp(netnsB, server, { extraArgs: WORKER_CLIENT_ARGS });
    return { server, client, connect, connectOpenssl };
  } catch (e) {
    await server.stop();
    throw e;
  }
}
