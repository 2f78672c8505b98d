/**
 * The one binding to the C library: `Deno.dlopen` appears only here
 * (test/architecture_test.ts), so FFI symbols and their types are declared
 * once. Linux, glibc, x86_64 or aarch64.
 *
 * Calling rules:
 * 1. `read`, `write`, `ioctl`, `fcntl`, `eventfd`, `epoll_ctl`, `socket`,
 *    `sendto`, `recv`, `close` and `poll` are synchronous: they run on the JS
 *    thread and must only ever be used on `O_NONBLOCK` descriptors (or with a
 *    zero timeout), so they cannot stall the event loop.
 * 1b. `epoll_wait` (synchronous) blocks its thread: only the data-plane
 *    Worker (`data_plane_worker.ts`) calls it, on a thread that has nothing
 *    else to do.
 * 2. `pollAsync`, `epollWaitAsync` and `closeAsync` are `nonblocking: true`: Deno runs them
 *    on a thread of its bounded blocking pool and resolves a promise. Each
 *    pending call holds one pool thread, so the server shares a single
 *    `epollWaitAsync` among all sessions (see `epoll_reactor.ts`).
 *    `closeAsync` exists because closing the last fd of a TUN device
 *    unregisters the netdev, which took about 16 ms here (RCU grace periods).
 * 3. `errno` is thread-local. It is read with `__errno_location()` right after
 *    a synchronous call on the JS thread. The value a `nonblocking: true` call
 *    left behind lives on a pool thread and cannot be read; callers of those
 *    treat -1 as "interrupted" (EINTR is the only error a valid call can get).
 *
 * Each function is bound on its first use: `Deno.dlopen` costs about 0.4 ms
 * of CPU per symbol it binds (measured with Deno 2.9), and a process uses
 * only some of them (`sstp connect` about a third), on the path from its
 * start to a usable tunnel.
 *
 * @module
 */

/** `open(2)` flags, from `<asm-generic/fcntl.h>` (identical on x86_64 and aarch64). */
export const O_RDWR = 0o2;
/** `O_NONBLOCK = 00004000` (asm-generic/fcntl.h). */
export const O_NONBLOCK = 0o4000;
/** `O_CLOEXEC = 02000000` (asm-generic/fcntl.h). */
export const O_CLOEXEC = 0o2000000;

/** `fcntl(2)` commands: `F_GETFL = 3`, `F_SETFL = 4` (asm-generic/fcntl.h). */
export const F_GETFL = 3;
/** `F_SETFL = 4` (asm-generic/fcntl.h). */
export const F_SETFL = 4;

/** `poll(2)` events (asm-generic/poll.h). `POLLIN = 0x0001`. */
export const POLLIN = 0x0001;
/** `POLLERR = 0x0008` (asm-generic/poll.h). */
export const POLLERR = 0x0008;
/** `POLLHUP = 0x0010` (asm-generic/poll.h). */
export const POLLHUP = 0x0010;
/** `POLLNVAL = 0x0020` (asm-generic/poll.h). */
export const POLLNVAL = 0x0020;
/** `sizeof(struct pollfd)`: `int fd; short events; short revents;` = 8. */
export const POLLFD_SIZE = 8;

/** `EFD_NONBLOCK = O_NONBLOCK` (linux/eventfd.h). */
export const EFD_NONBLOCK: number = O_NONBLOCK;
/** `EFD_CLOEXEC = O_CLOEXEC` (linux/eventfd.h). */
export const EFD_CLOEXEC: number = O_CLOEXEC;

