/**
 * What the client and server SSTP state machines share (MS-SSTP 3.1): the
 * Call Abort and Call Disconnect procedures, their timers, the Hello timer and
 * Echo handling, and the bookkeeping of running timers.
 *
 * Subclasses add the call establishment states (MS-SSTP 3.2.1.1.1,
 * 3.3.1.1.1) and the messages only they receive.
 *
 * @module
 */
import { ERROR_CODE, PeerAbortError, PeerDisconnectError, ProtocolError } from "../errors.ts";
import type { SstpAction, SstpTeardownState, SstpTimer } from "./actions.ts";
import { ATTRIBUTE_ID, MESSAGE_TYPE, STATUS, TIMER_MS } from "./constants.ts";
import { findSstpMessageProblem, type SstpControlMessage } from "./control_message.ts";

/** Builds a control message with an optional Status Info (MS-SSTP 2.2.8). */
export function controlMessage(
  messageType: number,
  status?: { attribId: number; status: number; attribValue?: Uint8Array },
): SstpControlMessage {
  return {
    messageType,
    attributes: status === undefined ? [] : [{
      kind: "statusInfo",
      attribId: status.attribId,
      status: status.status,
      attribValue: status.attribValue ?? new Uint8Array(0),
    }],
  };
}

/** The Status of the first Status Info attribute, if any. */
function statusOf(message: SstpControlMessage): number | undefined {
  for (const a of message.attributes) if (a.kind === "statusInfo") return a.status;
  return undefined;
}

/**
 * How many Echo Requests are answered: a burst of `burst`, then one every
 * `intervalMs`. Peers send one per Hello interval (tens of seconds), so only a
 * flood meets the bound; each answer costs an output write, and a peer that
 * sends without reading would otherwise fill the output queue. More than
 * `floodLimit` refused in a row abort the call.
 */
export const ECHO_RATE = { burst: 8, intervalMs: 250, floodLimit: 64 } as const;

const ABORT_IGNORING: ReadonlySet<string> = new Set<SstpTeardownState>([
  "Call_Abort_Timeout_Pending",
  "Call_Disconnect_Timeout_Pending",
  "Call_Abort_In_Progress_2",
]);
const DISCONNECT_IGNORING: ReadonlySet<string> = new Set<SstpTeardownState>([
  "Call_Abort_Timeout_Pending",
  "Call_Abort_Pending",
  "Call_Disconnect_Timeout_Pending",
  "Call_Disconnect_In_Progress_2",
]);
const DISCONNECT_ACK_IGNORING: ReadonlySet<string> = new Set<SstpTeardownState>([
  "Call_Abort_Pending",
  "Call_Abort_Timeout_Pending",
  "Call_Disconnect_Timeout_Pending",
]);
const TEARDOWN: ReadonlySet<string> = new Set<SstpTeardownState>([
  "Call_Abort_In_Progress_1",
  "Call_Abort_In_Progress_2",
  "Call_Abort_Timeout_Pending",
  "Call_Abort_Pending",
  "Call_Disconnect_In_Progress_1",
  "Call_Disconnect_In_Progress_2",
  "Call_Disconnect_Timeout_Pending",
  "Call_Disconnect_Ack_Pending",
]);

/** Status Info to put in a Call Abort caused by `error` (MS-SSTP 2.2.13). */
function abortStatusFor(error: Error): { attribId: number; status: number } {
  const code = error instanceof ProtocolError ? error.code : undefined;
  switch (code) {
    case ERROR_CODE.TIMEOUT:
      return { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.NEGOTIATION_TIMEOUT };
    case ERROR_CODE.RETRY_EXHAUSTED:
      return { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.RETRY_COUNT_EXCEEDED };
    case ERROR_CODE.UNEXPECTED_MESSAGE:
      return { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.UNACCEPTED_FRAME_RECEIVED };
    case ERROR_CODE.CRYPTO_BINDING_MISMATCH:
      return { attribId: ATTRIBUTE_ID.CRYPTO_BINDING, status: STATUS.VALUE_NOT_SUPPORTED };
    case ERROR_CODE.TRUNCATED:
    case ERROR_CODE.BAD_LENGTH:
    case ERROR_CODE.BAD_VALUE:
    case ERROR_CODE.BAD_VERSION:
      return { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.INVALID_FRAME_RECEIVED };
    case ERROR_CODE.BAD_ATTRIBUTE:
      return { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.ATTRIB_NOT_SUPPORTED_IN_MSG };
    default:
      // A local failure (e.g. PPP) has no attribute to blame.
      return { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.NO_ERROR };
  }
}

