/**
 * Two fresh network namespaces joined by a veth pair, for the benchmark.
 *
 * - A holds the servers (`veth-a`, 198.18.200.1/30), B the clients
 *   (`veth-b`, 198.18.200.2/30). Only 198.18.0.0/15 (RFC 2544) is used.
 * - Creation is undone on any failure; {@linkcode NetnsPair.cleanup} (also
 *   registered with the cleanup registry, so SIGINT/SIGTERM run it) kills
 *   what still runs inside and deletes both namespaces.
 *
 * @module
 */
import { createNetns, type Netns } from "../test/helpers/netns.ts";
import { onCleanup } from "./cleanup.ts";
import { runIn } from "./process.ts";

/** Addresses of the veth link. */
export const VETH = {
  a: "198.18.200.1",
  b: "198.18.200.2",
  prefixLength: 30,
} as const;

/** The two namespaces and their link. */
export interface NetnsPair extends AsyncDisposable {
  /** Server side. */
  readonly a: Netns;
  /** Client side. */
  readonly b: Netns;
  /** Deletes both namespaces (idempotent). */
  cleanup(): Promise<void>;
}

/** Options of {@linkcode createNetnsPair}. */
export interface NetnsPairOptions {
  /** Namespace name prefix (default `sstp-b`). */
  prefix?: string;
  /** MTU of the veth pair (default 1500, as an Ethernet LAN). */
  mtu?: number;
}

/**
 * Creates the pair and checks that A answers a ping from B.
 *
 * @throws {Error} when not root or a set-up command fails (nothing is left behind).
 */
export async function createNetnsPair(options: NetnsPairOptions = {}): Promise<NetnsPair> {
  const prefix = options.prefix ?? "sstp-b";
  const mtu = String(options.mtu ?? 1500);
  const made: Netns[] = [];
  let isCleaned = false;
  const cleanup = async () => {
    if (isCleaned) return;
    isCleaned = true;
    unregister();
    const errors: unknown[] = [];
    for (const ns of made.reverse()) await ns.cleanup().catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  };
  const unregister = onCleanup(cleanup);
  try {
    const a = await createNetns({ prefix });
    made.push(a);
    const b = await createNetns({ prefix });
    made.push(b);
    await runIn(a.name, [
      "ip",
      "link",
      "add",
      "veth-a",
      "mtu",
      mtu,
      "type",
      "veth",
      "peer",
      "name",
      "veth-b",
      "mtu",
      mtu,
      "netns",
      b.name,
    ]);
    await runIn(a.name, ["ip", "addr", "add", `${VETH.a}/${VETH.prefixLength}`, "dev", "veth-a"]);
    await runIn(b.name, ["ip", "addr", "add", `${VETH.b}/${VETH.prefixLength}`, "dev", "veth-b"]);
    await runIn(a.name, ["ip", "link", "set", "veth-a", "up"]);
    await runIn(b.name, ["ip", "link", "set", "veth-b", "up"]);
    await runIn(b.name, ["ping", "-c", "1", "-W", "2", VETH.a], 5000);
    return { a, b, cleanup, [Symbol.asyncDispose]: cleanup };
  } catch (e) {
    await cleanup().catch(() => {});
    throw e;
  }
}
