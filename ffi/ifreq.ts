/**
 * `struct ifreq` and the TUN/interface ioctl constants (pure: no FFI here).
 *
 * Layout on 64-bit Linux (`<net/if.h>`), 40 bytes:
 *
 * ```
 * offset  size  field
 *  0      16    ifr_name     NUL-padded interface name (IFNAMSIZ = 16)
 * 16      24    union: ifr_flags (short) | ifr_mtu (int) | ifr_qlen (int) | ...
 *                      (24 = sizeof(struct ifmap), the largest member)
 * ```
 *
 * ioctl numbers follow `<asm-generic/ioctl.h>`:
 * `_IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr`,
 * with `_IOC_WRITE = 1` and `_IOC_READ = 2`.
 *
 * @example
 * ```ts
 * import { decodeIfreqName, encodeIfreq, IFF_NO_PI, IFF_TUN } from "./ifreq.ts";
 * const req = encodeIfreq("sstp0", IFF_TUN | IFF_NO_PI);
 * if (req.length !== 40 || decodeIfreqName(req) !== "sstp0") throw new Error();
 * ```
 *
 * @module
 */

/** `IFNAMSIZ = 16` (linux/if.h): 15 bytes of name plus the NUL. */
export const IFNAMSIZ = 16;
/** `sizeof(struct ifreq)` on 64-bit Linux: 16 + sizeof(struct ifmap) = 16 + 24. */
export const IFREQ_SIZE = 40;

/** `IFF_TUN = 0x0001` (linux/if_tun.h): layer-3 device. */
export const IFF_TUN = 0x0001;
/** `IFF_TAP = 0x0002` (linux/if_tun.h): layer-2 device. */
export const IFF_TAP = 0x0002;
/** `IFF_MULTI_QUEUE = 0x0100` (linux/if_tun.h). */
export const IFF_MULTI_QUEUE = 0x0100;
/** `IFF_NO_PI = 0x1000` (linux/if_tun.h): no 4-byte packet-information prefix. */
export const IFF_NO_PI = 0x1000;

/** `IFF_UP = 0x1` (linux/if.h, `ifr_flags` of SIOCGIFFLAGS/SIOCSIFFLAGS). */
export const IFF_UP = 0x1;
/** `IFF_RUNNING = 0x40` (linux/if.h). */
export const IFF_RUNNING = 0x40;

function ioc(dir: number, type: string, nr: number, size: number): number {
  return ((dir << 30) >>> 0) + (size << 16) + (type.charCodeAt(0) << 8) + nr;
}
const IOC_WRITE = 1;
const IOC_READ = 2;
const SIZEOF_INT = 4;

/** `TUNSETIFF = _IOW('T', 202, int)` = 0x400454ca (linux/if_tun.h). */
export const TUNSETIFF: number = ioc(IOC_WRITE, "T", 202, SIZEOF_INT);
/** `TUNSETPERSIST = _IOW('T', 203, int)` = 0x400454cb (linux/if_tun.h). */
export const TUNSETPERSIST: number = ioc(IOC_WRITE, "T", 203, SIZEOF_INT);
/** `TUNGETIFF = _IOR('T', 210, unsigned int)` = 0x800454d2 (linux/if_tun.h). */
export const TUNGETIFF: number = ioc(IOC_READ, "T", 210, SIZEOF_INT);

/** `SIOCGIFFLAGS = 0x8913` (linux/sockios.h): get `ifr_flags`. */
export const SIOCGIFFLAGS = 0x8913;
/** `SIOCSIFFLAGS = 0x8914` (linux/sockios.h): set `ifr_flags`. */
export const SIOCSIFFLAGS = 0x8914;
/** `SIOCGIFINDEX = 0x8933` (linux/sockios.h): get `ifr_ifindex`. */
export const SIOCGIFINDEX = 0x8933;
/** `SIOCGIFMTU = 0x8921` (linux/sockios.h): get `ifr_mtu`. */
export const SIOCGIFMTU = 0x8921;
/** `SIOCSIFMTU = 0x8922` (linux/sockios.h): set `ifr_mtu`. */
export const SIOCSIFMTU = 0x8922;
/** `SIOCGIFTXQLEN = 0x8942` (linux/sockios.h): get `ifr_qlen`. */
export const SIOCGIFTXQLEN = 0x8942;
/** `SIOCSIFTXQLEN = 0x8943` (linux/sockios.h): set `ifr_qlen`. */
export const SIOCSIFTXQLEN = 0x8943;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Checks a Linux interface name the way the kernel's `dev_valid_name()` does:
 * 1 to 15 bytes, not `.` or `..`, and no `/`, `:` or whitespace. A `%d`
 * template (e.g. `sstp%d`) is allowed: the kernel picks the number.
 *
 * @param name The interface name.
 * @param action Used in the message, e.g. `create TUN device`.
 * @returns The UTF-8 bytes of the name.
 * @throws {RangeError} `Cannot create TUN device "x": name must be at most 15 bytes`.
 */
export function checkInterfaceName(name: string, action: string): Uint8Array {
  const bytes = encoder.encode(name);
  const fail = (why: string) => new RangeError(`Cannot ${action} "${name}": ${why}`);
  if (bytes.length === 0) throw fail("name must not be empty");
  if (bytes.length > IFNAMSIZ - 1) throw fail(`name must be at most ${IFNAMSIZ - 1} bytes`);
  if (name === "." || name === "..") throw fail("name must not be . or ..");
  if (/[/:\s\0]/.test(name)) throw fail("name must not contain '/', ':', NUL or whitespace");
  return bytes;
}

/**
 * Encodes a `struct ifreq` holding a name and `ifr_flags` (u16, host order).
 *
 * @throws {RangeError} for an invalid name (see {@linkcode checkInterfaceName}).
 */
export function encodeIfreq(
  name: string,
  flags: number,
  action = "encode interface request for",
): Uint8Array<ArrayBuffer> {
  const req = new Uint8Array(IFREQ_SIZE);
  req.set(checkInterfaceName(name, action));
  new DataView(req.buffer).setUint16(IFNAMSIZ, flags, true);
  return req;
}

/**
 * Encodes a `struct ifreq` holding a name and an `int` member (`ifr_mtu`,
 * `ifr_qlen`, ...), host order.
 *
 * @throws {RangeError} for an invalid name or a value outside int32.
 */
export function encodeIfreqInt(
  name: string,
  value: number,
  action = "encode interface request for",
): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`Cannot ${action} "${name}": ${value} is not a 32-bit integer`);
  }
  const req = new Uint8Array(IFREQ_SIZE);
  req.set(checkInterfaceName(name, action));
  new DataView(req.buffer).setInt32(IFNAMSIZ, value, true);
  return req;
}

/** Decodes `ifr_name` (up to the first NUL) from a `struct ifreq`. */
export function decodeIfreqName(req: Uint8Array): string {
  const name = req.subarray(0, IFNAMSIZ);
  const end = name.indexOf(0);
  return decoder.decode(end < 0 ? name : name.subarray(0, end));
}

/** Decodes `ifr_flags` (u16) from a `struct ifreq`. */
export function decodeIfreqFlags(req: Uint8Array): number {
  return new DataView(req.buffer, req.byteOffset, req.byteLength).getUint16(IFNAMSIZ, true);
}

/** Decodes the `int` member (`ifr_mtu`, `ifr_qlen`, `ifr_ifindex`) from a `struct ifreq`. */
export function decodeIfreqInt(req: Uint8Array): number {
  return new DataView(req.buffer, req.byteOffset, req.byteLength).getInt32(IFNAMSIZ, true);
}