/** Options shared by both machines. */
export interface CallMachineOptions<S extends string> {
  /** The idle state: Client_Call_Disconnected or Server_Call_Disconnected. */
  disconnected: S;
  /** The established state: Client_Call_Connected or Server_Call_Connected. */
  connected: S;
  /** Hello timer interval; `null` disables keepalive. */
  helloMs: number | null;
}

/** Base of {@linkcode SstpClientStateMachine} and {@linkcode SstpServerStateMachine}. */
export abstract class SstpCallMachine<S extends string> {
  #state: S | SstpTeardownState;
  readonly #disconnected: S;
  readonly #connected: S;
  readonly #helloMs: number | null;
  readonly #running = new Set<SstpTimer>();
  #started = false;
  #closed = false;
  #closeError: Error | undefined;
  #lastReceiveMs = Number.NEGATIVE_INFINITY;
  #heardSinceEcho = false;
  #echoOutstanding = false;
  /** Echo Responses that may be sent now (a token bucket, see {@linkcode ECHO_RATE}). */
  #echoTokens: number = ECHO_RATE.burst;
  #echoRefillMs = Number.NEGATIVE_INFINITY;
  /** Echo Requests refused since the last one answered. */
  #echoRefused = 0;

  constructor(options: CallMachineOptions<S>) {
    const { helloMs } = options;
    if (helloMs !== null && !(Number.isFinite(helloMs) && helloMs > 0)) {
      throw new RangeError(`Cannot create SSTP state machine: helloMs ${helloMs} is not positive`);
    }
    this.#state = options.disconnected;
    this.#disconnected = options.disconnected;
    this.#connected = options.connected;
    this.#helloMs = helloMs;
  }

  /** Current state, named as in MS-SSTP 3.1.1, 3.2.1 and 3.3.1. */
  get state(): S | SstpTeardownState {
    return this.#state;
  }

  /** True only in the connected state: PPP data frames may flow (MS-SSTP 3.2.7.2, 3.3.7.2). */
  get isDataAllowed(): boolean {
    return this.#state === this.#connected;
  }

  /** True once `closed` has been emitted. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Timers currently running, for the runner's sanity checks and tests. */
  get runningTimers(): ReadonlySet<SstpTimer> {
    return this.#running;
  }

  /** True in a Call Abort or Call Disconnect state (MS-SSTP 3.1.1). */
  /** Whether the peer has yet to send Call Connect Request (server side). */
  protected get isAwaitingCallRequest(): boolean {
    return false;
  }

