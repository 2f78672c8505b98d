import assert from "node:assert/strict";
import { EpollReactor } from "./epoll_reactor.ts";
import { closeQuietly, createEventFd, drainEventFd, signalEventFd } from "./libc.ts";

/** Resolves after `ms`, clearing its timer either way. */
function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 5 ms for at most `ms`. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms && !cond(); waited += 5) await delay(5);
  return cond();
}

Deno.test("EpollReactor calls the callback of each fd that becomes readable", async () => {
  const reactor = new EpollReactor();
  const fds = Array.from({ length: 8 }, () => createEventFd("test"));
  try {
    const hits = fds.map(() => 0);
    fds.forEach((fd, i) =>
      reactor.register(fd, () => {
        hits[i]!++;
        drainEventFd(fd);
      })
    );
    assert.ok(reactor.isRunning);
    assert.equal(reactor.size, 8);
    signalEventFd(fds[1]!);
    signalEventFd(fds[6]!);
    assert.ok(await until(() => hits[1] === 1 && hits[6] === 1, 2000), `hits ${hits}`);
    await delay(20);
    assert.deepEqual(hits, [0, 1, 0, 0, 0, 0, 1, 0]);
    // Edge-triggered: a new arrival wakes again.
    signalEventFd(fds[1]!);
    assert.ok(await until(() => hits[1] === 2, 2000));
  } finally {
    for (const fd of fds) reactor.unregister(fd);
    reactor.close();
    await reactor.closed;
    for (const fd of fds) closeQuietly(fd);
  }
});

Deno.test("EpollReactor stops its epoll_wait when the last fd is unregistered", async () => {
  const reactor = new EpollReactor();
  const fd = createEventFd("test");
  try {
    reactor.register(fd, () => drainEventFd(fd));
    assert.ok(reactor.isRunning);
    reactor.unregister(fd);
    assert.ok(await until(() => !reactor.isRunning, 2000), "loop still running");
    // A new registration restarts it.
    let hit = false;
    reactor.register(fd, () => hit = true);
    assert.ok(reactor.isRunning);
    signalEventFd(fd);
    assert.ok(await until(() => hit, 2000));
    reactor.unregister(fd);
  } finally {
    reactor.close();
    await reactor.closed;
    closeQuietly(fd);
  }
});

Deno.test("EpollReactor.close() wakes the pending epoll_wait and calls remaining callbacks", async () => {
  const reactor = new EpollReactor();
  const fd = createEventFd("test");
  try {
    let calls = 0;
    reactor.register(fd, () => calls++);
    const t0 = performance.now();
    reactor.close();
    reactor.close(); // idempotent
    assert.equal(calls, 1);
    assert.ok(reactor.isClosed);
    await reactor.closed;
    assert.ok(performance.now() - t0 < 1000);
    assert.throws(() => reactor.register(fd, () => {}), /reactor is closed/);
  } finally {
    closeQuietly(fd);
  }
});

Deno.test("EpollReactor.register() refuses a duplicate fd and a bad fd", async () => {
  const reactor = new EpollReactor();
  const fd = createEventFd("test");
  try {
    reactor.register(fd, () => {});
    assert.throws(() => reactor.register(fd, () => {}), /already registered/);
    assert.throws(() => reactor.register(-1, () => {}), { name: "ErrnoError", code: "EBADF" });
    assert.equal(reactor.size, 1);
  } finally {
    reactor.close();
    await reactor.closed;
    closeQuietly(fd);
  }
});

Deno.test("EpollReactor keeps running when a callback throws", async () => {
  const lines: string[] = [];
  const { createLogger } = await import("../lib/log.ts");
  const reactor = new EpollReactor({ logger: createLogger("error", (_l, s) => lines.push(s)) });
  const a = createEventFd("test");
  const b = createEventFd("test");
  try {
    let bHits = 0;
    reactor.register(a, () => {
      drainEventFd(a);
      throw new Error("boom");
    });
    reactor.register(b, () => {
      drainEventFd(b);
      bHits++;
    });
    signalEventFd(a);
    assert.ok(await until(() => lines.length === 1, 2000));
    signalEventFd(b);
    assert.ok(await until(() => bHits === 1, 2000));
    assert.match(lines[0]!, /callback threw: boom/);
  } finally {
    reactor.close();
    await reactor.closed;
    closeQuietly(a);
    closeQuietly(b);
  }
});
