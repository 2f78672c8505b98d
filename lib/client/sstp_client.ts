/**
 * The client's lifetime: connect, run, and on loss reconnect with exponential
 * backoff and jitter (RouterOS keeps an sstp-client dialling). Failures that
 * retrying cannot fix end the client instead of hammering the server: an
 * authentication refusal, a certificate that fails verification, and a TLS
 * policy the server cannot meet (no common version or suite, or a suite
 * `tls-version`/`pfs`/`ciphers`/`force-aes` refuses): a configuration error.
 *
 * @module
 */
import { TlsSessionCache } from "../transport/tls_client.ts";
import type { Logger } from "../log.ts";
import type { ConnectOptions } from "../config/client_config.ts";
import { isAuthError, ProtocolError } from "../errors.ts";
import { TLS_POLICY_DETAIL } from "../transport/tls_policy.ts";
import { recoverNetState } from "./net_state.ts";
import { type NetChangeRecord, NetConfig } from "../net/net_config.ts";
import type * as KillSwitch from "./kill_switch.ts";
import { systemClock } from "../clock.ts";
import type * as DemandTunModule from "./demand_tun.ts";
import type { DemandTun } from "./demand_tun.ts";
import { SPLIT_DEFAULT_IPV4 } from "./tunnel_routes.ts";
import {
  type ClientSessionDeps,
  type ClientSessionInfo,
  type ClientSessionResult,
  type DemandLink,
  runClientSession,
} from "./client_session.ts";

/** How the client ended. */
export type ClientOutcome =
  | { kind: "stopped" }
  | { kind: "auth"; error: Error }
  | { kind: "certificate"; error: Error }
  | { kind: "tls-policy"; error: Error }
  | { kind: "network"; error: Error };

/** Backoff schedule: first delay, cap, and jitter fraction. */
export interface BackoffOptions {
  /** Delay before the first retry, ms; doubles with each failed attempt. */
  initialMs: number;
  /** Largest delay, ms, before jitter. */
  maxMs: number;
  /** Fraction (0..1) the delay varies by either way, at random. */
  jitter: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, jitter: 0.25 };

/** Classifies a session error for exit codes and retry policy. */
export function classifyError(
  error: Error,
): "auth" | "certificate" | "tls-policy" | "network" {
  if (isAuthError(error) && !(error instanceof ProtocolError && error.layer === "tls")) {
    return "auth";
  }
  if (
    error instanceof ProtocolError && error.layer === "tls" && error.detail?.startsWith("TLS_CERT")
  ) {
    return "certificate";
  }
  if (
    error instanceof ProtocolError && error.layer === "tls" && error.detail === TLS_POLICY_DETAIL
  ) {
    return "tls-policy";
  }
  return "network";
}

/** The delay before attempt `n` (0-based) with jitter from `random()` in [0, 1). */
export function backoffDelay(n: number, b: BackoffOptions, random: () => number): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(n, 30));
  return Math.round(base * (1 - b.jitter + 2 * b.jitter * random()));
}

/** Runs the client until stopped or a permanent failure. */
export class SstpClient {
  readonly #o: ConnectOptions;
  readonly #deps: ClientSessionDeps;
  readonly #log: Logger;
  readonly #backoff: BackoffOptions;
  readonly #stop = new AbortController();
  // One server per client: every reconnect resumes the last verified TLS session.
  readonly #tlsSessions = new TlsSessionCache();
  #info: ClientSessionInfo | undefined;
  #waitingStatus = "waiting to reconnect";
  /** The kill switch's changes while it is engaged. */
  #killSwitch: NetConfig | undefined;
  /** Prefixes of the tunnel's other routes (peer DNS) the kill switch blocks already. */
  readonly #blocked = new Set<string>();
  readonly #pendingBlocks: Promise<void>[] = [];
  #attempts = 0;
  #startedMs = performance.now();

  /** Prepares a client. */
  constructor(options: ConnectOptions, deps: ClientSessionDeps, backoff?: BackoffOptions) {
    this.#o = options;
    this.#deps = deps;
    this.#log = deps.logger;
    this.#backoff = backoff ?? DEFAULT_BACKOFF;
  }

  /** The current session's information. */
  get info(): ClientSessionInfo | undefined {
    return this.#info;
  }
  /** Connection attempts so far. */
  get attempts(): number {
    return this.#attempts;
  }
  /** When the client started (performance.now() ms). */
  get startedMs(): number {
    return this.#startedMs;
  }

  /** Asks for a graceful stop (Call Disconnect, cleanup). */
  stop(): void {
    this.#stop.abort();
  }

