/**
 * `sstp doctor client --login`: one real SSTP login with the configured
 * credentials, then a clean disconnect. It runs the client's own engine and
 * runner over a real TLS connection, but takes the link-up away from the
 * runner: no TUN device is opened, no address, route or DNS server is set.
 *
 * What it reports: the authentication result (user and method, or the
 * server's refusal with a fix), the crypto binding (MS-SSTP 2.2.7: its hash
 * protocol, and whether the server accepted it) and the addresses IPCP
 * assigned. Whether the server accepted the binding is known from an SSTP
 * Echo Request sent after the Call Connected that carries it: the server
 * handles messages in order and aborts the call on a bad binding
 * (MS-SSTP 3.3.5.2.3), so an Echo Response (MS-SSTP 2.2.15) means it took it.
 *
 * @module
 */
import type { ConnectOptions } from "../../config/client_config.ts";
import { systemClock } from "../../clock.ts";
import { NOOP_LOGGER } from "../../log.ts";
import { parseFingerprint } from "../../cert/fingerprint.ts";
import { dialTls } from "../../transport/tls_client.ts";
import { readPreamble } from "../../transport/preamble.ts";
import { buildSstpHttpRequest, parseSstpHttpResponse } from "../../sstp/http_preamble.ts";
import { certHashes } from "../../sstp/crypto_binding.ts";
import { HASH_PROTOCOL, MESSAGE_TYPE } from "../../sstp/constants.ts";
import { createClientEngine } from "../../tunnel/client_engine.ts";
import type { SessionEngine } from "../../tunnel/session_engine.ts";
import type { IpConfig, TunnelAction, TunnelEngine, TunnelEvent } from "../../tunnel/events.ts";
import { type RunnerTransport, TunnelRunner } from "../../pipeline/runner.ts";
import { asError, isAuthError } from "../../errors.ts";
import { type CheckResult, fail, ok, warn } from "./checks.ts";

/** Dependencies of {@linkcode loginCheck}. */
export interface LoginCheckDeps {
  /** Reads the CA bundle, CRL and client certificate files the options name. */
  readTextFile(path: string): string;
  /** Proxy credentials for `http-proxy` (from the environment). */
  proxyCredentials?: { user: string; password: string };
  /** The whole login must finish within this (default 30,000 ms). */
  timeoutMs?: number;
}

/** What the login probe saw. */
export interface Observed {
  /** Hash protocol of the Crypto Binding we sent in Call Connected. */
  bindingHash?: number;
  /** IPCP's result (the link-up the runner never got). */
  ip?: IpConfig;
  /** The server answered our Echo Request sent after Call Connected. */
  echoAnswered: boolean;
}

/**
 * The client engine with the link-up taken out: `linkUp` becomes an SSTP
 * Echo Request, and its Response calls `onConfirmed`.
 */
class LoginProbeEngine implements TunnelEngine {
  readonly #inner: SessionEngine;
  readonly #seen: Observed;
  readonly #onConfirmed: () => void;
  #echoSent = false;

  constructor(inner: SessionEngine, seen: Observed, onConfirmed: () => void) {
    this.#inner = inner;
    this.#seen = seen;
    this.#onConfirmed = onConfirmed;
  }

  get isIpv4Open(): boolean {
    return this.#inner.isIpv4Open;
  }
  get isIpv6Open(): boolean {
    return this.#inner.isIpv6Open;
  }
  get peerMru(): number {
    return this.#inner.peerMru;
  }
  noteReceive(nowMs: number): void {
    this.#inner.noteReceive(nowMs);
  }

