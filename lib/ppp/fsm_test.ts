/**
 * RFC 1661 4.1 table, one row per implemented cell: (state, event) →
 * (actions, next state). Rows were typed from the RFC table, not derived from
 * FSM_TRANSITIONS. Each row reaches its state through real inputs, fires the
 * event as a real packet or timeout, and checks the RFC actions (via `trace`),
 * the packets those actions put on the wire, and the next state.
 */
import assert from "node:assert/strict";
import { type FsmActionName, type FsmEvent, type FsmState, PppFsm } from "./fsm.ts";
import type { CpAction } from "./control_protocol.ts";
import { ACK, nak, type OptionHandler } from "./option_handler.ts";
import { buildCp, buildOptions } from "../../test/helpers/ppp_builders.ts";

type Row = [state: FsmState, event: FsmEvent, actions: string, next: FsmState];

// deno-fmt-ignore
const ROWS: Row[] = [
  // Up
  ["Initial", "up", "", "Closed"],
  ["Starting", "up", "irc,scr", "ReqSent"],
  // Down
  ["Closed", "down", "", "Initial"],
  ["Stopped", "down", "tls", "Starting"],
  ["Closing", "down", "", "Initial"],
  ["Stopping", "down", "", "Starting"],
  ["ReqSent", "down", "", "Starting"],
  ["AckRcvd", "down", "", "Starting"],
  ["AckSent", "down", "", "Starting"],
  ["Opened", "down", "tld", "Starting"],
  // Open
  ["Initial", "open", "tls", "Starting"],
  ["Starting", "open", "", "Starting"],
  ["Closed", "open", "irc,scr", "ReqSent"],
  ["Stopped", "open", "", "Stopped"],
  ["Closing", "open", "", "Stopping"],
  ["Stopping", "open", "", "Stopping"],
  ["ReqSent", "open", "", "ReqSent"],
  ["AckRcvd", "open", "", "AckRcvd"],
  ["AckSent", "open", "", "AckSent"],
  ["Opened", "open", "", "Opened"],
  // Close
  ["Initial", "close", "", "Initial"],
  ["Starting", "close", "tlf", "Initial"],
  ["Closed", "close", "", "Closed"],
  ["Stopped", "close", "", "Closed"],
  ["Closing", "close", "", "Closing"],
  ["Stopping", "close", "", "Closing"],
  ["ReqSent", "close", "irc,str", "Closing"],
  ["AckRcvd", "close", "irc,str", "Closing"],
  ["AckSent", "close", "irc,str", "Closing"],
  ["Opened", "close", "tld,irc,str", "Closing"],
  // TO+
  ["Closing", "timeoutRetry", "str", "Closing"],
  ["Stopping", "timeoutRetry", "str", "Stopping"],
  ["ReqSent", "timeoutRetry", "scr", "ReqSent"],
  ["AckRcvd", "timeoutRetry", "scr", "ReqSent"],
  ["AckSent", "timeoutRetry", "scr", "AckSent"],
  // TO-
  ["Closing", "timeoutGiveUp", "tlf", "Closed"],
  ["Stopping", "timeoutGiveUp", "tlf", "Stopped"],
  ["ReqSent", "timeoutGiveUp", "tlf", "Stopped"],
  ["AckRcvd", "timeoutGiveUp", "tlf", "Stopped"],
  ["AckSent", "timeoutGiveUp", "tlf", "Stopped"],
  // RCR+
  ["Closed", "rcrGood", "sta", "Closed"],
  ["Stopped", "rcrGood", "irc,scr,sca", "AckSent"],
  ["Closing", "rcrGood", "", "Closing"],
  ["Stopping", "rcrGood", "", "Stopping"],
  ["ReqSent", "rcrGood", "sca", "AckSent"],
  ["AckRcvd", "rcrGood", "sca,tlu", "Opened"],
  ["AckSent", "rcrGood", "sca", "AckSent"],
  ["Opened", "rcrGood", "tld,scr,sca", "AckSent"],
  // RCR-
  ["Closed", "rcrBad", "sta", "Closed"],
  ["Stopped", "rcrBad", "irc,scr,scn", "ReqSent"],
  ["Closing", "rcrBad", "", "Closing"],
  ["Stopping", "rcrBad", "", "Stopping"],
  ["ReqSent", "rcrBad", "scn", "ReqSent"],
  ["AckRcvd", "rcrBad", "scn", "AckRcvd"],
  ["AckSent", "rcrBad", "scn", "ReqSent"],
  ["Opened", "rcrBad", "tld,scr,scn", "ReqSent"],
  // RCA
  ["Closed", "rca", "sta", "Closed"],
  ["Stopped", "rca", "sta", "Stopped"],
  ["Closing", "rca", "", "Closing"],
  ["Stopping", "rca", "", "Stopping"],
  ["ReqSent", "rca", "irc", "AckRcvd"],
  ["AckRcvd", "rca", "scr", "ReqSent"],
  ["AckSent", "rca", "irc,tlu", "Opened"],
  ["Opened", "rca", "tld,scr", "ReqSent"],
  // RCN
  ["Closed", "rcn", "sta", "Closed"],
  ["Stopped", "rcn", "sta", "Stopped"],
  ["Closing", "rcn", "", "Closing"],
  ["Stopping", "rcn", "", "Stopping"],
  ["ReqSent", "rcn", "irc,scr", "ReqSent"],
  ["AckRcvd", "rcn", "scr", "ReqSent"],
  ["AckSent", "rcn", "irc,scr", "AckSent"],
  ["Opened", "rcn", "tld,scr", "ReqSent"],
  // RTR
  ["Closed", "rtr", "sta", "Closed"],
  ["Stopped", "rtr", "sta", "Stopped"],
  ["Closing", "rtr", "sta", "Closing"],
  ["Stopping", "rtr", "sta", "Stopping"],
  ["ReqSent", "rtr", "sta", "ReqSent"],
  ["AckRcvd", "rtr", "sta", "ReqSent"],
  ["AckSent", "rtr", "sta", "ReqSent"],
  ["Opened", "rtr", "tld,zrc,sta", "Stopping"],
  // RTA
  ["Closed", "rta", "", "Closed"],
  ["Stopped", "rta", "", "Stopped"],
  ["Closing", "rta", "tlf", "Closed"],
  ["Stopping", "rta", "tlf", "Stopped"],
  ["ReqSent", "rta", "", "ReqSent"],
  ["AckRcvd", "rta", "", "ReqSent"],
  ["AckSent", "rta", "", "AckSent"],
  ["Opened", "rta", "tld,scr", "ReqSent"],
  // RUC
  ["Closed", "ruc", "scj", "Closed"],
  ["Stopped", "ruc", "scj", "Stopped"],
  ["Closing", "ruc", "scj", "Closing"],
  ["Stopping", "ruc", "scj", "Stopping"],
  ["ReqSent", "ruc", "scj", "ReqSent"],
  ["AckRcvd", "ruc", "scj", "AckRcvd"],
  ["AckSent", "ruc", "scj", "AckSent"],
  ["Opened", "ruc", "scj", "Opened"],
  // RXJ+
  ["Closed", "rxjGood", "", "Closed"],
  ["Stopped", "rxjGood", "", "Stopped"],
  ["Closing", "rxjGood", "", "Closing"],
  ["Stopping", "rxjGood", "", "Stopping"],
  ["ReqSent", "rxjGood", "", "ReqSent"],
  ["AckRcvd", "rxjGood", "", "ReqSent"],
  ["AckSent", "rxjGood", "", "AckSent"],
  ["Opened", "rxjGood", "", "Opened"],
  // RXJ-
  ["Closed", "rxjBad", "tlf", "Closed"],
  ["Stopped", "rxjBad", "tlf", "Stopped"],
  ["Closing", "rxjBad", "tlf", "Closed"],
  ["Stopping", "rxjBad", "tlf", "Stopped"],
  ["ReqSent", "rxjBad", "tlf", "Stopped"],
  ["AckRcvd", "rxjBad", "tlf", "Stopped"],
  ["AckSent", "rxjBad", "tlf", "Stopped"],
  ["Opened", "rxjBad", "tld,irc,str", "Stopping"],
  // RXR
  ["Closed", "rxr", "", "Closed"],
  ["Stopped", "rxr", "", "Stopped"],
  ["Closing", "rxr", "", "Closing"],
  ["Stopping", "rxr", "", "Stopping"],
  ["ReqSent", "rxr", "", "ReqSent"],
  ["AckRcvd", "rxr", "", "AckRcvd"],
  ["AckSent", "rxr", "", "AckSent"],
  ["Opened", "rxr", "ser", "Opened"],
];

