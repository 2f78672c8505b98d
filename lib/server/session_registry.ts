/**
 * The server's table of sessions (RouterOS `/interface sstp-server print`):
 * who is connected, on which interface, from where, since when. Pure: the
 * server owns the sessions' I/O and updates the entries.
 *
 * Lookups the server needs on every login are constant time: sessions per
 * user (`only-one`), interface names in use (dynamic `sstp-USER` names must
 * be unique), and the count of sessions still negotiating (the cap on
 * unauthenticated connections).
 *
 * @module
 */

import { dynamicInterfaceName, dynamicNameSuffix } from "../config/interface_names.ts";

/** How far a session has come. */
export type SessionState = "negotiating" | "connected" | "disconnecting";

/** One session as the registry sees it. */
export interface SessionEntry {
  /** Unique per server run. */
  readonly id: number;
  /** SSTPCORRELATIONID the client sent (or one we made up). */
  readonly correlationId: string;
  /** Client IP and port (RouterOS `caller-id`). */
  readonly callerId: string;
  /** Clock time the TCP connection was handed over. */
  readonly startedMs: number;
  /** `negotiating` until the link is up, then `connected`, then `disconnecting`. */
  state: SessionState;
  /** Authenticated user, once known. */
  user?: string;
  /** TUN interface name, once the link is up (or reserved for it). */
  interfaceName?: string;
  /** Client address on the link. */
  peerAddress?: string;
  /** Server address on the link. */
  localAddress?: string;
  /** Clock time the link came up. */
  connectedMs?: number;
  /** Asks the session to end (Call Disconnect). */
  close(reason: string): void;
}

/** Every session of one server. */
export class SessionRegistry<T extends SessionEntry = SessionEntry> {
  readonly #onAuthenticated: ((session: T) => void) | undefined;
  readonly #byId = new Map<number, T>();
  readonly #byUser = new Map<string, Set<T>>();
  readonly #names = new Set<string>();
  // Per user with several sessions: every dynamic-name suffix below this one
  // is taken (so the next login does not probe them one by one).
  readonly #suffixFloor = new Map<string, number>();
  #nextId = 1;

  /**
   * `onAuthenticated` runs when a session first gets its user
   * ({@linkcode setUser}, called once the user has authenticated).
   */
  constructor(options: { onAuthenticated?: (session: T) => void } = {}) {
    this.#onAuthenticated = options.onAuthenticated;
  }

  /** Number of sessions, whatever their state. */
  get size(): number {
    return this.#byId.size;
  }

  /** Number of sessions still negotiating (not yet connected). */
  get negotiating(): number {
    let n = 0;
    for (const s of this.#byId.values()) if (s.state === "negotiating") n++;
    return n;
  }

  /** Interface names in use or reserved. */
  get interfaceNames(): ReadonlySet<string> {
    return this.#names;
  }

  /**
   * The lowest free dynamic interface name of `user` (`sstp-USER`,
   * `sstp-USE1`, …; see {@linkcode dynamicInterfaceName}); reserve it with
   * {@linkcode reserveName}. Constant time for a user's next session however
   * many it has.
   */
  dynamicName(user: string): string {
    const name = dynamicInterfaceName(user, this.#names, this.#suffixFloor.get(user) ?? 1);
    const suffix = dynamicNameSuffix(user, name);
    if (suffix !== undefined) this.#suffixFloor.set(user, suffix + 1);
    return name;
  }

  #freeName(session: T): void {
    const name = session.interfaceName;
    if (name === undefined) return;
    this.#names.delete(name);
    const user = session.user;
    const floor = user === undefined ? undefined : this.#suffixFloor.get(user);
    if (floor === undefined) return;
    const suffix = dynamicNameSuffix(user!, name);
    if (suffix !== undefined && suffix < floor) this.#suffixFloor.set(user!, suffix);
  }

  /** A session of `user` other than `session`, if there is one (`only-one`). */
  otherSessionOf(user: string, session: T): T | undefined {
    for (const s of this.#byUser.get(user) ?? []) if (s !== session) return s;
    return undefined;
  }

  /** A fresh session id. */
  nextId(): number {
    return this.#nextId++;
  }

  /** Adds a session. */
  add(session: T): void {
    if (this.#byId.has(session.id)) {
      throw new RangeError(`Cannot add session ${session.id}: it is already registered`);
    }
    this.#byId.set(session.id, session);
  }

  /** Records the authenticated user of a session. */
  setUser(session: T, user: string): void {
    const first = session.user === undefined;
    if (session.user !== undefined) this.#byUser.get(session.user)?.delete(session);
    session.user = user;
    let set = this.#byUser.get(user);
    if (set === undefined) this.#byUser.set(user, set = new Set());
    set.add(session);
    if (first) this.#onAuthenticated?.(session);
  }

  /**
   * Reserves interface `name` for `session`.
   *
   * @returns false when another session holds it.
   */
  reserveName(session: T, name: string): boolean {
    if (this.#names.has(name) && session.interfaceName !== name) return false;
    this.#freeName(session);
    session.interfaceName = name;
    this.#names.add(name);
    return true;
  }

  /** Removes a session and frees its name (idempotent). */
  remove(session: T): void {
    if (this.#byId.get(session.id) !== session) return;
    this.#byId.delete(session.id);
    this.#freeName(session);
    if (session.user !== undefined) {
      const set = this.#byUser.get(session.user);
      set?.delete(session);
      if (set?.size === 0) {
        this.#byUser.delete(session.user);
        this.#suffixFloor.delete(session.user);
      }
    }
  }

  /** Sessions of `user` (authenticated ones). */
  ofUser(user: string): T[] {
    return [...this.#byUser.get(user) ?? []];
  }

  /**
   * Sessions matching `target`: the interface name if one has it, else every
   * session of the user of that name (`sstp disconnect NAME|USER`).
   */
  find(target: string): T[] {
    for (const s of this.#byId.values()) if (s.interfaceName === target) return [s];
    return this.ofUser(target);
  }

  /** All sessions, oldest first. */
  all(): T[] {
    return [...this.#byId.values()];
  }
}
