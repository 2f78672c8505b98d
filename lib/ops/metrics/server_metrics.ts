/**
 * The server's Prometheus metrics. {@linkcode ServerMetrics} is the
 * {@linkcode ServerObserver} the server calls on refusals and new sessions;
 * everything else (states, traffic, set-up times) is read from the sessions
 * at scrape time, so the data path pays nothing for metrics.
 *
 * Metric names (all prefixed `sstp_`): `sessions{state}`,
 * `connections_refused_total{reason}`, `sessions_started_total`,
 * `session_setups_total{method}`, `session_setup_failures_total{reason,method}`,
 * `session_setup_duration_seconds` (histogram), `traffic_bytes_total{direction}`,
 * `traffic_packets_total{direction}`, `dropped_packets_total{reason}`
 * (`inbound_link_not_ready`, `spoofed_source`: IPv4 or IPv6 from a source
 * the session was not given),
 * `server_uptime_seconds`, `tls_handshake_duration_seconds` (histogram, TCP
 * accept to handshake done, accepted handshakes of every TLS listener),
 * with `auth-throttle` on `auth_throttled_total{reason}` (`delayed`,
 * `source_blocked`, `user_blocked`), `auth_throttle_blocks_total`,
 * `auth_throttle_blocked_sources` and `auth_throttle_blocked_users`, with
 * RADIUS `radius_requests_total{type,result}` (types `access`,
 * `accounting`, `coa`, `disconnect`; results in radius_observer.ts),
 * `radius_request_duration_seconds{type}` (histogram, answered requests)
 * and `radius_invalid_replies_total`, and with `metrics-per-user: yes`
 * `user_traffic_bytes_total{user,direction}` (one series per user ever seen:
 * off by default for cardinality). `direction` is `rx` (from clients) or
 * `tx` (to clients). Plus the standard `process_*` metrics.
 *
 * @module
 */
import type { Clock } from "../../clock.ts";
import { systemClock } from "../../clock.ts";
import { ProtocolError } from "../../errors.ts";
import type { ServerObserver } from "../../server/server.ts";
import type { ServerSession } from "../../server/_session.ts";
import { ExpositionWriter, Histogram, type Labels, writeProcessMetrics } from "./exposition.ts";
import type {
  AuthThrottle,
  AuthThrottleObserver,
  ThrottleReason,
} from "../../server/auth_throttle.ts";
import type {
  RadiusObserver,
  RadiusRequestType,
  RadiusResult,
} from "../../radius/radius_observer.ts";

/** Set-up duration buckets, seconds. */
const SETUP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** TLS handshake and RADIUS latency buckets, seconds (RADIUS retransmits after 3 s). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const THROTTLE_REASONS: readonly ThrottleReason[] = ["delayed", "source_blocked", "user_blocked"];
const RADIUS_TYPES: readonly RadiusRequestType[] = ["access", "accounting", "coa", "disconnect"];

/** Traffic counters summed over sessions. */
export interface Traffic {
  /** IP bytes received from clients through their tunnels. */
  rxBytes: number;
  /** IP bytes sent to clients through their tunnels. */
  txBytes: number;
  /** IP packets received from clients through their tunnels. */
  rxPackets: number;
  /** IP packets sent to clients through their tunnels. */
  txPackets: number;
  /** Packets from clients that were dropped (undecodable, or no TUN device yet). */
  droppedInbound: number;
  /** Packets from clients dropped for a source address their session was not given. */
  droppedSpoofed: number;
}

function emptyTraffic(): Traffic {
  return {
    rxBytes: 0,
    txBytes: 0,
    rxPackets: 0,
    txPackets: 0,
    droppedInbound: 0,
    droppedSpoofed: 0,
  };
}

