/**
 * Test support: two control-protocol instances back to back in memory with a
 * fake clock (boringtun `create_two_tuns` style). Packets are delivered in
 * order; when none are in flight the earliest restart timer fires.
 *
 * @module
 */
import type { ControlProtocol, CpAction } from "./control_protocol.ts";
import { describeCpPacket } from "./describe.ts";

/** Which side. */
export type Side = "a" | "b";

/** Rewrites or drops (`undefined`) a packet in flight. */
export type PacketFilter = (from: Side, packet: Uint8Array) => Uint8Array | undefined;

/** A pair of instances wired together. */
export class CpPair {
  /** Side `a`. */
  readonly a: ControlProtocol;
  /** Side `b`. */
  readonly b: ControlProtocol;
  /** The clock both sides are driven with, ms; tests advance it. */
  nowMs = 0;
  /** `a→b LCP ConfReq id=0x0 …` for every delivered packet. */
  readonly wire: string[] = [];
  /** Non-send actions per side, in order. */
  readonly events: Record<Side, CpAction[]> = { a: [], b: [] };
  /** Changes or drops packets in flight; every packet passes unchanged when undefined. */
  filter: PacketFilter | undefined;
  readonly #queue: { from: Side; protocol: number; packet: Uint8Array }[] = [];
  readonly #deadline: Record<Side, number | undefined> = { a: undefined, b: undefined };

  /** Wires `a` and `b` together; nothing is sent until `start()`. */
  constructor(a: ControlProtocol, b: ControlProtocol) {
    this.a = a;
    this.b = b;
  }

  /** Carries out `actions` produced by `side`. */
  apply(side: Side, actions: CpAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case "send":
          this.#queue.push({ from: side, protocol: action.protocol, packet: action.packet });
          break;
        case "startTimer":
          this.#deadline[side] = this.nowMs + action.ms;
          break;
        case "stopTimer":
          this.#deadline[side] = undefined;
          break;
        default:
          this.events[side].push(action);
      }
    }
  }

  /** Opens both sides and brings their lower layers up. */
  start(): this {
    this.apply("a", this.a.open(this.nowMs));
    this.apply("b", this.b.open(this.nowMs));
    this.apply("a", this.a.up(this.nowMs));
    this.apply("b", this.b.up(this.nowMs));
    return this;
  }

  /** Runs until nothing is in flight and no timer is pending, or `maxSteps`. */
  run(maxSteps = 200, untilMs = Infinity): this {
    for (let step = 0; step < maxSteps; step++) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        const to: Side = next.from === "a" ? "b" : "a";
        const packet = this.filter === undefined
          ? next.packet
          : this.filter(next.from, next.packet);
        if (packet === undefined) continue;
        this.wire.push(`${next.from}→${to} ${describeCpPacket(next.protocol, packet)}`);
        this.apply(to, this[to].receive(packet, this.nowMs));
        continue;
      }
      const side = this.#earliestTimer();
      if (side === undefined) return this;
      const at = this.#deadline[side] as number;
      if (at > untilMs) return this;
      this.nowMs = at;
      this.#deadline[side] = undefined;
      this.apply(side, this[side].timeout(this.nowMs));
    }
    throw new Error(`CpPair did not settle in ${maxSteps} steps:\n${this.wire.join("\n")}`);
  }

  /** Whether `side` has a restart timer pending. */
  hasTimer(side: Side): boolean {
    return this.#deadline[side] !== undefined;
  }

  #earliestTimer(): Side | undefined {
    const { a, b } = this.#deadline;
    if (a === undefined) return b === undefined ? undefined : "b";
    if (b === undefined) return "a";
    return a <= b ? "a" : "b";
  }
}
