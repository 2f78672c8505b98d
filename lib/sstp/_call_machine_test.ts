/**
 * What the client and server SSTP machines share (MS-SSTP 3.1, 3.2.5.3,
 * 3.3.5.2): teardown, Echo and unknown messages, run as one table over both
 * roles. Role-specific call establishment stays in client_state_test.ts and
 * server_state_test.ts.
 */
import assert from "node:assert/strict";
import { PeerAbortError, PeerDisconnectError } from "../errors.ts";
import { patternBytes } from "../../test/helpers/sstp_builders.ts";
import { SstpClientStateMachine } from "./client_state.ts";
import { SstpServerStateMachine } from "./server_state.ts";
import { buildCallConnected, certHashes } from "./crypto_binding.ts";
import type { SstpAction } from "./actions.ts";
import type { SstpControlMessage } from "./control_message.ts";
import { ABORT, M, show } from "./_state_test_util.ts";

const HASHES = certHashes(new TextEncoder().encode("certificate DER"));
const NONCE = patternBytes(32, 0x50);
const HLAK = patternBytes(32, 0x90);

/** States named the same in both roles, or by their role-neutral meaning. */
type Where =
  | "disconnected"
  | "negotiating" // Client_Connect_Request_Sent / Server_Connect_Request_Pending
  | "authenticating" // Client_Connect_Ack_Received / Server_Call_Connected_Pending
  | "connected" // Client_Call_Connected / Server_Call_Connected
  | "Call_Abort_Pending"
  | "Call_Abort_Timeout_Pending"
  | "Call_Disconnect_Ack_Pending"
  | "Call_Disconnect_Timeout_Pending";

/** The surface of a call machine this table drives. */
interface Machine {
  readonly state: string;
  receive(message: SstpControlMessage, nowMs: number): SstpAction[];
  timer(timer: "negotiation" | "hello" | "abort" | "disconnect", nowMs: number): SstpAction[];
  lowerLayerDown(nowMs: number): SstpAction[];
}

interface Role {
  name: string;
  stateName: Record<Where, string>;
  /** A fresh machine driven into `where` along the spec's transitions (connected at t=20). */
  machineIn(where: Where): Machine;
}

const CLIENT: Role = {
  name: "client",
  stateName: {
    disconnected: "Client_Call_Disconnected",
    negotiating: "Client_Connect_Request_Sent",
    authenticating: "Client_Connect_Ack_Received",
    connected: "Client_Call_Connected",
    Call_Abort_Pending: "Call_Abort_Pending",
    Call_Abort_Timeout_Pending: "Call_Abort_Timeout_Pending",
    Call_Disconnect_Ack_Pending: "Call_Disconnect_Ack_Pending",
    Call_Disconnect_Timeout_Pending: "Call_Disconnect_Timeout_Pending",
  },
  machineIn(where) {
    const c = new SstpClientStateMachine({ certHashes: HASHES, helloMs: 60_000 });
    if (where === "disconnected") return c;
    c.start(0);
    if (where === "negotiating") return c;
    if (where === "Call_Abort_Pending") return c.abort(new Error("local"), 1), c;
    if (where === "Call_Disconnect_Ack_Pending") return c.disconnect(1), c;
    c.receive(M.ack(3, NONCE), 10);
    if (where === "authenticating") return c;
    c.authenticated(HLAK, 20);
    return teardown(c, where);
  },
};

const SERVER: Role = {
  name: "server",
  stateName: {
    disconnected: "Server_Call_Disconnected",
    negotiating: "Server_Connect_Request_Pending",
    authenticating: "Server_Call_Connected_Pending",
    connected: "Server_Call_Connected",
    Call_Abort_Pending: "Call_Abort_Pending",
    Call_Abort_Timeout_Pending: "Call_Abort_Timeout_Pending",
    Call_Disconnect_Ack_Pending: "Call_Disconnect_Ack_Pending",
    Call_Disconnect_Timeout_Pending: "Call_Disconnect_Timeout_Pending",
  },
  machineIn(where) {
    const s = new SstpServerStateMachine({
      certHashes: HASHES,
      randomBytes: (n) => patternBytes(n, 0x50),
      helloMs: 60_000,
    });
    if (where === "disconnected") return s;
    s.start(0);
    if (where === "negotiating") return s;
    if (where === "Call_Abort_Pending") return s.abort(new Error("local"), 1), s;
    if (where === "Call_Disconnect_Ack_Pending") return s.disconnect(1), s;
    s.receive(M.request(), 10);
    if (where === "authenticating") return s;
    s.authenticated(HLAK, 15);
    s.receive(
      buildCallConnected({ hashProtocol: 2, nonce: NONCE, certHash: HASHES.sha256, hlak: HLAK }),
      20,
    );
    return teardown(s, where);
  },
};