/** `EPOLL_CLOEXEC = O_CLOEXEC` (linux/eventpoll.h). */
export const EPOLL_CLOEXEC: number = O_CLOEXEC;
/** `EPOLL_CTL_ADD = 1` (linux/eventpoll.h). */
export const EPOLL_CTL_ADD = 1;
/** `EPOLL_CTL_DEL = 2` (linux/eventpoll.h). */
export const EPOLL_CTL_DEL = 2;
/** `EPOLL_CTL_MOD = 3` (linux/eventpoll.h). */
export const EPOLL_CTL_MOD = 3;
/** `EPOLLIN = 0x001` (linux/eventpoll.h, same bit as POLLIN). */
export const EPOLLIN = 0x001;
/** `EPOLLERR = 0x008` (linux/eventpoll.h). */
export const EPOLLERR = 0x008;
/** `EPOLLHUP = 0x010` (linux/eventpoll.h). */
export const EPOLLHUP = 0x010;
/** `EPOLLET = 1u << 31` (linux/eventpoll.h): edge-triggered. */
export const EPOLLET = 0x80000000;
/**
 * `sizeof(struct epoll_event)`: `{ __u32 events; __u64 data; }` is declared
 * `__attribute__((packed))` on x86_64 only (`EPOLL_PACKED`, linux/eventpoll.h),
 * giving 12 bytes there and 16 (data at offset 8) elsewhere.
 */
export const EPOLL_EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
/** Offset of `epoll_event.data` (see {@linkcode EPOLL_EVENT_SIZE}). */
export const EPOLL_EVENT_DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;

/** `AF_INET = 2` (linux/socket.h). */
export const AF_INET = 2;
/** `AF_INET6 = 10` (linux/socket.h). */
export const AF_INET6 = 10;
/** `SOCK_STREAM = 1` (linux/net.h). */
export const SOCK_STREAM = 1;
/** `SOL_SOCKET = 1`, `SO_REUSEADDR = 2`, `SO_ERROR = 4` (asm-generic/socket.h). */
export const SOL_SOCKET = 1;
/** `SO_REUSEADDR = 2` (asm-generic/socket.h). */
export const SO_REUSEADDR = 2;
/** `SO_ERROR = 4` (asm-generic/socket.h). */
export const SO_ERROR = 4;
/** `IPPROTO_TCP = 6`, `TCP_NODELAY = 1` (linux/in.h, linux/tcp.h). */
export const IPPROTO_TCP = 6;
/** `TCP_NODELAY = 1` (linux/tcp.h). */
export const TCP_NODELAY = 1;
/** `EPOLLOUT = 0x004` (linux/eventpoll.h). */
export const EPOLLOUT = 0x004;
/** `EPOLLRDHUP = 0x2000` (linux/eventpoll.h). */
export const EPOLLRDHUP = 0x2000;
/** `SHUT_WR = 1` (sys/socket.h). */
export const SHUT_WR = 1;
/** `AF_UNIX = 1` (linux/socket.h). */
export const AF_UNIX = 1;
/** `AF_NETLINK = 16` (linux/socket.h). */
export const AF_NETLINK = 16;
/** `SOCK_DGRAM = 2` (linux/net.h, x86 and arm generic). */
export const SOCK_DGRAM = 2;
/** `SOCK_RAW = 3` (linux/net.h). */
export const SOCK_RAW = 3;
/** `SOCK_CLOEXEC = O_CLOEXEC` (linux/net.h). */
export const SOCK_CLOEXEC: number = O_CLOEXEC;
/** `SOCK_NONBLOCK = O_NONBLOCK` (linux/net.h). */
export const SOCK_NONBLOCK: number = O_NONBLOCK;
/** `CLONE_NEWNET = 0x40000000` (linux/sched.h), the `nstype` of `setns(2)`. */
export const CLONE_NEWNET = 0x40000000;

/**
 * The errno values this project handles, from `<asm-generic/errno-base.h>` and
 * `<asm-generic/errno.h>`, with glibc's `strerror` text.
 */
