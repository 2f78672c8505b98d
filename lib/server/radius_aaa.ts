/**
 * The server's RADIUS service (RouterOS `/radius` + `/ppp aaa` +
 * `/radius incoming`): one {@linkcode RadiusClient} for authentication and
 * accounting, per-session accounting with Interim-Updates, a bounded
 * in-memory queue that keeps Stop records through a short RADIUS outage,
 * Accounting-On/Off, and the RFC 5176 listener.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { RadiusConfig } from "../config/radius_config.ts";
import type { RadiusObserver } from "../radius/radius_observer.ts";
import { RadiusClient } from "../radius/radius_client.ts";
import type { RadiusServer } from "../radius/radius_transactions.ts";
import type { CallIdentity, RadiusAuthorization } from "../radius/radius_auth.ts";
import {
  type AccountedSession,
  accountingAttributes,
  type AccountingCounters,
  nasAccountingAttributes,
} from "../radius/radius_accounting.ts";
import { ACCT_STATUS } from "../radius/radius_attributes.ts";
import { type DynamicTarget, RadiusIncoming } from "../radius/radius_incoming.ts";
import type { RadiusAttribute } from "../radius/radius_packet.ts";
import type { RemoteCredentials, RemoteVerdict } from "../ppp/auth/remote_auth.ts";
import type { RemoteEapConversation } from "../ppp/auth/eap_relay.ts";
import { parseRateLimit } from "../config/rate_limit.ts";

/** Why a `Mikrotik-Rate-Limit` text cannot be applied, or undefined. */
function rateLimitProblem(text: string): string | undefined {
  try {
    parseRateLimit(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Stop records kept for resending while RADIUS is unreachable. */
export const ACCOUNTING_QUEUE_LIMIT = 1000;
/** First and longest wait before resending queued records, ms. */
const RETRY_FIRST_MS = 5_000;
const RETRY_MAX_MS = 60_000;

/** Options of {@linkcode RadiusAaa.create}. */
export interface RadiusAaaOptions {
  /** `/radius`, `/ppp aaa` and `/radius incoming` settings. */
  config: RadiusConfig;
  /** NAS-Identifier (the host name). */
  nasIdentifier: string;
  /** NAS-IP-Address, when known. */
  nasIpAddress?: string;
  /** Time source for retransmits, interim updates and retries. */
  clock: Clock;
  /** Where RADIUS failures and retries are logged. */
  logger: Logger;
  /** Told each request's type, result and latency (metrics). */
  observer?: RadiusObserver;
}

/** Per-session accounting handle. */
export interface SessionAccounting {
  /** Acct-Session-Id sent in every Accounting-Request of the session. */
  readonly acctSessionId: string;
  /** Sends Stop with the final counters (queued if RADIUS is down). */
  stop(terminateCause: number): void;
}

/** The RADIUS service of one server. */
export class RadiusAaa {
  readonly #o: RadiusAaaOptions;
  readonly #client: RadiusClient;
  readonly #servers: RadiusServer[];
  readonly #log: Logger;
  readonly #prefix: string;
  #next = 1;
  readonly #queue: RadiusAttribute[][] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryMs = RETRY_FIRST_MS;
  readonly #interims = new Set<ReturnType<typeof setInterval>>();
  readonly #inFlight = new Set<Promise<void>>();
  #incoming: RadiusIncoming | undefined;
  #isClosed = false;

  private constructor(o: RadiusAaaOptions, servers: RadiusServer[]) {
    this.#o = o;
    this.#servers = servers;
    this.#log = o.logger.child("radius");
    const src = o.config.radius.find((r) => r.srcAddress !== undefined)?.srcAddress;
    this.#client = new RadiusClient({
      servers,
      ...(src === undefined ? {} : { srcAddress: src }),
      nas: {
        nasIdentifier: o.nasIdentifier,
        ...(o.nasIpAddress === undefined ? {} : { nasIpAddress: o.nasIpAddress }),
      },
      clock: o.clock,
      logger: this.#log,
      ...(o.observer === undefined ? {} : { observer: o.observer }),
    });
    // Unique across restarts: the start time in seconds, then a counter.
    this.#prefix = Math.floor(Date.now() / 1000).toString(16).padStart(8, "0");
  }

  /**
   * Reads secret files and creates the service, or returns `undefined` when
   * no `radius` entry has service `ppp`.
   *
   * @throws {Error} When a `secret-file` cannot be read or is empty.
   */
  static async create(o: RadiusAaaOptions): Promise<RadiusAaa | undefined> {
    const entries = o.config.radius.filter((r) => r.service.includes("ppp"));
    if (entries.length === 0) return undefined;
    const servers: RadiusServer[] = [];
    for (const r of entries) {
      let text: string;
      if (r.secret.kind === "text") text = r.secret.text;
      else {
        try {
          text = (await Deno.readTextFile(r.secret.path)).trim();
        } catch (e) {
          throw new Error(
            `Cannot read RADIUS secret-file ${r.secret.path}: ${
              e instanceof Error ? e.message : e
            }`,
          );
        }
        if (text === "") {
          throw new Error(`Cannot use RADIUS secret-file ${r.secret.path}: it is empty`);
        }
      }
      servers.push({
        address: r.address,
        secret: new TextEncoder().encode(text),
        authenticationPort: r.authenticationPort,
        accountingPort: r.accountingPort,
        timeoutMs: r.timeoutMs,
        requireMessageAuthenticator: r.requireMessageAuth,
      });
    }
    return new RadiusAaa(o, servers);
  }

  /** `ppp-aaa use-radius`. */
  get useRadius(): boolean {
    return this.#o.config.pppAaa.useRadius;
  }

  /** `ppp-aaa accounting` (with `use-radius`). */
  get accounting(): boolean {
    return this.#o.config.pppAaa.useRadius && this.#o.config.pppAaa.accounting;
  }

  /** A new Acct-Session-Id. */
  nextSessionId(): string {
    return `${this.#prefix}${(this.#next++).toString(16).padStart(8, "0")}`;
  }

  /** Asks RADIUS about one login. */
  async authenticate(
    creds: RemoteCredentials,
    call: CallIdentity,
  ): Promise<{ verdict: RemoteVerdict; authorization?: RadiusAuthorization }> {
    const r = await this.#client.authenticate(creds, call);
    if (!r.ok) {
      this.#log.info(`login "${creds.user}" refused: ${r.error.message}`);
      return {
        verdict: {
          ok: false,
          error: r.error,
          ...(r.msChapError === undefined ? {} : { msChapError: r.msChapError }),
        },
      };
    }
    const a = r.authorization;
    this.#noteRateLimit(creds.user, a);
    return {
      verdict: {
        ok: true,
        user: creds.user,
        hlak: r.hlak,
        ...(r.authenticatorResponse === undefined
          ? {}
          : { authenticatorResponse: r.authenticatorResponse }),
      },
      authorization: a,
    };
  }

  /**
   * Relays the EAP conversation of `identity` (RFC 3579), keeping the
   * State between rounds; `onAccept` gets the Access-Accept's authorization.
   */
  eapConversation(
    identity: string,
    call: CallIdentity,
    onAccept: (authorization: RadiusAuthorization) => void,
  ): RemoteEapConversation {
    let state: Uint8Array | undefined;
    return {
      respond: async (eap) => {
        const r = await this.#client.eapRound(identity, eap, state, call);
        const forward = r.kind !== "challenge" && r.eap !== undefined ? { eap: r.eap } : {};
        switch (r.kind) {
          case "challenge":
            state = r.state;
            return { kind: "request", eap: r.eap };
          case "reject":
            this.#log.info(`EAP login "${identity}" refused: ${r.error.message}`);
            return { kind: "failure", error: r.error, ...forward };
          case "accept":
            this.#noteRateLimit(identity, r.authorization);
            onAccept(r.authorization);
            return { kind: "success", hlak: r.hlak, ...forward };
        }
      },
    };
  }

  /** Logs whether a Mikrotik-Rate-Limit applies (the profile takes it) or is ignored. */
  #noteRateLimit(user: string, a: RadiusAuthorization): void {
    if (a.rateLimit === undefined) return;
    const problem = rateLimitProblem(a.rateLimit);
    if (problem === undefined) {
      this.#log.info(`"${user}": rate-limit ${a.rateLimit} (Mikrotik-Rate-Limit)`);
    } else {
      this.#log.warn(
        `"${user}": Mikrotik-Rate-Limit "${a.rateLimit}" ignored (${problem}); ` +
          "the profile's rate-limit applies",
      );
    }
  }

  #send(attributes: RadiusAttribute[], keep: boolean): void {
    if (this.#isClosed) return;
    const p = this.#client.account(attributes).then(
      () => {
        this.#retryMs = RETRY_FIRST_MS;
      },
      (e) => {
        if (!keep) {
          this.#log.warn(`accounting record lost: ${e instanceof Error ? e.message : e}`);
          return;
        }
        if (this.#queue.length >= ACCOUNTING_QUEUE_LIMIT) {
          this.#queue.shift();
          this.#log.warn(`accounting queue full (${ACCOUNTING_QUEUE_LIMIT}): oldest Stop dropped`);
        }
        this.#queue.push(attributes);
        this.#scheduleRetry();
      },
    );
    this.#inFlight.add(p);
    p.finally(() => this.#inFlight.delete(p));
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#isClosed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const batch = this.#queue.splice(0);
      this.#log.info(`resending ${batch.length} queued accounting record(s)`);
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
      for (const a of batch) this.#send(a, true);
    }, this.#retryMs);
  }

  /** Records waiting for RADIUS to come back. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends Start and then Interim-Updates every `interimMs` (RADIUS's
   * Acct-Interim-Interval, else `ppp-aaa interim-update`).
   */
  startAccounting(
    session: AccountedSession,
    counters: () => AccountingCounters,
    startedMs: () => number,
    interimMs: number | undefined,
  ): SessionAccounting {
    const nas = this.#client.nas;
    const seconds = () => Math.floor((this.#o.clock.now() - startedMs()) / 1000);
    this.#send(accountingAttributes(nas, session, { status: ACCT_STATUS.START }), false);
    const period = interimMs ?? this.#o.config.pppAaa.interimUpdateMs ?? undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    if (period !== undefined && period > 0) {
      timer = setInterval(() => {
        this.#send(
          accountingAttributes(nas, session, {
            status: ACCT_STATUS.INTERIM_UPDATE,
            sessionTimeS: seconds(),
            counters: counters(),
          }),
          false,
        );
      }, Math.max(10_000, period));
      this.#interims.add(timer);
    }
    let isStopped = false;
    return {
      acctSessionId: session.call.acctSessionId,
      stop: (terminateCause) => {
        if (isStopped) return;
        isStopped = true;
        if (timer !== undefined) {
          clearInterval(timer);
          this.#interims.delete(timer);
        }
        this.#send(
          accountingAttributes(nas, session, {
            status: ACCT_STATUS.STOP,
            sessionTimeS: seconds(),
            counters: counters(),
            terminateCause,
          }),
          true,
        );
      },
    };
  }

  /** Accounting-On (server start). */
  accountingOn(): void {
    if (!this.accounting) return;
    this.#send(
      nasAccountingAttributes(this.#client.nas, ACCT_STATUS.ACCOUNTING_ON, this.nextSessionId()),
      false,
    );
  }

  /** Starts the RFC 5176 listener when `radius-incoming accept` is on. */
  async listenIncoming(target: DynamicTarget): Promise<void> {
    const c = this.#o.config.radiusIncoming;
    if (!c.accept) return;
    // Only configured RADIUS servers may send requests, each signed with its own secret.
    const secrets = new Map(this.#servers.map((s) => [s.address, s.secret]));
    const incoming = new RadiusIncoming({
      port: c.port,
      secrets,
      target,
      logger: this.#log,
      ...(this.#o.observer === undefined ? {} : { observer: this.#o.observer }),
    });
    const port = await incoming.listen();
    this.#incoming = incoming;
    this.#log.info(`radius-incoming: listening on UDP port ${port}`);
  }

  /** Accounting-Off, waits briefly for pending records, closes sockets and timers. */
  async close(graceMs = 2000): Promise<void> {
    if (this.#isClosed) return;
    if (this.accounting) {
      this.#send(
        nasAccountingAttributes(this.#client.nas, ACCT_STATUS.ACCOUNTING_OFF, this.nextSessionId()),
        false,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#inFlight),
      new Promise((r) => timer = setTimeout(r, graceMs)),
    ]);
    clearTimeout(timer);
    this.#isClosed = true;
    if (this.#queue.length > 0) {
      this.#log.warn(`${this.#queue.length} accounting record(s) not delivered at shutdown`);
    }
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    for (const t of this.#interims) clearInterval(t);
    this.#client.close();
    await this.#incoming?.close();
  }
}
