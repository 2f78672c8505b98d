/**
 * The RFC 1661 section 4 option negotiation automaton, generic over an
 * {@linkcode OptionHandler} table: it knows codes 1-7 (RFC 1661 5.1-5.6),
 * identifiers, the restart timer and counters, and nothing of any option.
 *
 * Flow of one event:
 * 1. A method (`up`, `receive`, `timeout`, …) classifies the input as one
 *    RFC 1661 4.3 event; invalid packets are silently discarded (RFC 1661 5).
 * 2. `FSM_TRANSITIONS` (fsm_table.ts), a transcription of the RFC 1661 4.1
 *    table, gives the actions and the next state.
 * 3. The actions run in order and become {@linkcode CpAction}s; the restart
 *    timer is stopped when the next state does not use it.
 *
 * The automaton never reads a clock: `startTimer`/`stopTimer` actions ask the
 * owner for timer expiries, reported back through `timeout()`.
 *
 * @module
 */
import { peerBytesText } from "../peer_text.ts";
import { ERROR_CODE, type ErrorLayer, ProtocolError } from "../errors.ts";
import { type Logger, NOOP_LOGGER } from "../log.ts";
import { CP_CODE, CP_CODE_NAME, PPP_DEFAULTS } from "./constants.ts";
import {
  type CpOption,
  type CpPacket,
  decodeCpPacket,
  decodeOptions,
  encodeCpPacket,
  encodeOptions,
} from "./cp_packet.ts";
import type { OptionHandler } from "./option_handler.ts";
import { FSM_TRANSITIONS, type FsmActionName, type FsmEvent, type FsmState } from "./fsm_table.ts";

export {
  FSM_ACTION_ABBREVIATION,
  FSM_STATES,
  FSM_TRANSITIONS,
  type FsmActionName,
  type FsmEvent,
  type FsmState,
  type FsmTransition,
} from "./fsm_table.ts";

/** States in which the restart timer may run (RFC 1661 4.2). */
const TIMED_STATES: ReadonlySet<FsmState> = new Set([
  "Closing",
  "Stopping",
  "ReqSent",
  "AckRcvd",
  "AckSent",
]);
/** States in which Configure-Ack/Nak/Reject must match our outstanding request. */
const NEGOTIATING_STATES: ReadonlySet<FsmState> = new Set([
  "ReqSent",
  "AckRcvd",
  "AckSent",
  "Opened",
]);
/** States in which the peer's Configure-Request is judged by the handlers. */
const JUDGING_STATES: ReadonlySet<FsmState> = new Set([
  "Stopped",
  "ReqSent",
  "AckRcvd",
  "AckSent",
  "Opened",
]);

/** What a control protocol asks its owner to do. */
export type CpAction =
  /** Send `packet` (code|id|length|data) in a PPP frame with `protocol`. */
  | { type: "send"; protocol: number; packet: Uint8Array }
  /** (Re)start this protocol's restart timer; call `timeout()` on expiry. */
  | { type: "startTimer"; ms: number }
  /** Stop this protocol's restart timer. */
  | { type: "stopTimer" }
  /** RFC 1661 4.4 tlu: the layer is Opened. */
  | { type: "thisLayerUp" }
  /** RFC 1661 4.4 tld: the layer left Opened. */
  | { type: "thisLayerDown" }
  /** RFC 1661 4.4 tls: the layer needs the lower layer up. */
  | { type: "thisLayerStarted" }
  /** RFC 1661 4.4 tlf: the layer is done; `error` says why when it failed. */
  | { type: "thisLayerFinished"; error?: ProtocolError }
  /** LCP only: the peer Protocol-Rejected `protocol` (RFC 1661 5.7); stop sending it. */
  | { type: "protocolRejected"; protocol: number }
  /** LCP only: an Echo-Reply arrived (RFC 1661 5.8), for keepalive accounting. */
  | { type: "echoReply"; identifier: number; magic: number; data: Uint8Array };