const ABBR: Record<FsmActionName, string> = {
  thisLayerUp: "tlu",
  thisLayerDown: "tld",
  thisLayerStarted: "tls",
  thisLayerFinished: "tlf",
  initializeRestartCount: "irc",
  zeroRestartCount: "zrc",
  sendConfigureRequest: "scr",
  sendConfigureAck: "sca",
  sendConfigureNak: "scn",
  sendTerminateRequest: "str",
  sendTerminateAck: "sta",
  sendCodeReject: "scj",
  sendEchoReply: "ser",
};

/** Wire code each sending action puts on the wire (scn answers our bad request with a Reject). */
const SEND_CODE: Record<string, number> = {
  scr: 1,
  sca: 2,
  scn: 4,
  str: 5,
  sta: 6,
  scj: 7,
  ser: 10,
};

/** A generic FSM under test: handlers [] so our ConfReq carries no options. */
class Harness {
  readonly trace: string[] = [];
  readonly fsm: PppFsm;
  lastRequestId = -1;
  constructor(maxConfigure = 10, maxTerminate = 2) {
    this.fsm = new PppFsm({
      protocol: 0x8021,
      name: "TEST",
      layer: "ppp",
      handlers: [],
      maxConfigure,
      maxTerminate,
      trace: (a) => this.trace.push(ABBR[a]),
    });
  }
  #note(actions: CpAction[]): CpAction[] {
    for (const a of actions) {
      if (a.type === "send" && a.packet[0] === 1) this.lastRequestId = a.packet[1] as number;
    }
    return actions;
  }
  fire(event: FsmEvent): CpAction[] {
    const f = this.fsm;
    const id = this.lastRequestId & 0xff;
    const out = (() => {
      switch (event) {
        case "up":
          return f.up();
        case "down":
          return f.down();
        case "open":
          return f.open();
        case "close":
          return f.close("test");
        case "timeoutRetry":
        case "timeoutGiveUp":
          return f.timeout();
        case "rcrGood":
          return f.receive(buildCp(1, 0x77));
        case "rcrBad":
          return f.receive(buildCp(1, 0x77, buildOptions([0x42, 1])));
        case "rca":
          return f.receive(buildCp(2, id));
        case "rcn":
          return f.receive(buildCp(3, id));
        case "rtr":
          return f.receive(buildCp(5, 0x55));
        case "rta":
          return f.receive(buildCp(6, 0x56));
        case "ruc":
          return f.receive(buildCp(0x42, 0x57, [1, 2]));
        case "rxjGood":
          return f.receive(buildCp(7, 0x58, [...buildCp(12, 1)]));
        case "rxjBad":
          return f.receive(buildCp(7, 0x58, [...buildCp(1, 1)]));
        case "rxr":
          return f.dispatch("rxr", {
            echoReply: { code: 10, identifier: 9, data: new Uint8Array(4) },
          });
      }
    })();
    return this.#note(out);
  }
  run(...events: FsmEvent[]): void {
    for (const e of events) this.fire(e);
  }
}

