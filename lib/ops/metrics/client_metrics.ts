/**
 * The client's Prometheus metrics (`sstp connect --metrics ADDR:PORT`), read
 * from the client at scrape time: `sstp_client_up` (1 while the tunnel is
 * connected), `sstp_client_phase{phase}`, `sstp_client_connect_attempts_total`,
 * `sstp_client_traffic_bytes_total{direction}` and
 * `sstp_client_traffic_packets_total{direction}` (over every session of this
 * process: `tx` to the server, `rx` from it), `sstp_client_session_uptime_seconds`,
 * and the standard `process_*` metrics.
 *
 * @module
 */
import type { SstpClient } from "../../client/sstp_client.ts";
import type { TunnelRunner } from "../../pipeline/runner.ts";
import { ExpositionWriter, writeProcessMetrics } from "./exposition.ts";

interface Totals {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

const PHASES = ["connecting", "tls", "http", "negotiating", "connected", "disconnecting"] as const;

/** Renders the metrics of one client. */
export class ClientMetrics {
  readonly #client: SstpClient;
  readonly #startTimeSeconds = Date.now() / 1000;
  /** Counters of sessions that have ended. */
  readonly #base: Totals = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 };
  /** The runner seen last: its counters are final once another one appears. */
  #last: TunnelRunner | undefined;

  /** Metrics of `client`. */
  constructor(client: SstpClient) {
    this.#client = client;
  }

  #totals(): Totals {
    const runner = this.#client.info?.runner;
    if (runner !== this.#last) {
      if (this.#last !== undefined) {
        const c = this.#last.counters;
        this.#base.rxBytes += c.rxBytes;
        this.#base.txBytes += c.txBytes;
        this.#base.rxPackets += c.rxPackets;
        this.#base.txPackets += c.txPackets;
      }
      this.#last = runner;
    }
    const c = runner?.counters;
    return {
      rxBytes: this.#base.rxBytes + (c?.rxBytes ?? 0),
      txBytes: this.#base.txBytes + (c?.txBytes ?? 0),
      rxPackets: this.#base.rxPackets + (c?.rxPackets ?? 0),
      txPackets: this.#base.txPackets + (c?.txPackets ?? 0),
    };
  }

  /** The exposition document. */
  render(nowMs = performance.now()): string {
    const info = this.#client.info;
    const t = this.#totals();
    const w = new ExpositionWriter();
    w.metric("sstp_client_up", "gauge", "1 while the tunnel is connected.", [[
      undefined,
      info?.phase === "connected" ? 1 : 0,
    ]]);
    w.metric(
      "sstp_client_phase",
      "gauge",
      "1 for the phase the client is in (all 0 while waiting to reconnect).",
      PHASES.map((phase) => [{ phase }, info?.phase === phase ? 1 : 0] as const),
    );
    w.metric("sstp_client_connect_attempts_total", "counter", "Connection attempts.", [[
      undefined,
      this.#client.attempts,
    ]]);
    w.metric(
      "sstp_client_traffic_bytes_total",
      "counter",
      "IP bytes through the tunnel: tx to the server, rx from it.",
      [[{ direction: "rx" }, t.rxBytes], [{ direction: "tx" }, t.txBytes]],
    );
    w.metric(
      "sstp_client_traffic_packets_total",
      "counter",
      "IP packets through the tunnel: tx to the server, rx from it.",
      [[{ direction: "rx" }, t.rxPackets], [{ direction: "tx" }, t.txPackets]],
    );
    w.metric(
      "sstp_client_session_uptime_seconds",
      "gauge",
      "Seconds since the tunnel came up (0 when down).",
      [[
        undefined,
        info?.connectedAtMs === undefined ? 0 : Math.max(0, nowMs - info.connectedAtMs) / 1000,
      ]],
    );
    writeProcessMetrics(w, this.#startTimeSeconds);
    return w.toString();
  }
}
