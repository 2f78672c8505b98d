/**
 * The requesting-router side of DHCPv6 prefix delegation (RFC 8415 18.2) on
 * one PPP link: Solicit (with Rapid Commit, which `sstp serve` honours) →
 * Advertise → Request → Reply, or Solicit → Reply at once; then Renew at T1,
 * Rebind at T2, and a lost prefix when its valid lifetime runs out. One
 * IA_PD with one prefix. Pure: messages and `now` in, messages to send,
 * lease events and the next deadline out; the caller owns the socket-less
 * transport (UDP inside the tunnel) and the one timer.
 *
 * Retransmission follows RFC 8415 15: RT starts at IRT (Solicit: never
 * below it), doubles with ±10 % randomisation up to MRT, and an exchange
 * ends after MRC transmissions or at MRD (Renew: T2; Rebind: the end of the
 * valid lifetime).
 *
 * @module
 */
import { equalBytes, type Ipv6Prefix } from "./address.ts";
import {
  decodeStatusCode,
  DHCPV6_MESSAGE,
  DHCPV6_OPTION,
  DHCPV6_STATUS,
  type Dhcpv6Message,
  type Dhcpv6Option,
  encodeIaPd,
  findDhcpv6Option,
  findIaPds,
  type IaPd,
} from "./dhcpv6.ts";

/** SOL_MAX_RT option (RFC 8415 21.24): a server's ceiling on Solicit retransmissions. */
export const OPTION_SOL_MAX_RT = 82;

/** Transmission parameters (RFC 8415 7.6), in milliseconds. */
export const DHCPV6_CLIENT_TIMING = {
  SOL_TIMEOUT: 1_000,
  SOL_MAX_RT: 3_600_000,
  REQ_TIMEOUT: 1_000,
  REQ_MAX_RT: 30_000,
  REQ_MAX_RC: 10,
  REN_TIMEOUT: 10_000,
  REN_MAX_RT: 600_000,
  REB_TIMEOUT: 10_000,
  REB_MAX_RT: 600_000,
} as const;

/** 0xffffffff seconds: an infinite lifetime or timer (RFC 8415 7.7). */
const INFINITY_S = 0xffffffff;

/** A prefix the client holds. */
export interface Dhcpv6PdLease {
  /** The delegated prefix. */
  prefix: Ipv6Prefix;
  /** Seconds, from `boundAtMs`. */
  preferredLifetimeS: number;
  /** Seconds, from `boundAtMs`. */
  validLifetimeS: number;
  /** When to Renew, seconds from `boundAtMs` (the client's own when the server sent 0). */
  t1S: number;
  /** When to Rebind, seconds from `boundAtMs`. */
  t2S: number;
  /** DUID of the server that delegated (or last extended) it. */
  serverId: Uint8Array;
  /** When the lifetimes started (the Reply's arrival). */
  boundAtMs: number;
}

/** What a step of {@linkcode Dhcpv6PdClient} asks the caller to do. */
export interface Dhcpv6PdStep {
  /** A message to send to All_DHCP_Relay_Agents_and_Servers. */
  send?: Dhcpv6Message;
  /** A prefix newly held: install it. */
  bound?: Dhcpv6PdLease;
  /** The held prefix got new lifetimes (same prefix). */
  renewed?: Dhcpv6PdLease;
  /** The held prefix is gone (expired, withdrawn, replaced): remove it. */
  lost?: { prefix: Ipv6Prefix; reason: string };
  /** Why a received message was ignored (RFC 8415 16), for debug logs. */
  discarded?: string;
}

/** Settings of {@linkcode Dhcpv6PdClient}. */
export interface Dhcpv6PdClientOptions {
  /** Our DUID (RFC 8415 11). */
  clientDuid: Uint8Array;
  /** IAID of our one IA_PD. */
  iaid: number;
  /** Uniform random number in [0, 1) (retransmission jitter, transaction ids). */
  random: () => number;
}

