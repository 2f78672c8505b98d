/**
 * What the in-process command tests (`sstp serve`, `sstp connect` on
 * 127.0.0.1) need: a platform that opens nothing, and a free port.
 *
 * @module
 */
import type { Platform } from "../../lib/platform.ts";

/** A platform whose TUN devices and rtnetlink cannot be opened. */
export const INERT_PLATFORM: Platform = {
  openTun: () => {
    throw new Error("no TUN device in this test");
  },
  createReactor: () => ({ close() {}, closed: Promise.resolve() }),
  openNetlink: () => {
    throw new Error("no rtnetlink in this test");
  },
};

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}
