/**
 * The API every control protocol (LCP, IPCP, IPV6CP) offers the tunnel engine.
 * Instances are pure: they take events and the current time and return
 * {@linkcode CpAction}s, which the engine carries out in order: the protocol
 * itself never sends, sleeps or reads a clock, so every run can be replayed in a test.
 *
 * @module
 */
import type { CpAction, FsmState, PppFsm } from "./fsm.ts";

export type { CpAction, CpTimingOptions } from "./fsm.ts";

/** The engine-facing surface of LCP, IPCP and IPV6CP. */
export interface ControlProtocol {
  /** PPP protocol number, e.g. 0xc021. */
  readonly protocol: number;
  /** RFC 1661 4.2 state. */
  readonly state: FsmState;
  /** RFC 1661 4.3 Up: the lower layer is ready. */
  up(nowMs: number): CpAction[];
  /** RFC 1661 4.3 Down: the lower layer is gone. */
  down(nowMs: number): CpAction[];
  /** RFC 1661 4.3 Open: administratively allowed to negotiate. */
  open(nowMs: number): CpAction[];
  /** RFC 1661 4.3 Close: terminate; `reason` goes into the Terminate-Request. */
  close(nowMs: number, reason: string): CpAction[];
  /** A received packet of this protocol (code|id|length|data). Never throws. */
  receive(packet: Uint8Array, nowMs: number): CpAction[];
  /** The restart timer expired (RFC 1661 4.3 TO+ / TO-). */
  timeout(nowMs: number): CpAction[];
}

/**
 * The RFC 1661 event methods every control protocol hands straight to its
 * {@linkcode PppFsm}; LCP, IPCP and IPV6CP add their options, results and
 * (LCP) the extra codes.
 */
export abstract class FsmControlProtocol implements ControlProtocol {
  /** PPP protocol number, e.g. 0xc021. */
  abstract readonly protocol: number;
  /** The automaton, built by the subclass with its option handlers. */
  protected abstract readonly fsm: PppFsm;

  /** RFC 1661 4.2 state. */
  get state(): FsmState {
    return this.fsm.state;
  }
  /** True in the Opened state. */
  get isOpened(): boolean {
    return this.fsm.state === "Opened";
  }
  /** RFC 1661 4.3 Up (for IPCP/IPV6CP: LCP Opened and authenticated). */
  up(_nowMs: number): CpAction[] {
    return this.fsm.up();
  }
  /** RFC 1661 4.3 Down. */
  down(_nowMs: number): CpAction[] {
    return this.fsm.down();
  }
  /** RFC 1661 4.3 Open. */
  open(_nowMs: number): CpAction[] {
    return this.fsm.open();
  }
  /** RFC 1661 4.3 Close; `reason` is sent in the Terminate-Request. */
  close(_nowMs: number, reason: string): CpAction[] {
    return this.fsm.close(reason);
  }
  /** A received packet of this protocol (code|id|length|data). Never throws on peer input. */
  receive(packet: Uint8Array, _nowMs: number): CpAction[] {
    return this.fsm.receive(packet);
  }
  /** The restart timer expired. */
  timeout(_nowMs: number): CpAction[] {
    return this.fsm.timeout();
  }
}