export const ERRNO = {
  EPERM: { code: 1, text: "Operation not permitted" },
  ENOENT: { code: 2, text: "No such file or directory" },
  ESRCH: { code: 3, text: "No such process" },
  EINTR: { code: 4, text: "Interrupted system call" },
  EIO: { code: 5, text: "Input/output error" },
  ENXIO: { code: 6, text: "No such device or address" },
  EBADF: { code: 9, text: "Bad file descriptor" },
  EAGAIN: { code: 11, text: "Resource temporarily unavailable" },
  ENOMEM: { code: 12, text: "Cannot allocate memory" },
  EACCES: { code: 13, text: "Permission denied" },
  EFAULT: { code: 14, text: "Bad address" },
  EBUSY: { code: 16, text: "Device or resource busy" },
  EEXIST: { code: 17, text: "File exists" },
  ENODEV: { code: 19, text: "No such device" },
  EINVAL: { code: 22, text: "Invalid argument" },
  ENFILE: { code: 23, text: "Too many open files in system" },
  EMFILE: { code: 24, text: "Too many open files" },
  ENOTTY: { code: 25, text: "Inappropriate ioctl for device" },
  ENOSPC: { code: 28, text: "No space left on device" },
  ERANGE: { code: 34, text: "Numerical result out of range" },
  ENOBUFS: { code: 105, text: "No buffer space available" },
  EMSGSIZE: { code: 90, text: "Message too long" },
  EPROTONOSUPPORT: { code: 93, text: "Protocol not supported" },
  ECONNREFUSED: { code: 111, text: "Connection refused" },
  ECONNRESET: { code: 104, text: "Connection reset by peer" },
  ETIMEDOUT: { code: 110, text: "Connection timed out" },
  EINPROGRESS: { code: 115, text: "Operation now in progress" },
  EPIPE: { code: 32, text: "Broken pipe" },
  EHOSTUNREACH: { code: 113, text: "No route to host" },
  EAFNOSUPPORT: { code: 97, text: "Address family not supported by protocol" },
  EADDRINUSE: { code: 98, text: "Address already in use" },
  EADDRNOTAVAIL: { code: 99, text: "Cannot assign requested address" },
  ENETDOWN: { code: 100, text: "Network is down" },
  ENETUNREACH: { code: 101, text: "Network is unreachable" },
  EOPNOTSUPP: { code: 95, text: "Operation not supported" },
} as const;

/** One of the names in {@linkcode ERRNO}. */
export type ErrnoName = keyof typeof ERRNO;

/** `EAGAIN = 11` (asm-generic/errno-base.h); `EWOULDBLOCK` is the same value. */
export const EAGAIN: number = ERRNO.EAGAIN.code;
/** `EINTR = 4` (asm-generic/errno-base.h). */
export const EINTR: number = ERRNO.EINTR.code;

const ERRNO_NAME = new Map<number, ErrnoName>(
  (Object.keys(ERRNO) as ErrnoName[]).map((name) => [ERRNO[name].code, name]),
);

/** A failed libc call: `errno` with its symbolic name and `strerror` text. */
export class ErrnoError extends Error {
  /** The numeric errno. */
  readonly errno: number;
  /** The symbolic name, e.g. `EINVAL`, or `E<number>` when unknown here. */
  readonly code: string;
  /** The call that failed, e.g. `ioctl(TUNSETIFF)`. */
  readonly syscall: string;

