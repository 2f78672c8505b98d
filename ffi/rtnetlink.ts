/**
 * Interface addresses, link state, MTU and routes through an
 * `AF_NETLINK`/`NETLINK_ROUTE` socket: what `ip addr|link|route` do, without
 * spawning a process per session (a process per session cannot reach 200
 * sessions/s). Messages are built by `netlink_message.ts`.
 *
 * Flow of one request:
 * 1. `sendto()` the request with NLM_F_ACK to the kernel (pid 0).
 * 2. rtnetlink handles it inside that `sendto()` call and queues the reply, so
 *    a nonblocking `recv()` finds the ACK at once; if not, a synchronous
 *    `poll()` waits at most `replyTimeoutMs`.
 * 3. The NLMSG_ERROR reply with our sequence number decides: 0 is success,
 *    anything else throws {@linkcode ErrnoError} (EEXIST, ENODEV, ...).
 *
 * The socket belongs to the network namespace of the thread that opened it.
 *
 * @module
 */

import {
  AF_NETLINK,
  check,
  closeQuietly,
  EAGAIN,
  EINTR,
  errno,
  ErrnoError,
  libc,
  POLLFD_SIZE,
  POLLIN,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
} from "./libc.ts";
import {
  type Address6Request,
  type AddressRequest,
  decodeNetlinkAck,
  encodeDeleteAddress6,
  encodeDeleteRoute,
  encodeDeleteRoute6,
  encodeNewAddress,
  encodeNewAddress6,
  encodeNewRoute,
  encodeNewRoute6,
  encodeSetLink,
  type LinkRequest,
  type Route6Request,
  type RouteRequest,
} from "./netlink_message.ts";

/** `NETLINK_ROUTE = 0` (linux/netlink.h). */
export const NETLINK_ROUTE = 0;
/** `sizeof(struct sockaddr_nl)`: family u16, pad u16, pid u32, groups u32 = 12. */
const SOCKADDR_NL_SIZE = 12;
const RECV_BUFFER_SIZE = 8192;

/** A NETLINK_ROUTE socket; create it with {@linkcode RtNetlink.open}. */
export class RtNetlink implements Disposable {
  readonly #fd: number;
  readonly #kernel = new Uint8Array(SOCKADDR_NL_SIZE);
  readonly #buf = new Uint8Array(RECV_BUFFER_SIZE);
  readonly #replyTimeoutMs: number;
  #seq = 0;
  #isClosed = false;

  private constructor(fd: number, replyTimeoutMs: number) {
    this.#fd = fd;
    this.#replyTimeoutMs = replyTimeoutMs;
    // sockaddr_nl { nl_family = AF_NETLINK, nl_pid = 0 (the kernel), nl_groups = 0 }
    new DataView(this.#kernel.buffer).setUint16(0, AF_NETLINK, true);
  }

  /**
   * Opens a socket in the calling thread's network namespace.
   *
   * @throws {ErrnoError} when `socket()` fails.
   */
  static open(options: { replyTimeoutMs?: number } = {}): RtNetlink {
    const fd = check(
      libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE),
      "Cannot open rtnetlink socket",
      "socket(AF_NETLINK)",
    );
    return new RtNetlink(fd, options.replyTimeoutMs ?? 1000);
  }

  /**
   * `ip addr add LOCAL peer PEER/LEN dev INDEX`.
   *
   * @throws {ErrnoError} EEXIST when the address is there already, ENODEV, ...
   */
  addAddress(req: AddressRequest): void {
    const peer = req.peer === undefined ? "" : ` peer ${req.peer}`;
    const action =
      `Cannot add address ${req.local}${peer}/${req.prefixLen} to ifindex ${req.index}`;
    this.#request(encodeNewAddress(this.#nextSeq(), req), action, "RTM_NEWADDR");
  }

  /**
   * `ip link set dev INDEX [up|down] [mtu N]`.
   *
   * @throws {ErrnoError}
   */
  setLink(req: LinkRequest): void {
    this.#request(
      encodeSetLink(this.#nextSeq(), req),
      `Cannot set link ifindex ${req.index}`,
      "RTM_NEWLINK",
    );
  }

  /**
   * `ip route add DST/LEN [via GW] dev INDEX [metric M]`.
   *
   * @throws {ErrnoError} EEXIST when the route exists, ENETUNREACH for an unreachable gateway, ...
   */
  addRoute(req: RouteRequest): void {
    const action = `Cannot add route ${req.dst}/${req.prefixLen} dev ifindex ${req.index}`;
    this.#request(encodeNewRoute(this.#nextSeq(), req), action, "RTM_NEWROUTE");
  }

