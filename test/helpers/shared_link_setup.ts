/**
 * Test support: what a server session on one shared device
 * (`interface-mode: shared`) takes from its server besides config, pools
 * and logger: the platform, the shared device, the certificate hashes, and
 * a per-session link setup that must never be asked to configure a device;
 * and an in-memory platform that records what it is asked.
 *
 * @module
 */
import type { SessionContext } from "../../lib/server/_session.ts";
import type { SharedLink } from "../../lib/server/_shared_link.ts";
import type {
  Platform,
  PlatformNetlink,
  PlatformReactor,
  PlatformTun,
} from "../../lib/platform.ts";
import { MemoryTun } from "./memory_tun.ts";
import { certHashes } from "../../lib/sstp/crypto_binding.ts";
import { systemClock } from "../../lib/clock.ts";

/** The shared-mode part of a {@linkcode SessionContext}. */
export function sharedSessionContext(o: {
  platform: Platform;
  reactor: PlatformReactor;
  shared: SharedLink;
  cert: Uint8Array;
}): Pick<
  SessionContext,
  "platform" | "reactor" | "linkSetup" | "sharedLink" | "certHashes" | "clock"
> {
  return {
    platform: o.platform,
    reactor: o.reactor,
    linkSetup: {
      kind: "rtnetlink",
      configure: () => Promise.reject(new Error("no per-session setup in shared mode")),
      close() {},
    },
    sharedLink: o.shared,
    certHashes: certHashes(o.cert),
    clock: systemClock,
  };
}

/** An in-memory platform whose rtnetlink requests are recorded as text. */
export interface RecordingPlatform {
  /** The platform (memory TUN devices, no reactor work). */
  platform: Platform;
  /** Its reactor. */
  reactor: PlatformReactor;
  /** Its rtnetlink socket. */
  netlink: PlatformNetlink;
  /** Every device opened. */
  opened: MemoryTun[];
  /** Requests in order: `addr A/L`, `route add D/L`, `route6 add D/L metric M`, ... */
  requests: string[];
}

/** A platform that opens memory TUN devices and records its rtnetlink requests. */
export function recordingPlatform(): RecordingPlatform {
  const opened: MemoryTun[] = [];
  const requests: string[] = [];
  const netlink: PlatformNetlink = {
    interfaceIndex: () => 7,
    addAddress: (r) => void requests.push(`addr ${r.local}/${r.prefixLen}`),
    setLink: (r) => void requests.push(`link up=${r.up}`),
    addRoute: (r) => void requests.push(`route add ${r.dst}/${r.prefixLen}`),
    deleteRoute: (r) => void requests.push(`route del ${r.dst}/${r.prefixLen}`),
    addRoute6: (r) =>
      void requests.push(
        `route6 add ${r.dst}/${r.prefixLen}${r.metric === undefined ? "" : ` metric ${r.metric}`}`,
      ),
    deleteRoute6: (r) => void requests.push(`route6 del ${r.dst}/${r.prefixLen}`),
    close: () => {},
  };
  const platform: Platform = {
    openTun: ({ name }) => {
      const tun = Object.assign(new MemoryTun(name), { closed: Promise.resolve() });
      opened.push(tun);
      return tun as unknown as PlatformTun;
    },
    createReactor: () => ({ close() {}, closed: Promise.resolve() }),
    openNetlink: () => netlink,
  };
  return { platform, reactor: platform.createReactor(), netlink, opened, requests };
}
