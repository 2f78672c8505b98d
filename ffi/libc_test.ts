import assert from "node:assert/strict";
import {
  check,
  closeQuietly,
  createEventFd,
  drainEventFd,
  EAGAIN,
  EPOLL_EVENT_SIZE,
  ErrnoError,
  errnoName,
  errnoText,
  libc,
  POLLFD_SIZE,
  POLLIN,
  signalEventFd,
} from "./libc.ts";

Deno.test("errnoName() and errnoText() name the errno values", () => {
  assert.equal(errnoName(11), "EAGAIN");
  assert.equal(errnoText(11), "Resource temporarily unavailable");
  assert.equal(errnoName(22), "EINVAL");
  assert.equal(errnoName(4095), "E4095");
  assert.equal(errnoText(4095), "Unknown error 4095");
});

Deno.test("ErrnoError message is std style with the call and the errno name", () => {
  const e = new ErrnoError('Cannot create TUN device "x"', "ioctl(TUNSETIFF)", 16);
  assert.equal(
    e.message,
    'Cannot create TUN device "x": ioctl(TUNSETIFF) failed with EBUSY (Device or resource busy)',
  );
  assert.equal(e.name, "ErrnoError");
  assert.equal(e.code, "EBUSY");
  assert.equal(e.errno, 16);
});

Deno.test("epoll_event size follows the x86_64 packed layout", () => {
  assert.equal(EPOLL_EVENT_SIZE, Deno.build.arch === "x86_64" ? 12 : 16);
});

Deno.test("check() turns a failed libc call into ErrnoError with errno", () => {
  assert.throws(() => check(libc().close(-1), "Cannot close fd -1", "close"), {
    name: "ErrnoError",
    code: "EBADF",
    message: "Cannot close fd -1: close failed with EBADF (Bad file descriptor)",
  });
});

Deno.test("eventfd: signal makes it readable for poll(), drain resets it, read reports EAGAIN", () => {
  const fd = createEventFd("test");
  try {
    const pfd = new Uint8Array(POLLFD_SIZE);
    const v = new DataView(pfd.buffer);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
    assert.equal(libc().poll(pfd, 1n, 0), 0);
    signalEventFd(fd);
    signalEventFd(fd);
    assert.equal(libc().poll(pfd, 1n, 0), 1);
    assert.equal(v.getInt16(6, true) & POLLIN, POLLIN);
    const counter = new BigUint64Array(1);
    assert.equal(Number(libc().read(fd, new Uint8Array(counter.buffer), 8n)), 8);
    assert.equal(counter[0], 2n);
    signalEventFd(fd);
    drainEventFd(fd);
    assert.equal(libc().poll(pfd, 1n, 0), 0);
    assert.throws(() => check(libc().read(fd, new Uint8Array(8), 8n), "x", "read"), {
      errno: EAGAIN,
    });
  } finally {
    closeQuietly(fd);
  }
});

Deno.test("pollAsync() resolves when another party signals the eventfd", async () => {
  const fd = createEventFd("test");
  try {
    const pfd = new Uint8Array(POLLFD_SIZE);
    const v = new DataView(pfd.buffer);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
    const pending = libc().pollAsync(pfd, 1n, 5000);
    const t0 = performance.now();
    setTimeout(() => signalEventFd(fd), 20);
    assert.equal(await pending, 1);
    assert.ok(performance.now() - t0 < 2000);
  } finally {
    closeQuietly(fd);
  }
});
