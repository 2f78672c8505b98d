/**
 * Runs a client and a server engine back to back in memory with a fake clock
 * (boringtun `create_two_tuns`). Every packet is really encoded and decoded, so
 * the codecs are in the loop; an optional tap may rewrite packets in flight.
 *
 * @module
 */
import type {
  IpConfig,
  Ipv6LinkConfig,
  TimerName,
  TunnelAction,
  TunnelEngine,
} from "../../lib/tunnel/events.ts";
import { decodeSstpPacket, encodeSstpPacket, type SstpPacket } from "../../lib/sstp/packet.ts";

/** Which engine. */
export type Side = "client" | "server";

/** Rewrites (or drops, with null) a packet in flight. */
export type Tap = (from: Side, bytes: Uint8Array) => Uint8Array | null;

interface Timer {
  side: Side;
  name: TimerName;
  dueMs: number;
}

/** Back-to-back engines with a fake clock. */
export class EngineHarness {
  nowMs = 0;
  readonly engines: Record<Side, TunnelEngine>;
  readonly linkUp: Partial<Record<Side, IpConfig>> = {};
  /** What each side's `ipv6Up` carried (cleared by `ipv6Down`). */
  readonly ipv6Up: Partial<Record<Side, Ipv6LinkConfig>> = {};
  readonly closed: Partial<Record<Side, { error?: Error }>> = {};
  /** IP packets delivered to each side's TUN. */
  readonly delivered: Record<Side, Uint8Array[]> = { client: [], server: [] };
  /** Control packets each side sent, in order (for assertions). */
  readonly sent: Record<Side, SstpPacket[]> = { client: [], server: [] };
  /** When true, a side neither sends nor receives (a silent peer). */
  readonly silent: Record<Side, boolean> = { client: false, server: false };
  tap: Tap | undefined;
  #inflight: { to: Side; bytes: Uint8Array }[] = [];
  #timers: Timer[] = [];

  /** Wires two engines together. */
  constructor(client: TunnelEngine, server: TunnelEngine) {
    this.engines = { client, server };
  }

  /** Starts both engines (the server first, as it waits for the request). */
  start(): void {
    this.#apply("server", this.engines.server.handle({ type: "start" }, this.nowMs));
    this.#apply("client", this.engines.client.handle({ type: "start" }, this.nowMs));
  }

  /** Asks `side` for a graceful close. */
  close(side: Side, reason?: string): void {
    const event = reason === undefined
      ? { type: "close" as const }
      : { type: "close" as const, reason };
    this.#apply(side, this.engines[side].handle(event, this.nowMs));
  }

  /** Sends an IP packet from `side` if its gate is open; returns whether it went. */
  sendIp(from: Side, ip: Uint8Array): boolean {
    if (!this.engines[from].isIpv4Open) return false;
    const frame = new Uint8Array(4 + ip.length);
    frame.set([0xff, 0x03, 0x00, 0x21]);
    frame.set(ip, 4);
    this.#send(from, { kind: "data", data: frame });
    return true;
  }

  /** Sends an IPv6 packet from `side` if its IPv6 gate is open; returns whether it went. */
  sendIp6(from: Side, ip: Uint8Array): boolean {
    if (!this.engines[from].isIpv6Open) return false;
    const frame = new Uint8Array(4 + ip.length);
    frame.set([0xff, 0x03, 0x00, 0x57]);
    frame.set(ip, 4);
    this.#send(from, { kind: "data", data: frame });
    return true;
  }

  /** Sends a raw PPP frame from `side` in an SSTP data packet, whatever its gates (a hostile peer). */
  sendPpp(from: Side, frame: Uint8Array): void {
    this.#send(from, { kind: "data", data: frame });
  }

  /** Delivers packets and fires timers until `done()` or `maxMs` of fake time pass. */
  runUntil(done: () => boolean, maxMs = 120_000): boolean {
    const limit = this.nowMs + maxMs;
    for (let steps = 0; steps < 100_000; steps++) {
      if (done()) return true;
      const next = this.#inflight.shift();
      if (next) {
        this.#deliver(next.to, next.bytes);
        continue;
      }
      this.#timers.sort((a, b) => a.dueMs - b.dueMs);
      const t = this.#timers[0];
      if (!t || t.dueMs > limit) {
        this.nowMs = limit;
        return done();
      }
      this.#timers.shift();
      this.nowMs = Math.max(this.nowMs, t.dueMs);
      this.#apply(
        t.side,
        this.engines[t.side].handle({ type: "timer", timer: t.name }, this.nowMs),
      );
    }
    throw new Error("EngineHarness: step limit reached");
  }

  /** Names of the timers running on `side`. */
  timers(side: Side): string[] {
    return this.#timers.filter((t) => t.side === side).map((t) => t.name);
  }

  #send(from: Side, packet: SstpPacket): void {
    if (this.silent[from] || this.closed[from]) return;
    this.sent[from].push(packet);
    let bytes: Uint8Array | null = encodeSstpPacket(packet).slice();
    if (this.tap) bytes = this.tap(from, bytes);
    if (bytes) this.#inflight.push({ to: from === "client" ? "server" : "client", bytes });
  }

  #deliver(to: Side, bytes: Uint8Array): void {
    if (this.silent[to] || this.closed[to]) return;
    const engine = this.engines[to];
    engine.noteReceive(this.nowMs);
    const p = decodeSstpPacket(bytes);
    if (p.kind === "control") {
      this.#apply(to, engine.handle({ type: "control", message: p.message }, this.nowMs));
      return;
    }
    const d = p.data;
    if (d[0] === 0xff && d[1] === 0x03 && d[2] === 0x00 && d[3] === 0x21) {
      if (engine.isIpv4Open) this.delivered[to].push(d.subarray(4));
      return;
    }
    if (d[0] === 0xff && d[1] === 0x03 && d[2] === 0x00 && d[3] === 0x57) {
      if (engine.isIpv6Open) this.delivered[to].push(d.subarray(4));
      return;
    }
    this.#apply(to, engine.handle({ type: "ppp", frame: d }, this.nowMs));
  }

  #apply(side: Side, actions: TunnelAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case "send":
          this.#send(side, a.packet);
          break;
        case "startTimer":
          this.#timers = this.#timers.filter((t) => !(t.side === side && t.name === a.timer));
          this.#timers.push({ side, name: a.timer, dueMs: this.nowMs + a.ms });
          break;
        case "stopTimer":
          this.#timers = this.#timers.filter((t) => !(t.side === side && t.name === a.timer));
          break;
        case "linkUp":
          this.linkUp[side] = a.ip;
          break;
        case "ipv6Up":
          this.ipv6Up[side] = a.ip6;
          break;
        case "ipv6Down":
          delete this.ipv6Up[side];
          break;
        case "closed":
          this.closed[side] = a.error ? { error: a.error } : {};
          this.#timers = this.#timers.filter((t) => t.side !== side);
          break;
      }
    }
  }
}
