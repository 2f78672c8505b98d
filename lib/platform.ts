/**
 * What the commands need from the operating system, as an interface.
 * `main.ts` builds the Linux implementation from `ffi/`; tests pass fakes.
 * This keeps `lib/` free of `ffi/` imports, so every layer above runs in
 * tests without root, FFI or a kernel.
 *
 * @module
 */
import type { TunDevice } from "./tun.ts";

/** A TUN device as the platform opens it. */
export interface PlatformTun extends TunDevice {
  /** Resolves once the device's file descriptors are really closed. */
  readonly closed: Promise<void>;
}

/** One shared wake-up source for many TUN devices (an epoll reactor on Linux). */
export interface PlatformReactor {
  close(): void;
  readonly closed: Promise<void>;
}

/** Address and route configuration without spawning processes (rtnetlink). */
export interface PlatformNetlink {
  /** Interface index of `name`. */
  interfaceIndex(name: string): number;
  addAddress(req: { index: number; local: string; peer?: string; prefixLen: number }): void;
  setLink(req: { index: number; up?: boolean; mtu?: number }): void;
  addRoute(
    req: { dst: string; prefixLen: number; index: number; gateway?: string; metric?: number },
  ): void;
  /** Deletes a main-table route (as `addRoute` describes it); absent: `ip route del` is used. */
  deleteRoute?(
    req: { dst: string; prefixLen: number; index: number; gateway?: string; metric?: number },
  ): void;
  close(): void;
}

/** Options for opening a TUN device. */
export interface OpenTunOptions {
  name: string;
  mtu?: number;
  txQueueLen?: number;
  up?: boolean;
  reactor?: PlatformReactor;
  /** `"tap"`: a layer-2 device carrying Ethernet frames (a bridge port); default `"tun"`. */
  mode?: "tun" | "tap";
}

/** The operating-system services the client and server use. */
export interface Platform {
  openTun(options: OpenTunOptions): PlatformTun;
  createReactor(): PlatformReactor;
  openNetlink(): PlatformNetlink;
}