/** From a connected machine to the state the peer's teardown leads to. */
function teardown(m: Machine, where: Where): Machine {
  if (where === "connected") return m;
  if (where === "Call_Abort_Timeout_Pending") return m.receive(M.abort(), 30), m;
  if (where === "Call_Disconnect_Timeout_Pending") return m.receive(M.disconnect(), 30), m;
  throw new Error(`no path to ${where}`);
}

type Row = [Where, string, () => SstpControlMessage, string[], Where];

const EVERY_STATE: Where[] = [
  "negotiating",
  "authenticating",
  "connected",
  "Call_Abort_Pending",
  "Call_Abort_Timeout_Pending",
  "Call_Disconnect_Ack_Pending",
  "Call_Disconnect_Timeout_Pending",
];

/** (state, received message) → (actions, next state), the same for both roles. */
const ROWS: Row[] = [
  // 3.2.5.3.4 / 3.3.5.2.4 Receiving an SSTP_MSG_CALL_ABORT Message
  ["Call_Abort_Pending", "Abort", M.abort, [
    "stop abort",
    "start abort 1000",
  ], "Call_Abort_Timeout_Pending"],
  ["Call_Abort_Timeout_Pending", "Abort", M.abort, [], "Call_Abort_Timeout_Pending"],
  ["Call_Disconnect_Timeout_Pending", "Abort", M.abort, [], "Call_Disconnect_Timeout_Pending"],
  ["negotiating", "Abort", M.abort, [
    "stop negotiation",
    ABORT.reply,
    "start abort 1000",
  ], "Call_Abort_Timeout_Pending"],
  ["connected", "Abort", M.abort, [
    "stop hello",
    ABORT.reply,
    "start abort 1000",
  ], "Call_Abort_Timeout_Pending"],
  ["Call_Disconnect_Ack_Pending", "Abort", M.abort, [
    "stop disconnect",
    ABORT.reply,
    "start abort 1000",
  ], "Call_Abort_Timeout_Pending"],
  // 3.2.5.3.5 / 3.3.5.2.5 Receiving an SSTP_MSG_CALL_DISCONNECT Message
  ["Call_Abort_Pending", "Disconnect", M.disconnect, [], "Call_Abort_Pending"],
  ["Call_Abort_Timeout_Pending", "Disconnect", M.disconnect, [], "Call_Abort_Timeout_Pending"],
  [
    "Call_Disconnect_Timeout_Pending",
    "Disconnect",
    M.disconnect,
    [],
    "Call_Disconnect_Timeout_Pending",
  ],
  ["Call_Disconnect_Ack_Pending", "Disconnect", M.disconnect, [
    "stop disconnect",
    "send CallDisconnectAck",
    "start disconnect 1000",
  ], "Call_Disconnect_Timeout_Pending"],
  ["authenticating", "Disconnect", M.disconnect, [
    "stop negotiation",
    "send CallDisconnectAck",
    "start disconnect 1000",
  ], "Call_Disconnect_Timeout_Pending"],
  ["connected", "Disconnect", M.disconnect, [
    "stop hello",
    "send CallDisconnectAck",
    "start disconnect 1000",
  ], "Call_Disconnect_Timeout_Pending"],
  // 3.2.5.3.6 / 3.3.5.2.6 Receiving an SSTP_MSG_CALL_DISCONNECT_ACK Message
  ["Call_Disconnect_Ack_Pending", "Disconnect Ack", M.disconnectAck, [
    "stop disconnect",
    "closed",
  ], "disconnected"],
  ["Call_Abort_Pending", "Disconnect Ack", M.disconnectAck, [], "Call_Abort_Pending"],
  [
    "Call_Abort_Timeout_Pending",
    "Disconnect Ack",
    M.disconnectAck,
    [],
    "Call_Abort_Timeout_Pending",
  ],
  [
    "Call_Disconnect_Timeout_Pending",
    "Disconnect Ack",
    M.disconnectAck,
    [],
    "Call_Disconnect_Timeout_Pending",
  ],
  ["authenticating", "Disconnect Ack", M.disconnectAck, [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["connected", "Disconnect Ack", M.disconnectAck, [
    "stop hello",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  // 3.2.5.3.7 / 3.3.5.2.7 Echo Request: answered in every state once the call
  // exists, because peers send it during negotiation and teardown too
  // (docs/interop.md#timers-and-echo). "negotiating" differs by role (below).
  ...EVERY_STATE.filter((w) => w !== "negotiating").map((
    w,
  ): Row => [w, "Echo Request", M.echoRequest, ["send EchoResponse"], w]),
  // 3.2.5.3.8 / 3.3.5.2.8 Echo Response: only restarts the Hello timer (noteReceive)
  ["connected", "Echo Response", M.echoResponse, [], "connected"],
  ["negotiating", "Echo Response", M.echoResponse, [], "negotiating"],
  // A message type MS-SSTP does not define
  ["connected", "unknown type 0x0a", M.unknown, [
    "stop hello",
    ABORT.invalid,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Call_Abort_Pending", "unknown type 0x0a", M.unknown, [], "Call_Abort_Pending"],
];

for (const role of [CLIENT, SERVER]) {
  for (const [where, input, message, actions, next] of ROWS) {
    Deno.test(`SSTP ${role.name} ${role.stateName[where]} + ${input} → ${role.stateName[next]}`, () => {
      const m = role.machineIn(where);
      assert.equal(m.state, role.stateName[where]);
      assert.deepEqual(show(m.receive(message(), 40)), actions);
      assert.equal(m.state, role.stateName[next]);
    });
  }

  Deno.test(`SSTP ${role.name} ${role.stateName.negotiating} + Echo Request: answered only once the call was requested`, () => {
    const m = role.machineIn("negotiating");
    // The client has sent its Call Connect Request; the server has not received
    // one yet, and an Echo Request before it is not answered (a connection that
    // never asks for a call must not make the server write).
    const expected = role === CLIENT ? ["send EchoResponse"] : [];
    assert.deepEqual(show(m.receive(M.echoRequest(), 40)), expected);
    assert.equal(m.state, role.stateName.negotiating);
  });

  Deno.test(`SSTP ${role.name} aborts on negotiation timer expiry, then closes on abort timer 1`, () => {
    for (const where of ["negotiating", "authenticating"] as const) {
      const m = role.machineIn(where);
      assert.deepEqual(show(m.timer("negotiation", 60_010)), [ABORT.timeout, "start abort 3000"]);
      assert.equal(m.state, "Call_Abort_Pending");
      assert.deepEqual(show(m.timer("abort", 63_010)), ["closed ProtocolError:TIMEOUT"]);
      assert.deepEqual(m.receive(M.echoRequest(), 63_011), [], "nothing after closing");
    }
  });

  Deno.test(`SSTP ${role.name} closes with PeerAbortError after abort timer 2`, () => {
    const m = role.machineIn("connected");
    m.receive(M.abort(8), 100);
    const actions = m.timer("abort", 1100);
    assert.deepEqual(show(actions), ["closed PeerAbortError"]);
    const closed = actions[0];
    assert.ok(closed?.type === "closed" && closed.error instanceof PeerAbortError);
    assert.equal(closed.error.status, 8);
  });

  Deno.test(`SSTP ${role.name} closes with PeerDisconnectError after answering Call Disconnect`, () => {
    const m = role.machineIn("Call_Disconnect_Timeout_Pending");
    const actions = m.timer("disconnect", 1030);
    assert.deepEqual(show(actions), ["closed PeerDisconnectError"]);
    assert.ok(actions[0]?.type === "closed" && actions[0].error instanceof PeerDisconnectError);
  });

  Deno.test(`SSTP ${role.name} Hello timer sends Echo Request and closes when nothing answers`, () => {
    const m = role.machineIn("connected"); // connected at t=20, hello armed for 60 s
    assert.deepEqual(show(m.timer("hello", 60_020)), ["send EchoRequest", "start hello 60000"]);
    assert.deepEqual(show(m.timer("hello", 120_020)), ["closed ProtocolError:TIMEOUT"]);
    assert.equal(m.state, role.stateName.disconnected);
  });

  Deno.test(`SSTP ${role.name} ignores timers that are not running`, () => {
    const m = role.machineIn("connected");
    assert.deepEqual(m.timer("negotiation", 60_000), []);
    assert.deepEqual(m.timer("abort", 60_000), []);
    assert.equal(m.state, role.stateName.connected);
  });

  Deno.test(`SSTP ${role.name} lowerLayerDown() closes without sending`, () => {
    assert.deepEqual(show(role.machineIn("connected").lowerLayerDown(0)), [
      "stop hello",
      "closed ProtocolError:PEER_TERMINATED",
    ]);
    assert.deepEqual(show(role.machineIn("Call_Abort_Timeout_Pending").lowerLayerDown(0)), [
      "stop abort",
      "closed PeerAbortError",
    ]);
    assert.deepEqual(show(role.machineIn("Call_Disconnect_Ack_Pending").lowerLayerDown(0)), [
      "stop disconnect",
      "closed",
    ]);
  });
}