function add(to: Traffic, c: Traffic): void {
  to.rxBytes += c.rxBytes;
  to.txBytes += c.txBytes;
  to.rxPackets += c.rxPackets;
  to.txPackets += c.txPackets;
  to.droppedInbound += c.droppedInbound;
  to.droppedSpoofed += c.droppedSpoofed;
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Why a session that never came up ended, as a label value. */
export function failureReason(session: ServerSession): string {
  const e = session.engine.error;
  if (e instanceof ProtocolError) return e.code.toLowerCase();
  if (session.endReason !== undefined) {
    if (session.endReason.includes("shutting down")) return "shutdown";
    if (session.endReason.includes("administrator")) return "administrator";
    return "closed";
  }
  return e === undefined ? "connection_lost" : "error";
}

/** A session that ended before coming up, for the status page. */
export interface RecentFailure {
  /** Wall-clock time (ms since the epoch). */
  atMs: number;
  /** Client IP:port. */
  callerId: string;
  /** User name, empty when the session ended before authentication. */
  user: string;
  /** Short label, as in `session_setup_failures_total{reason}` (`auth_failed`, `connection_lost`, …). */
  reason: string;
  /** The error message, at most 200 characters. */
  detail: string;
}

const MAX_RECENT_FAILURES = 20;

/** Collects and renders the server's metrics. */
export class ServerMetrics implements ServerObserver {
  readonly #clock: Clock;
  readonly #perUser: boolean;
  readonly #startedMs: number;
  readonly #startTimeSeconds = Date.now() / 1000;
  readonly #refused = new Map<string, number>();
  readonly #setups = new Map<string, number>();
  /** Key `reason\0method`. */
  readonly #failures = new Map<string, number>();
  readonly #setupSeconds = new Histogram(SETUP_BUCKETS);
  readonly #counted = new WeakSet<ServerSession>();
  /** Traffic of sessions that have ended. */
  readonly #ended = emptyTraffic();
  readonly #endedByUser = new Map<string, Traffic>();
  #started = 0;
  readonly #recentFailures: RecentFailure[] = [];
  readonly #handshakeSeconds = new Histogram(LATENCY_BUCKETS);
  #throttle: AuthThrottle | undefined;
  readonly #throttled = new Map<string, number>(THROTTLE_REASONS.map((r) => [r, 0]));
  #throttleBlocks = 0;
  #radiusSeen: boolean;
  /** Key `type\0result`. */
  readonly #radiusRequests = new Map<string, number>();
  readonly #radiusSeconds = new Map<RadiusRequestType, Histogram>();
  #radiusInvalid = 0;

  /**
   * `perUser`: also keep per-user traffic series. `radius`: RADIUS is
   * configured, so its series are shown from the start (otherwise from the
   * first request).
   */
  constructor(options: { perUser?: boolean; radius?: boolean; clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#perUser = options.perUser ?? false;
    this.#radiusSeen = options.radius ?? false;
    this.#startedMs = this.#clock.now();
  }

  /** {@inheritDoc ServerObserver.tlsHandshake} */
  tlsHandshake(ms: number): void {
    this.#handshakeSeconds.observe(Math.max(0, ms) / 1000);
  }

  /** {@inheritDoc ServerObserver.authThrottle} */
  readonly authThrottle: AuthThrottleObserver = {
    attached: (throttle) => {
      this.#throttle = throttle;
    },
    throttled: (reason) => bump(this.#throttled, reason),
    sourceBlocked: () => {
      this.#throttleBlocks++;
    },
  };

  /** {@inheritDoc ServerObserver.radius} */
  readonly radius: RadiusObserver = {
    radiusRequest: (type: RadiusRequestType, result: RadiusResult, seconds?: number) => {
      this.#radiusSeen = true;
      bump(this.#radiusRequests, `${type}\0${result}`);
      if (seconds === undefined) return;
      let h = this.#radiusSeconds.get(type);
      if (h === undefined) this.#radiusSeconds.set(type, h = new Histogram(LATENCY_BUCKETS));
      h.observe(seconds);
    },
    radiusInvalidReply: () => {
      this.#radiusSeen = true;
      this.#radiusInvalid++;
    },
  };

  /** {@inheritDoc ServerObserver.refused} */
  refused(reason: string): void {
    bump(this.#refused, reason);
  }

  /** {@inheritDoc ServerObserver.sessionStarted} */
  sessionStarted(session: ServerSession): void {
    this.#started++;
    session.done.finally(() => this.#sessionEnded(session));
  }

  #noteSetup(s: ServerSession): void {
    if (s.connectedMs === undefined || this.#counted.has(s)) return;
    this.#counted.add(s);
    bump(this.#setups, s.engine.authenticated?.method ?? "none");
    this.#setupSeconds.observe(Math.max(0, s.connectedMs - s.startedMs) / 1000);
  }

  #sessionEnded(s: ServerSession): void {
    this.#noteSetup(s);
    if (s.connectedMs === undefined) {
      const reason = failureReason(s);
      bump(this.#failures, `${reason}\0${s.engine.authenticated?.method ?? "none"}`);
      this.#recentFailures.push({
        atMs: Date.now(),
        callerId: s.callerId,
        user: s.user ?? "",
        reason,
        detail: (s.engine.error?.message ?? s.endReason ?? "").slice(0, 200),
      });
      if (this.#recentFailures.length > MAX_RECENT_FAILURES) this.#recentFailures.shift();
    }
    const c = s.runner.counters;
    add(this.#ended, c);
    if (this.#perUser && s.user !== undefined) {
      let t = this.#endedByUser.get(s.user);
      if (t === undefined) this.#endedByUser.set(s.user, t = emptyTraffic());
      add(t, c);
    }
  }

  /** The last 20 set-up failures, oldest first. */
  get recentFailures(): readonly RecentFailure[] {
    return this.#recentFailures;
  }

  /** Traffic of all sessions so far, ended and live. */
  totals(sessions: readonly ServerSession[]): Traffic {
    const t = emptyTraffic();
    add(t, this.#ended);
    for (const s of sessions) add(t, s.runner.counters);
    return t;
  }

  /** The exposition document for the server's current `sessions`. */
  render(sessions: readonly ServerSession[]): string {
    const states = new Map<string, number>([["negotiating", 0], ["connected", 0], [
      "disconnecting",
      0,
    ]]);
    const total = emptyTraffic();
    add(total, this.#ended);
    const byUser = new Map<string, Traffic>();
    if (this.#perUser) {
      for (const [u, t] of this.#endedByUser) {
        const copy = emptyTraffic();
        add(copy, t);
        byUser.set(u, copy);
      }
    }
    for (const s of sessions) {
      bump(states, s.state);
      this.#noteSetup(s);
      add(total, s.runner.counters);
      if (this.#perUser && s.user !== undefined) {
        let t = byUser.get(s.user);
        if (t === undefined) byUser.set(s.user, t = emptyTraffic());
        add(t, s.runner.counters);
      }
    }
    const w = new ExpositionWriter();
    w.metric(
      "sstp_sessions",
      "gauge",
      "Sessions by state.",
      [...states].map(([state, n]) => [{ state }, n] as const),
    );
    w.metric("sstp_sessions_started_total", "counter", "Sessions started after HTTP 200.", [[
      undefined,
      this.#started,
    ]]);
    w.metric(
      "sstp_connections_refused_total",
      "counter",
      "Connections turned away before a session, by reason.",
      [...this.#refused].map(([reason, n]) => [{ reason }, n] as const),
    );
    w.metric(
      "sstp_session_setups_total",
      "counter",
      "Sessions that came up, by authentication method.",
      [...this.#setups].map(([method, n]) => [{ method }, n] as const),
    );
    w.metric(
      "sstp_session_setup_failures_total",
      "counter",
      "Sessions that ended before coming up, by reason and method.",
      [...this.#failures].map(([key, n]) => {
        const [reason, method] = key.split("\0");
        return [{ reason: reason!, method: method! }, n] as const;
      }),
    );
    w.family(
      "sstp_session_setup_duration_seconds",
      "histogram",
      "Time from the HTTP 200 to the interface being up.",
    );
    w.histogram("sstp_session_setup_duration_seconds", this.#setupSeconds);
    const dir = (t: Traffic, key: "Bytes" | "Packets", extra: Labels = {}) =>
      [
        [{ ...extra, direction: "rx" }, t[`rx${key}`]],
        [{ ...extra, direction: "tx" }, t[`tx${key}`]],
      ] as const;
    w.metric(
      "sstp_traffic_bytes_total",
      "counter",
      "IP bytes through the tunnels: rx from clients, tx to clients.",
      dir(total, "Bytes"),
    );
    w.metric(
      "sstp_traffic_packets_total",
      "counter",
      "IP packets through the tunnels: rx from clients, tx to clients.",
      dir(total, "Packets"),
    );
    w.metric("sstp_dropped_packets_total", "counter", "Packets dropped, by reason.", [
      [{ reason: "inbound_link_not_ready" }, total.droppedInbound],
      [{ reason: "spoofed_source" }, total.droppedSpoofed],
    ]);
    if (this.#perUser) {
      w.metric(
        "sstp_user_traffic_bytes_total",
        "counter",
        "IP bytes per user (metrics-per-user).",
        [...byUser].flatMap(([user, t]) => dir(t, "Bytes", { user })),
      );
    }
    w.family(
      "sstp_tls_handshake_duration_seconds",
      "histogram",
      "Time from the TCP accept to the end of the TLS handshake, accepted handshakes.",
    );
    w.histogram("sstp_tls_handshake_duration_seconds", this.#handshakeSeconds);
    if (this.#throttle !== undefined) this.#renderThrottle(w, this.#throttle);
    if (this.#radiusSeen) this.#renderRadius(w);
    w.metric("sstp_server_uptime_seconds", "gauge", "Seconds since the server started.", [[
      undefined,
      (this.#clock.now() - this.#startedMs) / 1000,
    ]]);
    writeProcessMetrics(w, this.#startTimeSeconds);
    return w.toString();
  }

  #renderThrottle(w: ExpositionWriter, throttle: AuthThrottle): void {
    w.metric(
      "sstp_auth_throttled_total",
      "counter",
      "Connections and logins held back by auth-throttle, by reason.",
      [...this.#throttled].map(([reason, n]) => [{ reason }, n] as const),
    );
    w.metric(
      "sstp_auth_throttle_blocks_total",
      "counter",
      "Times a source was blocked for auth-throttle-block-time.",
      [[undefined, this.#throttleBlocks]],
    );
    const blocked = throttle.blockedCounts(this.#clock.now());
    w.metric("sstp_auth_throttle_blocked_sources", "gauge", "Source addresses blocked now.", [
      [undefined, blocked.sources],
    ]);
    w.metric(
      "sstp_auth_throttle_blocked_users",
      "gauge",
      "User names refused now to sources that failed before.",
      [[undefined, blocked.users]],
    );
  }

  #renderRadius(w: ExpositionWriter): void {
    w.metric(
      "sstp_radius_requests_total",
      "counter",
      "RADIUS requests by type (access, accounting, coa, disconnect) and result.",
      [...this.#radiusRequests].map(([key, n]) => {
        const [type, result] = key.split("\0");
        return [{ type: type!, result: result! }, n] as const;
      }),
    );
    w.family(
      "sstp_radius_request_duration_seconds",
      "histogram",
      "Time from a RADIUS request's first send to its verified reply, by type.",
    );
    for (const type of RADIUS_TYPES) {
      const h = this.#radiusSeconds.get(type);
      if (h !== undefined) w.histogram("sstp_radius_request_duration_seconds", h, { type });
    }
    w.metric(
      "sstp_radius_invalid_replies_total",
      "counter",
      "RADIUS reply datagrams dropped: malformed, unknown identifier or bad authenticator.",
      [[undefined, this.#radiusInvalid]],
    );
  }
}