  handle(event: TunnelEvent, nowMs: number): TunnelAction[] {
    if (
      event.type === "control" && this.#echoSent && !this.#seen.echoAnswered &&
      event.message.messageType === MESSAGE_TYPE.ECHO_RESPONSE
    ) {
      this.#seen.echoAnswered = true;
      queueMicrotask(this.#onConfirmed);
    }
    const out: TunnelAction[] = [];
    for (const a of this.#inner.handle(event, nowMs)) {
      if (a.type === "send" && a.packet.kind === "control") {
        const binding = a.packet.message.attributes.find((x) => x.kind === "cryptoBinding");
        if (binding?.kind === "cryptoBinding") this.#seen.bindingHash = binding.hashProtocol;
      }
      if (a.type === "linkUp") {
        this.#seen.ip = a.ip;
        this.#echoSent = true;
        out.push({
          type: "send",
          packet: {
            kind: "control",
            message: { messageType: MESSAGE_TYPE.ECHO_REQUEST, attributes: [] },
          },
        });
        continue;
      }
      // Neither IPv6 nor a bridge port is brought up: this is a login check.
      if (a.type === "ipv6Up" || a.type === "ipv6Down" || a.type === "bridgeUp") continue;
      out.push(a);
    }
    return out;
  }
}

function hashName(h: number | undefined): string {
  return h === HASH_PROTOCOL.SHA256 ? "SHA-256" : h === HASH_PROTOCOL.SHA1 ? "SHA-1" : `#${h}`;
}

const AUTH_FIX = "check user and password (--password-file, SSTP_PASSWORD or the config " +
  "file); if they are right, the server's log says why it refused (account disabled, " +
  "caller-id, method not allowed: authentication)";

/**
 * Logs in once with `o` and disconnects. Never throws: every problem is a
 * failed check with a fix.
 */
export async function loginCheck(o: ConnectOptions, deps: LoginCheckDeps): Promise<CheckResult[]> {
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), timeoutMs);
  const seen: Observed = { echoAnswered: false };
  try {
    let conn;
    try {
      conn = await dialTls({
        host: o.connectTo.host,
        port: o.connectTo.port,
        sni: o.sni === undefined ? false : o.sni,
        verifyServerCertificate: o.verifyServerCertificate,
        verifyServerAddress: o.verifyServerAddressFromCertificate,
        ...(o.ca ? { caPem: deps.readTextFile(o.ca) } : {}),
        ...(o.serverFingerprint
          ? { serverFingerprintSha256: parseFingerprint(`sha256:${o.serverFingerprint}`).bytes }
          : {}),
        ...(o.crl ? { crlPem: deps.readTextFile(o.crl) } : {}),
        ...(o.certificate ? { clientCertPem: deps.readTextFile(o.certificate) } : {}),
        ...(o.certificate
          ? { clientKeyPem: deps.readTextFile(o.certificateKey ?? o.certificate) }
          : {}),
        tlsPolicy: {
          tlsVersion: o.tlsVersion,
          pfs: o.pfs,
          ciphers: o.ciphers,
          forceAes: o.forceAes,
        },
        ...(o.httpProxy ? { httpProxy: { ...o.httpProxy, ...(deps.proxyCredentials ?? {}) } } : {}),
        connectTimeoutMs: Math.min(timeoutMs, 30_000),
        signal: abort.signal,
      });
    } catch (e) {
      return [fail("login", `no TLS session: ${asError(e).message}`, "see the TLS check above")];
    }
    const duplex = conn.duplex;
    let leftover: Uint8Array;
    try {
      const w = duplex.writable.getWriter();
      const host = o.connectTo.kind === "ipv6" ? `[${o.connectTo.host}]` : o.connectTo.host;
      const correlationId = `{${crypto.randomUUID().toUpperCase()}}`;
      await w.write(buildSstpHttpRequest({ host, correlationId }));
      w.releaseLock();
      const got = await readPreamble(
        duplex.readable,
        parseSstpHttpResponse,
        timeoutMs,
        "SSTP HTTP response",
      );
      if (got.header.response.status !== 200) {
        duplex.close();
        return [fail(
          "login",
          `the server answered HTTP ${got.header.response.status} ${got.header.response.reason}`,
          "503: the server is full or shutting down; other codes: not an SSTP server on this port",
        )];
      }
      leftover = got.leftover;
    } catch (e) {
      duplex.close();
      return [fail("login", `no SSTP answer: ${asError(e).message}`, "see the SSTP check above")];
    }
    const engine = createClientEngine({
      certHashes: certHashes(conn.peerCertDer),
      user: o.user,
      password: o.password,
      authentication: o.authentication,
      helloMs: null,
      mru: o.maxMru,
      maxMtu: o.maxMtu,
      ...(o.mrru !== undefined ? { mrru: o.mrru } : {}),
      requestDns: true,
      serverAddress: duplex.remoteAddr.hostname,
      randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
      logger: NOOP_LOGGER,
    });
    const { error } = await runLoginProbe({ engine, transport: duplex, leftover, seen, abort });
    await duplex.closed.catch(() => {});
    return loginReport(o.user, engine, seen, error);
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * Runs a client `engine` over `transport` until the login is confirmed (the
 * Echo answered, then a Call Disconnect) or the call ends; `abort` stops it.
 * Fills `seen`; the error is the call's when the login was not confirmed.
 */
export async function runLoginProbe(o: {
  engine: SessionEngine;
  transport: RunnerTransport;
  leftover?: Uint8Array;
  seen: Observed;
  abort: AbortController;
}): Promise<{ error?: Error }> {
  let runner: TunnelRunner | undefined = undefined;
  const probe = new LoginProbeEngine(
    o.engine,
    o.seen,
    () => runner?.close("doctor: login checked"),
  );
  const r = new TunnelRunner({
    engine: probe,
    transport: o.transport,
    ...(o.leftover === undefined ? {} : { leftover: o.leftover }),
    clock: systemClock,
    logger: NOOP_LOGGER,
    clampTcpMss: false,
    onLinkUp: () =>
      Promise.reject(new Error("Cannot open an interface: doctor checks the login only")),
  });
  runner = r;
  const stop = () => r.close("doctor: no result in time");
  if (o.abort.signal.aborted) stop();
  else o.abort.signal.addEventListener("abort", stop, { once: true });
  const result = await r.run();
  o.abort.signal.removeEventListener("abort", stop);
  const error = o.seen.echoAnswered ? undefined : result.error ?? o.engine.error;
  return error === undefined ? {} : { error };
}

/** The check lines for what {@linkcode runLoginProbe} saw. */
export function loginReport(
  user: string,
  engine: SessionEngine,
  seen: Observed,
  error: Error | undefined,
): CheckResult[] {
  const out: CheckResult[] = [];
  const auth = engine.authenticated;
  if (auth === undefined) {
    if (error !== undefined && isAuthError(error)) {
      out.push(fail("login", `"${user}" refused: ${error.message}`, AUTH_FIX));
    } else {
      out.push(fail(
        "login",
        `no authentication result: ${error?.message ?? "the call ended"}`,
        "compare authentication (methods) with the server's; the server's log says more",
      ));
    }
    return out;
  }
  out.push(ok("login", `"${auth.user}" authenticated with ${auth.method}`));
  const hash = hashName(seen.bindingHash);
  const zeroKey = auth.method === "pap" || auth.method === "chap";
  if (seen.echoAnswered) {
    const detail = `${hash} binding in Call Connected accepted by the server`;
    out.push(
      zeroKey
        ? warn(
          "crypto binding",
          `${detail}, keyed with zeros (${auth.method} derives no keys)`,
          "prefer mschap2: its keys protect the binding against a relay",
        )
        : ok("crypto binding", detail),
    );
  } else if (seen.bindingHash !== undefined) {
    out.push(fail(
      "crypto binding",
      `the server ended the call after our ${hash} binding: ${error?.message ?? "no answer"}`,
      "a TLS-inspecting proxy or load balancer between client and server changes the " +
        "certificate the binding covers; connect directly or terminate TLS on the SSTP server",
    ));
    return out;
  } else {
    out.push(fail(
      "crypto binding",
      `no Call Connected sent: ${error?.message ?? "the call ended"}`,
      "the server's log says why",
    ));
    return out;
  }
  const ip = seen.ip;
  if (ip === undefined) {
    out.push(fail("address", "IPCP assigned no address", "check the server's pool for this user"));
  } else {
    const dns = ip.dns.length > 0 ? `, DNS ${ip.dns.join(" ")}` : "";
    out.push(ok("address", `${ip.localAddress} peer ${ip.peerAddress}${dns}, MTU ${ip.mtu}`));
  }
  out.push({
    status: "info",
    check: "login",
    detail: "disconnected; no interface, route or DNS server was set",
  });
  return out;
}