/** RFC 1661 4.6 counters and timer, shared by every control protocol's options. */
export interface CpTimingOptions {
  /** Restart timer in ms (default 3000). */
  restartTimerMs?: number;
  /** Max-Configure (default 10). */
  maxConfigure?: number;
  /** Max-Terminate (default 2). */
  maxTerminate?: number;
  /** Max-Failure (default 5). */
  maxFailure?: number;
  /** Where discarded packets are logged at debug level (default: nowhere). */
  log?: Logger;
  /** Observes every RFC 1661 action as it runs (tracing, table tests). */
  trace?: (action: FsmActionName) => void;
}

/**
 * The {@linkcode CpTimingOptions} of a control protocol's options, without
 * the `undefined` ones, ready to spread into {@linkcode PppFsmOptions}
 * (`exactOptionalPropertyTypes` forbids passing `undefined` on).
 */
export function cpTiming(options: CpTimingOptions): CpTimingOptions {
  const out: CpTimingOptions = {};
  if (options.restartTimerMs !== undefined) out.restartTimerMs = options.restartTimerMs;
  if (options.maxConfigure !== undefined) out.maxConfigure = options.maxConfigure;
  if (options.maxTerminate !== undefined) out.maxTerminate = options.maxTerminate;
  if (options.maxFailure !== undefined) out.maxFailure = options.maxFailure;
  if (options.log !== undefined) out.log = options.log;
  if (options.trace !== undefined) out.trace = options.trace;
  return out;
}

/** Packet context an event carries to its actions. */
export interface FsmEventContext {
  /** Identifier of the received packet (echoed by sta). */
  identifier?: number;
  /** The Configure-Ack/Nak/Reject to send for sca/scn. */
  configureReply?: CpPacket;
  /** Runs when sca sends the Configure-Ack (commits the peer's options). */
  onAckSent?: () => void;
  /** The received packet quoted by scj (Code-Reject). */
  rejected?: Uint8Array;
  /** The Echo-Reply sent by ser. */
  echoReply?: CpPacket;
  /** Why the layer fails; reported by the tlf this event leads to. */
  error?: ProtocolError;
}

/** Construction options of {@linkcode PppFsm}. */
export interface PppFsmOptions extends CpTimingOptions {
  /** PPP protocol number of the packets it sends. */
  protocol: number;
  /** Name used in messages, e.g. "LCP". */
  name: string;
  /** Layer of the errors it reports. */
  layer: ErrorLayer;
  /** Option handlers; our Configure-Request lists options in this order. */
  handlers: readonly OptionHandler[];
  /** Largest packet the peer accepts (for Code-Reject truncation); default 1500. */
  peerMru?: () => number;
}

/**
 * The generic RFC 1661 automaton.
 *
 * @example
 * ```ts
 * import { PppFsm } from "./fsm.ts";
 * const fsm = new PppFsm({ protocol: 0x8021, name: "IPCP", layer: "ipcp", handlers: [] });
 * fsm.open();
 * const actions = fsm.up();
 * if (fsm.state !== "ReqSent" || actions[0]?.type !== "send") throw new Error();
 * ```
 */
export class PppFsm {
  readonly #o: PppFsmOptions;
  readonly #handlers: ReadonlyMap<number, OptionHandler>;
  readonly #log: Logger;
  readonly #restartTimerMs: number;
  readonly #maxConfigure: number;
  readonly #maxTerminate: number;
  readonly #maxFailure: number;
  #state: FsmState = "Initial";
  #restartCount = 0;
  #failureCount = 0;
  #isTimerRunning = false;
  #nextIdentifier = 0;
  /** Our outstanding Configure-Request. */
  #request: { identifier: number; data: Uint8Array; options: CpOption[] } | undefined;
  /** True once a valid Ack/Nak/Reject for `#request` arrived (pppd's seen_ack). */
  #isReplySeen = false;
  #isRetransmit = false;
  #terminateData: Uint8Array = new Uint8Array();
  /** Why the layer will finish, reported with the next tlf. */
  #pendingError: ProtocolError | undefined;

