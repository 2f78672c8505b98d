/**
 * Test support: what a server session on one shared device
 * (`interface-mode: shared`) takes from its server besides config, pools
 * and logger: the platform, the shared device, the certificate hashes, and
 * a per-session link setup that must never be asked to configure a device.
 *
 * @module
 */
import type { SessionContext } from "../../lib/server/_session.ts";
import type { SharedLink } from "../../lib/server/_shared_link.ts";
import type { Platform, PlatformReactor } from "../../lib/platform.ts";
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
