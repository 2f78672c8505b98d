/**
 * The queue between a listener's accept path and `accept()`: accepted
 * connections wait here for the server's accept loop, and closing the queue
 * answers every waiting `accept()` with null and closes what was not taken.
 * Shared by every listener (TLS, PROXY + TLS, cleartext) so they end alike.
 *
 * @module
 */
import type { ByteDuplex } from "../duplex.ts";

/** Accepted connections waiting to be taken, and takers waiting for one. */
export class AcceptQueue {
  #ready: ByteDuplex[] = [];
  #waiters: ((duplex: ByteDuplex | null) => void)[] = [];
  #closed = false;

  /** Whether {@linkcode AcceptQueue.close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Queues a connection; false when the queue is closed (caller closes it). */
  put(duplex: ByteDuplex): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(duplex);
    else this.#ready.push(duplex);
    return true;
  }

  /** The next connection, or null once closed and empty. */
  take(): Promise<ByteDuplex | null> {
    const ready = this.#ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Answers waiting takers with null and closes the connections not taken. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
    for (const duplex of this.#ready.splice(0)) duplex.close();
  }
}
