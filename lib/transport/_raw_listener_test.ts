import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { AcceptWatchdog } from "./_raw_listener.ts";

/** A watchdog whose checks the test runs (the timer's interval is an hour). */
function watchdog(queue: () => number | undefined) {
  const lines: string[] = [];
  const state = { accepted: 0, relistened: 0 };
  const dog = new AcceptWatchdog(
    "127.0.0.1",
    4433,
    createLogger("debug", (_l, line) => lines.push(line)),
    () => {
      const n = state.accepted;
      state.accepted = 0;
      return n;
    },
    () => state.relistened++,
    queue,
    3_600_000,
  );
  return { dog, lines, state };
}

Deno.test("AcceptWatchdog listens again after two checks with a waiting queue and no accept", () => {
  let queued: number | undefined = 3;
  const { dog, lines, state } = watchdog(() => queued);
  try {
    dog.check();
    assert.equal(state.relistened, 0, "one stalled check is not enough");
    dog.check();
    assert.equal(state.relistened, 1, "the second stalled check listens again");
    assert.match(lines.join("\n"), /stopped accepting with 3 connections waiting/);
    // Counting starts over: two more stalled checks for the next relisten.
    dog.check();
    assert.equal(state.relistened, 1);
    // An accept in between, or an empty queue, is a live listener.
    state.accepted = 1;
    dog.check();
    dog.check();
    assert.equal(state.relistened, 1, "an accept reset the count");
    dog.check();
    assert.equal(state.relistened, 2);
    queued = 0;
    for (let i = 0; i < 5; i++) dog.check();
    queued = undefined;
    for (let i = 0; i < 5; i++) dog.check();
    assert.equal(state.relistened, 2, "an empty or unknown queue is never a dead listener");
  } finally {
    dog.stop();
  }
});

Deno.test("AcceptWatchdog logs descriptor exhaustion once and its end once", () => {
  let exhausted = true;
  const { dog, lines, state } = watchdog(() => {
    if (exhausted) throw new Error("Too many open files (os error 24)");
    return 0;
  });
  try {
    for (let i = 0; i < 3; i++) dog.check();
    assert.equal(lines.filter((l) => /no file descriptor left/.test(l)).length, 1);
    assert.equal(state.relistened, 0, "no decision while the queue cannot be read");
    exhausted = false;
    dog.check();
    dog.check();
    assert.equal(lines.filter((l) => /available again/.test(l)).length, 1);
  } finally {
    dog.stop();
  }
});