  /** Runs until stopped or a permanent failure. */
  async run(): Promise<ClientOutcome> {
    this.#startedMs = performance.now();
    const stateFile = this.#deps.stateFile;
    if (stateFile) {
      // A client of this name killed earlier may have left routes and resolv.conf behind.
      await recoverNetState(stateFile, this.#log, { netns: this.#deps.netns });
    }
    // The state file holds the changes of the kill switch, of the waiting
    // dial-on-demand interface and of the session: each NetConfig reports
    // its own list, the file gets them all.
    const parts: (readonly NetChangeRecord[])[] = [[], [], []];
    const journal = (part: number) => (records: readonly NetChangeRecord[]) => {
      parts[part] = records;
      stateFile?.write(parts.flat());
    };
    const newNet = (part: number) =>
      new NetConfig({
        logger: this.#log,
        ...(this.#deps.netns ? { netns: this.#deps.netns } : {}),
        journal: journal(part),
      });
    const cleanups: (() => Promise<void>)[] = [];
    try {
      if (this.#o.killSwitch) {
        const killSwitch = newNet(0);
        this.#killSwitch = killSwitch;
        cleanups.push(async () => {
          this.#killSwitch = undefined;
          await Promise.allSettled(this.#pendingBlocks);
          await killSwitch.cleanup();
          this.#log.info("kill switch lifted");
        });
        const hop = this.#o.httpProxy?.host ?? this.#o.connectTo.host;
        // Loaded only when configured: not on the start-up path of `sstp connect`.
        const { engageKillSwitch } = await import(
          new URL("./kill_switch.ts", import.meta.url).href
        ) as typeof KillSwitch;
        await engageKillSwitch(
          killSwitch,
          hop,
          { distance: this.#o.defaultRouteDistance },
          this.#log,
        );
      }
      let demand: DemandLink & { tun: DemandTun } | undefined;
      if (this.#o.dialOnDemand) {
        const standby = newNet(1);
        cleanups.push(async () => {
          demand?.tun.close();
          await demand?.tun.closed.catch(() => {});
          await standby.cleanup();
        });
        demand = await this.#openDemandLink(standby);
      }
      const sessionJournal = stateFile === undefined ? undefined : journal(2);
      return demand
        ? await this.#demandLoop(demand, sessionJournal)
        : await this.#loop(sessionJournal);
    } catch (e) {
      const error = e as Error;
      this.#log.error(error.message);
      return { kind: "network", error };
    } finally {
      for (const cleanup of cleanups.reverse()) {
        await cleanup().catch((e) => this.#log.warn(`cleanup: ${(e as Error).message}`));
      }
    }
  }

  /** What `sstp status` says while no session runs. */
  get waitingStatus(): string {
    return this.#waitingStatus;
  }

  /**
   * Dial-on-demand: opens the interface with the placeholder address, pins
   * the server and adds the IPv4 split default routes (with
   * `add-default-route`), so the first packet into it is read here.
   */
  async #openDemandLink(standby: NetConfig): Promise<DemandLink & { tun: DemandTun }> {
    const o = this.#o;
    const { local, peer } = o.demandAddress;
    // Loaded only when configured: not on the start-up path of `sstp connect`.
    const { DemandTun } = await import(
      new URL("./demand_tun.ts", import.meta.url).href
    ) as typeof DemandTunModule;
    const device = this.#deps.platform.openTun({
      name: o.name,
      mtu: o.maxMtu,
      txQueueLen: 5000,
      up: true,
    });
    let tun: DemandTun;
    try {
      tun = new DemandTun(device);
    } catch (e) {
      device.close();
      throw e;
    }
    const args = [local, "peer", `${peer}/32`, "dev", tun.name];
    await standby.addPointToPointAddress(tun.name, local, peer);
    if (o.addDefaultRoute) {
      await standby.pinHostRoute(o.httpProxy?.host ?? o.connectTo.host);
      for (const dst of SPLIT_DEFAULT_IPV4) {
        await standby.addRoute({ dst, dev: tun.name, metric: o.defaultRouteDistance });
      }
    }
    this.#log.info(
      `dial-on-demand: ${tun.name} ${local} peer ${peer} waits for traffic` +
        (o.addDefaultRoute ? `, default route split via ${tun.name}` : ""),
    );
    return {
      tun,
      // Packets from the placeholder address cannot be answered once it is gone.
      openTun: (negotiated) => {
        const placeholder = local.split(".").map(Number);
        return tun.view((p) =>
          negotiated === local || p.length < 20 || (p[0]! >> 4) !== 4 ||
          placeholder.some((octet, i) => p[12 + i] !== octet)
        );
      },
      linkUp: async () => {
        await standby.ip(["addr", "del", ...args]);
      },
      linkDown: async () => {
        await standby.ip(["addr", "add", ...args]);
      },
    };
  }

  /**
   * Dial-on-demand: waits for traffic, connects, and after an idle timeout
   * or a lost link waits again. Failed attempts back off before the next
   * packet may dial again; what waited for them is dropped.
   */
  async #demandLoop(
    demand: DemandLink & { tun: DemandTun },
    journal: ((records: readonly NetChangeRecord[]) => void) | undefined,
  ): Promise<ClientOutcome> {
    let failures = 0;
    const idleMs = this.#o.idleTimeoutMs;
    while (!this.#stop.signal.aborted) {
      this.#waitingStatus = "waiting for traffic";
      if (!await demand.tun.waitForDemand(this.#stop.signal)) break;
      this.#attempts++;
      this.#log.info(
        `traffic for ${demand.tun.name} (${demand.tun.firstQueued}): connecting (${demand.tun.queued} packet(s) waiting)`,
      );
      const session = new AbortController();
      const onStop = () => session.abort();
      this.#stop.signal.addEventListener("abort", onStop, { once: true });
      let idled = false;
      const idleTimer = idleMs === null ? undefined : setInterval(() => {
        const i = this.#info;
        const c = i?.runner?.counters;
        if (i?.connectedAtMs === undefined || c === undefined) return;
        if (systemClock.now() - Math.max(c.lastDataMs, i.connectedAtMs) < idleMs) return;
        idled = true;
        this.#log.info(`idle for ${Math.round(idleMs / 1000)} s: disconnecting (idle-timeout)`);
        session.abort();
      }, Math.min(1000, idleMs));
      let result: ClientSessionResult;
      try {
        result = await runClientSession(this.#o, {
          tlsSessions: this.#tlsSessions,
          ...this.#deps,
          ...(journal ? { journal } : {}),
          demand,
          onInfo: (i) => {
            this.#info = i;
            this.#blockTunnelRoutes(i);
            this.#deps.onInfo?.(i);
          },
        }, session.signal);
      } finally {
        clearInterval(idleTimer);
        this.#stop.signal.removeEventListener("abort", onStop);
        this.#info = undefined;
      }
      if (this.#stop.signal.aborted) break;
      if (idled) {
        failures = 0;
        this.#log.info(`${demand.tun.name} waits for traffic again`);
        continue;
      }
      const error = result.error ?? new Error("Connection ended");
      const kind = classifyError(error);
      if (kind !== "network") {
        this.#log.error(error.message);
        return { kind, error };
      }
      failures = result.wasConnected ? 0 : failures + 1;
      const dropped = demand.tun.discard();
      if (failures === 0) {
        this.#log.warn(`${error.message}; waiting for traffic to dial again`);
        continue;
      }
      const delay = backoffDelay(failures - 1, this.#backoff, Math.random);
      this.#log.warn(
        `${error.message}; ${dropped} waiting packet(s) dropped; next dial in ${
          (delay / 1000).toFixed(1)
        } s at the earliest`,
      );
      this.#waitingStatus = "waiting to redial";
      await this.#sleep(delay);
      demand.tun.discard();
    }
    this.#log.info("stopped");
    return { kind: "stopped" };
  }

  async #loop(
    journal: ((records: readonly NetChangeRecord[]) => void) | undefined,
  ): Promise<ClientOutcome> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      this.#attempts++;
      const result: ClientSessionResult = await runClientSession(this.#o, {
        tlsSessions: this.#tlsSessions,
        ...this.#deps,
        ...(journal ? { journal } : {}),
        onInfo: (i) => {
          this.#info = i;
          this.#blockTunnelRoutes(i);
          this.#deps.onInfo?.(i);
        },
      }, this.#stop.signal);
      this.#info = undefined;
      if (this.#stop.signal.aborted) break;
      const error = result.error ?? new Error("Connection ended");
      const kind = classifyError(error);
      if (kind !== "network") {
        this.#log.error(error.message);
        return { kind, error };
      }
      if (!this.#o.reconnect) {
        this.#log.error(error.message);
        return { kind, error };
      }
      failures = result.wasConnected ? 0 : failures + 1;
      const delay = backoffDelay(failures, this.#backoff, Math.random);
      this.#log.warn(`${error.message}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await this.#sleep(delay);
    }
    this.#log.info("stopped");
    return { kind: "stopped" };
  }

  /**
   * With the kill switch, the tunnel's other routes (host routes to the
   * peer DNS servers) get unreachable routes below them as well, once the
   * tunnel is up, so DNS queries to them do not leak either while it is
   * down. They stay until the switch is lifted.
   */
  #blockTunnelRoutes(info: ClientSessionInfo): void {
    const net = this.#killSwitch;
    if (net === undefined || info.phase !== "connected") return;
    for (const text of info.dnsRoutes ?? []) {
      const dst = text.split(" ")[0] ?? "";
      if (this.#blocked.has(dst)) continue;
      this.#blocked.add(dst);
      const route = {
        dst,
        type: "unreachable" as const,
        metric: this.#o.defaultRouteDistance + 1,
      };
      const added = net.addRoute(route).then(
        () => this.#log.info(`kill switch: ${dst} blocked while the tunnel is down`),
        (e) => this.#log.warn(`kill switch: cannot block ${dst}: ${(e as Error).message}`),
      );
      this.#pendingBlocks.push(added);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const signal = this.#stop.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
