/**
 * Closing a TCP connection with a reset (`SO_LINGER` on, 0 s): no FIN
 * exchange and no TIME_WAIT entry, what node:net's `resetAndDestroy` does.
 * The servers reset the connections their handshake admission refuses
 * (`max-handshakes-per-source`), the same under every TLS engine.
 *
 * @module
 */
import { closeQuietly, libc, SOL_SOCKET } from "./libc.ts";
import { socketAddress } from "./openssl_conn.ts";

/** `SO_LINGER` (asm-generic/socket.h). */
const SO_LINGER = 13;

/** Makes the close of socket `fd` a reset (`struct linger { 1, 0 }`). */
function lingerZero(fd: number): void {
  const linger = new Int32Array([1, 0]);
  libc().setsockopt(fd, SOL_SOCKET, SO_LINGER, new Uint8Array(linger.buffer), 8);
}

/** Resets `fd` (RST, no FIN exchange, no TIME_WAIT) and closes it. */
export function resetFd(fd: number): void {
  lingerZero(fd);
  closeQuietly(fd);
}

/**
 * The descriptor of `tcp`: Deno does not expose it, so the process's
 * sockets are matched by local and peer address (a TCP connection's pair
 * is unique). Undefined when none matches.
 */
function descriptorOf(tcp: Deno.TcpConn): number | undefined {
  const local = tcp.localAddr;
  const remote = tcp.remoteAddr;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    const fd = Number(entry.name);
    const peer = socketAddress(fd, "getpeername");
    if (peer.port !== remote.port || !sameHost(peer.hostname, remote.hostname)) continue;
    const own = socketAddress(fd, "getsockname");
    if (own.port === local.port && sameHost(own.hostname, local.hostname)) return fd;
  }
  return undefined;
}

/** Addresses as Deno and `socketAddress` print them (IPv4-mapped as IPv4). */
function sameHost(a: string, b: string): boolean {
  return a === b.replace(/^::ffff:(?=\d+\.)/i, "");
}

/**
 * Closes `tcp` with a reset, as {@linkcode resetFd} does a raw socket; a
 * plain close when its descriptor is not found. Deno shuts the write side
 * down (a FIN) before it closes, so a zero linger would come too late: a
 * `connect` to `AF_UNSPEC` disconnects the socket first, which sends the
 * reset (Linux `tcp_disconnect`), and Deno then closes a closed socket.
 */
export function resetTcpConn(tcp: Deno.TcpConn): void {
  try {
    const fd = descriptorOf(tcp);
    if (fd !== undefined) libc().connect(fd, new Uint8Array(16), 16); // sa_family 0: AF_UNSPEC
  } catch { /* closed already: nothing to reset */ }
  try {
    tcp.close();
  } catch { /* already closed */ }
}