/** Real input sequences reaching each state (see the RFC 1661 4.2 descriptions). */
const PATHS: Record<FsmState, FsmEvent[]> = {
  Initial: [],
  Starting: ["open"],
  Closed: ["up"],
  Stopped: ["up", "open", "rxjBad"],
  Closing: ["up", "open", "close"],
  Stopping: ["up", "open", "close", "open"],
  ReqSent: ["up", "open"],
  AckRcvd: ["up", "open", "rca"],
  AckSent: ["up", "open", "rcrGood"],
  Opened: ["up", "open", "rca", "rcrGood"],
};

/**
 * Cells no valid input can reach, run through `dispatch`: after our request
 * is acknowledged a second Ack/Nak/Reject for it is a duplicate and is
 * discarded (as pppd does), so RCA/RCN in Ack-Rcvd and Opened (the RFC's
 * crossed-connection "x" cells) only follow a new request; and RCA
 * re-initialises the counter, so TO- cannot happen in Ack-Rcvd.
 */
const DIRECT = new Set([
  "AckRcvd rca",
  "AckRcvd rcn",
  "Opened rca",
  "Opened rcn",
  "AckRcvd timeoutGiveUp",
]);

for (const [state, event, actions, next] of ROWS) {
  Deno.test(`PppFsm moves ${state} → ${next} on ${event} with [${actions}]`, () => {
    // TO- needs an exhausted counter: Max-Configure 1 / Max-Terminate 1, and
    // Stopping entered through RTR (zrc) rather than Closing + Open.
    const giveUp = event === "timeoutGiveUp";
    const h = new Harness(giveUp ? 1 : 10, giveUp ? 1 : 2);
    const path = giveUp && state === "Stopping" ? [...PATHS.Opened, "rtr" as const] : PATHS[state];
    h.run(...path);
    assert.equal(h.fsm.state, state, `setup reached ${h.fsm.state}`);
    h.trace.length = 0;
    const out = DIRECT.has(`${state} ${event}`) ? h.fsm.dispatch(event) : h.fire(event);
    assert.deepEqual(h.trace, actions === "" ? [] : actions.split(","));
    assert.equal(h.fsm.state, next);
    const sentCodes = out.flatMap((a) => a.type === "send" ? [a.packet[0]] : []);
    const expectedCodes = h.trace.flatMap((a) => SEND_CODE[a] === undefined ? [] : [SEND_CODE[a]]);
    assert.deepEqual(sentCodes, expectedCodes);
    for (const layer of ["tlu", "tld", "tls", "tlf"] as const) {
      const name = {
        tlu: "thisLayerUp",
        tld: "thisLayerDown",
        tls: "thisLayerStarted",
        tlf: "thisLayerFinished",
      }[layer];
      assert.equal(
        out.filter((a) => a.type === name).length,
        h.trace.filter((a) => a === layer).length,
      );
    }
  });
}