  /**
   * Builds the message `ACTION: SYSCALL failed with CODE (strerror text)`.
   *
   * @param action Std-style prefix: "Cannot create TUN device "x"".
   * @param syscall The failed call.
   * @param errno The errno value.
   */
  constructor(action: string, syscall: string, errno: number) {
    const code = errnoName(errno);
    super(`${action}: ${syscall} failed with ${code} (${errnoText(errno)})`);
    this.name = "ErrnoError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }
}

/** The symbolic name of an errno value (`E<n>` when not in {@linkcode ERRNO}). */
export function errnoName(errno: number): string {
  return ERRNO_NAME.get(errno) ?? `E${errno}`;
}

/** The `strerror`-like text of an errno value. */
export function errnoText(errno: number): string {
  const name = ERRNO_NAME.get(errno);
  return name === undefined ? `Unknown error ${errno}` : ERRNO[name].text;
}

/**
 * The libc functions this project calls, as `Deno.dlopen` signatures (C `int`
 * is `i32`, `size_t` is `usize`, `ssize_t` is `isize`).
 */
export const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  closeAsync: { name: "close", parameters: ["i32"], result: "i32", nonblocking: true },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // ioctl(int, unsigned long, ...): the variadic third argument is passed in
  // the same register whether it is a pointer or an integer (SysV x86_64 and
  // AAPCS64 both pass the first variadic integer arguments in registers).
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  ioctlInt: { name: "ioctl", parameters: ["i32", "u64", "i64"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  pollAsync: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // Blocking: only from a dedicated Worker whose thread does nothing else
  // (ffi/data_plane_worker.ts), never on the main JS thread.
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epollWaitAsync: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The typed libc functions that {@linkcode libc} returns (one per `dlopen`ed symbol). */
export type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let symbols: Symbols | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

/**
 * The libc symbols. Each is bound (`Deno.dlopen` of that one symbol) when
 * first read; the property then holds the function itself, so later calls
 * cost what they did with one `dlopen` of them all.
 *
 * @throws {Error} on first reading a symbol, when libc cannot be opened (not
 *   Linux/glibc, or no `--allow-ffi`).
 */
export function libc(): Symbols {
  if (symbols === undefined) {
    const lazy = {} as Symbols;
    for (const name of Object.keys(SYMBOLS) as (keyof typeof SYMBOLS)[]) {
      Object.defineProperty(lazy, name, {
        configurable: true,
        enumerable: true,
        get() {
          const fn = Deno.dlopen("libc.so.6", { [name]: SYMBOLS[name] }).symbols[name];
          Object.defineProperty(lazy, name, { value: fn, enumerable: true });
          return fn;
        },
      });
    }
    symbols = lazy;
  }
  return symbols;
}

/**
 * The calling thread's `errno`. Only meaningful right after a synchronous call
 * from the JS thread; the location of the JS thread's errno never changes, so
 * it is looked up once.
 */
export function errno(): number {
  if (errnoView === undefined) {
    const p = libc().__errno_location();
    if (p === null) throw new Error("Cannot read errno: __errno_location() returned NULL");
    errnoView = new Deno.UnsafePointerView(p);
  }
  return errnoView.getInt32(0);
}

/**
 * Throws an {@linkcode ErrnoError} for `errno` when `result` is negative,
 * otherwise returns `result` as a number.
 */
export function check(result: number | bigint, action: string, syscall: string): number {
  const n = Number(result);
  if (n < 0) throw new ErrnoError(action, syscall, errno());
  return n;
}

const encoder = new TextEncoder();

/** A NUL-terminated C string. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * Closes `fd`, ignoring errors (used on cleanup paths, where the first error
 * is the one worth reporting). Linux releases the descriptor even when
 * `close` reports EINTR or EIO, so it is never retried.
 */
export function closeQuietly(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/**
 * Creates an `O_NONBLOCK | O_CLOEXEC` eventfd with a zero counter.
 *
 * @throws {ErrnoError}
 */
export function createEventFd(action: string): number {
  return check(libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), action, "eventfd");
}

const ONE = new BigUint64Array([1n]);
const ONE_BYTES = new Uint8Array(ONE.buffer);
const SINK = new Uint8Array(8);

/** Adds 1 to an eventfd counter (wakes every poll/epoll waiting on it). */
export function signalEventFd(fd: number): void {
  // EAGAIN means the counter is at its maximum: a wake-up is already pending.
  libc().write(fd, ONE_BYTES, 8n);
}

/** Resets a nonblocking eventfd counter to zero. */
export function drainEventFd(fd: number): void {
  libc().read(fd, SINK, 8n);
}
