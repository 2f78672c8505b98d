/**
 * The control protocol between `sstp status` / `sstp disconnect` and a
 * running `sstp serve` or `sstp connect`: JSON lines over a Unix socket.
 *
 * Each request is one JSON object on one line; each answer is one JSON
 * object on one line, in order. Every answer has `ok`; a failed one has
 * `error` (a sentence).
 *
 * ```
 * → {"op":"status"}
 * ← {"ok":true,"role":"server","sessions":[{"name":"sstp-alice",…}]}
 * → {"op":"disconnect","target":"alice"}
 * ← {"ok":true,"disconnected":["sstp-alice"]}
 * ```
 *
 * Sockets live in {@linkcode DEFAULT_CONTROL_DIR} (mode 0700, root only):
 * `sstp-server.sock` for the server, `client-<interface>.sock` per client.
 *
 * @module
 */

/** Directory of control sockets. */
export const DEFAULT_CONTROL_DIR = "/run/sstp";

/** The server's socket in {@linkcode DEFAULT_CONTROL_DIR}. */
export const SERVER_SOCKET_NAME = "sstp-server.sock";

/** A client's socket name for its interface. */
export function clientSocketName(interfaceName: string): string {
  return `client-${interfaceName}.sock`;
}

/** Longest request or answer line accepted (bytes). */
export const MAX_CONTROL_LINE_BYTES = 1 << 20;

/** What a control client may ask. */
export type ControlRequest =
  | { op: "status" }
  | { op: "disconnect"; target: string };

/** A failed answer. */
export interface ControlFailure {
  ok: false;
  error: string;
}

/** One server session as `sstp status` shows it (`/interface sstp-server print` + `monitor`). */
export interface ServerSessionStatus {
  /** Interface name (empty while negotiating). */
  name: string;
  user: string;
  /** Client IP:port (RouterOS `caller-id`). */
  callerId: string;
  /** Address given to the client. */
  address: string;
  /** Server address on the link. */
  localAddress: string;
  /** `negotiating`, `connected` or `disconnecting`. */
  state: string;
  /** SSTP call state (MS-SSTP 3.3 names). */
  sstpState: string;
  uptimeMs: number;
  idleTimeMs: number;
  mtu: number;
  /** TLS version and cipher when the TLS library reports them. */
  encoding: string;
  correlationId: string;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  /** IPv6 (IPV6CP Opened): the client's link-local. */
  ipv6LinkLocal?: string;
  /** IPv6: the /64 advertised to the client (`remote-ipv6-prefix-pool`). */
  ipv6Prefix?: string;
  /** IPv6: the prefix delegated by DHCPv6-PD (`dhcpv6-pd-pool`). */
  ipv6DelegatedPrefix?: string;
}

/** The server's answer to `status`. */
export interface ServerStatusReply {
  ok: true;
  role: "server";
  /** Server uptime. */
  uptimeMs: number;
  sessions: ServerSessionStatus[];
}

/**
 * A client's answer to `status` (`/interface sstp-client monitor`). Fields
 * beyond these are printed as they come.
 */
export interface ClientStatusReply {
  ok: true;
  role: "client";
  /** Interface name. */
  name: string;
  /** `connecting`, `connected`, … */
  status: string;
  server?: string;
  user?: string;
  uptimeMs?: number;
  idleTimeMs?: number;
  mtu?: number;
  encoding?: string;
  localAddress?: string;
  remoteAddress?: string;
  rxBytes?: number;
  txBytes?: number;
  rxPackets?: number;
  txPackets?: number;
  [key: string]: unknown;
}

/** The server's answer to `disconnect`. */
export interface DisconnectReply {
  ok: true;
  /** Interface names (or caller-ids while negotiating) told to disconnect. */
  disconnected: string[];
}

/**
 * Checks a parsed request line.
 *
 * @example
 * ```ts
 * import { parseControlRequest } from "./protocol.ts";
 * const r = parseControlRequest(JSON.parse('{"op":"disconnect","target":"alice"}'));
 * if (typeof r === "string" || r.op !== "disconnect") throw new Error();
 * ```
 * @returns The request, or why it is not one.
 */
export function parseControlRequest(value: unknown): ControlRequest | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "a request must be a JSON object";
  }
  const { op, target } = value as Record<string, unknown>;
  if (op === "status") return { op };
  if (op === "disconnect") {
    if (typeof target !== "string" || target === "") {
      return `"disconnect" needs a non-empty string "target"`;
    }
    return { op, target };
  }
  return `unknown op ${JSON.stringify(op)}`;
}
