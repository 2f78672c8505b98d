/**
 * The RFC 1661 4.1 state transition table as data, with the state, event and
 * action vocabularies of RFC 1661 4.2-4.4. {@linkcode PppFsm} (fsm.ts) runs it.
 *
 * @module
 */

/** RFC 1661 4.2 states. */
export type FsmState =
  | "Initial"
  | "Starting"
  | "Closed"
  | "Stopped"
  | "Closing"
  | "Stopping"
  | "ReqSent"
  | "AckRcvd"
  | "AckSent"
  | "Opened";

/** All states, in RFC 1661 4.1 column order (0-9). */
export const FSM_STATES: readonly FsmState[] = [
  "Initial",
  "Starting",
  "Closed",
  "Stopped",
  "Closing",
  "Stopping",
  "ReqSent",
  "AckRcvd",
  "AckSent",
  "Opened",
];

/** RFC 1661 4.3 events. */
export type FsmEvent =
  /** Up: lower layer is Up */
  | "up"
  /** Down: lower layer is Down */
  | "down"
  /** Open: administrative Open */
  | "open"
  /** Close: administrative Close */
  | "close"
  /** TO+: Timeout with counter > 0 */
  | "timeoutRetry"
  /** TO-: Timeout with counter expired */
  | "timeoutGiveUp"
  /** RCR+: Receive-Configure-Request (Good) */
  | "rcrGood"
  /** RCR-: Receive-Configure-Request (Bad) */
  | "rcrBad"
  /** RCA: Receive-Configure-Ack */
  | "rca"
  /** RCN: Receive-Configure-Nak/Rej */
  | "rcn"
  /** RTR: Receive-Terminate-Request */
  | "rtr"
  /** RTA: Receive-Terminate-Ack */
  | "rta"
  /** RUC: Receive-Unknown-Code */
  | "ruc"
  /** RXJ+: Receive-Code-Reject (permitted) or Receive-Protocol-Reject */
  | "rxjGood"
  /** RXJ-: Receive-Code-Reject (catastrophic) or Receive-Protocol-Reject */
  | "rxjBad"
  /** RXR: Receive-Echo-Request, Receive-Echo-Reply or Receive-Discard-Request */
  | "rxr";

/** RFC 1661 4.4 actions. */
export type FsmActionName =
  /** tlu: This-Layer-Up */
  | "thisLayerUp"
  /** tld: This-Layer-Down */
  | "thisLayerDown"
  /** tls: This-Layer-Started */
  | "thisLayerStarted"
  /** tlf: This-Layer-Finished */
  | "thisLayerFinished"
  /** irc: Initialize-Restart-Count */
  | "initializeRestartCount"
  /** zrc: Zero-Restart-Count */
  | "zeroRestartCount"
  /** scr: Send-Configure-Request */
  | "sendConfigureRequest"
  /** sca: Send-Configure-Ack */
  | "sendConfigureAck"
  /** scn: Send-Configure-Nak/Rej */
  | "sendConfigureNak"
  /** str: Send-Terminate-Request */
  | "sendTerminateRequest"
  /** sta: Send-Terminate-Ack */
  | "sendTerminateAck"
  /** scj: Send-Code-Reject */
  | "sendCodeReject"
  /** ser: Send-Echo-Reply */
  | "sendEchoReply";

/** One cell of the RFC 1661 4.1 table. */
export interface FsmTransition {
  /** Actions, in the order the table lists them. */
  readonly actions: readonly FsmActionName[];
  /** The state after the actions. */
  readonly next: FsmState;
}

/** RFC 1661 4.4 abbreviations → action names. */
export const FSM_ACTION_ABBREVIATION: Readonly<Record<string, FsmActionName>> = {
  tlu: "thisLayerUp",
  tld: "thisLayerDown",
  tls: "thisLayerStarted",
  tlf: "thisLayerFinished",
  irc: "initializeRestartCount",
  zrc: "zeroRestartCount",
  scr: "sendConfigureRequest",
  sca: "sendConfigureAck",
  scn: "sendConfigureNak",
  str: "sendTerminateRequest",
  sta: "sendTerminateAck",
  scj: "sendCodeReject",
  ser: "sendEchoReply",
};

function t(abbreviations: string, next: FsmState): FsmTransition {
  const actions = abbreviations === "" ? [] : abbreviations.split(",").map((a) => {
    const name = FSM_ACTION_ABBREVIATION[a];
    if (name === undefined) throw new TypeError(`Unknown RFC 1661 action "${a}"`);
    return name;
  });
  return { actions, next };
}

/**
 * RFC 1661 4.1 state transition table, one row per event, written in the
 * RFC's notation. Cells the RFC marks "-" (cannot happen) are absent and the
 * event is ignored. Options "r" (restart) and "p" (passive) are not
 * implemented: Open in Stopped/Closing/Stopping/Opened only changes the state.
 */
export const FSM_TRANSITIONS: Readonly<
  Record<FsmEvent, Readonly<Partial<Record<FsmState, FsmTransition>>>>
