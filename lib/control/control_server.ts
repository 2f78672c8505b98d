/**
 * The server side of the control protocol (see `protocol.ts`): a Unix
 * socket that answers JSON-line requests with a handler's results. Used by
 * `sstp serve` and by `sstp connect`.
 *
 * Flow:
 * 1. The directory is created mode 0700 when missing; a socket file left by
 *    a dead process is removed, one that still answers is an error (two
 *    daemons must not share a socket).
 * 2. `Deno.listen({ transport: "unix" })`, then the socket file is chmod 0600.
 * 3. Per connection: lines are read (at most {@linkcode MAX_CONTROL_LINE_BYTES}
 *    each), parsed and answered in order; a connection idle for
 *    `idleTimeoutMs` is closed.
 * 4. `close()` stops accepting, ends every connection and removes the socket
 *    file; `closed` settles when all of that is done.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { NOOP_LOGGER } from "../log.ts";
import { isFdExhaustion } from "../errors.ts";
import { type ControlRequest, MAX_CONTROL_LINE_BYTES, parseControlRequest } from "./protocol.ts";

/** Answers one request; the result is sent as one JSON line. */
export type ControlHandler = (request: ControlRequest) => unknown | Promise<unknown>;

/** Options of {@linkcode startControlServer}. */
export interface ControlServerOptions {
  /** Socket path. */
  path: string;
  /** Answers each parsed request; its result is sent back, and an error it throws becomes a `ControlFailure`. */
  handle: ControlHandler;
  /** Where accept failures and failed requests are logged; silent when absent. */
  logger?: Logger;
  /** Close a connection that sends nothing for this long (default 30,000 ms). */
  idleTimeoutMs?: number;
}

/** A listening control socket. */
export interface ControlServer {
  /** The socket path it listens on. */
  readonly path: string;
  /** Stops listening and removes the socket file (idempotent). */
  close(): void;
  /** Settles when the listener and every connection are closed. */
  readonly closed: Promise<void>;
}

/** Pause before accepting again after running out of descriptors. */
const ACCEPT_RETRY_MS = 100;

/**
 * Starts answering control requests on `options.path`.
 *
 * @throws {Deno.errors.AddrInUse} when another process answers on the path.
 * @throws {Error} when the directory or socket cannot be created.
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const log = options.logger ?? NOOP_LOGGER;
  const { path } = options;
  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : ".";
  await ensurePrivateDir(dir);
  await removeStaleSocket(path);
  const listener = Deno.listen({ transport: "unix", path });
  await Deno.chmod(path, 0o600);
  const conns = new Set<Deno.UnixConn>();
  const tasks = new Set<Promise<void>>();
  let isClosed = false;
  const loop = (async () => {
    let exhausted = false;
    for (;;) {
      let conn: Deno.UnixConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (!isClosed && isFdExhaustion(e)) {
          // The listener stays usable: accept again once descriptors are free.
          if (!exhausted) log.warn(`control socket ${path}: ${String(e)}; accepting again shortly`);
          exhausted = true;
          await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
          continue;
        }
        if (!isClosed) log.warn(`control socket ${path}: accept failed: ${String(e)}`);
        break;
      }
      exhausted = false;
      conns.add(conn);
      const task = serveConnection(conn, options, log).finally(() => {
        conns.delete(conn);
        tasks.delete(task);
      });
      tasks.add(task);
    }
    await Promise.all(tasks);
    try {
      await Deno.remove(path);
    } catch {
      // Already gone.
    }
  })();
  return {
    path,
    close() {
      if (isClosed) return;
      isClosed = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
    },
    closed: loop,
  };
}

async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) {
      throw new Error(`Cannot create control socket in "${dir}": not a directory`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  try {
    const probe = await Deno.connect({ transport: "unix", path });
    probe.close();
    throw new Deno.errors.AddrInUse(
      `Cannot listen on control socket "${path}": another process answers on it`,
    );
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) throw e;
    await Deno.remove(path);
  }
}

async function serveConnection(
  conn: Deno.UnixConn,
  options: ControlServerOptions,
  log: Logger,
): Promise<void> {
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let buffer = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }, idleMs);
  };
  try {
    arm();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      arm();
      buffer += decoder.decode(value, { stream: true });
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === "") continue;
        const answer = await answerLine(line, options, log);
        await writer.write(encoder.encode(JSON.stringify(answer) + "\n"));
      }
      if (buffer.length > MAX_CONTROL_LINE_BYTES) {
        await writer.write(
          encoder.encode(JSON.stringify({ ok: false, error: "request line too long" }) + "\n"),
        );
        break;
      }
    }
  } catch (e) {
    log.debug(`control connection ended: ${String(e)}`);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

async function answerLine(line: string, options: ControlServerOptions, log: Logger) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { ok: false, error: "request is not valid JSON" };
  }
  const request = parseControlRequest(parsed);
  if (typeof request === "string") return { ok: false, error: request };
  try {
    return await options.handle(request);
  } catch (e) {
    log.warn(`control request ${request.op} failed: ${e instanceof Error ? e.message : String(e)}`);
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