  /**
   * `ip route del DST/LEN [via GW] dev INDEX [metric M]` (main table).
   *
   * @throws {ErrnoError} ESRCH when no such route exists, ...
   */
  deleteRoute(req: RouteRequest): void {
    const action = `Cannot delete route ${req.dst}/${req.prefixLen} dev ifindex ${req.index}`;
    this.#request(encodeDeleteRoute(this.#nextSeq(), req), action, "RTM_DELROUTE");
  }

  /**
   * `ip -6 addr add|replace ADDR/LEN dev INDEX [nodad] [valid_lft N preferred_lft N]`.
   *
   * @throws {ErrnoError} EEXIST (without `replace`), ENODEV, ...
   */
  addAddress6(req: Address6Request): void {
    const action = `Cannot add address ${req.address}/${req.prefixLen} to ifindex ${req.index}`;
    this.#request(encodeNewAddress6(this.#nextSeq(), req), action, "RTM_NEWADDR");
  }

  /**
   * `ip -6 addr del ADDR/LEN dev INDEX`.
   *
   * @throws {ErrnoError} EADDRNOTAVAIL when the address is not there, ENODEV, ...
   */
  deleteAddress6(req: Pick<Address6Request, "index" | "address" | "prefixLen">): void {
    const action =
      `Cannot delete address ${req.address}/${req.prefixLen} from ifindex ${req.index}`;
    this.#request(encodeDeleteAddress6(this.#nextSeq(), req), action, "RTM_DELADDR");
  }

  /**
   * `ip -6 route add [TYPE] DST/LEN [via GW] [dev INDEX] [metric M]`.
   *
   * @throws {ErrnoError} EEXIST when the route exists, ENODEV, ...
   */
  addRoute6(req: Route6Request): void {
    const action = `Cannot add route ${describeRoute6(req)}`;
    this.#request(encodeNewRoute6(this.#nextSeq(), req), action, "RTM_NEWROUTE");
  }

  /**
   * `ip -6 route del [TYPE] DST/LEN [via GW] [dev INDEX] [metric M]` (main table).
   *
   * @throws {ErrnoError} ESRCH when no such route exists, ...
   */
  deleteRoute6(req: Route6Request): void {
    const action = `Cannot delete route ${describeRoute6(req)}`;
    this.#request(encodeDeleteRoute6(this.#nextSeq(), req), action, "RTM_DELROUTE");
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    closeQuietly(this.#fd);
  }

  /** `using nl = RtNetlink.open()` support. */
  [Symbol.dispose](): void {
    this.close();
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #request(msg: Uint8Array<ArrayBuffer>, action: string, what: string): void {
    if (this.#isClosed) throw new Error(`${action}: rtnetlink socket is closed`);
    const seq = new DataView(msg.buffer).getUint32(8, true);
    const { sendto, recv, poll } = libc();
    check(
      sendto(this.#fd, msg, BigInt(msg.length), 0, this.#kernel, SOCKADDR_NL_SIZE),
      action,
      `sendto(${what})`,
    );
    const pfd = new Uint8Array(POLLFD_SIZE);
    const pv = new DataView(pfd.buffer);
    pv.setInt32(0, this.#fd, true);
    pv.setInt16(4, POLLIN, true);
    const deadline = performance.now() + this.#replyTimeoutMs;
    for (let i = 0; i < 1000; i++) {
      const n = Number(recv(this.#fd, this.#buf, BigInt(RECV_BUFFER_SIZE), 0));
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) throw new ErrnoError(action, `recv(${what})`, e);
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0 || poll(pfd, 1n, left) === 0) break;
        continue;
      }
      const ack = decodeNetlinkAck(this.#buf.subarray(0, n), seq);
      if (ack === undefined) continue; // a reply to an older request: skip it
      if (ack.errno !== 0) throw new ErrnoError(action, what, ack.errno);
      return;
    }
    throw new Error(`${action}: no rtnetlink reply within ${this.#replyTimeoutMs} ms`);
  }
}

function describeRoute6(req: Route6Request): string {
  const type = req.type === undefined || req.type === "unicast" ? "" : `${req.type} `;
  const dev = req.index === undefined ? "" : ` dev ifindex ${req.index}`;
  return `${type}${req.dst}/${req.prefixLen}${dev}`;
}