Deno.test("PppFsm discards a duplicate Configure-Ack in AckRcvd", () => {
  const h = new Harness();
  h.run(...PATHS.AckRcvd);
  assert.deepEqual(h.fire("rca"), []);
  assert.equal(h.fsm.state, "AckRcvd");
});

Deno.test("PppFsm ignores the cells RFC 1661 marks '-'", () => {
  const h = new Harness();
  assert.deepEqual(h.fire("rcrGood"), []);
  assert.deepEqual(h.fire("timeoutRetry"), []);
  h.run(...PATHS.Opened);
  h.trace.length = 0;
  assert.deepEqual(h.fire("up"), []);
  assert.equal(h.fsm.state, "Opened");
});

Deno.test("PppFsm sends Max-Configure Configure-Requests then finishes with RETRY_EXHAUSTED", () => {
  const h = new Harness(10);
  h.run("up", "open");
  let out: CpAction[] = [];
  for (let i = 0; i < 9; i++) out = h.fire("timeoutRetry");
  assert.equal(h.trace.filter((a) => a === "scr").length, 10);
  assert.equal(h.fsm.state, "ReqSent");
  out = h.fire("timeoutGiveUp");
  assert.equal(h.fsm.state, "Stopped");
  const tlf = out.find((a) => a.type === "thisLayerFinished");
  assert.equal(tlf?.type === "thisLayerFinished" ? tlf.error?.code : undefined, "RETRY_EXHAUSTED");
  assert.ok(!out.some((a) => a.type === "startTimer"));
  assert.deepEqual(h.fire("timeoutRetry"), [], "no timer runs in Stopped");
});

Deno.test("PppFsm sends Max-Terminate Terminate-Requests then finishes", () => {
  const h = new Harness(10, 2);
  h.run(...PATHS.Opened, "close", "timeoutRetry");
  assert.equal(h.trace.filter((a) => a === "str").length, 2);
  const out = h.fire("timeoutGiveUp");
  assert.equal(h.fsm.state, "Closed");
  assert.deepEqual(out.filter((a) => a.type === "thisLayerFinished"), [{
    type: "thisLayerFinished",
  }]);
});

Deno.test("PppFsm keeps the Identifier on retransmission and echoes it in replies", () => {
  const h = new Harness();
  h.run("up", "open");
  const req1 = h.lastRequestId;
  h.fire("timeoutRetry");
  assert.equal(h.lastRequestId, req1, "a retransmission may keep its Identifier");
  const ack = h.fsm.receive(buildCp(1, 0x99)).find((a) => a.type === "send");
  assert.deepEqual(ack?.type === "send" ? [...ack.packet] : [], [...buildCp(2, 0x99)]);
  // After a valid reply the next request needs a new Identifier (RFC 1661 5.1).
  h.run("rcn");
  assert.notEqual(h.lastRequestId, req1);
});

