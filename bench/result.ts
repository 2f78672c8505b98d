/**
 * The shape of a benchmark result (bench/results/*.json). Raw runs are kept;
 * medians, ratios and target verdicts are derived from them in report.ts.
 *
 * @module
 */
import type { HopMedians } from "./rtt_hops.ts";
import type { LoadResult } from "./load_client.ts";

/** The three paths compared. */
export type PathName = "veth" | "openvpn" | "ocserv" | "sstp" | "sstp-openssl" | "sstp-worker";
/** The tunnels whose hops are cut (every path but the bare veth). */
export type TunnelName = Exclude<PathName, "veth">;

/** Raw figures of one path. */
export interface PathResult {
  /** Mbit/s client → server (iperf3), one per run. */
  up: number[];
  /** Mbit/s server → client (iperf3 -R), one per run. */
  down: number[];
  /** CPU% per run of [server process, client process] during `up`. */
  upCpu: number[][];
  /** Same during `down`. */
  downCpu: number[][];
  /** Median RTT of each run's pings, ms. */
  pingMedianMs: number[];
  /** Mean RTT of each run's pings, ms. */
  pingAvgMs: number[];
  /** Every RTT, ms. */
  rttsMs: number[];
  errors?: string[];
}

/** Connect times of one program. */
export interface ConnectResult {
  /** Spawn → tunnel usable, ms. */
  totalMs: number[];
  /** First log line → tunnel usable, ms (without program start-up). */
  handshakeMs: number[];
}

/** How long the sessions run samples RSS after the idle-CPU window. */
export const SETTLE_SECONDS = 30;

/** One sessions run. */
export interface SessionsResult {
  sessions: number;
  load?: LoadResult;
  baselineRssKib?: number;
  loadedRssKib?: number;
  rssPerSessionKib?: number;
  /**
   * Lowest server VmRSS sampled each second over {@linkcode SETTLE_SECONDS}
   * after the idle-CPU window: V8 releases the young generation that the
   * set-up burst grew (its memory reducer, ~20 s after the last full GC).
   */
  settledRssKib?: number;
  /** (settledRssKib − baselineRssKib) / established. */
  settledRssPerSessionKib?: number;
  baselineCpuPercent?: number | undefined;
  setupServerCpuPercent?: number | undefined;
  /** CPU of the load generator over the same interval (it shares the machine). */
  setupLoadClientCpuPercent?: number | undefined;
  idleCpuPercent?: number | undefined;
  loadClientIdleCpuPercent?: number | undefined;
  error?: string;
}

/** Bulk integrity through sstp. */
export interface BulkResult {
  bytes: number;
  sentBytes: number;
  receivedBytes: number;
  sentSha256: string;
  receivedSha256: string;
  isEqual: boolean;
  seconds: number;
  mbps: number;
}

/** A target of issue 6 and whether this run met it. */
export interface TargetVerdict {
  name: string;
  target: string;
  measured: string;
  /** undefined: not measured in this run. */
  isMet: boolean | undefined;
}

/** A whole run of the suite. */
export interface BenchResult {
  date: string;
  durationSeconds?: number;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  paths: Partial<Record<PathName, PathResult>>;
  connect: Partial<Record<TunnelName, ConnectResult>>;
  openvpnCipher?: string;
  sstpMtu?: number;
  bulk?: BulkResult;
  /** Where the added RTT goes, per tunnel (bench/rtt_hops.ts; absent without tcpdump). */
  rttHops?: Partial<Record<TunnelName, HopMedians>>;
  /** VmRSS of each tunnel's client process after the throughput runs (KiB). */
  clientRssKib?: Partial<Record<TunnelName, number>>;
  sessions: SessionsResult[];
  errors: string[];
  targets: TargetVerdict[];
}
