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
  /** Always false: tells a failure from a reply. */
  ok: false;
  /** Std-style message ("Cannot disconnect "x": no such session"). */
  error: string;
}

/** One server session as `sstp status` shows it (`/interface sstp-server print` + `monitor`). */
export interface ServerSessionStatus {
  /** Interface name (empty while negotiating). */
  name: string;
  /** Authenticated user name (empty before authentication). */
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
  /** Milliseconds since the session came up (since the connection while negotiating). */
  uptimeMs: number;
  /** Milliseconds since the last data packet in either direction. */
  idleTimeMs: number;
  /** Link MTU in bytes; 0 until the session is up. */
  mtu: number;
  /** TLS version and cipher when the TLS library reports them. */
  encoding: string;
  /** The client's SSTPCORRELATIONID header, or `local-<uuid>` when it sent none; ties log lines to the session. */
  correlationId: string;
  /** IP bytes received from the client through the tunnel. */
  rxBytes: number;
  /** IP bytes sent to the client through the tunnel. */
  txBytes: number;
  /** IP packets received from the client through the tunnel. */
  rxPackets: number;
  /** IP packets sent to the client through the tunnel. */
  txPackets: number;
  /** Bridged sessions (BCP): the session's TAP port and its bridge, `sstp-br0 in br-lan`. */
  bridge?: string;
  /** `/ppp profile` in force. */
  profile?: string;
  /** The profile's `rate-limit`, as written. */
  rateLimit?: string;
  /** The secret's `limit-bytes-in` / `limit-bytes-out`. */
  limitBytesIn?: number;
  /** The secret's `limit-bytes-out`. */
  limitBytesOut?: number;
  /** The user's `last-logged-out` (ISO 8601: end of its previous session). */
  lastLoggedOut?: string;
  /** The user's `last-caller-id` (address of its latest login). */
  lastCallerId?: string;
  /** Client packets dropped by the upload rate limit. */
  droppedPoliced?: number;
  /** Client IPv4 and IPv6 packets dropped for a source the session was not given. */
  droppedSpoofed?: number;
  /** IPv6 (IPV6CP Opened): the client's link-local. */
  ipv6LinkLocal?: string;
  /** IPv6: the /64 advertised to the client (`remote-ipv6-prefix-pool`). */
  ipv6Prefix?: string;
  /** IPv6: the prefix delegated by DHCPv6-PD (`dhcpv6-pd-pool`). */
  ipv6DelegatedPrefix?: string;
  /** IPv4 routes to the client (the secret's `routes`, RADIUS Framed-Route): `198.18.77.0/24 1`. */
  routes?: string[];
  /**
   * IPv6 routes to the client (the secret's `routes`, RADIUS Framed-IPv6-Route,
   * a Framed-IPv6-Prefix that is not the advertised /64), added once IPV6CP is up.
   */
  ipv6Routes?: string[];
}

/** A `/ppp secret`'s read-only history, as `/ppp secret print` shows it. */
export interface SecretHistoryStatus {
  /** The secret's name. */
  name: string;
  /** When the user's last session ended (ISO 8601). */
  lastLoggedOut?: string;
  /** Address of the user's latest login. */
  lastCallerId?: string;
}

/** The server's answer to `status`. */
export interface ServerStatusReply {
  /** Always true: a reply, not a {@linkcode ControlFailure}. */
  ok: true;
  /** Tells this reply from a client's. */
  role: "server";
  /** Server uptime. */
  uptimeMs: number;
  /** Every session, negotiating ones included. */
  sessions: ServerSessionStatus[];
  /** Configured secrets that have logged in at least once. */
  secrets?: SecretHistoryStatus[];
}

/**
 * A client's answer to `status` (`/interface sstp-client monitor`). Fields
 * beyond these are printed as they come.
 */
export interface ClientStatusReply {
  /** Always true: a reply, not a {@linkcode ControlFailure}. */
  ok: true;
  /** Tells this reply from a server's. */
  role: "client";
  /** Interface name. */
  name: string;
  /** `connecting`, `connected`, … */
  status: string;
  /** The server as configured, `host:port`. */
  server?: string;
  /** The user name the client logs in with. */
  user?: string;
  /** Milliseconds since the tunnel came up; absent until then. */
  uptimeMs?: number;
  /** Milliseconds since the last data packet in either direction. */
  idleTimeMs?: number;
  /** Link MTU in bytes, once IPCP is up. */
  mtu?: number;
  /** TLS version and cipher when the TLS library reports them. */
  encoding?: string;
  /** The client's tunnel address, once IPCP is up. */
  localAddress?: string;
  /** IP:port the TLS connection reached (the server, or the proxy). */
  remoteAddress?: string;
  /** IP bytes received from the server through the tunnel. */
  rxBytes?: number;
  /** IP bytes sent to the server through the tunnel. */
  txBytes?: number;
  /** IP packets received from the server through the tunnel. */
  rxPackets?: number;
  /** IP packets sent to the server through the tunnel. */
  txPackets?: number;
  /** Further fields a newer client adds; `sstp status` prints them as they come. */
  [key: string]: unknown;
}

/** The server's answer to `disconnect`. */
export interface DisconnectReply {
  /** Always true: a reply, not a {@linkcode ControlFailure}. */
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
