/**
 * What the commands need from the operating system, as an interface.
 * `main.ts` builds the Linux implementation from `ffi/`; tests pass fakes.
 * This keeps `lib/` free of `ffi/` imports, so every layer above runs in
 * tests without root, FFI or a kernel.
 *
 * @module
 */
import type { TunDevice } from "./tun.ts";
import type { TlsEngineDialer, TlsEngineServer } from "./tls_engine.ts";

/** A TUN device as the platform opens it. */
export interface PlatformTun extends TunDevice {
  /** The device's file descriptor, when it has one (a data path in another thread uses a duplicate). */
  readonly fd?: number;
  /** Resolves once the device's file descriptors are really closed. */
  readonly closed: Promise<void>;
  /** Stops this thread's wake-ups for the device (another thread reads it). */
  unwatch?(): void;
}

/** One shared wake-up source for many TUN devices (an epoll reactor on Linux). */
export interface PlatformReactor {
  /** Stops the reactor; devices still using it stop getting wake-ups (idempotent). */
  close(): void;
  /** Resolves once the reactor's wake-up loop and file descriptors are gone. */
  readonly closed: Promise<void>;
}

/** Address and route configuration without spawning processes (rtnetlink). */
export interface PlatformNetlink {
  /** Interface index of `name`. */
  interfaceIndex(name: string): number;
  /**
   * Adds IPv4 address `local/prefixLen` (with point-to-point `peer` when given) to
   * interface `index`, as `ip addr add`.
   *
   * @throws {Error} When the kernel refuses the request.
   */
  addAddress(req: { index: number; local: string; peer?: string; prefixLen: number }): void;
  /**
   * Sets interface `index` up or down and its MTU in bytes; absent fields are left as they are.
   *
   * @throws {Error} When the kernel refuses the request.
   */
  setLink(req: { index: number; up?: boolean; mtu?: number }): void;
  /**
   * Adds a main-table IPv4 route `dst/prefixLen` out of interface `index`
   * (via `gateway`, with priority `metric` when given), as `ip route add`.
   *
   * @throws {Error} When the kernel refuses the request (e.g. the route exists).
   */
  addRoute(
    req: { dst: string; prefixLen: number; index: number; gateway?: string; metric?: number },
  ): void;
  /** Deletes a main-table route (as `addRoute` describes it); absent: `ip route del` is used. */
  deleteRoute?(
    req: { dst: string; prefixLen: number; index: number; gateway?: string; metric?: number },
  ): void;
  /**
   * Adds (or with `replace` updates) an IPv6 address, as `ip -6 addr add|replace`;
   * absent: `ip` is used.
   */
  addAddress6?(req: {
    index: number;
    address: string;
    prefixLen: number;
    nodad?: boolean;
    replace?: boolean;
    validLifetimeS?: number;
    preferredLifetimeS?: number;
  }): void;
  /** Deletes an IPv6 address, as `ip -6 addr del`; absent: `ip` is used. */
  deleteAddress6?(req: { index: number; address: string; prefixLen: number }): void;
  /**
   * Adds a main-table IPv6 route, as `ip -6 route add`: out of interface
   * `index` (via `gateway`), or of a `type` without a device; absent: `ip` is used.
   */
  addRoute6?(req: PlatformRoute6): void;
  /** Deletes a main-table IPv6 route (as `addRoute6` describes it); absent: `ip` is used. */
  deleteRoute6?(req: PlatformRoute6): void;
  /** Closes the netlink socket (idempotent). */
  close(): void;
}

/** An IPv6 route for {@linkcode PlatformNetlink.addRoute6}. */
export interface PlatformRoute6 {
  /** Destination network. */
  dst: string;
  /** Destination prefix length (0..128). */
  prefixLen: number;
  /** Output interface index (unicast routes). */
  index?: number;
  /** `unicast` (default) or a route type without a device. */
  type?: "unicast" | "unreachable" | "blackhole" | "prohibit";
  /** Next hop. */
  gateway?: string;
  /** Route priority; the kernel's default when absent. */
  metric?: number;
}

/** Options for opening a TUN device. */
export interface OpenTunOptions {
  /** Interface name (at most 15 bytes); a `%d` template lets the kernel number it. */
  name: string;
  /** MTU in bytes; the kernel default (1500) when absent. */
  mtu?: number;
  /** Transmit queue length in packets; the kernel default (500) when absent. */
  txQueueLen?: number;
  /** Bring the link up right away. */
  up?: boolean;
  /** Shared wake-up source; the device gets its own when absent. */
  reactor?: PlatformReactor;
  /** `"tap"`: a layer-2 device carrying Ethernet frames (a bridge port); default `"tun"`. */
  mode?: "tun" | "tap";
}

/** The operating-system services the client and server use. */
export interface Platform {
  /**
   * Creates (or attaches to) a TUN device.
   *
   * @throws {Error} When the device cannot be created (no root, no /dev/net/tun, bad name).
   */
  openTun(options: OpenTunOptions): PlatformTun;
  /** A wake-up source that many TUN devices can share (one epoll on Linux). */
  createReactor(): PlatformReactor;
  /**
   * Opens an rtnetlink socket for address and route changes.
   *
   * @throws {Error} When the socket cannot be opened.
   */
  openNetlink(): PlatformNetlink;
  /**
   * A TLS library other than node:tls (`openssl`: the system libssl.so.3),
   * or the reason it is unavailable. Loaded on first use.
   */
  tlsEngine?(name: "openssl" | "openssl-worker"): Promise<TlsEngineDialer | string>;
  /** The server side of {@linkcode Platform.tlsEngine}. */
  tlsEngineServer?(name: "openssl" | "openssl-worker"): Promise<TlsEngineServer | string>;
}