> = {
  up: { Initial: t("", "Closed"), Starting: t("irc,scr", "ReqSent") },
  down: {
    Closed: t("", "Initial"),
    Stopped: t("tls", "Starting"),
    Closing: t("", "Initial"),
    Stopping: t("", "Starting"),
    ReqSent: t("", "Starting"),
    AckRcvd: t("", "Starting"),
    AckSent: t("", "Starting"),
    Opened: t("tld", "Starting"),
  },
  open: {
    Initial: t("tls", "Starting"),
    Starting: t("", "Starting"),
    Closed: t("irc,scr", "ReqSent"),
    Stopped: t("", "Stopped"),
    Closing: t("", "Stopping"),
    Stopping: t("", "Stopping"),
    ReqSent: t("", "ReqSent"),
    AckRcvd: t("", "AckRcvd"),
    AckSent: t("", "AckSent"),
    Opened: t("", "Opened"),
  },
  close: {
    Initial: t("", "Initial"),
    Starting: t("tlf", "Initial"),
    Closed: t("", "Closed"),
    Stopped: t("", "Closed"),
    Closing: t("", "Closing"),
    Stopping: t("", "Closing"),
    ReqSent: t("irc,str", "Closing"),
    AckRcvd: t("irc,str", "Closing"),
    AckSent: t("irc,str", "Closing"),
    Opened: t("tld,irc,str", "Closing"),
  },
  timeoutRetry: {
    Closing: t("str", "Closing"),
    Stopping: t("str", "Stopping"),
    ReqSent: t("scr", "ReqSent"),
    AckRcvd: t("scr", "ReqSent"),
    AckSent: t("scr", "AckSent"),
  },
  timeoutGiveUp: {
    Closing: t("tlf", "Closed"),
    Stopping: t("tlf", "Stopped"),
    ReqSent: t("tlf", "Stopped"),
    AckRcvd: t("tlf", "Stopped"),
    AckSent: t("tlf", "Stopped"),
  },
  rcrGood: {
    Closed: t("sta", "Closed"),
    Stopped: t("irc,scr,sca", "AckSent"),
    Closing: t("", "Closing"),
    Stopping: t("", "Stopping"),
    ReqSent: t("sca", "AckSent"),
    AckRcvd: t("sca,tlu", "Opened"),
    AckSent: t("sca", "AckSent"),
    Opened: t("tld,scr,sca", "AckSent"),
  },
  rcrBad: {
    Closed: t("sta", "Closed"),
    Stopped: t("irc,scr,scn", "ReqSent"),
    Closing: t("", "Closing"),
    Stopping: t("", "Stopping"),
    ReqSent: t("scn", "ReqSent"),
    AckRcvd: t("scn", "AckRcvd"),
    AckSent: t("scn", "ReqSent"),
    Opened: t("tld,scr,scn", "ReqSent"),
  },
  rca: {
    Closed: t("sta", "Closed"),
    Stopped: t("sta", "Stopped"),
    Closing: t("", "Closing"),
    Stopping: t("", "Stopping"),
    ReqSent: t("irc", "AckRcvd"),
    AckRcvd: t("scr", "ReqSent"),
    AckSent: t("irc,tlu", "Opened"),
    Opened: t("tld,scr", "ReqSent"),
  },
  rcn: {
    Closed: t("sta", "Closed"),
    Stopped: t("sta", "Stopped"),
    Closing: t("", "Closing"),
    Stopping: t("", "Stopping"),
    ReqSent: t("irc,scr", "ReqSent"),
    AckRcvd: t("scr", "ReqSent"),
    AckSent: t("irc,scr", "AckSent"),
    Opened: t("tld,scr", "ReqSent"),
  },
  rtr: {
    Closed: t("sta", "Closed"),
    Stopped: t("sta", "Stopped"),
    Closing: t("sta", "Closing"),
    Stopping: t("sta", "Stopping"),
    ReqSent: t("sta", "ReqSent"),
    AckRcvd: t("sta", "ReqSent"),
    AckSent: t("sta", "ReqSent"),
    Opened: t("tld,zrc,sta", "Stopping"),
  },
  rta: {
    Closed: t("", "Closed"),
    Stopped: t("", "Stopped"),
    Closing: t("tlf", "Closed"),
    Stopping: t("tlf", "Stopped"),
    ReqSent: t("", "ReqSent"),
    AckRcvd: t("", "ReqSent"),
    AckSent: t("", "AckSent"),
    Opened: t("tld,scr", "ReqSent"),
  },
  ruc: {
    Closed: t("scj", "Closed"),
    Stopped: t("scj", "Stopped"),
    Closing: t("scj", "Closing"),
    Stopping: t("scj", "Stopping"),
    ReqSent: t("scj", "ReqSent"),
    AckRcvd: t("scj", "AckRcvd"),
    AckSent: t("scj", "AckSent"),
    Opened: t("scj", "Opened"),
  },
  rxjGood: {
    Closed: t("", "Closed"),
    Stopped: t("", "Stopped"),
    Closing: t("", "Closing"),
    Stopping: t("", "Stopping"),
    ReqSent: t("", "ReqSent"),
    AckRcvd: t("", "ReqSent"),
    AckSent: t("", "AckSent"),
    Opened: t("", "Opened"),
  },
  rxjBad: {
    Closed: t("tlf", "Closed"),
    Stopped: t("tlf", "Stopped"),
    Closing: t("tlf", "Closed"),
    Stopping: t("tlf", "Stopped"),
    ReqSent: t("tlf", "Stopped"),
    AckRcvd: t("tlf", "Stopped"),
    AckSent: t("tlf", "Stopped"),
    Opened: t("tld,irc,str", "Stopping"),
  },
  rxr: {
    Closed: t("", "Closed"),
    Stopped: t("", "Stopped"),
    Closing: t("", "Closing"),
    Stopping: t("", "Stopping"),
    ReqSent: t("", "ReqSent"),
    AckRcvd: t("", "AckRcvd"),
    AckSent: t("", "AckSent"),
    Opened: t("ser", "Opened"),
  },
};
