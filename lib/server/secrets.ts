/**
 * RouterOS `/ppp secret` + `/ppp profile` lookups for the server. Pure.
 *
 * - Which secrets may log in over SSTP: not `disabled`, `service` `any` or
 *   `sstp` (secrets for other RouterOS services are skipped), and, when the
 *   secret sets `caller-id`, only from that client address
 *   ({@linkcode SecretBook.lookupPassword}).
 * - Which profile applies: the secret's (already resolved against
 *   `default-profile` by the config parser).
 * - Which addresses a user gets ({@linkcode SecretBook.assignAddresses}),
 *   RouterOS order: the secret's `remote-address`, else the profile's
 *   (a fixed address or a pool); `local-address` likewise. A fixed remote
 *   address is claimed so no pool and no second session hands it out; a
 *   local address from a pool is per session; a fixed local address is
 *   shared by every point-to-point interface, as on RouterOS.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type {
  AddressSource,
  PppProfile,
  PppSecret,
  ServerConfig,
} from "../config/server_config.ts";
import type { AddressPools } from "./address_pool.ts";

/** The secret and profile of one user. */
export interface UserEntry {
  /** The `/ppp secret` entry (password, fixed addresses, routes). */
  secret: PppSecret;
  /** The profile the secret names, `default` tri-states resolved. */
  profile: PppProfile;
}

/** Addresses handed to one session; `release` lists what to give back at its end. */
export interface SessionAddresses {
  /** Server side of the point-to-point link. */
  localAddress: string;
  /** Client side (the address the client gets). */
  peerAddress: string;
  /** DNS servers offered (profile `dns-server`). */
  dns: string[];
  /** Addresses taken from the pools (to release when the session ends). */
  release: string[];
}

/** The secrets and profiles of one configuration (replaced whole on reload). */
export class SecretBook {
  readonly #secrets: Map<string, PppSecret>;
  readonly #profiles: Map<string, PppProfile>;

  /** Indexes `config.secrets` and `config.profiles`. */
  constructor(config: Pick<ServerConfig, "secrets" | "profiles">) {
    this.#secrets = new Map(config.secrets.map((s) => [s.name, s]));
    this.#profiles = new Map(config.profiles.map((p) => [p.name, p]));
  }

  /** Number of secrets. */
  get size(): number {
    return this.#secrets.size;
  }

  /**
   * The user's secret and profile when it may use SSTP, else `undefined`
   * (unknown user, `disabled: yes`, `service` other than `any`/`sstp`, or
   * a `caller-id` that is not `callerAddress` when that is given).
   */
  find(user: string, callerAddress?: string): UserEntry | undefined {
    const secret = this.#secrets.get(user);
    if (secret === undefined || secret.disabled) return undefined;
    if (secret.service !== "any" && secret.service !== "sstp") return undefined;
    if (callerAddress !== undefined && !callerIdMatches(secret, callerAddress)) return undefined;
    const profile = this.#profiles.get(secret.profile);
    if (profile === undefined) return undefined;
    return { secret, profile };
  }

  /**
   * Why `user` may not log in from `callerAddress` because of its secret's
   * `caller-id` (for the log), or `undefined` when that is not the reason.
   */
  callerIdProblem(user: string, callerAddress: string): string | undefined {
    const secret = this.#secrets.get(user);
    if (secret === undefined || callerIdMatches(secret, callerAddress)) return undefined;
    return `caller-id of "${user}" is ${secret.callerId}, the client is ${callerAddress}`;
  }

  /**
   * The password to check `user` against, or `undefined` when the user may
   * not log in (the authenticator then fails the exchange as for a wrong
   * password, so a probe cannot tell unknown users from bad passwords).
   *
   * @example
   * ```ts
   * import { SecretBook } from "./secrets.ts";
   * const profile = {
   *   name: "default", localAddress: undefined, remoteAddress: undefined, dnsServer: [],
   *   onlyOne: false, sessionTimeoutMs: null, idleTimeoutMs: null, changeTcpMss: true,
   *   useEncryption: undefined, rateLimitText: undefined, rateLimit: undefined,
   *   addressList: undefined, onUp: undefined, onDown: undefined,
   * };
   * const secret = {
   *   name: "alice", password: "pw", service: "any" as const, profile: "default",
   *   localAddress: undefined, remoteAddress: undefined, routes: [], disabled: true,
   *   callerId: undefined, limitBytesIn: null, limitBytesOut: null,
   * };
   * const book = new SecretBook({ secrets: [secret], profiles: [profile] });
   * if (book.lookupPassword("alice") !== undefined) throw new Error("disabled secret");
   * ```
   */
  lookupPassword(user: string, callerAddress?: string): string | undefined {
    return this.find(user, callerAddress)?.secret.password;
  }

  /**
   * Picks (and takes from `pools`) the addresses for a session of `user`.
   *
   * @returns The addresses, or a `NO_ADDRESS` {@linkcode ProtocolError}; on
   *   error nothing stays taken.
   */
  assignAddresses(user: string, pools: AddressPools): SessionAddresses | ProtocolError {
    const entry = this.find(user);
    if (entry === undefined) {
      return noAddress(`user "${user}" has no enabled secret`);
    }
    const { secret, profile } = entry;
    const release: string[] = [];
    const remote = pick(secret.remoteAddress, profile.remoteAddress);
    const local = pick(secret.localAddress, profile.localAddress);
    if (remote === undefined) {
      return noAddress(
        `neither the secret "${user}" nor profile "${profile.name}" sets remote-address`,
      );
    }
    if (local === undefined) {
      return noAddress(
        `neither the secret "${user}" nor profile "${profile.name}" sets local-address`,
      );
    }
    const peer = take(remote, pools, "remote", release);
    if (peer instanceof ProtocolError) return peer;
    const localAddress = take(local, pools, "local", release);
    if (localAddress instanceof ProtocolError) {
      for (const a of release) pools.release(a);
      return localAddress;
    }
    if (localAddress === peer) {
      for (const a of release) pools.release(a);
      return noAddress(`local-address and remote-address of "${user}" are both ${peer}`);
    }
    return { localAddress, peerAddress: peer, dns: [...profile.dnsServer], release };
  }
}

/** True when the secret has no `caller-id` or it names `address` (IPv4 or IPv6, any spelling). */
function callerIdMatches(secret: PppSecret, address: string): boolean {
  if (secret.callerId === undefined) return true;
  return canonicalAddress(secret.callerId) === canonicalAddress(address);
}

/** One spelling per address: IPv4-mapped IPv6 as IPv4, IPv6 compressed lower case. */
export function canonicalAddress(address: string): string {
  let a = address.trim().toLowerCase();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  if (a.startsWith("::ffff:") && a.includes(".")) a = a.slice(7);
  if (!a.includes(":")) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

function pick(
  fromSecret: string | undefined,
  fromProfile: AddressSource | undefined,
): AddressSource | undefined {
  if (fromSecret !== undefined) return { kind: "address", address: fromSecret };
  return fromProfile;
}

function take(
  source: AddressSource,
  pools: AddressPools,
  side: "local" | "remote",
  release: string[],
): string | ProtocolError {
  if (source.kind === "pool") {
    const address = pools.allocate(source.pool);
    if (typeof address === "string") release.push(address);
    return address;
  }
  if (side === "local") return source.address;
  if (!pools.claim(source.address)) {
    return noAddress(`remote-address ${source.address} is already in use`);
  }
  release.push(source.address);
  return source.address;
}

function noAddress(why: string): ProtocolError {
  return new ProtocolError("ipcp", ERROR_CODE.NO_ADDRESS, `Cannot assign an address: ${why}`);
}
