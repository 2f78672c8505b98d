import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { patternBytes } from "../../test/helpers/sstp_builders.ts";
import { type SstpClientState, SstpClientStateMachine } from "./client_state.ts";
import { certHashes, verifyCallConnected } from "./crypto_binding.ts";
import type { SstpControlMessage } from "./control_message.ts";
import { ABORT, M, show } from "./_state_test_util.ts";

const HASHES = certHashes(new TextEncoder().encode("test certificate DER"));
const NONCE = patternBytes(32, 0xa0);
const HLAK = patternBytes(32, 0x10);

function client(helloMs: number | null = 60_000): SstpClientStateMachine {
  return new SstpClientStateMachine({ certHashes: HASHES, helloMs });
}

/** Drives a fresh client into `state` along the spec's own transitions. */
function clientIn(state: SstpClientState, helloMs: number | null = 60_000): SstpClientStateMachine {
  const c = client(helloMs);
  if (state === "Client_Call_Disconnected") return c;
  c.start(0);
  if (state === "Client_Connect_Request_Sent") return c;
  if (state === "Call_Abort_Pending") return c.abort(new Error("local"), 1), c;
  if (state === "Call_Disconnect_Ack_Pending") return c.disconnect(1), c;
  c.receive(M.ack(3, NONCE), 10);
  if (state === "Client_Connect_Ack_Received") return c;
  c.authenticated(HLAK, 20);
  if (state === "Client_Call_Connected") return c;
  if (state === "Call_Abort_Timeout_Pending") return c.receive(M.abort(), 30), c;
  if (state === "Call_Disconnect_Timeout_Pending") return c.receive(M.disconnect(), 30), c;
  throw new Error(`no path to ${state}`);
}

type Row = [SstpClientState, string, () => SstpControlMessage, string[], SstpClientState];