/** Where the DHCPv6-PD client is in RFC 8415's exchange. */
export type Phase = "idle" | "soliciting" | "requesting" | "bound" | "renewing" | "rebinding";

interface Exchange {
  type: number;
  transactionId: number;
  startMs: number;
  count: number;
  rtMs: number;
  nextMs: number;
  irt: number;
  mrt: number;
  mrc: number;
  /** Request: the server and prefix chosen from the Advertise. */
  serverId?: Uint8Array;
  hint?: Ipv6Prefix;
}

/** One link's DHCPv6-PD client. */
export class Dhcpv6PdClient {
  readonly #o: Dhcpv6PdClientOptions;
  #phase: Phase = "idle";
  #exchange: Exchange | undefined;
  #lease: Dhcpv6PdLease | undefined;
  #solMaxRt: number = DHCPV6_CLIENT_TIMING.SOL_MAX_RT;

  /** Creates an idle client; {@linkcode Dhcpv6PdClient.start} sends the first Solicit. */
  constructor(options: Dhcpv6PdClientOptions) {
    this.#o = options;
  }

  /** `idle`, `soliciting`, `requesting`, `bound`, `renewing` or `rebinding`. */
  get phase(): Phase {
    return this.#phase;
  }

  /** The prefix held, if any. */
  get lease(): Dhcpv6PdLease | undefined {
    return this.#lease;
  }

