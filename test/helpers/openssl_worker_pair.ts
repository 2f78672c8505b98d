/**
 * Helpers of the data-plane Worker tests (ffi/): a self-signed certificate,
 * a datagram socket pair standing in for a TUN device, an OpenSSL peer that
 * collects SSTP packets, descriptor counts.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { OpenSslConn } from "../../ffi/openssl_conn.ts";
import { AF_UNIX, check, libc, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../ffi/libc.ts";
import { encodeSstpPacket, type SstpPacket } from "../../lib/sstp/packet.ts";
import { SstpFramer } from "../../lib/sstp/framer.ts";

/** A self-signed P-256 certificate and key (openssl req) in `dir`. */
export async function selfSigned(dir: string): Promise<{ certPem: string; keyPem: string }> {
  const out = await new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`, "-days", "2"],
      ...["-subj", "/CN=sstp-test"],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return {
    certPem: await Deno.readTextFile(`${dir}/cert.pem`),
    keyPem: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

/** A datagram socket pair: one end plays the TUN device (one packet per read/write). */
export function packetPair(): [number, number] {
  const fds = new Int32Array(2);
  check(
    libc().socketpair(
      AF_UNIX,
      SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      0,
      new Uint8Array(fds.buffer),
    ),
    "Cannot make a packet pair",
    "socketpair",
  );
  return [fds[0]!, fds[1]!];
}

/** The next packet on `fd` (polled), or an error after `timeoutMs`. */
export async function readPacket(fd: number, timeoutMs = 15_000): Promise<Uint8Array> {
  const buf = new Uint8Array(4096);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = Number(libc().read(fd, buf, 4096n));
    if (n > 0) return buf.slice(0, n);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("no packet within the deadline");
}

/** How many of this process's fds refer to the same file as `target` (e.g. `socket:[123]`). */
export function fdsTo(target: string): number {
  let n = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === target) n++;
    } catch { /* the directory's own fd */ }
  }
  return n;
}

/** The socket inode of the TCP connection whose local port is `port` (/proc/net/tcp). */
export function tcpSocket(port: number): string {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex}`)) return `socket:[${f[9]}]`;
  }
  throw new Error(`no TCP socket on local port ${port}`);
}

/** An IPv4/UDP-protocol packet from `source` (default 198.18.0.1) to 198.18.0.2. */
export function ipv4(payload: number[], source = [198, 18, 0, 1]): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p.set([0x45, 0, 0, p.length, 0, 0, 0, 0, 64, 17, 0, 0, ...source, 198, 18, 0, 2]);
  p.set(payload, 20);
  return p;
}

/** `ip` as an SSTP data packet with an uncompressed PPP header. */
export function dataPacket(ip: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + ip.length);
  frame.set([0xff, 0x03, 0x00, 0x21]);
  frame.set(ip, 4);
  return encodeSstpPacket({ kind: "data", data: frame });
}

/** The server side: an OpenSSL endpoint whose received SSTP packets are collected. */
export class Peer {
  /** Packets received and not yet taken by `next`. */
  readonly packets: SstpPacket[] = [];
  readonly #framer = new SstpFramer();
  #waiters: (() => void)[] = [];
  /** True once the connection ended. */
  ended = false;
  /** Takes `conn`'s reads over. */
  constructor(readonly conn: OpenSslConn) {
    conn.takeReads((chunk) => {
      this.#framer.pushEach(chunk, (p) => {
        this.packets.push(p.kind === "data" ? { kind: "data", data: p.data.slice() } : p);
      });
      for (const w of this.#waiters.splice(0)) w();
    }, () => {
      this.ended = true;
    });
  }
  /** The next SSTP packet received (waits up to 15 s). */
  async next(): Promise<SstpPacket> {
    const deadline = Date.now() + 15_000;
    while (this.packets.length === 0) {
      if (Date.now() > deadline) throw new Error("peer received nothing");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.packets.shift()!;
  }
}

/** Waits until `ok()` (polled every 5 ms), or fails after 15 s. */
export async function until(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
