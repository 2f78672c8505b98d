/**
 * `sstp serve`: run the SSTP server until SIGTERM or SIGINT.
 *
 * 1. Configuration: `--config FILE` (RouterOS-style YAML, every mistake
 *    reported with file and line, nothing started on error), else
 *    zero-config in `--state-dir` (see `lib/server/zero_config.ts`).
 * 2. The server ({@linkcode SstpServer}) and its control socket.
 * 3. SIGHUP reloads secrets, profiles, pools and static interfaces from
 *    the file without dropping sessions, and the certificate, key and
 *    client CA: new connections get the new ones, sessions keep theirs, a
 *    broken certificate is refused and the old one kept; SIGTERM/SIGINT send Call
 *    Disconnect to every client, remove every interface, route and socket,
 *    and exit 0.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type CommandContext, EXIT_CODE } from "../command_context.ts";
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from "../log.ts";
import { ConfigError } from "../config/config_error.ts";
import { parseServerConfig, type ServerConfig } from "../config/server_config.ts";
import { parsePort, parseTlsEngine, type TlsEngine } from "../config/values.ts";
import type { TlsEngineServer } from "../tls_engine.ts";
import { openSslWorkerUnsupported } from "../server/worker_engine.ts";
import { isIpv4, isIpv6 } from "../ip.ts";
import { readableFileProblem } from "../config/file_check.ts";
import { SstpServer } from "../server/server.ts";
import { loadServerTlsFiles, type ServerTlsFiles } from "../server/_pem_files.ts";
import { permissionWarning } from "../server/file_mode.ts";
import { loadZeroConfig, mayShowPassword, zeroConfigBanner } from "../server/zero_config.ts";
import { type ControlServer, startControlServer } from "../control/control_server.ts";
import { isFdExhaustion } from "../errors.ts";
import { DEFAULT_CONTROL_DIR, SERVER_SOCKET_NAME } from "../control/protocol.ts";
import { formattedSink, type LogFormat, parseLogFormat } from "../config/log_format.ts";
import { DEFAULT_OPS_CONFIG, type OpsConfig, parseOpsConfig } from "../ops/ops_config.ts";
import { type OpsListeners, startOpsListeners } from "../ops/ops_listeners.ts";

const HELP = `Usage: sstp serve [OPTIONS]

Runs the SSTP server. With --config, everything comes from the YAML file
(sections sstp-server, secrets, profiles, pools, interfaces, named after the
RouterOS menus). Without it, a self-signed certificate and a user with a
random password are created in the state directory, and a ready
"sstp connect" command line is printed.

  --config FILE          server configuration (YAML)
  --state-dir DIR        state directory (/var/lib/sstp)
  --listen ADDR[,ADDR]   addresses to listen on (all)
  --port N               TCP port (443)
  --pool RANGE           zero-config client pool, A-B or A/N (10.255.255.2-10.255.255.254)
  --control-socket PATH  control socket (${DEFAULT_CONTROL_DIR}/${SERVER_SOCKET_NAME})
  --log-level LEVEL      error, warn, info, debug or trace (info)
  --log-format FORMAT    text or json (one object per line, for journald) (text)
  --tls-engine E         deno (node:tls), openssl (system libssl.so.3 by FFI; falls
                         back to deno when missing; node:tls with client certificates)
                         or openssl-worker (and each session's data path in a pool of
                         Worker threads, one epoll loop each) (deno)
  -h, --help             show this help

Signals: SIGHUP reloads secrets, profiles, pools and the certificate from
--config without dropping sessions; SIGTERM or SIGINT disconnects every
client and exits.`;

interface ServeFlags {
  config?: string;
  stateDir?: string;
  listen?: string[];
  port?: number;
  pool?: string;
  controlSocket?: string;
  logLevel: LogLevel;
  logFormat?: LogFormat;
  tlsEngine: TlsEngine;
}

function parseFlags(argv: string[]): ServeFlags | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      "state-dir": { type: "string" },
      listen: { type: "string" },
      port: { type: "string" },
      pool: { type: "string" },
      "control-socket": { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      "tls-engine": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new TypeError(`Cannot parse arguments: unexpected "${positionals[0]}"`);
  }
  const level = values["log-level"] ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new TypeError(`Cannot use --log-level "${level}": use one of ${LOG_LEVELS.join(", ")}`);
  }
  if (values.config !== undefined && values.pool !== undefined) {
    throw new TypeError("Cannot use --pool with --config: define pools in the file");
  }
  const listen = values.listen?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const a of listen ?? []) {
    if (!isIpv4(a) && !isIpv6(a)) throw new TypeError(`Cannot use --listen "${a}": not an address`);
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    try {
      port = parsePort(values.port);
    } catch (e) {
      throw new RangeError(`Cannot use --port: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let logFormat: LogFormat | undefined;
  if (values["log-format"] !== undefined) {
    try {
      logFormat = parseLogFormat(values["log-format"]);
    } catch (e) {
      throw new TypeError(`Cannot use --log-format: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let tlsEngine: TlsEngine = "deno";
  if (values["tls-engine"] !== undefined) {
    try {
      tlsEngine = parseTlsEngine(values["tls-engine"]);
    } catch (e) {
      throw new TypeError(
        `Cannot use --tls-engine: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  return {
    logLevel: level as LogLevel,
    ...(logFormat === undefined ? {} : { logFormat }),
    tlsEngine,
    ...(values.config === undefined ? {} : { config: values.config }),
    ...(values["state-dir"] === undefined ? {} : { stateDir: values["state-dir"] }),
    ...(listen === undefined ? {} : { listen }),
    ...(port === undefined ? {} : { port }),
    ...(values.pool === undefined ? {} : { pool: values.pool }),
    ...(values["control-socket"] === undefined ? {} : { controlSocket: values["control-socket"] }),
  };
}

/** Loads `--config FILE` with the flags on top. */
async function loadFile(file: string, flags: ServeFlags, log: Logger): Promise<ServerConfig> {
  const info = await Deno.stat(file);
  const exposed = permissionWarning(file, info.mode, "passwords");
  if (exposed !== undefined) log.warn(exposed);
  const config = parseServerConfig(await Deno.readTextFile(file), file, {
    fileProblem: readableFileProblem,
  });
  const s = config.sstpServer;
  if (flags.port !== undefined) s.port = flags.port;
  if (flags.listen !== undefined) s.listen = flags.listen;
  if (flags.stateDir !== undefined) s.stateDir = flags.stateDir;
  if (flags.controlSocket !== undefined) s.controlSocket = flags.controlSocket;
  return config;
}

