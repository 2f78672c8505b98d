/**
 * The messages between the main thread and the data-plane Worker
 * (`data_plane_worker.ts`, driven by `worker_data_path.ts`). Only control
 * events cross: session start and end, the engine's gate, control packets,
 * counters. IP packets stay in the Worker.
 *
 * Wake-ups: the Worker sleeps in a blocking `epoll_wait`, where a message
 * event cannot reach it. The main thread therefore posts a message, then
 * adds 1 to the shared counter `posted` and signals the eventfd `wakeFd`
 * (which is in the Worker's epoll set); the Worker, woken, takes messages
 * until it has handled `posted` of them.
 *
 * @module
 */

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

/** Main thread → Worker. */
export type ToWorker =
  | {
    type: "start";
    /** `SSL*` address; the Worker frees it. */
    ssl: bigint;
    /** Socket fd of the `SSL*`; the Worker closes it. */
    fd: number;
    /** Eventfd the main thread signals after each message (the main thread closes it). */
    wakeFd: number;
    /** `Int32Array(1)`: messages posted after `start`. */
    posted: SharedArrayBuffer;
    /** Plaintext received before the hand-over, oldest first (the HTTP leftover first). */
    received: Uint8Array[];
    /** Plaintext written before the hand-over and not yet sent. */
    unsent: Uint8Array[];
    /** The stream had ended before the hand-over (`error` set: it failed). */
    ended?: { error?: string };
  }
  /** Control packets of the runner, to write as they are. */
  | { type: "write"; bytes: Uint8Array }
  /** The TUN device (a duplicate fd the Worker closes) and the data plane's settings. */
  | { type: "tun"; fd: number; framing: object; gate: WorkerGate; clampMssMtu?: number }
  /** Packets the runner writes to the TUN device (held for link-up, not intercepted). */
  | { type: "tunWrite"; packets: Uint8Array[] }
  /** The gate changed. */
  | { type: "gate"; gate: WorkerGate }
  /** Pause or resume reading the socket (the runner's control output is piling up). */
  | { type: "reads"; paused: boolean }
  /** Send what is queued (at most 1 s), then close_notify, free and close everything. */
  | { type: "close" };

/** Worker → main thread. */
export type FromWorker =
  /** SSTP packets (whole, back to back) for the runner: everything except IP to the TUN device. */
  | { type: "packets"; bytes: Uint8Array }
  /** Counter increments since the last message. */
  | {
    type: "counters";
    rxBytes: number;
    rxPackets: number;
    txBytes: number;
    txPackets: number;
    droppedInbound: number;
  }
  /** The Worker freed the `SSL*` and closed its fds; `error` unless the end was orderly. */
  | { type: "end"; error?: { name: string; message: string } };