  /** When {@linkcode Dhcpv6PdClient.tick} must next run; undefined: never. */
  get nextDeadlineMs(): number | undefined {
    const candidates: number[] = [];
    if (this.#exchange !== undefined) candidates.push(this.#exchange.nextMs);
    const l = this.#lease;
    if (l !== undefined) {
      if (this.#phase === "bound") candidates.push(at(l, l.t1S));
      if (this.#phase === "renewing") candidates.push(at(l, l.t2S));
      candidates.push(at(l, l.validLifetimeS));
    }
    const next = Math.min(...candidates);
    return Number.isFinite(next) ? next : undefined;
  }

  /** Starts soliciting (RFC 8415 18.2.1). */
  start(nowMs: number): Dhcpv6PdStep {
    if (this.#phase !== "idle") return {};
    return this.#solicit(nowMs);
  }

  /** Runs what fell due by `nowMs`: retransmissions, Renew at T1, Rebind at T2, expiry. */
  tick(nowMs: number): Dhcpv6PdStep {
    const l = this.#lease;
    if (l !== undefined && nowMs >= at(l, l.validLifetimeS)) {
      this.#lease = undefined;
      return {
        ...this.#solicit(nowMs),
        lost: { prefix: l.prefix, reason: "valid lifetime ended" },
      };
    }
    if (l !== undefined && this.#phase === "bound" && nowMs >= at(l, l.t1S)) {
      this.#phase = "renewing";
      return this.#begin(DHCPV6_MESSAGE.RENEW, nowMs, "REN");
    }
    if (l !== undefined && this.#phase === "renewing" && nowMs >= at(l, l.t2S)) {
      this.#phase = "rebinding";
      return this.#begin(DHCPV6_MESSAGE.REBIND, nowMs, "REB");
    }
    const x = this.#exchange;
    if (x === undefined || nowMs < x.nextMs) return {};
    if (x.mrc > 0 && x.count >= x.mrc) {
      // Request gave up (REQ_MAX_RC): start over with a Solicit.
      return this.#solicit(nowMs);
    }
    return { send: this.#transmit(x, nowMs) };
  }

  /** Handles an Advertise or Reply (RFC 8415 16 validation, 18.2.9, 18.2.10). */
  receive(message: Dhcpv6Message, nowMs: number): Dhcpv6PdStep {
    const x = this.#exchange;
    if (message.type !== DHCPV6_MESSAGE.ADVERTISE && message.type !== DHCPV6_MESSAGE.REPLY) {
      return { discarded: `message type ${message.type} is not for a client` };
    }
    if (x === undefined || message.transactionId !== x.transactionId) {
      return { discarded: "transaction id matches no exchange in progress" };
    }
    const clientId = findDhcpv6Option(message.options, DHCPV6_OPTION.CLIENTID);
    if (clientId === undefined || !equalBytes(clientId, this.#o.clientDuid)) {
      return { discarded: "Client Identifier is missing or not ours" };
    }
    const serverId = findDhcpv6Option(message.options, DHCPV6_OPTION.SERVERID);
    if (serverId === undefined) return { discarded: "no Server Identifier" };
    if (x.type === DHCPV6_MESSAGE.RENEW && this.#lease !== undefined) {
      if (!equalBytes(serverId, this.#lease.serverId)) {
        return { discarded: "Reply to Renew from another server" };
      }
    }
    this.#takeSolMaxRt(message);
    let ia: IaPd | undefined;
    try {
      ia = findIaPds(message).find((i) => i.iaid === this.#o.iaid);
    } catch (e) {
      return { discarded: (e as Error).message };
    }
    const topStatus = statusOf(message.options);
    if (message.type === DHCPV6_MESSAGE.ADVERTISE) {
      if (x.type !== DHCPV6_MESSAGE.SOLICIT) return { discarded: "Advertise outside Solicit" };
      const offered = usablePrefix(ia);
      if (offered === undefined) {
        return { discarded: `Advertise without a prefix (${describeStatus(ia, topStatus)})` };
      }
      // One server on a point-to-point link: no point in waiting out the
      // first RT for better offers (RFC 8415 18.2.1 allows taking the first).
      this.#phase = "requesting";
      return this.#begin(DHCPV6_MESSAGE.REQUEST, nowMs, "REQ", serverId.slice(), offered.prefix);
    }
    // A Reply.
    if (x.type === DHCPV6_MESSAGE.SOLICIT) {
      if (findDhcpv6Option(message.options, DHCPV6_OPTION.RAPID_COMMIT) === undefined) {
        return { discarded: "Reply to Solicit without Rapid Commit" };
      }
    }
    if (topStatus !== undefined && topStatus.code !== DHCPV6_STATUS.SUCCESS) {
      if (topStatus.code === DHCPV6_STATUS.USE_MULTICAST || x.type === DHCPV6_MESSAGE.SOLICIT) {
        return { discarded: `Reply with status ${topStatus.code} (${topStatus.message})` };
      }
    }
    const held = this.#lease;
    const withdrawn = held !== undefined &&
      ia?.prefixes.some((p) => samePrefix(p.prefix, held.prefix) && p.validLifetimeS === 0);
    if (withdrawn) {
      // Valid lifetime 0 for the prefix held: the server took it back (RFC 8415 18.2.10.1).
      this.#lease = undefined;
      return {
        ...this.#solicit(nowMs),
        lost: { prefix: held.prefix, reason: "withdrawn by the server" },
      };
    }
    const got = usablePrefix(ia);
    if (got === undefined) {
      if (ia?.status?.code === DHCPV6_STATUS.NO_BINDING && this.#lease !== undefined) {
        // RFC 8415 18.2.10.1: the server lost the binding; ask for it again.
        this.#phase = "requesting";
        const l = this.#lease;
        return this.#begin(DHCPV6_MESSAGE.REQUEST, nowMs, "REQ", l.serverId, l.prefix);
      }
      if (this.#lease !== undefined && x.type !== DHCPV6_MESSAGE.REQUEST) {
        return { discarded: `Reply without our prefix (${describeStatus(ia, topStatus)})` };
      }
      const lost = this.#lease;
      this.#lease = undefined;
      const restart = this.#solicit(nowMs);
      return lost === undefined ? restart : {
        ...restart,
        lost: {
          prefix: lost.prefix,
          reason: `Reply without it (${describeStatus(ia, topStatus)})`,
        },
      };
    }
    return this.#bind(got, ia!, serverId, nowMs);
  }

  #bind(
    p: { prefix: Ipv6Prefix; preferredLifetimeS: number; validLifetimeS: number },
    ia: IaPd,
    serverId: Uint8Array,
    nowMs: number,
  ): Dhcpv6PdStep {
    const old = this.#lease;
    // RFC 8415 14.2: T1/T2 of 0 leave the times to the client (0.5 and 0.8 of
    // the preferred lifetime); an infinite preferred lifetime needs no renewal.
    const preferred = p.preferredLifetimeS;
    const t1S = ia.t1S !== 0
      ? ia.t1S
      : preferred === INFINITY_S
      ? INFINITY_S
      : Math.floor(preferred / 2);
    const t2S = ia.t2S !== 0
      ? ia.t2S
      : preferred === INFINITY_S
      ? INFINITY_S
      : Math.floor(preferred * 0.8);
    const lease: Dhcpv6PdLease = {
      prefix: p.prefix,
      preferredLifetimeS: preferred,
      validLifetimeS: p.validLifetimeS,
      t1S,
      t2S: Math.max(t2S, t1S),
      serverId: serverId.slice(),
      boundAtMs: nowMs,
    };
    this.#lease = lease;
    this.#exchange = undefined;
    this.#phase = "bound";
    if (old !== undefined && samePrefix(old.prefix, lease.prefix)) return { renewed: lease };
    return {
      bound: lease,
      ...(old !== undefined ? { lost: { prefix: old.prefix, reason: "replaced" } } : {}),
    };
  }

  #takeSolMaxRt(message: Dhcpv6Message): void {
    const v = findDhcpv6Option(message.options, OPTION_SOL_MAX_RT);
    if (v === undefined || v.length !== 4) return;
    const s = new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
    // RFC 8415 21.24: values outside 60..86400 s are ignored.
    if (s >= 60 && s <= 86_400) this.#solMaxRt = s * 1000;
  }

  #solicit(nowMs: number): Dhcpv6PdStep {
    this.#phase = "soliciting";
    return this.#begin(DHCPV6_MESSAGE.SOLICIT, nowMs, "SOL");
  }

  #begin(
    type: number,
    nowMs: number,
    kind: "SOL" | "REQ" | "REN" | "REB",
    serverId?: Uint8Array,
    hint?: Ipv6Prefix,
  ): Dhcpv6PdStep {
    const T = DHCPV6_CLIENT_TIMING;
    const [irt, mrt, mrc] = kind === "SOL"
      ? [T.SOL_TIMEOUT, this.#solMaxRt, 0]
      : kind === "REQ"
      ? [T.REQ_TIMEOUT, T.REQ_MAX_RT, T.REQ_MAX_RC]
      : kind === "REN"
      ? [T.REN_TIMEOUT, T.REN_MAX_RT, 0]
      : [T.REB_TIMEOUT, T.REB_MAX_RT, 0];
    const x: Exchange = {
      type,
      transactionId: Math.floor(this.#o.random() * 0x1000000) & 0xffffff,
      startMs: nowMs,
      count: 0,
      rtMs: 0,
      nextMs: nowMs,
      irt,
      mrt,
      mrc,
      ...(serverId !== undefined ? { serverId } : {}),
      ...(hint !== undefined ? { hint } : {}),
    };
    this.#exchange = x;
    return { send: this.#transmit(x, nowMs) };
  }

  /** Sends (again) and sets the next RT (RFC 8415 15). */
  #transmit(x: Exchange, nowMs: number): Dhcpv6Message {
    const rand = this.#o.random() * 0.2 - 0.1;
    if (x.count === 0) {
      // The first Solicit's RAND is strictly positive (RFC 8415 18.2.1).
      x.rtMs = x.type === DHCPV6_MESSAGE.SOLICIT
        ? x.irt * (1 + Math.abs(rand))
        : x.irt * (1 + rand);
    } else {
      x.rtMs = 2 * x.rtMs + rand * x.rtMs;
      if (x.mrt > 0 && x.rtMs > x.mrt) x.rtMs = x.mrt + rand * x.mrt;
    }
    x.count++;
    x.nextMs = nowMs + x.rtMs;
    return this.#message(x, nowMs);
  }

  #message(x: Exchange, nowMs: number): Dhcpv6Message {
    const elapsedCs = Math.min(0xffff, Math.round((nowMs - x.startMs) / 10));
    const elapsed = new Uint8Array([elapsedCs >> 8, elapsedCs & 0xff]);
    const options: Dhcpv6Option[] = [{ code: DHCPV6_OPTION.CLIENTID, data: this.#o.clientDuid }];
    const l = this.#lease;
    const server = x.type === DHCPV6_MESSAGE.REQUEST
      ? x.serverId
      : x.type === DHCPV6_MESSAGE.RENEW
      ? l?.serverId
      : undefined;
    if (server !== undefined) options.push({ code: DHCPV6_OPTION.SERVERID, data: server });
    options.push({ code: DHCPV6_OPTION.ELAPSED_TIME, data: elapsed });
    // ORO (RFC 8415 18.2.1: every Solicit asks for SOL_MAX_RT).
    options.push({ code: DHCPV6_OPTION.ORO, data: new Uint8Array([0, OPTION_SOL_MAX_RT]) });
    if (x.type === DHCPV6_MESSAGE.SOLICIT) {
      options.push({ code: DHCPV6_OPTION.RAPID_COMMIT, data: new Uint8Array() });
    }
    const held = x.type === DHCPV6_MESSAGE.REQUEST ? x.hint : l?.prefix;
    options.push(encodeIaPd({
      iaid: this.#o.iaid,
      t1S: 0,
      t2S: 0,
      // Renew and Rebind name the prefix held; Request the one offered
      // (lifetimes 0: the server chooses, RFC 8415 18.2.4).
      prefixes: x.type === DHCPV6_MESSAGE.SOLICIT || held === undefined
        ? []
        : [{ prefix: held, preferredLifetimeS: 0, validLifetimeS: 0 }],
    }));
    return { type: x.type, transactionId: x.transactionId, options };
  }
}

function at(l: Dhcpv6PdLease, seconds: number): number {
  return seconds === INFINITY_S ? Infinity : l.boundAtMs + seconds * 1000;
}

function samePrefix(a: Ipv6Prefix, b: Ipv6Prefix): boolean {
  return a.length === b.length && equalBytes(a.address, b.address);
}

/** The first prefix of `ia` still valid, when the IA_PD carries no error status. */
function usablePrefix(ia: IaPd | undefined) {
  if (ia === undefined) return undefined;
  if (ia.status !== undefined && ia.status.code !== DHCPV6_STATUS.SUCCESS) return undefined;
  // RFC 8415 21.21: T1 > T2 (both non-zero) makes the IA_PD invalid.
  if (ia.t1S !== 0 && ia.t2S !== 0 && ia.t1S > ia.t2S) return undefined;
  return ia.prefixes.find((p) => p.validLifetimeS > 0);
}

function statusOf(options: Dhcpv6Option[]): { code: number; message: string } | undefined {
  const data = findDhcpv6Option(options, DHCPV6_OPTION.STATUS_CODE);
  if (data === undefined) return undefined;
  try {
    return decodeStatusCode(data);
  } catch {
    return undefined;
  }
}

function describeStatus(
  ia: IaPd | undefined,
  top: { code: number; message: string } | undefined,
): string {
  const s = ia?.status ?? top;
  if (s !== undefined) return `status ${s.code}${s.message ? `: ${s.message}` : ""}`;
  return ia === undefined ? "no IA_PD" : "no valid prefix";
}
