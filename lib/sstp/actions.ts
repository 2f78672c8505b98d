/**
 * What the SSTP state machines take and return: they never touch sockets or
 * clocks, so every exchange can be tested and replayed as data; the runner
 * executes these actions in order.
 *
 * @module
 */
import type { SstpControlMessage } from "./control_message.ts";

/**
 * Timers a state machine asks the runner to run (MS-SSTP 3.1.2, 3.2.2, 3.3.2).
 * `abort` serves TIMER_VAL_ABORT_STATE_TIMER_1 and _2, `disconnect` serves
 * TIMER_VAL_DISCONNECT_STATE_TIMER_1 and _2; the state tells them apart.
 */
export type SstpTimer = "negotiation" | "hello" | "abort" | "disconnect";

/** One effect for the runner to carry out. */
export type SstpAction =
  /** Send this control message. */
  | { type: "send"; message: SstpControlMessage }
  /** (Re)start `timer` to fire once after `ms`, replacing any running instance. */
  | { type: "startTimer"; timer: SstpTimer; ms: number }
  /** Cancel `timer`. */
  | { type: "stopTimer"; timer: SstpTimer }
  /** Lower Link Up: start the PPP state machine (MS-SSTP 3.1.7.1). */
  | { type: "pppStart" }
  /** The crypto binding is done; PPP data frames may flow (MS-SSTP 3.2.7.1, 3.3.5.2.3). */
  | { type: "callConnected" }
  /** The connection state is cleared; close the HTTPS connection. No error: a normal end. */
  | { type: "closed"; error?: Error };

/**
 * Call Abort and Call Disconnect states common to client and server, named as
 * in MS-SSTP 3.1.1. The two `_In_Progress_` states of each are passed through
 * within one call (send, then move on), as the spec describes them.
 */
export type SstpTeardownState =
  | "Call_Abort_In_Progress_1"
  | "Call_Abort_In_Progress_2"
  | "Call_Abort_Timeout_Pending"
  | "Call_Abort_Pending"
  | "Call_Disconnect_In_Progress_1"
  | "Call_Disconnect_In_Progress_2"
  | "Call_Disconnect_Timeout_Pending"
  | "Call_Disconnect_Ack_Pending";
