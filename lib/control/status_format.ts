/**
 * Renders control answers the way RouterOS prints them: a table for the
 * server's sessions (`/interface sstp-server print`) and `key: value` lines
 * for one session or one client (`monitor`).
 *
 * @module
 */
import { formatDuration } from "../config/duration.ts";
import type { SecretHistoryStatus, ServerSessionStatus } from "./protocol.ts";

/** `1.5 MiB` style sizes. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Durations rounded to whole seconds, RouterOS style. */
export function formatSeconds(ms: unknown): string {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) return "-";
  return formatDuration(Math.floor(ms / 1000) * 1000);
}

const COLUMNS: [string, (s: ServerSessionStatus) => string][] = [
  ["NAME", (s) => s.name || "-"],
  ["USER", (s) => s.user || "-"],
  ["CALLER-ID", (s) => s.callerId],
  ["ADDRESS", (s) => s.address || "-"],
  ["UPTIME", (s) => formatSeconds(s.uptimeMs)],
  ["IDLE", (s) => formatSeconds(s.idleTimeMs)],
  ["MTU", (s) => (s.mtu ? String(s.mtu) : "-")],
  ["ENCODING", (s) => s.encoding || "-"],
  ["RX", (s) => formatBytes(s.rxBytes)],
  ["TX", (s) => formatBytes(s.txBytes)],
];

/** The session table; flags R (running) and N (negotiating), D (disconnecting). */
export function formatSessionTable(sessions: readonly ServerSessionStatus[]): string[] {
  const flag = (s: ServerSessionStatus) =>
    s.state === "connected" ? "R" : s.state === "negotiating" ? "N" : "D";
  const rows = sessions.map((s, i) => [String(i), flag(s), ...COLUMNS.map(([, f]) => f(s))]);
  const head = ["#", "", ...COLUMNS.map(([h]) => h)];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padEnd(widths[c]!)).join(" ").trimEnd();
  return [
    "Flags: R - RUNNING, N - NEGOTIATING, D - DISCONNECTING",
    line(head),
    ...rows.map(line),
  ];
}

/** `/ppp secret print`-style lines: each user's `last-logged-out` and `last-caller-id`. */
export function formatSecretHistory(secrets: readonly SecretHistoryStatus[]): string[] {
  const width = Math.max(4, ...secrets.map((s) => s.name.length));
  return [
    `${"USER".padEnd(width)} LAST-LOGGED-OUT          LAST-CALLER-ID`,
    ...secrets.map((s) =>
      `${s.name.padEnd(width)} ${(s.lastLoggedOut ?? "-").padEnd(24)} ${s.lastCallerId ?? "-"}`
    ),
  ];
}

/** `monitor`-style lines for one server session. */
export function formatSessionMonitor(s: ServerSessionStatus): string[] {
  return formatMonitor({
    name: s.name || "-",
    status: s.state,
    user: s.user,
    "caller-id": s.callerId,
    "remote-address": s.address,
    "local-address": s.localAddress,
    ...(s.ipv6LinkLocal === undefined ? {} : { "ipv6-link-local": s.ipv6LinkLocal }),
    ...(s.ipv6Prefix === undefined ? {} : { "ipv6-prefix": s.ipv6Prefix }),
    ...(s.ipv6DelegatedPrefix === undefined
      ? {}
      : { "ipv6-delegated-prefix": s.ipv6DelegatedPrefix }),
    ...(s.routes === undefined ? {} : { routes: s.routes }),
    ...(s.ipv6Routes === undefined ? {} : { "ipv6-routes": s.ipv6Routes }),
    uptime: formatSeconds(s.uptimeMs),
    "idle-time": formatSeconds(s.idleTimeMs),
    mtu: s.mtu,
    encoding: s.encoding || "-",
    "sstp-state": s.sstpState,
    "correlation-id": s.correlationId,
    "rx-byte": s.rxBytes,
    "tx-byte": s.txBytes,
    "rx-packet": s.rxPackets,
    "tx-packet": s.txPackets,
    ...(s.bridge !== undefined ? { bridge: s.bridge } : {}),
    profile: s.profile ?? "-",
    "rate-limit": s.rateLimit ?? "-",
    "limit-bytes-in": s.limitBytesIn ?? "-",
    "limit-bytes-out": s.limitBytesOut ?? "-",
    "last-logged-out": s.lastLoggedOut ?? "-",
    "last-caller-id": s.lastCallerId ?? "-",
    "rate-limit-drops": s.droppedPoliced ?? 0,
    "spoofed-drops": s.droppedSpoofed ?? 0,
  });
}

/** `monitor`-style lines for a client's answer (fields printed as they come). */
export function formatClientMonitor(reply: Record<string, unknown>): string[] {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(reply)) {
    if (k === "ok" || k === "role") continue;
    const key = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/-ms$/, "");
    out[key] = /Ms$/.test(k) ? formatSeconds(v) : v;
  }
  return formatMonitor(out);
}

function formatMonitor(fields: Record<string, unknown>): string[] {
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  return Object.entries(fields).map(([k, v]) =>
    `${k.padStart(width)}: ${typeof v === "object" ? JSON.stringify(v) : String(v ?? "-")}`
  );
}
