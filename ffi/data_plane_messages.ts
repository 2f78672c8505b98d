/**
 * The messages between the main thread and a data-plane Worker
 * (`data_plane_worker.ts`, driven by `worker_data_path.ts`). One Worker
 * serves one session (the client) or many (the server's pool); every
 * per-session message names its session by `id`. Only control events
 * cross: session start and end, the engine's gate, control packets,
 * counters. IP packets stay in the Worker.
 *
 * Wake-ups: the Worker sleeps in a blocking `epoll_wait`, where a message
 * event cannot reach it. The main thread therefore posts a message, then
 * adds 1 to the shared counter `posted` and signals the eventfd `wakeFd`
 * (which is in the Worker's epoll set); the Worker, woken, takes messages
 * until it has handled `posted` of them. `init`, the first message, is the
 * only one not counted.
 *
 * @module
 */
import type { DataPlanePolicySpec } from "../lib/tunnel/data_plane_policy.ts";

/** The gate of the data plane, as the main thread's engine has it. */
export interface WorkerGate {
  /** IPv4 NCP open and the call connected. */
  isIpv4Open: boolean;
  /** IPv6 NCP open and the call connected. */
  isIpv6Open: boolean;
  /** The peer's MRU. */
  peerMru: number;
  /** BCP open. */
  isBridgeOpen: boolean;
}

/** The server's inbound checks, as plain data (the Worker builds them from it). */
export type WorkerPolicy = DataPlanePolicySpec;

/** Main thread → Worker. */
export type ToWorker =
  /** First message: the Worker's wake-up eventfd and message counter (the main thread closes the eventfd). */
  | { type: "init"; wakeFd: number; posted: SharedArrayBuffer }
  | {
    type: "start";
    id: number;
    /** `SSL*` address; the Worker frees it. */
    ssl: bigint;
    /** Socket fd of the `SSL*`; the Worker closes it. */
    fd: number;
    /** Plaintext received before the hand-over, oldest first (the HTTP leftover first). */
    received: Uint8Array[];
    /** Plaintext written before the hand-over and not yet sent. */
    unsent: Uint8Array[];
    /** The stream had ended before the hand-over (`error` set: it failed). */
    ended?: { error?: string };
  }
  /** Control packets of the runner, to write as they are. */
  | { type: "write"; id: number; bytes: Uint8Array }
  /** The TUN device (a duplicate fd the Worker closes), the data plane's settings and checks. */
  | {
    type: "tun";
    id: number;
    fd: number;
    framing: object;
    gate: WorkerGate;
    clampMssMtu?: number;
    policy?: WorkerPolicy;
  }
  /** Packets the runner writes to the TUN device (held for link-up, not intercepted). */
  | { type: "tunWrite"; id: number; packets: Uint8Array[] }
  /** The gate changed. */
  | { type: "gate"; id: number; gate: WorkerGate }
  /** The source check changed (prefixes routed to the client came or went); the policer stays. */
  | { type: "sources"; id: number; source: NonNullable<WorkerPolicy["source"]> }
  /** Pause or resume reading the socket (the runner's control output is piling up). */
  | { type: "reads"; id: number; paused: boolean }
  /** Send what is queued (at most 1 s), then close_notify, free and close everything. */
  | { type: "close"; id: number }
  /** Ends every session at once and leaves the loop (the pool is shutting down). */
  | { type: "exit" };

/** Counter increments since the last `counters` message of a session. */
export interface WorkerCounters {
  /** IP bytes written to the TUN device. */
  rxBytes: number;
  /** IP packets written to the TUN device. */
  rxPackets: number;
  /** IP bytes sent to the peer. */
  txBytes: number;
  /** IP packets sent to the peer. */
  txPackets: number;
  /** Inbound packets dropped (gate closed, too long, ...). */
  droppedInbound: number;
  /** Inbound packets dropped for a source address the session may not use. */
  droppedSpoofed: number;
  /** Inbound packets dropped over the upload rate. */
  droppedPoliced: number;
}

/** Worker → main thread. */
export type FromWorker =
  /** SSTP packets (whole, back to back) for the runner: everything except IP to the TUN device. */
  | { type: "packets"; id: number; bytes: Uint8Array }
  /** Counter increments since the last message. */
  | ({ type: "counters"; id: number } & WorkerCounters)
  /** The Worker freed the `SSL*` and closed its fds; `error` unless the end was orderly. */
  | { type: "end"; id: number; error?: { name: string; message: string } }
  /** After `exit`: every session was finished and the loop has returned (the Worker may be terminated). */
  | { type: "exited" };