/** (state, received message) → (actions, next state), one row per MS-SSTP 3.2.5.3.x rule branch. */
const ROWS: Row[] = [
  // 3.2.5.3.2 Receiving an SSTP_MSG_CALL_CONNECT_ACK Message
  ["Client_Connect_Request_Sent", "Ack sha1|sha256", () => M.ack(3, NONCE), [
    "pppStart",
    "start negotiation 60000",
  ], "Client_Connect_Ack_Received"],
  ["Client_Connect_Request_Sent", "Ack sha1", () => M.ack(1, NONCE), [
    "pppStart",
    "start negotiation 60000",
  ], "Client_Connect_Ack_Received"],
  ["Client_Connect_Request_Sent", "Ack without hash", () => M.ack(0, NONCE), [
    "stop negotiation",
    "send CallAbort <status attrib=CRYPTO_BINDING_REQ status=VALUE_NOT_SUPPORTED>",
    "start abort 3000",
  ], "Call_Abort_Pending"],
  [
    "Client_Connect_Request_Sent",
    "Ack without attribute",
    () => ({ messageType: 2, attributes: [] }),
    [
      "stop negotiation",
      "send CallAbort <status attrib=CRYPTO_BINDING_REQ status=REQUIRED_ATTRIBUTE_MISSING>",
      "start abort 3000",
    ],
    "Call_Abort_Pending",
  ],
  ["Client_Connect_Ack_Received", "Ack", () => M.ack(3, NONCE), [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Client_Call_Connected", "Ack", () => M.ack(3, NONCE), [
    "stop hello",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Call_Abort_Pending", "Ack", () => M.ack(3, NONCE), [], "Call_Abort_Pending"],
  ["Call_Disconnect_Ack_Pending", "Ack", () => M.ack(3, NONCE), [], "Call_Disconnect_Ack_Pending"],
  // 3.2.5.3.3 Receiving an SSTP_MSG_CALL_CONNECT_NAK Message
  ["Client_Connect_Request_Sent", "Nak", M.nak, [
    "send CallConnectRequest <encap-proto ppp>",
    "start negotiation 60000",
  ], "Client_Connect_Request_Sent"],
  ["Client_Connect_Ack_Received", "Nak", M.nak, [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Call_Abort_Timeout_Pending", "Nak", M.nak, [], "Call_Abort_Timeout_Pending"],
  // Server-bound messages
  ["Client_Connect_Request_Sent", "Call Connect Request", () => M.request(), [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
];

for (const [state, input, message, actions, next] of ROWS) {
  Deno.test(`SstpClientStateMachine ${state} + ${input} → ${next}`, () => {
    const c = clientIn(state);
    assert.equal(c.state, state);
    assert.deepEqual(show(c.receive(message(), 40)), actions);
    assert.equal(c.state, next);
  });
}

Deno.test("SstpClientStateMachine start() sends Call Connect Request and starts the negotiation timer", () => {
  const c = client();
  assert.deepEqual(show(c.start(0)), [
    "send CallConnectRequest <encap-proto ppp>",
    "start negotiation 60000",
  ]);
  assert.equal(c.state, "Client_Connect_Request_Sent");
  assert.deepEqual(c.start(1), []);
  assert.deepEqual(client().receive(M.echoRequest(), 0), [], "nothing before start()");
});

Deno.test("SstpClientStateMachine resends Call Connect Request on 3 Naks and aborts on the 4th", () => {
  const c = clientIn("Client_Connect_Request_Sent");
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(show(c.receive(M.nak(), i)), [
      "send CallConnectRequest <encap-proto ppp>",
      "start negotiation 60000",
    ]);
  }
  assert.deepEqual(show(c.receive(M.nak(), 3)), [
    "stop negotiation",
    "send CallAbort <status attrib=NO_ERROR status=RETRY_COUNT_EXCEEDED>",
    "start abort 3000",
  ]);
  assert.deepEqual(show(c.timer("abort", 3003)), ["closed ProtocolError:RETRY_EXHAUSTED"]);
  assert.equal(c.state, "Client_Call_Disconnected");
});

Deno.test("SstpClientStateMachine picks SHA-256 when offered and SHA-1 only when alone", () => {
  const both = clientIn("Client_Connect_Request_Sent");
  both.receive(M.ack(3, NONCE), 1);
  assert.equal(both.hashProtocol, 2);
  const sha1 = clientIn("Client_Connect_Request_Sent");
  sha1.receive(M.ack(1, NONCE), 1);
  assert.equal(sha1.hashProtocol, 1);
});

for (const [bitmask, hashName] of [[3, "sha256"], [1, "sha1"]] as const) {
  Deno.test(`SstpClientStateMachine authenticated() sends a verifiable ${hashName} Call Connected`, () => {
    const c = clientIn("Client_Connect_Request_Sent");
    c.receive(M.ack(bitmask, NONCE), 1);
    const actions = c.authenticated(HLAK, 5);
    assert.deepEqual(show(actions), [
      "stop negotiation",
      `send CallConnected <crypto-binding hash=${hashName} cert=${
        Array.from(HASHES[hashName].subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("")
      }… mac=<redacted len=32>>`,
      "callConnected",
      "start hello 60000",
    ]);
    assert.equal(c.state, "Client_Call_Connected");
    const sent = actions[1];
    assert.ok(sent?.type === "send");
    assert.deepEqual(
      verifyCallConnected(sent.message, {
        nonce: NONCE,
        certHashes: HASHES,
        hlak: HLAK,
        offeredBitmask: bitmask,
      }),
      { ok: true },
    );
  });
}

Deno.test("SstpClientStateMachine authenticated() rejects calls before the Ack and ignores them in teardown", () => {
  assert.throws(() => clientIn("Client_Connect_Request_Sent").authenticated(HLAK, 0), TypeError);
  assert.throws(() => clientIn("Client_Call_Connected").authenticated(HLAK, 0), TypeError);
  assert.deepEqual(clientIn("Call_Abort_Pending").authenticated(HLAK, 0), []);
  assert.deepEqual(
    show(clientIn("Client_Connect_Ack_Received", null).authenticated(HLAK, 0)).at(-1),
    "callConnected",
  );
});

Deno.test("SstpClientStateMachine disconnect() waits for the Ack, or closes on disconnect timer 1", () => {
  const c = clientIn("Client_Call_Connected");
  assert.deepEqual(show(c.disconnect(100)), [
    "stop hello",
    "send CallDisconnect <status attrib=NO_ERROR status=NO_ERROR>",
    "start disconnect 5000",
  ]);
  assert.equal(c.state, "Call_Disconnect_Ack_Pending");
  assert.deepEqual(c.disconnect(101), [], "a second disconnect is ignored");
  assert.deepEqual(show(c.timer("disconnect", 5100)), ["closed"]);
  assert.deepEqual(show(client().disconnect(0)), ["closed"], "never started");
});

Deno.test("SstpClientStateMachine abort() sends Call Abort with Status Info and closes with the error", () => {
  const c = clientIn("Client_Call_Connected");
  const error = new Error("PPP failed");
  assert.deepEqual(show(c.abort(error, 100)), ["stop hello", ABORT.reply, "start abort 3000"]);
  assert.deepEqual(c.abort(new Error("again"), 101), []);
  const actions = c.timer("abort", 3100);
  assert.ok(actions[0]?.type === "closed" && actions[0].error === error);
  const timeout = clientIn("Client_Connect_Ack_Received");
  assert.deepEqual(show(timeout.abort(new ProtocolError("lcp", "TIMEOUT", "x"), 0)), [
    "stop negotiation",
    ABORT.timeout,
    "start abort 3000",
  ]);
});

Deno.test("SstpClientStateMachine Hello timer sends Echo Request when idle and closes without Call Abort", () => {
  const c = clientIn("Client_Call_Connected"); // connected at t=20, hello armed for 60 s
  c.noteReceive(30_000);
  assert.deepEqual(
    show(c.timer("hello", 60_020)),
    ["start hello 29980"],
    "re-armed for the remainder",
  );
  assert.deepEqual(show(c.timer("hello", 90_000)), ["send EchoRequest", "start hello 60000"]);
  assert.deepEqual(show(c.timer("hello", 150_000)), ["closed ProtocolError:TIMEOUT"]);
  assert.equal(c.state, "Client_Call_Disconnected");
});

Deno.test("SstpClientStateMachine Hello timer keeps the call when anything answers the Echo Request", () => {
  const c = clientIn("Client_Call_Connected");
  assert.deepEqual(show(c.timer("hello", 60_020)), ["send EchoRequest", "start hello 60000"]);
  c.noteReceive(70_000); // a data packet is as good as an Echo Response
  assert.deepEqual(show(c.timer("hello", 120_020)), ["start hello 9980"]);
  assert.deepEqual(show(c.timer("hello", 130_000)), ["send EchoRequest", "start hello 60000"]);
  c.receive(M.echoResponse(), 130_001);
  assert.deepEqual(show(c.timer("hello", 190_000)), ["start hello 1"]);
  assert.equal(c.state, "Client_Call_Connected");
});

Deno.test("SstpClientStateMachine with helloMs null never starts the Hello timer", () => {
  const c = clientIn("Client_Call_Connected", null);
  assert.equal(c.runningTimers.size, 0);
  assert.deepEqual(c.timer("hello", 1e9), []);
});

Deno.test("SstpClientStateMachine gates data: isDataAllowed only in Client_Call_Connected", () => {
  const states: SstpClientState[] = [
    "Client_Call_Disconnected",
    "Client_Connect_Request_Sent",
    "Client_Connect_Ack_Received",
    "Client_Call_Connected",
    "Call_Abort_Pending",
    "Call_Abort_Timeout_Pending",
    "Call_Disconnect_Ack_Pending",
    "Call_Disconnect_Timeout_Pending",
  ];
  const data = states.filter((s) => clientIn(s).isDataAllowed);
  const control = states.filter((s) => clientIn(s).isPppControlAllowed);
  assert.deepEqual(data, ["Client_Call_Connected"]);
  assert.deepEqual(control, ["Client_Connect_Ack_Received", "Client_Call_Connected"]);
});

Deno.test("SstpClientStateMachine rejects bad options", () => {
  assert.throws(
    () =>
      new SstpClientStateMachine({
        certHashes: { sha1: new Uint8Array(20), sha256: new Uint8Array(20) },
        helloMs: null,
      }),
    RangeError,
  );
  assert.throws(() => new SstpClientStateMachine({ certHashes: HASHES, helloMs: 0 }), RangeError);
  assert.throws(
    () => new SstpClientStateMachine({ certHashes: HASHES, helloMs: null, maxConnectRetries: -1 }),
    RangeError,
  );
});
