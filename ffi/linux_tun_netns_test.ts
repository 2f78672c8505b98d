/**
 * Root-only tests of {@linkcode openLinuxTun} and {@linkcode EpollReactor} in
 * throw-away network namespaces (test/helpers/netns.ts).
 *
 * ```
 *   namespace sstp-t-XXXXXXXX
 *   ┌────────────────────────────────────────────────┐
 *   │ ping 198.18.5.2                                │
 *   │   │ route 198.18.5.2 dev sstp-t0               │
 *   │   ▼                                            │
 *   │ sstp-t0 (TUN, 198.18.5.1 peer 198.18.5.2) ─────┼─► fd in this test process:
 *   └────────────────────────────────────────────────┘   reads the echo request,
 *                                                        writes the echo reply
 * ```
 *
 * The TUN is created with the JS thread switched into the namespace
 * (`ns.enter`), so nothing is ever created in the root namespace. Every wait
 * is bounded; every namespace is deleted in `finally` (`await using`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createNetns, type Netns, netnsTestIgnore } from "../test/helpers/netns.ts";
import { buildIcmpEcho, parseIcmp } from "../test/helpers/icmp.ts";
import { EpollReactor } from "./epoll_reactor.ts";
import { IFF_UP } from "./ifreq.ts";
import {
  AF_INET,
  check,
  closeQuietly,
  ErrnoError,
  libc,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from "./libc.ts";
import { type LinuxTun, openLinuxTun } from "./linux_tun.ts";
import { readNetdev } from "./netdev.ts";

const ignore = netnsTestIgnore("ffi/linux_tun_netns_test.ts");

/** Runs `p` with a deadline; on expiry calls `onTimeout` (which must end `p`) and throws. */
async function within<T>(ms: number, what: string, p: Promise<T>, onTimeout: () => void) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let isTimedOut = false;
  const guard = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      isTimedOut = true;
      onTimeout();
      resolve();
    }, ms);
  });
  try {
    const result = await Promise.race([p, guard.then(() => p)]);
    if (isTimedOut) throw new Error(`Timed out after ${ms} ms: ${what}`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Identity of an open fd as `"<fd> <kind> <id>"`: a TUN fd by its interface
 * name, an eventfd by its kernel-wide `eventfd-id`, an epoll fd by number.
 * `deno test --parallel` runs other test files on other threads of this same
 * process, so fd numbers alone are reused under our feet; identities are not.
 */
function fdIdentity(fd: number): string | undefined {
  try {
    const target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    if (target === "/dev/net/tun") return `${fd} tun ${/^iff:\s*(\S+)/m.exec(info)?.[1] ?? "-"}`;
    if (target === "anon_inode:[eventfd]") {
      return `${fd} eventfd ${/^eventfd-id:\s*(\d+)/m.exec(info)?.[1] ?? "-"}`;
    }
    if (target === "anon_inode:[eventpoll]") return `${fd} eventpoll`;
    return `${fd} ${target}`;
  } catch {
    return undefined; // not open
  }
}

/** Identities of `fds`, taken while they are open. */
function identities(fds: number[]): string[] {
  return fds.map((fd) => {
    const id = fdIdentity(fd);
    assert.ok(id !== undefined, `fd ${fd} is not open`);
    return id;
  });
}

/**
 * The entries of `ids` whose fd is still open as the same file (the leak
 * check). Eventfds are left out: the kernel recycles `eventfd-id`s (an IDA),
 * so under `--parallel` another test file's eventfd can take both the fd
 * number and the id (seen in CI-like runs); TUN fds are named by their
 * interface and stay exact.
 */
function stillOpen(ids: string[]): string[] {
  return ids.filter((id) =>
    !id.includes(" eventfd ") && fdIdentity(Number(id.split(" ")[0])) === id
  );
}

/** TUN fds of this process not attached to any interface (a failed TUNSETIFF). */
function unattachedTunFds(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    const id = fdIdentity(Number(e.name));
    if (id?.endsWith(" tun -")) out.push(id);
  }
  return out;
}

/** Builds the echo reply to an echo request read from the TUN (same id, seq, payload). */
function echoReplyTo(request: Uint8Array): Uint8Array | undefined {
  const icmp = parseIcmp(request);
  if (icmp === null || icmp.type !== 8) return undefined;
  const ihl = ((request[0] ?? 0) & 0xf) * 4;
  const total = new DataView(request.buffer, request.byteOffset).getUint16(2);
  return buildIcmpEcho(icmp.dst, icmp.src, {
    id: icmp.id,
    seq: icmp.seq,
    payload: request.subarray(ihl + 8, total),
    reply: true,
  });
}

async function openPointToPoint(ns: Netns, name: string): Promise<LinuxTun> {
  const tun = ns.enter(() => openLinuxTun({ name, mtu: 1400, txQueueLen: 5000, up: true }));
  try {
    await ns.run(["ip", "addr", "add", "198.18.5.1", "peer", "198.18.5.2", "dev", name]);
  } catch (e) {
    tun.close();
    throw e;
  }
  return tun;
}

Deno.test({
  name: "LinuxTun reads a ping's echo request and writes the reply the ping accepts",
  ignore,
  async fn() {
    await using ns = await createNetns();
    const tun = await openPointToPoint(ns, "sstp-t0");
    try {
      assert.equal(tun.name, "sstp-t0");
      assert.equal(tun.mtu, 1400);
      const dev = ns.enter(() => readNetdev("sstp-t0"));
      assert.equal(dev.txQueueLen, 5000);
      assert.equal(dev.flags & IFF_UP, IFF_UP);

      const ping = ns.exec(["ping", "-n", "-c", "1", "-W", "5", "198.18.5.2"], { timeoutMs: 8000 });
      const reader = tun.readable.getReader();
      const answer = async () => {
        for (let i = 0; i < 50; i++) {
          const { value, done } = await reader.read();
          if (done) return false;
          const reply = echoReplyTo(value);
          if (reply !== undefined && parseIcmp(value)?.dst === "198.18.5.2") {
            assert.equal(tun.writePackets([reply]), 1);
            return true;
          }
        }
        return false;
      };
      assert.ok(await within(6000, "echo request on the TUN", answer(), () => tun.close()));
      reader.releaseLock();
      const r = await ping;
      assert.equal(r.code, 0, `ping failed:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 received/);
      assert.ok(tun.stats.rxPackets >= 1);
      assert.equal(tun.stats.txPackets, 1);
      assert.equal(tun.stats.txDropped, 0);
    } finally {
      tun.close();
      await tun.closed;
    }
  },
});

Deno.test({
  name: "LinuxTun writes an echo request into the kernel and reads the kernel's reply",
  ignore,
  async fn() {
    await using ns = await createNetns();
    const tun = await openPointToPoint(ns, "sstp-t1");
    try {
      const request = buildIcmpEcho("198.18.5.2", "198.18.5.1", { id: 0x5a5a, seq: 7 });
      const writer = tun.writable.getWriter();
      await writer.write(request);
      writer.releaseLock();
      const find = async () => {
        for (let i = 0; i < 50; i++) {
          const batch = await tun.readBatch();
          if (batch.length === 0) return undefined;
          const hit = batch.map(parseIcmp).find((p) => p?.type === 0 && p.id === 0x5a5a);
          if (hit) return hit;
        }
        return undefined;
      };
      const reply = await within(5000, "echo reply on the TUN", find(), () => tun.close());
      assert.deepEqual(reply, {
        src: "198.18.5.1",
        dst: "198.18.5.2",
        type: 0,
        id: 0x5a5a,
        seq: 7,
      });
      assert.equal(tun.stats.txPackets, 1);
      assert.equal(tun.stats.txBytes, request.length);
      // A packet that is neither IPv4 nor IPv6 (version nibble 0) gets EINVAL
      // from tun_get_user(): dropped and counted, not thrown.
      assert.equal(tun.writePackets([new Uint8Array(20)]), 0);
      assert.equal(tun.stats.txDropped, 1);
    } finally {
      tun.close();
      await tun.closed;
    }
  },
});

Deno.test({
  name: "LinuxTun.close() ends a pending read promptly and closes its fds",
  ignore,
  async fn() {
    await using ns = await createNetns();
    const tun = ns.enter(() => openLinuxTun({ name: "sstp-t2" }));
    const opened = identities([tun.fd, tun.eventFd]);
    assert.match(opened[0]!, / tun sstp-t2$/);
    assert.match(opened[1]!, / eventfd \d+$/);
    const reader = tun.readable.getReader();
    const pending = reader.read();
    await new Promise((r) => setTimeout(r, 50)); // let the poll() start
    const t0 = performance.now();
    tun.close();
    tun.close(); // idempotent
    const result = await within(2000, "read after close", pending, () => {});
    assert.equal(result.done, true);
    await tun.closed;
    assert.ok(performance.now() - t0 < 500, `took ${performance.now() - t0} ms`);
    assert.deepEqual(stillOpen(opened), []);
    assert.deepEqual(await tun.readBatch(), []);
    assert.equal(tun.writePackets([new Uint8Array(20)]), 0);
    const w = tun.writable.getWriter();
    await assert.rejects(w.write(new Uint8Array(20)), /device is closed/);
  },
});

Deno.test({
  name: "LinuxTun.readable cancel ends a pending read but keeps the device open",
  ignore,
  async fn() {
    await using ns = await createNetns();
    const tun = await openPointToPoint(ns, "sstp-t3");
    try {
      const reader = tun.readable.getReader();
      const pending = reader.read();
      await new Promise((r) => setTimeout(r, 20));
      await within(2000, "cancel", reader.cancel(), () => tun.close());
      assert.equal((await pending).done, true);
      assert.equal(tun.isClosed, false);
      const request = buildIcmpEcho("198.18.5.2", "198.18.5.1", { id: 9 });
      assert.equal(tun.writePackets([request]), 1);
    } finally {
      tun.close();
      await tun.closed;
    }
  },
});

Deno.test({
  name: "openLinuxTun() leaves no fd open when TUNSETIFF fails",
  ignore,
  async fn() {
    await using ns = await createNetns();
    // "lo" exists and is not a TUN device: EINVAL.
    assert.throws(() => ns.enter(() => openLinuxTun({ name: "lo" })), {
      name: "ErrnoError",
      code: "EINVAL",
      message: /^Cannot create TUN device "lo": ioctl\(TUNSETIFF\) failed with EINVAL/,
    });
    assert.deepEqual(unattachedTunFds(), []);
    // Two %d templates: the kernel's dev_alloc_name() refuses.
    assert.throws(() => ns.enter(() => openLinuxTun({ name: "bad%d%d" })), ErrnoError);
    assert.deepEqual(unattachedTunFds(), []);
    // Name already attached to another open TUN fd: EBUSY.
    const first = ns.enter(() => openLinuxTun({ name: "sstp-t4" }));
    const opened = identities([first.fd, first.eventFd]);
    try {
      assert.throws(() => ns.enter(() => openLinuxTun({ name: "sstp-t4" })), { code: "EBUSY" });
      assert.deepEqual(unattachedTunFds(), []);
    } finally {
      first.close();
      await first.closed;
    }
    assert.deepEqual(stillOpen(opened), []);
    // Rejected before any fd is opened.
    assert.throws(
      () => openLinuxTun({ name: "tun-very-long-name" }),
      new RangeError(
        'Cannot create TUN device "tun-very-long-name": name must be at most 15 bytes',
      ),
    );
    assert.throws(() => openLinuxTun({ name: "ok", mtu: 20 }), RangeError);
    assert.deepEqual(unattachedTunFds(), []);
  },
});

/** Encodes `struct sockaddr_in` (family host order, port and address network order). */
function sockaddrIn(addr: string, port: number): Uint8Array<ArrayBuffer> {
  const sa = new Uint8Array(16);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port);
  sa.set(addr.split(".").map(Number), 4);
  return sa;
}

Deno.test({
  name: "EpollReactor serves 50 TUN devices with one epoll_wait, each receiving a packet",
  ignore,
  async fn() {
    const count = 50;
    await using ns = await createNetns();
    const reactor = new EpollReactor();
    const tuns: LinuxTun[] = [];
    let opened: string[] = [];
    let sock = -1;
    try {
      ns.enter(() => {
        for (let i = 0; i < count; i++) {
          tuns.push(openLinuxTun({ name: `rt${i}`, up: true, reactor }));
        }
      });
      // One fd per TUN plus the reactor's epoll fd and eventfd: no per-device eventfd.
      assert.ok(tuns.every((t) => t.eventFd === -1));
      opened = identities([...reactor.fds, ...tuns.map((t) => t.fd)]);
      const batch = tuns.map((_, i) => `addr add 198.18.6.1 peer 198.18.7.${i + 1} dev rt${i}\n`);
      await ns.run(["ip", "-batch", "-"], { stdin: batch.join("") });

      const reads = tuns.map((t) => t.readBatch());
      assert.ok(reactor.isRunning);
      const payload = new TextEncoder().encode("reactor");
      sock = ns.enter(() =>
        check(
          libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
          "test",
          "socket",
        )
      );
      for (let i = 0; i < count; i++) {
        const to = sockaddrIn(`198.18.7.${i + 1}`, 9);
        check(libc().sendto(sock, payload, BigInt(payload.length), 0, to, 16), "test", "sendto");
      }
      const batches = await within(5000, "a packet on every TUN", Promise.all(reads), () => {
        for (const t of tuns) t.close();
      });
      batches.forEach((b, i) => {
        const udp = b.find((p) => p[9] === 17);
        assert.ok(udp, `no UDP packet on rt${i}`);
        assert.equal(Array.from(udp.subarray(16, 20)).join("."), `198.18.7.${i + 1}`);
      });
    } finally {
      closeQuietly(sock);
      for (const t of tuns) t.close();
      await Promise.all(tuns.map((t) => t.closed));
      reactor.close();
      await reactor.closed;
    }
    assert.deepEqual(stillOpen(opened), []);
  },
});

Deno.test({
  name: "LinuxTun with a reactor ends a pending read when the reactor closes",
  ignore,
  async fn() {
    await using ns = await createNetns();
    const reactor = new EpollReactor();
    const tun = ns.enter(() => openLinuxTun({ name: "sstp-t5", reactor }));
    try {
      const pending = tun.readBatch();
      reactor.close();
      await assert.rejects(
        within(2000, "read after reactor close", pending, () => tun.close()),
        /reactor is closed/,
      );
    } finally {
      tun.close();
      await tun.closed;
      await reactor.closed;
    }
  },
});

for (const mode of ["alone", "with a reactor"] as const) {
  Deno.test({
    name:
      `LinuxTun.readPush (${mode}) pushes batches, holds them while paused, polls at once, ends once on close`,
    ignore,
    async fn() {
      await using ns = await createNetns();
      const reactor = mode === "alone" ? undefined : new EpollReactor();
      const tun = ns.enter(() =>
        openLinuxTun({ name: "sstp-p0", up: true, ...(reactor ? { reactor } : {}) })
      );
      let sock = -1;
      const udp: number[] = [];
      const ends: (Error | undefined)[] = [];
      const until = async (check: () => boolean, what: string) => {
        for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(check(), `timed out: ${what}`);
      };
      try {
        await ns.run(["ip", "addr", "add", "198.18.5.1", "peer", "198.18.5.2", "dev", "sstp-p0"]);
        const control = tun.readPush((batch) => {
          for (const p of batch) if (p[9] === 17) udp.push(p[28] ?? -1);
        }, (error) => ends.push(error));
        assert.throws(() => tun.readPush(() => {}, () => {}), /already reading/);
        sock = ns.enter(() =>
          check(
            libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
            "test",
            "socket",
          )
        );
        const to = sockaddrIn("198.18.5.2", 9);
        const send = (from: number, n: number) => {
          for (let i = from; i < from + n; i++) {
            const payload = Uint8Array.of(i);
            check(libc().sendto(sock, payload, 1n, 0, to, 16), "test", "sendto");
          }
        };
        send(0, 3);
        await until(() => udp.length === 3, "the first three datagrams");
        control.pause();
        send(3, 5);
        await new Promise((r) => setTimeout(r, 150));
        assert.equal(udp.length, 3, "nothing delivered while paused");
        control.resume();
        await until(() => udp.length === 8, "the datagrams queued while paused");
        assert.deepEqual(udp, [0, 1, 2, 3, 4, 5, 6, 7]);
        send(8, 1);
        await until(() => udp.length === 9, "a datagram after resume");
        // poll(): what the device holds is delivered at once, inside the call
        // (the kernel queued the datagram inside sendto); nothing while paused.
        control.pause();
        send(9, 1);
        control.poll();
        assert.equal(udp.length, 9, "poll() delivers nothing while paused");
        control.resume();
        await until(() => udp.length === 10, "the datagram held while paused");
        send(10, 2);
        control.poll();
        assert.deepEqual(udp.slice(10), [10, 11], "poll() delivered synchronously");
        tun.close();
        await until(() => ends.length > 0, "the end of push mode");
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(ends, [undefined], "ended once, without an error");
      } finally {
        closeQuietly(sock);
        tun.close();
        await tun.closed;
        reactor?.close();
        await reactor?.closed;
      }
    },
  });
}