  /**
   * An automaton in the Initial state (RFC 1661 4.2) over `options.handlers`.
   *
   * @param options Protocol, handlers and RFC 1661 4.6 counters.
   * @throws {RangeError} For non-positive counters or timer.
   */
  constructor(options: PppFsmOptions) {
    this.#o = options;
    this.#handlers = new Map(options.handlers.map((h) => [h.type, h]));
    this.#log = options.log ?? NOOP_LOGGER;
    this.#restartTimerMs = positive(
      options.restartTimerMs,
      PPP_DEFAULTS.RESTART_TIMER_MS,
      "restartTimerMs",
    );
    this.#maxConfigure = positive(options.maxConfigure, PPP_DEFAULTS.MAX_CONFIGURE, "maxConfigure");
    this.#maxTerminate = positive(options.maxTerminate, PPP_DEFAULTS.MAX_TERMINATE, "maxTerminate");
    this.#maxFailure = positive(options.maxFailure, PPP_DEFAULTS.MAX_FAILURE, "maxFailure");
  }

  /** Current RFC 1661 4.2 state. */
  get state(): FsmState {
    return this.#state;
  }

  /** Returns a fresh Identifier (shared by every packet this protocol originates). */
  nextIdentifier(): number {
    const id = this.#nextIdentifier;
    this.#nextIdentifier = (this.#nextIdentifier + 1) & 0xff;
    return id;
  }

  /** RFC 1661 4.3 Up. */
  up(): CpAction[] {
    return this.dispatch("up");
  }
  /** RFC 1661 4.3 Down. */
  down(): CpAction[] {
    return this.dispatch("down");
  }
  /** RFC 1661 4.3 Open. */
  open(): CpAction[] {
    return this.dispatch("open");
  }
  /**
   * RFC 1661 4.3 Close.
   *
   * @param reason Text for the Terminate-Request Data field.
   * @param error Reported with This-Layer-Finished (for closes caused by a failure).
   */
  close(reason: string, error?: ProtocolError): CpAction[] {
    const data = new TextEncoder().encode(reason);
    // Only a hint for the peer's log: keep it short (it may quote peer text).
    this.#terminateData = data.subarray(0, PPP_DEFAULTS.MAX_TERMINATE_REASON);
    if (error !== undefined) this.#pendingError = error;
    return this.dispatch("close");
  }

  /** The restart timer expired: RFC 1661 4.3 TO+ or TO-. Stale expiries are ignored. */
  timeout(): CpAction[] {
    if (!this.#isTimerRunning) return [];
    this.#isTimerRunning = false;
    if (this.#restartCount > 0) {
      this.#isRetransmit = true;
      try {
        return this.dispatch("timeoutRetry");
      } finally {
        this.#isRetransmit = false;
      }
    }
    if (this.#state === "ReqSent" || this.#state === "AckRcvd" || this.#state === "AckSent") {
      this.#pendingError = new ProtocolError(
        this.#o.layer,
        ERROR_CODE.RETRY_EXHAUSTED,
        `Cannot negotiate ${this.#o.name}: no agreement after ${this.#maxConfigure} Configure-Requests`,
      );
    }
    return this.dispatch("timeoutGiveUp");
  }

  /**
   * A received packet (code|id|length|data) with one of the codes 1-7.
   * Other codes are RUC and answered with Code-Reject. Malformed packets are
   * discarded; this never throws on peer input.
   */
  receive(bytes: Uint8Array): CpAction[] {
    let packet: CpPacket;
    try {
      packet = decodeCpPacket(bytes, this.#o.layer);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return this.#discard(e.message);
    }
    switch (packet.code) {
      case CP_CODE.CONFIGURE_REQUEST:
        return this.#receiveConfigureRequest(packet);
      case CP_CODE.CONFIGURE_ACK:
        return this.#receiveConfigureAck(packet);
      case CP_CODE.CONFIGURE_NAK:
      case CP_CODE.CONFIGURE_REJECT:
        return this.#receiveConfigureNakOrReject(packet);
      case CP_CODE.TERMINATE_REQUEST:
        return this.#receiveTerminateRequest(packet);
      case CP_CODE.TERMINATE_ACK:
        return this.dispatch("rta");
      case CP_CODE.CODE_REJECT:
        return this.#receiveCodeReject(packet);
      default:
        return this.dispatch("ruc", {
          rejected: bytes.subarray(0, 4 + packet.data.length),
        });
    }
  }

  /**
   * Runs one RFC 1661 event through the table. Protocol wrappers use it for
   * the events they classify themselves (LCP's RXR, RXJ from Protocol-Reject).
   */
  dispatch(event: FsmEvent, context: FsmEventContext = {}): CpAction[] {
    const cell = FSM_TRANSITIONS[event][this.#state];
    if (cell === undefined) return [];
    if (context.error !== undefined) this.#pendingError = context.error;
    const out: CpAction[] = [];
    for (const action of cell.actions) {
      this.#o.trace?.(action);
      this.#run(action, cell.actions, context, out);
    }
    this.#state = cell.next;
    if (this.#isTimerRunning && !TIMED_STATES.has(this.#state)) {
      this.#isTimerRunning = false;
      out.push({ type: "stopTimer" });
    }
    return out;
  }

  #run(
    action: FsmActionName,
    all: readonly FsmActionName[],
    ctx: FsmEventContext,
    out: CpAction[],
  ): void {
    switch (action) {
      case "thisLayerUp":
        this.#pendingError = undefined;
        out.push({ type: "thisLayerUp" });
        return;
      case "thisLayerDown":
        this.#resetHandlers();
        out.push({ type: "thisLayerDown" });
        return;
      case "thisLayerStarted":
        this.#resetHandlers();
        this.#pendingError = undefined;
        out.push({ type: "thisLayerStarted" });
        return;
      case "thisLayerFinished": {
        this.#resetHandlers();
        const error = this.#pendingError;
        this.#pendingError = undefined;
        out.push(
          error === undefined
            ? { type: "thisLayerFinished" }
            : { type: "thisLayerFinished", error },
        );
        return;
      }
      case "initializeRestartCount":
        this.#restartCount = all.includes("sendTerminateRequest")
          ? this.#maxTerminate
          : this.#maxConfigure;
        return;
      case "zeroRestartCount":
        this.#restartCount = 0;
        this.#startTimer(out);
        return;
      case "sendConfigureRequest":
        this.#sendConfigureRequest(out);
        return;
      case "sendConfigureAck":
        if (ctx.configureReply === undefined) return;
        this.#failureCount = 0;
        ctx.onAckSent?.();
        this.#send(ctx.configureReply, out);
        return;
      case "sendConfigureNak":
        if (ctx.configureReply === undefined) return;
        if (ctx.configureReply.code === CP_CODE.CONFIGURE_NAK) this.#failureCount++;
        this.#send(ctx.configureReply, out);
        return;
      case "sendTerminateRequest":
        this.#restartCount--;
        this.#send({
          code: CP_CODE.TERMINATE_REQUEST,
          identifier: this.nextIdentifier(),
          data: this.#terminateData,
        }, out);
        this.#startTimer(out);
        return;
      case "sendTerminateAck":
        this.#send({
          code: CP_CODE.TERMINATE_ACK,
          identifier: ctx.identifier ?? this.nextIdentifier(),
          data: new Uint8Array(),
        }, out);
        return;
      case "sendCodeReject": {
        if (ctx.rejected === undefined) return;
        // RFC 1661 5.6: the quoted packet is truncated to fit the peer's MRU.
        const mru = this.#o.peerMru?.() ?? PPP_DEFAULTS.MRU;
        const room = Math.max(0, Math.min(mru, PPP_DEFAULTS.MAX_CONTROL_PACKET) - 4);
        this.#send({
          code: CP_CODE.CODE_REJECT,
          identifier: this.nextIdentifier(),
          data: ctx.rejected.subarray(0, room),
        }, out);
        return;
      }
      case "sendEchoReply":
        if (ctx.echoReply !== undefined) this.#send(ctx.echoReply, out);
        return;
    }
  }

  #sendConfigureRequest(out: CpAction[]): void {
    this.#restartCount--;
    if (this.#isRetransmit && this.#request !== undefined && !this.#isReplySeen) {
      // RFC 1661 5.1: a retransmission may keep its Identifier.
      this.#send({ code: CP_CODE.CONFIGURE_REQUEST, ...this.#request }, out);
    } else {
      const options: CpOption[] = [];
      for (const h of this.#handlers.values()) {
        const data = h.request();
        if (data !== undefined) options.push({ type: h.type, data });
      }
      this.#request = { identifier: this.nextIdentifier(), data: encodeOptions(options), options };
      this.#isReplySeen = false;
      this.#send({ code: CP_CODE.CONFIGURE_REQUEST, ...this.#request }, out);
    }
    this.#startTimer(out);
  }

  #startTimer(out: CpAction[]): void {
    this.#isTimerRunning = true;
    out.push({ type: "startTimer", ms: this.#restartTimerMs });
  }

  #send(packet: CpPacket, out: CpAction[]): void {
    out.push({ type: "send", protocol: this.#o.protocol, packet: encodeCpPacket(packet) });
  }

  #resetHandlers(): void {
    this.#failureCount = 0;
    for (const h of this.#handlers.values()) h.reset();
  }

  #discard(why: string): CpAction[] {
    this.#log.debug(`${this.#o.name}: discarded packet in ${this.#state}: ${why}`);
    return [];
  }

  /** RFC 1661 5.1 Configure-Request → RCR+ / RCR-. */
  #receiveConfigureRequest(packet: CpPacket): CpAction[] {
    const identifier = packet.identifier;
    if (!JUDGING_STATES.has(this.#state)) return this.dispatch("rcrGood", { identifier });
    let options: CpOption[];
    try {
      options = decodeOptions(packet.data, this.#o.layer);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return this.#discard(e.message);
    }
    const naks: CpOption[] = [];
    const rejects: CpOption[] = [];
    const nakedOriginals: CpOption[] = [];
    for (const option of options) {
      const handler = this.#handlers.get(option.type);
      const verdict = handler === undefined
        ? { kind: "reject" as const }
        : handler.onRequest(option.data);
      switch (verdict.kind) {
        case "ack":
          break;
        case "nak":
          naks.push({ type: option.type, data: verdict.data });
          nakedOriginals.push(option);
          break;
        case "reject":
          rejects.push(option);
          break;
        case "fail":
          return this.#fail(verdict.error);
      }
    }
    if (rejects.length === 0 && naks.length === 0) {
      const onAckSent = () => {
        for (const o of options) this.#handlers.get(o.type)?.onAckSent(o.data);
      };
      const reply = { code: CP_CODE.CONFIGURE_ACK, identifier, data: packet.data.slice() };
      return this.dispatch("rcrGood", { identifier, configureReply: reply, onAckSent });
    }
    // RFC 1661 4.6 Max-Failure: after that many Naks, reject instead.
    const isRejecting = rejects.length > 0 || this.#failureCount >= this.#maxFailure;
    const reply = isRejecting
      ? {
        code: CP_CODE.CONFIGURE_REJECT,
        identifier,
        data: encodeOptions(rejects.length > 0 ? rejects : nakedOriginals),
      }
      : { code: CP_CODE.CONFIGURE_NAK, identifier, data: encodeOptions(naks) };
    return this.dispatch("rcrBad", { identifier, configureReply: reply });
  }

  /** True when `packet` answers our outstanding Configure-Request (RFC 1661 5.2-5.4). */
  #isReplyToRequest(packet: CpPacket): boolean {
    return this.#request !== undefined && !this.#isReplySeen &&
      packet.identifier === this.#request.identifier;
  }

  /** RFC 1661 5.2 Configure-Ack → RCA. */
  #receiveConfigureAck(packet: CpPacket): CpAction[] {
    const identifier = packet.identifier;
    if (!NEGOTIATING_STATES.has(this.#state)) return this.dispatch("rca", { identifier });
    const request = this.#request;
    if (request === undefined || !this.#isReplyToRequest(packet)) {
      return this.#discard(`${CP_CODE_NAME[packet.code]} id=${identifier} matches no request`);
    }
    if (!bytesEqual(packet.data, request.data)) {
      return this.#discard("ConfAck options differ from our request");
    }
    this.#isReplySeen = true;
    for (const o of request.options) this.#handlers.get(o.type)?.onAck(o.data);
    // Acked: nothing reads it again (no retransmission, no reply can match);
    // a server keeps two FSMs per session, thousands of sessions.
    this.#request = undefined;
    return this.dispatch("rca", { identifier });
  }

  /** RFC 1661 5.3/5.4 Configure-Nak / Configure-Reject → RCN. */
  #receiveConfigureNakOrReject(packet: CpPacket): CpAction[] {
    const identifier = packet.identifier;
    if (!NEGOTIATING_STATES.has(this.#state)) return this.dispatch("rcn", { identifier });
    const request = this.#request;
    if (request === undefined || !this.#isReplyToRequest(packet)) {
      return this.#discard(`${CP_CODE_NAME[packet.code]} id=${identifier} matches no request`);
    }
    let options: CpOption[];
    try {
      options = decodeOptions(packet.data, this.#o.layer);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return this.#discard(e.message);
    }
    const requested = new Set(request.options.map((o) => o.type));
    const isReject = packet.code === CP_CODE.CONFIGURE_REJECT;
    // RFC 1661 5.4: a Configure-Reject quotes only options we sent.
    if (isReject && options.some((o) => !requested.has(o.type))) {
      return this.#discard("ConfRej lists an option we did not request");
    }
    this.#isReplySeen = true;
    for (const o of options) {
      const h = this.#handlers.get(o.type);
      if (h === undefined) continue;
      const error = isReject ? h.onReject() : h.onNak(o.data, requested.has(o.type));
      if (error !== undefined) return this.#fail(error);
    }
    return this.dispatch("rcn", { identifier });
  }

  /** RFC 1661 5.5 Terminate-Request → RTR. */
  #receiveTerminateRequest(packet: CpPacket): CpAction[] {
    if (this.#state === "Opened") {
      const text = peerBytesText(packet.data);
      this.#pendingError = new ProtocolError(
        this.#o.layer,
        ERROR_CODE.PEER_TERMINATED,
        `${this.#o.name} terminated by the peer${text === "" ? "" : `: "${text}"`}`,
        { detail: text },
      );
    }
    return this.dispatch("rtr", { identifier: packet.identifier });
  }

  /** RFC 1661 5.6 Code-Reject → RXJ+ / RXJ-. */
  #receiveCodeReject(packet: CpPacket): CpAction[] {
    const code = packet.data[0];
    if (code === undefined) return this.#discard("Code-Reject quotes no packet");
    if (code >= CP_CODE.CONFIGURE_REQUEST && code <= CP_CODE.CODE_REJECT) {
      const error = new ProtocolError(
        this.#o.layer,
        ERROR_CODE.NEGOTIATION_FAILED,
        `Cannot run ${this.#o.name}: the peer Code-Rejected ${CP_CODE_NAME[code]}`,
      );
      return this.dispatch("rxjBad", { error });
    }
    return this.dispatch("rxjGood");
  }

  /** Negotiation cannot converge: close with `error` (reported by tlf). */
  #fail(error: ProtocolError): CpAction[] {
    this.#log.debug(`${this.#o.name}: ${error.message}`);
    return this.close(error.message, error);
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) {
    throw new RangeError(
      `Cannot create PPP automaton: ${name} must be a positive integer, got ${v}`,
    );
  }
  return v;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