  protected get inTeardown(): boolean {
    return TEARDOWN.has(this.#state);
  }

  /** True before start() and after closing. */
  protected get isIdle(): boolean {
    return this.#state === this.#disconnected;
  }

  protected setState(state: S): void {
    this.#state = state;
  }

  protected markStarted(): boolean {
    if (this.#started) return false;
    this.#started = true;
    return true;
  }

  protected startTimer(actions: SstpAction[], timer: SstpTimer, ms: number): void {
    this.#running.add(timer);
    actions.push({ type: "startTimer", timer, ms });
  }

  protected stopTimer(actions: SstpAction[], timer: SstpTimer): void {
    if (this.#running.delete(timer)) actions.push({ type: "stopTimer", timer });
  }

  #stopAllTimers(actions: SstpAction[]): void {
    for (const timer of [...this.#running]) this.stopTimer(actions, timer);
  }

  /** Clears the connection state and emits `closed` (MS-SSTP 3.1.6). */
  #finish(actions: SstpAction[], error: Error | undefined): SstpAction[] {
    this.#stopAllTimers(actions);
    this.#state = this.#disconnected;
    this.#closed = true;
    actions.push(error === undefined ? { type: "closed" } : { type: "closed", error });
    return actions;
  }

  /**
   * MS-SSTP 3.1.5.1 abort procedure: Call_Abort_In_Progress_1, send Call
   * Abort with Status Info, start TIMER_VAL_ABORT_STATE_TIMER_1,
   * Call_Abort_Pending.
   */
  protected beginAbort(
    actions: SstpAction[],
    error: Error,
    status: { attribId: number; status: number } = abortStatusFor(error),
  ): SstpAction[] {
    this.#state = "Call_Abort_In_Progress_1";
    this.#stopAllTimers(actions);
    this.#closeError = error;
    actions.push({ type: "send", message: controlMessage(MESSAGE_TYPE.CALL_ABORT, status) });
    this.startTimer(actions, "abort", TIMER_MS.ABORT_1);
    this.#state = "Call_Abort_Pending";
    return actions;
  }

  /** Aborts because `message` is not acceptable in this state (MS-SSTP 3.2.5.3.x "any other value"). */
  protected abortUnexpected(actions: SstpAction[], message: SstpControlMessage): SstpAction[] {
    return this.beginAbort(
      actions,
      new ProtocolError(
        "sstp",
        ERROR_CODE.UNEXPECTED_MESSAGE,
        `Cannot accept SSTP message type ${message.messageType} in state ${this.#state}`,
      ),
      { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.UNACCEPTED_FRAME_RECEIVED },
    );
  }

  /**
   * Aborts unless `message` carries the attributes its type requires
   * (MS-SSTP 3.2.5.3.1, 3.3.5.2.1). Returns true when it is acceptable.
   */
  protected checkAttributes(actions: SstpAction[], message: SstpControlMessage): boolean {
    const problem = findSstpMessageProblem(message);
    if (problem === undefined) return true;
    this.beginAbort(
      actions,
      new ProtocolError(
        "sstp",
        ERROR_CODE.BAD_ATTRIBUTE,
        `Cannot accept SSTP message: ${problem.message}`,
      ),
      { attribId: problem.attribId, status: problem.status },
    );
    return false;
  }

  /** Starts the Hello timer on entering the connected state (MS-SSTP 3.1.2.3). */
  protected startHello(actions: SstpAction[], nowMs: number): void {
    if (this.#helloMs === null) return;
    this.#lastReceiveMs = Math.max(this.#lastReceiveMs, nowMs);
    this.#echoOutstanding = false;
    this.startTimer(actions, "hello", this.#helloMs);
  }

  /**
   * Records that a packet (control or data) arrived; the Hello timer restarts
   * on any received packet (MS-SSTP 3.1.2.3). Cheap: call it for every packet.
   */
  noteReceive(nowMs: number): void {
    this.#lastReceiveMs = nowMs;
    this.#heardSinceEcho = true;
  }

  /**
   * Handles one received control message and returns the actions to take.
   * Call Abort, Call Disconnect, Call Disconnect Ack and the Echo messages
   * are handled here; the rest by the subclass.
   */
  receive(message: SstpControlMessage, nowMs: number): SstpAction[] {
    if (this.#closed || !this.#started) return [];
    this.noteReceive(nowMs);
    switch (message.messageType) {
      case MESSAGE_TYPE.CALL_ABORT:
        return this.#receiveCallAbort(message);
      case MESSAGE_TYPE.CALL_DISCONNECT:
        return this.#receiveCallDisconnect(message);
      case MESSAGE_TYPE.CALL_DISCONNECT_ACK:
        return this.#receiveCallDisconnectAck(message);
      case MESSAGE_TYPE.ECHO_REQUEST:
        return this.#receiveEchoRequest(nowMs);
      case MESSAGE_TYPE.ECHO_RESPONSE:
        return [];
      default: {
        // MS-SSTP 3.1.1.1.2: other control messages are silently discarded
        // while a Call Abort or Call Disconnect is under way.
        if (this.inTeardown) return [];
        const actions: SstpAction[] = [];
        if (!Object.values(MESSAGE_TYPE).includes(message.messageType as never)) {
          this.checkAttributes(actions, message); // unknown type: INVALID_FRAME_RECEIVED
          return actions;
        }
        return this.receiveEstablishment(message, nowMs, actions);
      }
    }
  }

  /** Handles Call Connect Request/Ack/Nak and Call Connected; `actions` starts empty. */
  protected abstract receiveEstablishment(
    message: SstpControlMessage,
    nowMs: number,
    actions: SstpAction[],
  ): SstpAction[];

  /** MS-SSTP 3.2.5.3.4 / 3.3.5.2.4 Receiving an SSTP_MSG_CALL_ABORT Message. */
  #receiveCallAbort(message: SstpControlMessage): SstpAction[] {
    const actions: SstpAction[] = [];
    if (this.#state === "Call_Abort_Pending") {
      this.stopTimer(actions, "abort");
      this.startTimer(actions, "abort", TIMER_MS.ABORT_2);
      this.#state = "Call_Abort_Timeout_Pending";
      return actions;
    }
    if (ABORT_IGNORING.has(this.#state)) return actions;
    this.#state = "Call_Abort_In_Progress_2";
    this.#stopAllTimers(actions);
    const status = statusOf(message);
    this.#closeError = new PeerAbortError(
      `SSTP peer aborted the call (status ${status ?? "none"})`,
      status,
    );
    actions.push({
      type: "send",
      message: controlMessage(MESSAGE_TYPE.CALL_ABORT, {
        attribId: ATTRIBUTE_ID.NO_ERROR,
        status: STATUS.NO_ERROR,
      }),
    });
    this.startTimer(actions, "abort", TIMER_MS.ABORT_2);
    this.#state = "Call_Abort_Timeout_Pending";
    return actions;
  }

  /** MS-SSTP 3.2.5.3.5 / 3.3.5.2.5 Receiving an SSTP_MSG_CALL_DISCONNECT Message. */
  #receiveCallDisconnect(message: SstpControlMessage): SstpAction[] {
    const actions: SstpAction[] = [];
    if (DISCONNECT_IGNORING.has(this.#state)) return actions;
    if (this.#state === "Call_Disconnect_Ack_Pending") {
      this.stopTimer(actions, "disconnect");
    } else {
      this.#stopAllTimers(actions);
      const status = statusOf(message);
      this.#closeError = new PeerDisconnectError(
        `SSTP peer disconnected the call (status ${status ?? "none"})`,
        status,
      );
    }
    this.#state = "Call_Disconnect_In_Progress_2";
    actions.push({ type: "send", message: controlMessage(MESSAGE_TYPE.CALL_DISCONNECT_ACK) });
    this.startTimer(actions, "disconnect", TIMER_MS.DISCONNECT_2);
    this.#state = "Call_Disconnect_Timeout_Pending";
    return actions;
  }

  /** MS-SSTP 3.2.5.3.6 / 3.3.5.2.6 Receiving an SSTP_MSG_CALL_DISCONNECT_ACK Message. */
  #receiveCallDisconnectAck(message: SstpControlMessage): SstpAction[] {
    const actions: SstpAction[] = [];
    if (this.#state === "Call_Disconnect_Ack_Pending") {
      return this.#finish(actions, this.#closeError);
    }
    if (DISCONNECT_ACK_IGNORING.has(this.#state)) return actions;
    return this.abortUnexpected(actions, message);
  }

  /**
   * MS-SSTP 3.2.5.3.7 / 3.3.5.2.7 Receiving an SSTP_MSG_ECHO_REQUEST Message.
   * Answered in every state once the call exists (negotiation and teardown
   * too: peers send Echo Requests then, and aborting on them only hurts
   * interop), but not before Call Connect Request, and at most at
   * {@linkcode ECHO_RATE}: the rest are discarded, and a flood aborts.
   */
  #receiveEchoRequest(nowMs: number): SstpAction[] {
    if (this.isIdle || this.isAwaitingCallRequest) return [];
    const refills = Math.floor((nowMs - this.#echoRefillMs) / ECHO_RATE.intervalMs);
    if (refills > 0) {
      this.#echoTokens = Math.min(ECHO_RATE.burst, this.#echoTokens + refills);
      this.#echoRefillMs = refills >= ECHO_RATE.burst
        ? nowMs
        : this.#echoRefillMs + refills * ECHO_RATE.intervalMs;
    }
    if (this.#echoTokens >= 1) {
      this.#echoTokens--;
      this.#echoRefused = 0;
      return [{ type: "send", message: controlMessage(MESSAGE_TYPE.ECHO_RESPONSE) }];
    }
    if (++this.#echoRefused <= ECHO_RATE.floodLimit || this.inTeardown) return [];
    return this.beginAbort(
      [],
      new ProtocolError(
        "sstp",
        ERROR_CODE.LIMIT_EXCEEDED,
        `Cannot keep SSTP call: Echo Request flood (${this.#echoRefused} above the rate of ` +
          `${ECHO_RATE.burst} then 1 per ${ECHO_RATE.intervalMs} ms)`,
      ),
    );
  }

  /**
   * Handles an expired timer. Timers not running (stopped, or never
   * started) are ignored, so a late callback is harmless.
   */
  timer(name: SstpTimer, nowMs: number): SstpAction[] {
    if (this.#closed || !this.#running.delete(name)) return [];
    const actions: SstpAction[] = [];
    switch (name) {
      case "negotiation":
        // MS-SSTP 3.2.6.1 / 3.3.6.1 Negotiation Timer Processing.
        return this.beginAbort(
          actions,
          new ProtocolError(
            "sstp",
            ERROR_CODE.TIMEOUT,
            `Cannot establish SSTP call: negotiation timed out in ${this.#state}`,
          ),
          { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.NEGOTIATION_TIMEOUT },
        );
      case "hello":
        return this.#helloExpired(actions, nowMs);
      case "abort":
        // MS-SSTP 3.1.6.1: either abort timer clears the connection state.
        return this.#finish(actions, this.#closeError);
      case "disconnect":
        // MS-SSTP 3.1.6.2: either disconnect timer clears the connection state.
        return this.#finish(actions, this.#closeError);
    }
  }

  /**
   * MS-SSTP 3.1.6.3 Hello Timer Processing: after `helloMs` without any
   * packet send an Echo Request; if nothing arrives within the next interval,
   * close without sending Call Abort (MS-SSTP 3.1.2.3).
   */
  #helloExpired(actions: SstpAction[], nowMs: number): SstpAction[] {
    const helloMs = this.#helloMs;
    if (helloMs === null || this.#state !== this.#connected) return actions;
    if (this.#echoOutstanding) {
      if (!this.#heardSinceEcho) {
        return this.#finish(
          actions,
          new ProtocolError(
            "sstp",
            ERROR_CODE.TIMEOUT,
            `Cannot keep SSTP call: no packet for ${2 * helloMs} ms`,
          ),
        );
      }
      this.#echoOutstanding = false;
    }
    const idleMs = nowMs - this.#lastReceiveMs;
    if (idleMs >= helloMs) {
      actions.push({ type: "send", message: controlMessage(MESSAGE_TYPE.ECHO_REQUEST) });
      this.#echoOutstanding = true;
      this.#heardSinceEcho = false;
      this.startTimer(actions, "hello", helloMs);
    } else {
      this.startTimer(actions, "hello", helloMs - idleMs);
    }
    return actions;
  }

  /**
   * Graceful local disconnect (MS-SSTP 3.2.4.2, 3.3.4): Call Disconnect with
   * Status Info, TIMER_VAL_DISCONNECT_STATE_TIMER_1, then `closed` on the Ack
   * or the timer. Ignored while a teardown is already under way.
   */
  disconnect(_nowMs: number, status: number = STATUS.NO_ERROR): SstpAction[] {
    const actions: SstpAction[] = [];
    if (this.#closed) return actions;
    if (this.isIdle) return this.#finish(actions, undefined);
    if (this.inTeardown) return actions;
    this.#state = "Call_Disconnect_In_Progress_1";
    this.#stopAllTimers(actions);
    this.#closeError = undefined;
    actions.push({
      type: "send",
      message: controlMessage(MESSAGE_TYPE.CALL_DISCONNECT, {
        attribId: ATTRIBUTE_ID.NO_ERROR,
        status,
      }),
    });
    this.startTimer(actions, "disconnect", TIMER_MS.DISCONNECT_1);
    this.#state = "Call_Disconnect_Ack_Pending";
    return actions;
  }

  /**
   * Local fatal error (e.g. PPP failed): Call Abort with a Status Info
   * derived from the error, abort timers, then `closed` with `error`.
   * Ignored while a teardown is already under way.
   */
  abort(error: Error, _nowMs: number): SstpAction[] {
    const actions: SstpAction[] = [];
    if (this.#closed) return actions;
    if (this.isIdle) return this.#finish(actions, error);
    if (this.inTeardown) return actions;
    return this.beginAbort(actions, error);
  }

  /**
   * The HTTPS connection went away (or the stream could not be delineated,
   * MS-SSTP 3.1.5.1): clear the state without sending anything. During a
   * teardown this completes it with the teardown's error.
   */
  lowerLayerDown(_nowMs: number, error?: Error): SstpAction[] {
    if (this.#closed) return [];
    const fallback = this.inTeardown ? this.#closeError : new ProtocolError(
      "sstp",
      ERROR_CODE.PEER_TERMINATED,
      `Cannot continue SSTP call: the HTTPS connection closed in ${this.#state}`,
    );
    return this.#finish([], error ?? fallback);
  }
}
