/**
 * A session's bridge port: the TAP device of a BCP session (RFC 3518) joins a
 * Linux bridge, with the RouterOS port settings Linux can express:
 *
 * - `bridge-path-cost` → `cost` (STP path cost);
 * - `bridge-port-priority` (RouterOS 0-240, steps of 16, high bits of the
 *   16-bit port id) → `priority` divided by 4 (Linux 0-63, shifted by 10);
 * - `bridge-horizon` → `isolated on`: RouterOS keeps ports with the same
 *   horizon from forwarding to each other; Linux has exactly one such group
 *   per bridge, isolated ports, which still reach every non-isolated port.
 *
 * The port leaves the bridge when the TAP device closes (the kernel deletes
 * a non-persistent TAP device with its last file descriptor).
 *
 * @module
 */
import type { NetConfig } from "./net_config.ts";

/** The bridge and port settings of a bridged session (from the profile or client config). */
export interface BridgePortSettings {
  /** Name of an existing Linux bridge. */
  bridge: string;
  /** STP path cost (1-65535). */
  pathCost?: number;
  /** RouterOS port priority (0-240, a multiple of 16). */
  portPriority?: number;
  /** RouterOS horizon value: any value makes the port isolated. */
  horizon?: number;
}

/**
 * The `ip` argument lists that put `dev` into the bridge with its settings,
 * in order (pure, for tests and logs).
 */
export function bridgePortCommands(dev: string, s: BridgePortSettings): string[][] {
  const port: string[] = [];
  if (s.pathCost !== undefined) port.push("cost", String(s.pathCost));
  if (s.portPriority !== undefined) port.push("priority", String(s.portPriority / 4));
  if (s.horizon !== undefined) port.push("isolated", "on");
  const out = [["link", "set", "dev", dev, "master", s.bridge]];
  if (port.length > 0) out.push(["link", "set", "dev", dev, "type", "bridge_slave", ...port]);
  out.push(["link", "set", "dev", dev, "up"]);
  return out;
}

/**
 * Adds `dev` (a TAP device) to the bridge and brings it up.
 *
 * @throws {Error} `Cannot add sstp-br0 to bridge "br9": no such interface`,
 * or `... "eth0" is not a bridge`, or the failing `ip` command.
 */
export async function joinBridge(
  net: NetConfig,
  dev: string,
  settings: BridgePortSettings,
): Promise<void> {
  const what = `Cannot add ${dev} to bridge "${settings.bridge}"`;
  let info: unknown;
  try {
    info = JSON.parse(await net.ip(["-d", "-j", "link", "show", "dev", settings.bridge]));
  } catch (e) {
    throw new Error(`${what}: no such interface`, { cause: e });
  }
  const kind = (info as { linkinfo?: { info_kind?: string } }[])[0]?.linkinfo?.info_kind;
  if (kind !== "bridge") throw new Error(`${what}: it is not a bridge (kind ${kind ?? "none"})`);
  for (const args of bridgePortCommands(dev, settings)) {
    try {
      await net.ip(args);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
    }
  }
}
