/**
 * A session's `rate-limit` as Linux traffic control commands on its TUN
 * device (argv lists for `tc`, run by the caller):
 *
 * - download (tx, server → client) leaves through the device: a Token
 *   Bucket Filter qdisc at `rate`;
 * - upload (rx, client → server) is policed in the data path by
 *   `TokenBucket` (`lib/tunnel/token_bucket.ts`) before the packet
 *   reaches the device: ingress policing in tc needs the `act_police` and
 *   `cls_matchall` kernel modules, which kernels without loadable modules
 *   (such as this project's CI machines) do not have.
 *
 * RouterOS bursts (`burst-rate` for up to `burst-time` while the average
 * stays below `burst-threshold`) have no exact tc equivalent. They map to a
 * bucket that holds what the burst adds over the sustained rate during
 * `burst-time`, drained no faster than `burst-rate` (tbf/police
 * `peakrate`): short bursts reach `burst-rate`, sustained traffic settles at
 * `rate`. `burst-threshold`, `priority` and `rate-min` are informational.
 *
 * @module
 */
import type { RateLimit, RateLimitDirection } from "../config/rate_limit.ts";
import { runToolChecked, type ToolRunner } from "./tool_runner.ts";

/**
 * Bucket size: with a burst, what `burst-rate` adds over `rate` during
 * `burst-time`; without one, 50 ms at the rate and at least 16 KiB (a
 * smaller bucket makes tbf fall short of the rate when a loaded machine
 * runs its dequeue timer late).
 */
export function bucketBytes(d: RateLimitDirection): number {
  const plain = Math.max(16 * 1024, Math.ceil(d.rate / 8 / 20));
  if (d.burstRate === 0) return plain;
  return Math.max(plain, Math.ceil(((d.burstRate - d.rate) * d.burstTimeS) / 8));
}

/**
 * Bucket of the upload policer: a policer drops instead of queueing, and a
 * client's packets reach the server in bursts (several per TLS record and
 * TCP segment of the SSTP connection), so the bucket holds 500 ms at the
 * rate (measured: 100 ms let TCP inside the tunnel reach only half of a
 * 10M limit); a smaller one drops most of such bursts and TCP inside the
 * tunnel then settles far below the limit.
 */
export function policerBucketBytes(d: RateLimitDirection): number {
  return Math.max(bucketBytes(d), Math.ceil(d.rate / 8 / 2));
}

/** `tc` argv lists that apply `limit` to `device` (empty when unlimited). */
export function tcRateLimitCommands(device: string, limit: RateLimit, mtu: number): string[][] {
  const out: string[][] = [];
  const tx = limit.tx;
  if (tx.rate > 0) {
    const cmd = [
      "qdisc",
      "replace",
      "dev",
      device,
      "root",
      "tbf",
      "rate",
      `${tx.rate}bit`,
      "burst",
      `${bucketBytes(tx)}`,
      "latency",
      "50ms",
    ];
    if (tx.burstRate > 0) cmd.push("peakrate", `${tx.burstRate}bit`, "mtu", `${mtu + 64}`);
    out.push(cmd);
  }
  return out;
}

/** `tc` argv lists that remove what {@linkcode tcRateLimitCommands} added. */
export function tcRateLimitUndo(device: string, limit: RateLimit): string[][] {
  const out: string[][] = [];
  if (limit.tx.rate > 0) out.push(["qdisc", "del", "dev", device, "root"]);
  return out;
}

/**
 * Shapes the download half of `limit` on `device` (a tbf qdisc) through
 * `run` (`tc …`); the kernel drops the qdisc with the device.
 *
 * @throws {NetCommandError} when `tc` fails (no tbf in the kernel, device gone)
 */
export async function applyTcRateLimit(
  run: ToolRunner,
  device: string,
  limit: RateLimit,
  mtu: number,
): Promise<void> {
  for (const args of tcRateLimitCommands(device, limit, mtu)) {
    await runToolChecked(run, ["tc", ...args]);
  }
}
