/**
 * Interface settings through `ioctl` on an `AF_INET` datagram socket
 * (SIOCSIFMTU, SIOCSIFTXQLEN, SIOCSIFFLAGS): no `ip` process on the set-up
 * path. The socket is created in the calling thread's network namespace, so
 * these act on the namespace the caller is in.
 *
 * @module
 */

import {
  decodeIfreqFlags,
  decodeIfreqInt,
  encodeIfreq,
  encodeIfreqInt,
  IFF_UP,
  SIOCGIFFLAGS,
  SIOCGIFINDEX,
  SIOCGIFMTU,
  SIOCGIFTXQLEN,
  SIOCSIFFLAGS,
  SIOCSIFMTU,
  SIOCSIFTXQLEN,
} from "./ifreq.ts";
import { AF_INET, check, closeQuietly, libc, SOCK_CLOEXEC, SOCK_DGRAM } from "./libc.ts";

/** Settings applied by {@linkcode configureNetdev}; absent ones are left alone. */
export interface NetdevSettings {
  /** MTU in bytes, 68 (RFC 791 minimum) to 65535 (the TUN maximum). */
  mtu?: number;
  /** Transmit queue length in packets (the kernel default for TUN is 500). */
  txQueueLen?: number;
  /** Set (true) or clear (false) IFF_UP. */
  up?: boolean;
}

/** What {@linkcode readNetdev} reports. */
export interface NetdevState {
  /** MTU in bytes (`SIOCGIFMTU`). */
  mtu: number;
  /** Transmit queue length in packets (`SIOCGIFTXQLEN`). */
  txQueueLen: number;
  /** `ifr_flags` (IFF_UP = 0x1, IFF_RUNNING = 0x40, ...). */
  flags: number;
}

/**
 * Checks {@linkcode NetdevSettings} ranges.
 *
 * @throws {RangeError} `Cannot configure interface "x": mtu 20 is outside 68..65535`.
 */
export function checkNetdevSettings(name: string, s: NetdevSettings, action: string): void {
  if (s.mtu !== undefined && (!Number.isInteger(s.mtu) || s.mtu < 68 || s.mtu > 65535)) {
    throw new RangeError(`Cannot ${action} "${name}": mtu ${s.mtu} is outside 68..65535`);
  }
  if (
    s.txQueueLen !== undefined &&
    (!Number.isInteger(s.txQueueLen) || s.txQueueLen < 0 || s.txQueueLen > 0x7fffffff)
  ) {
    throw new RangeError(
      `Cannot ${action} "${name}": txQueueLen ${s.txQueueLen} is outside 0..2147483647`,
    );
  }
}

function withInetSocket<T>(action: string, fn: (sock: number) => T): T {
  const sock = check(libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), action, "socket");
  try {
    return fn(sock);
  } finally {
    closeQuietly(sock);
  }
}

/**
 * Applies MTU, transmit queue length and the up flag to interface `name`.
 *
 * @throws {RangeError} for out-of-range settings or an invalid name.
 * @throws {ErrnoError} when an ioctl fails (ENODEV, EPERM, EINVAL, ...).
 */
export function configureNetdev(name: string, settings: NetdevSettings): void {
  const what = "configure interface";
  checkNetdevSettings(name, settings, what);
  const action = `Cannot ${what} "${name}"`;
  withInetSocket(action, (sock) => {
    const { ioctl } = libc();
    if (settings.mtu !== undefined) {
      const req = encodeIfreqInt(name, settings.mtu, what);
      check(ioctl(sock, BigInt(SIOCSIFMTU), req), action, "ioctl(SIOCSIFMTU)");
    }
    if (settings.txQueueLen !== undefined) {
      const req = encodeIfreqInt(name, settings.txQueueLen, what);
      check(ioctl(sock, BigInt(SIOCSIFTXQLEN), req), action, "ioctl(SIOCSIFTXQLEN)");
    }
    if (settings.up !== undefined) {
      const req = encodeIfreq(name, 0, what);
      check(ioctl(sock, BigInt(SIOCGIFFLAGS), req), action, "ioctl(SIOCGIFFLAGS)");
      const flags = decodeIfreqFlags(req);
      const next = settings.up ? flags | IFF_UP : flags & ~IFF_UP;
      if (next !== flags) {
        const set = encodeIfreq(name, next, what);
        check(ioctl(sock, BigInt(SIOCSIFFLAGS), set), action, "ioctl(SIOCSIFFLAGS)");
      }
    }
  });
}

/**
 * Reads MTU, transmit queue length and flags of interface `name`.
 *
 * @throws {ErrnoError} ENODEV when there is no such interface.
 */
export function readNetdev(name: string): NetdevState {
  const what = "read interface";
  const action = `Cannot ${what} "${name}"`;
  return withInetSocket(action, (sock) => {
    const { ioctl } = libc();
    const req = encodeIfreq(name, 0, what);
    check(ioctl(sock, BigInt(SIOCGIFMTU), req), action, "ioctl(SIOCGIFMTU)");
    const mtu = decodeIfreqInt(req);
    check(ioctl(sock, BigInt(SIOCGIFTXQLEN), req), action, "ioctl(SIOCGIFTXQLEN)");
    const txQueueLen = decodeIfreqInt(req);
    check(ioctl(sock, BigInt(SIOCGIFFLAGS), req), action, "ioctl(SIOCGIFFLAGS)");
    return { mtu, txQueueLen, flags: decodeIfreqFlags(req) };
  });
}

/**
 * The interface index of `name` (what rtnetlink messages carry).
 *
 * @throws {ErrnoError} ENODEV when there is no such interface.
 */
export function interfaceIndex(name: string): number {
  const what = "look up interface";
  const action = `Cannot ${what} "${name}"`;
  return withInetSocket(action, (sock) => {
    const req = encodeIfreq(name, 0, what);
    check(libc().ioctl(sock, BigInt(SIOCGIFINDEX), req), action, "ioctl(SIOCGIFINDEX)");
    return decodeIfreqInt(req);
  });
}