Deno.test("PppFsm discards Configure-Ack with a wrong Identifier or other contents", () => {
  const handler: OptionHandler = {
    type: 1,
    request: () => new Uint8Array([0x05, 0xdc]),
    onAck() {},
    onNak: () => undefined,
    onReject: () => undefined,
    onRequest: () => ACK,
    onAckSent() {},
    reset() {},
    describe: () => "x",
  };
  const fsm = new PppFsm({ protocol: 0x8021, name: "T", layer: "ppp", handlers: [handler] });
  fsm.open();
  const req = fsm.up().find((a) => a.type === "send");
  assert.ok(req?.type === "send");
  const id = req.packet[1] as number;
  assert.deepEqual(fsm.receive(buildCp(2, (id + 1) & 0xff, buildOptions([1, 0x05, 0xdc]))), []);
  assert.deepEqual(fsm.receive(buildCp(2, id, buildOptions([1, 0x05, 0xdd]))), []);
  assert.deepEqual(
    fsm.receive(buildCp(4, id, buildOptions([2, 0x05, 0xdd]))),
    [],
    "Reject of an option we did not send",
  );
  assert.equal(fsm.state, "ReqSent");
  fsm.receive(buildCp(2, id, buildOptions([1, 0x05, 0xdc])));
  assert.equal(fsm.state, "AckRcvd");
  assert.deepEqual(fsm.receive(buildCp(2, id, buildOptions([1, 0x05, 0xdc]))), [], "duplicate Ack");
  assert.equal(fsm.state, "AckRcvd");
});

Deno.test("PppFsm turns Naks into Rejects after Max-Failure", () => {
  const nakAll: OptionHandler = {
    type: 1,
    request: () => undefined,
    onAck() {},
    onNak: () => undefined,
    onReject: () => undefined,
    onRequest: () => nak(new Uint8Array([0x05, 0xdc])),
    onAckSent() {},
    reset() {},
    describe: () => "x",
  };
  const fsm = new PppFsm({
    protocol: 0x8021,
    name: "T",
    layer: "ppp",
    handlers: [nakAll],
    maxFailure: 2,
  });
  fsm.open();
  fsm.up();
  const replyCode = (id: number) => {
    const a = fsm.receive(buildCp(1, id, buildOptions([1, 0x00, 0x10]))).find((x) =>
      x.type === "send"
    );
    return a?.type === "send" ? [...a.packet] : [];
  };
  assert.deepEqual(replyCode(1), [...buildCp(3, 1, buildOptions([1, 0x05, 0xdc]))]);
  assert.deepEqual(replyCode(2), [...buildCp(3, 2, buildOptions([1, 0x05, 0xdc]))]);
  // Max-Failure reached: the Nak'd option is rejected as the peer sent it.
  assert.deepEqual(replyCode(3), [...buildCp(4, 3, buildOptions([1, 0x00, 0x10]))]);
});

Deno.test("PppFsm rejects unknown options in the peer's order, rejects before naks", () => {
  const nakMru: OptionHandler = {
    type: 1,
    request: () => undefined,
    onAck() {},
    onNak: () => undefined,
    onReject: () => undefined,
    onRequest: (d) => d[0] === 0 ? nak(new Uint8Array([0x05, 0xdc])) : ACK,
    onAckSent() {},
    reset() {},
    describe: () => "x",
  };
  const fsm = new PppFsm({ protocol: 0x8021, name: "T", layer: "ppp", handlers: [nakMru] });
  fsm.open();
  fsm.up();
  const req = buildCp(
    1,
    7,
    buildOptions([0x13, 1, 2], [1, 0, 0x10], [0x11, 0x06, 0x4e], [2, 0, 0, 0, 0]),
  );
  const a = fsm.receive(req).find((x) => x.type === "send");
  assert.deepEqual(
    a?.type === "send" ? [...a.packet] : [],
    [...buildCp(4, 7, buildOptions([0x13, 1, 2], [0x11, 0x06, 0x4e], [2, 0, 0, 0, 0]))],
  );
});

Deno.test("PppFsm reports a peer Terminate-Request in Opened as PEER_TERMINATED", () => {
  const h = new Harness();
  h.run(...PATHS.Opened);
  const out = [
    ...h.fsm.receive(buildCp(5, 3, [...new TextEncoder().encode("bye")])),
    ...h.fsm.timeout(),
  ];
  const tlf = out.find((a) => a.type === "thisLayerFinished");
  assert.ok(tlf?.type === "thisLayerFinished");
  assert.equal(tlf.error?.code, "PEER_TERMINATED");
  assert.match(tlf.error?.message ?? "", /"bye"/);
  assert.equal(h.fsm.state, "Stopped");
});