/** Picks the address to print in the zero-config connect line. */
function bannerHost(listen: readonly string[] | undefined): string {
  const fixed = listen?.find((a) => a !== "0.0.0.0" && a !== "::");
  if (fixed !== undefined) return fixed;
  try {
    const found = Deno.networkInterfaces().find((i) =>
      i.family === "IPv4" && !i.address.startsWith("127.")
    );
    if (found !== undefined) return found.address;
  } catch {
    // Not permitted.
  }
  return "127.0.0.1";
}

/** What the fingerprint in log lines is of: the served certificate, or the balancer's (`tls: no`). */
function certificateLabel(s: ServerConfig["sstpServer"]): string {
  return s.tls
    ? `certificate ${s.certificate}`
    : `certificate-hash-from ${s.certificateHashFrom} (TLS offloaded to the load balancer)`;
}

/**
 * SIGHUP: loads the certificate, key and CA again and hands them to the
 * listener when they changed. Returns what is in use afterwards.
 */
async function reloadCertificate(
  file: string,
  config: ServerConfig,
  server: SstpServer,
  running: ServerTlsFiles | undefined,
  log: Logger,
): Promise<ServerTlsFiles | undefined> {
  const s = config.sstpServer;
  let next: ServerTlsFiles;
  try {
    next = await loadServerTlsFiles(file, s);
  } catch (e) {
    log.error(
      `SIGHUP: keeping the running certificate ${running?.fingerprint ?? ""}: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
    return running;
  }
  if (
    running !== undefined && next.certPem === running.certPem &&
    next.keyPem === running.keyPem && next.caPem === running.caPem
  ) {
    return running;
  }
  try {
    await server.setCertificate(next.certPem, next.keyPem, next.caPem);
  } catch (e) {
    log.error(
      `SIGHUP: keeping the running certificate ${running?.fingerprint ?? ""}: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
    return running;
  }
  for (const w of next.warnings) log.warn(`certificate ${s.certificate}: ${w}`);
  log.info(
    `${s.tls ? "certificate" : "certificate-hash-from"} reloaded: ${next.fingerprint} ` +
      "for new connections; " +
      `${server.sessions.length} sessions keep theirs`,
  );
  return next;
}

/**
 * True for errors that mean the OS refused the listener (address in use,
 * no privilege for the port or address): exit 71. node:tls reports them as
 * plain `Error`s with a `code`, Deno's own listeners as `Deno.errors.*`.
 */
export function isOsRefusal(e: unknown): boolean {
  if (e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied) return true;
  if (e instanceof Deno.errors.AddrNotAvailable) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL" ||
    code === "EPERM";
}

/** How often a control socket that found no descriptor is tried again. */
const CONTROL_RETRY_MS = 2000;

/** Runs `sstp serve`. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const flags = parseFlags(argv);
  if (flags === "help") {
    ctx.print(HELP);
    return EXIT_CODE.OK;
  }
  // The file's log-format applies once it is read; --log-format wins.
  let sink = formattedSink(flags.logFormat ?? "text", "sstp-server", ctx.printError);
  const log = createLogger(flags.logLevel, (level, line, tags, message) => {
    sink(level, line, tags, message);
  });
  let ops: OpsConfig = DEFAULT_OPS_CONFIG;
  let config: ServerConfig;
  let certPem: string;
  let keyPem: string;
  let caPem: string | undefined;
  let tlsFiles: ServerTlsFiles | undefined;
  try {
    if (flags.config !== undefined) {
      config = await loadFile(flags.config, flags, log);
      ops = parseOpsConfig(await Deno.readTextFile(flags.config), flags.config);
      sink = formattedSink(flags.logFormat ?? ops.logFormat, "sstp-server", ctx.printError);
      const s = config.sstpServer;
      if (!s.enabled) {
        log.info(`sstp-server is disabled in ${flags.config} (enabled: no); nothing to serve`);
        return EXIT_CODE.OK;
      }
      tlsFiles = await loadServerTlsFiles(flags.config, s);
      ({ certPem, keyPem, caPem } = tlsFiles);
      log.info(`${certificateLabel(s)}: ${tlsFiles.fingerprint}`);
      for (const w of tlsFiles.warnings) log.warn(`certificate ${s.certificate}: ${w}`);
    } else {
      const z = await loadZeroConfig({
        stateDir: flags.stateDir ?? "/var/lib/sstp",
        ...(flags.pool === undefined ? {} : { pool: flags.pool }),
        ...(flags.port === undefined ? {} : { port: flags.port }),
        ...(flags.listen === undefined ? {} : { listen: flags.listen }),
        ...(flags.controlSocket === undefined ? {} : { controlSocket: flags.controlSocket }),
      });
      config = z.config;
      certPem = z.certPem;
      keyPem = z.keyPem;
      for (const f of z.created) log.info(`zero-config: created ${f}`);
      const host = bannerHost(flags.listen);
      const showPassword = mayShowPassword(z, ctx.isOutputTerminal === true);
      const banner = zeroConfigBanner(z, host, config.sstpServer.port, { showPassword });
      for (const line of banner) ctx.print(line);
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      ctx.printError(e.message);
      return EXIT_CODE.USAGE;
    }
    if (e instanceof TypeError || e instanceof RangeError) throw e;
    ctx.printError(`sstp serve: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof Deno.errors.PermissionDenied ? EXIT_CODE.OS : EXIT_CODE.FAILURE;
  }
  for (const w of config.warnings) log.warn(w);

  let tlsEngine: TlsEngineServer | undefined;
  if (flags.tlsEngine === "openssl-worker") {
    const unsupported = openSslWorkerUnsupported(config.sstpServer);
    if (unsupported.length > 0) {
      ctx.printError(
        `sstp serve: --tls-engine openssl-worker cannot be used with ${
          unsupported.join(", ")
        } (use --tls-engine openssl or deno)`,
      );
      return EXIT_CODE.USAGE;
    }
  }
  if (flags.tlsEngine !== "deno") {
    const name = flags.tlsEngine;
    const engine = ctx.platform.tlsEngineServer === undefined
      ? "this platform has no OpenSSL binding"
      : await ctx.platform.tlsEngineServer(name);
    if (typeof engine === "string") {
      log.warn(`tls-engine ${name} unavailable (${engine}): using node:tls`);
    } else {
      tlsEngine = engine;
    }
  }
  const metrics = ops.metrics === undefined && ops.webStatus === undefined
    ? undefined
    : new (await import(
      new URL("../ops/metrics/server_metrics.ts", import.meta.url).href
    ) as typeof import("../ops/metrics/server_metrics.ts")).ServerMetrics({
      perUser: ops.metricsPerUser,
      radius: config.radius.radius.some((r) => r.service.includes("ppp")),
    });
  // Signal listeners before the listener accepts: Deno sets its signal
  // handling up on the first listener and aborts the process ("Too many
  // open files" panic) when a flood has taken every descriptor by then.
  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  let onHangUp = () => log.info("SIGHUP: still starting; nothing to reload");
  const unsubscribe = [
    ctx.onSignal("SIGTERM", () => stop("SIGTERM")),
    ctx.onSignal("SIGINT", () => stop("SIGINT")),
    ctx.onSignal("SIGHUP", () => onHangUp()),
  ];
  let server: SstpServer;
  try {
    server = await SstpServer.start({
      ...(metrics === undefined ? {} : { observer: metrics }),
      ...(tlsEngine === undefined ? {} : { tlsEngine }),
      config,
      certPem,
      keyPem,
      ...(caPem === undefined ? {} : { caPem }),
      platform: ctx.platform,
      logger: log,
      stateDir: config.sstpServer.stateDir,
    });
  } catch (e) {
    for (const u of unsubscribe) u();
    log.error(`Cannot start the server: ${e instanceof Error ? e.message : String(e)}`);
    return isOsRefusal(e) ? EXIT_CODE.OS : EXIT_CODE.NETWORK;
  }

  let control: ControlServer | undefined;
  // A flood can take every descriptor while the server starts: the control
  // socket then comes up once one is free, instead of never.
  let controlRetry: ReturnType<typeof setTimeout> | undefined;
  let isStopping = false;
  const openControl = async (retrying: boolean): Promise<void> => {
    let opened: ControlServer;
    try {
      opened = await startControlServer({
        path: config.sstpServer.controlSocket,
        logger: log,
        handle: (request) => {
          if (request.op === "status") {
            return {
              ok: true,
              role: "server",
              uptimeMs: server.uptimeMs,
              sessions: server.status(),
              secrets: server.secretHistory(),
            };
          }
          const disconnected = server.disconnect(request.target);
          if (disconnected.length === 0) {
            return { ok: false, error: `No session on interface or of user "${request.target}"` };
          }
          return { ok: true, disconnected };
        },
      });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (isStopping) return;
      if (isFdExhaustion(e)) {
        if (!retrying) {
          log.warn(
            `control socket ${config.sstpServer.controlSocket} unavailable: ${why}; ` +
              `trying again every ${CONTROL_RETRY_MS / 1000} s`,
          );
        }
        controlRetry = setTimeout(() => void openControl(true), CONTROL_RETRY_MS);
        return;
      }
      log.warn(
        `control socket ${config.sstpServer.controlSocket} unavailable: ${why}; ` +
          "sstp status and sstp disconnect will not reach this server",
      );
      return;
    }
    if (isStopping) {
      opened.close();
      return;
    }
    control = opened;
    log.info(`control socket ${control.path}`);
  };
  await openControl(false);
  const closeControl = async () => {
    isStopping = true;
    clearTimeout(controlRetry);
    control?.close();
    await control?.closed;
  };

  let listeners: OpsListeners | undefined;
  if (metrics !== undefined) {
    try {
      listeners = await startOpsListeners({ ops, metrics, server, logger: log });
    } catch (e) {
      log.error(`Cannot start: ${e instanceof Error ? e.message : String(e)}`);
      await server.shutdown("server shutting down");
      await closeControl();
      for (const u of unsubscribe) u();
      return e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied
        ? EXIT_CODE.OS
        : EXIT_CODE.FAILURE;
    }
  }

  onHangUp = () => {
    if (flags.config === undefined) {
      log.info("SIGHUP: zero-config has nothing to reload");
      return;
    }
    const file = flags.config;
    loadFile(file, flags, log).then(async (c) => {
      for (const w of c.warnings) log.warn(w);
      server.reload(c);
      await reloadCertificate(file, c, server, tlsFiles, log).then((t) => tlsFiles = t);
    }, (e) => {
      log.error(
        `SIGHUP: keeping the running configuration: ${e instanceof Error ? e.message : e}`,
      );
    });
  };
  const signal = await stopped;
  log.info(`${signal}: shutting down`);
  try {
    await server.shutdown("server shutting down");
  } finally {
    await listeners?.close();
    await closeControl();
    for (const u of unsubscribe) u();
  }
  return EXIT_CODE.OK;
}
