import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { patternBytes } from "../../test/helpers/sstp_builders.ts";
import { buildCallConnected, certHashes } from "./crypto_binding.ts";
import {
  decodeSstpControlMessage,
  encodeSstpControlMessage,
  type SstpControlMessage,
} from "./control_message.ts";
import { type SstpServerState, SstpServerStateMachine } from "./server_state.ts";
import { SstpClientStateMachine } from "./client_state.ts";
import { ECHO_RATE } from "./_call_machine.ts";
import type { SstpAction } from "./actions.ts";
import { ABORT, M, show } from "./_state_test_util.ts";

const HASHES = certHashes(new TextEncoder().encode("server certificate DER"));
const NONCE = patternBytes(32, 0x50);
const HLAK = patternBytes(32, 0x90);

function server(
  options: { hashBitmask?: number; helloMs?: number | null } = {},
): SstpServerStateMachine {
  return new SstpServerStateMachine({
    certHashes: HASHES,
    randomBytes: (n) => patternBytes(n, 0x50),
    helloMs: options.helloMs === undefined ? 60_000 : options.helloMs,
    ...(options.hashBitmask === undefined ? {} : { hashBitmask: options.hashBitmask }),
  });
}

function callConnected(
  over: { hashProtocol?: number; nonce?: Uint8Array; certHash?: Uint8Array; hlak?: Uint8Array } =
    {},
): SstpControlMessage {
  const hashProtocol = over.hashProtocol ?? 2;
  return buildCallConnected({
    hashProtocol,
    nonce: over.nonce ?? NONCE,
    certHash: over.certHash ?? (hashProtocol === 1 ? HASHES.sha1 : HASHES.sha256),
    hlak: over.hlak ?? HLAK,
  });
}

/** Drives a fresh server into `state` along the spec's own transitions. */
function serverIn(
  state: SstpServerState,
  options: { hashBitmask?: number } = {},
): SstpServerStateMachine {
  const s = server(options);
  if (state === "Server_Call_Disconnected") return s;
  s.start(0);
  if (state === "Server_Connect_Request_Pending") return s;
  if (state === "Call_Abort_Pending") return s.abort(new Error("local"), 1), s;
  if (state === "Call_Disconnect_Ack_Pending") return s.disconnect(1), s;
  s.receive(M.request(), 10);
  if (state === "Server_Call_Connected_Pending") return s;
  s.authenticated(HLAK, 15);
  s.receive(callConnected(), 20);
  if (state === "Server_Call_Connected") return s;
  if (state === "Call_Abort_Timeout_Pending") return s.receive(M.abort(), 30), s;
  if (state === "Call_Disconnect_Timeout_Pending") return s.receive(M.disconnect(), 30), s;
  throw new Error(`no path to ${state}`);
}

const ACK = "send CallConnectAck <crypto-binding-req hash=sha1|sha256>";
const NAK = (attrib: string, status: string, value = "") =>
  `send CallConnectNak <status attrib=${attrib} status=${status}${
    value === "" ? "" : ` value=${value}`
  }>`;
const MISMATCH = "send CallAbort <status attrib=CRYPTO_BINDING status=VALUE_NOT_SUPPORTED>";
const SI = (status: number) => ({
  kind: "statusInfo" as const,
  attribId: 0,
  status,
  attribValue: new Uint8Array(),
});
const ENC = (protocolId: number) => ({ kind: "encapsulatedProtocolId" as const, protocolId });

type Row = [SstpServerState, string, () => SstpControlMessage, string[], SstpServerState];

/** (state, received message) → (actions, next state), one row per MS-SSTP 3.3.5.2.x rule branch. */
const ROWS: Row[] = [
  // 3.3.5.2.2 Receiving an SSTP_MSG_CALL_CONNECT_REQUEST Message
  ["Server_Connect_Request_Pending", "Request PPP", () => M.request(), [
    "start negotiation 60000",
    ACK,
    "pppStart",
  ], "Server_Call_Connected_Pending"],
  ["Server_Connect_Request_Pending", "Request protocol 2", () => M.request(2), [
    NAK("ENCAPSULATED_PROTOCOL_ID", "VALUE_NOT_SUPPORTED", "0002"),
  ], "Server_Connect_Request_Pending"],
  [
    "Server_Connect_Request_Pending",
    "Request without attributes",
    () => ({ messageType: 1, attributes: [] }),
    [
      NAK("ENCAPSULATED_PROTOCOL_ID", "REQUIRED_ATTRIBUTE_MISSING"),
    ],
    "Server_Connect_Request_Pending",
  ],
  [
    "Server_Connect_Request_Pending",
    "Request with two protocols",
    () => ({ messageType: 1, attributes: [ENC(1), ENC(1)] }),
    [
      NAK("ENCAPSULATED_PROTOCOL_ID", "DUPLICATE_ATTRIBUTE"),
    ],
    "Server_Connect_Request_Pending",
  ],
  [
    "Server_Connect_Request_Pending",
    "Request with a failing Status Info",
    () => ({ messageType: 1, attributes: [ENC(1), SI(4)] }),
    [
      NAK("STATUS_INFO", "STATUS_INFO_NOT_SUPPORTED_IN_MSG"),
    ],
    "Server_Connect_Request_Pending",
  ],
  [
    "Server_Connect_Request_Pending",
    "Request with an OK Status Info",
    () => ({ messageType: 1, attributes: [ENC(1), SI(0)] }),
    [
      "start negotiation 60000",
      ACK,
      "pppStart",
    ],
    "Server_Call_Connected_Pending",
  ],
  [
    "Server_Connect_Request_Pending",
    "Request with an unknown attribute",
    () => ({
      messageType: 1,
      attributes: [ENC(1), { kind: "unknown", attributeId: 9, value: new Uint8Array() }],
    }),
    [NAK("0x09", "UNRECOGNIZED_ATTRIBUTE")],
    "Server_Connect_Request_Pending",
  ],
  ["Server_Call_Connected_Pending", "Request", () => M.request(), [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Server_Call_Connected", "Request", () => M.request(), [
    "stop hello",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Call_Abort_Pending", "Request", () => M.request(), [], "Call_Abort_Pending"],
  ["Call_Disconnect_Ack_Pending", "Request", () => M.request(), [], "Call_Disconnect_Ack_Pending"],
  // 3.3.5.2.3 Receiving an SSTP_MSG_CALL_CONNECTED Message (HLAK already known here)
  ["Server_Connect_Request_Pending", "Call Connected", () => callConnected(), [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Server_Call_Connected", "Call Connected", () => callConnected(), [
    "stop hello",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  [
    "Call_Abort_Timeout_Pending",
    "Call Connected",
    () => callConnected(),
    [],
    "Call_Abort_Timeout_Pending",
  ],
  [
    "Server_Call_Connected_Pending",
    "Call Connected without binding",
    () => ({ messageType: 4, attributes: [] }),
    [
      "stop negotiation",
      "send CallAbort <status attrib=STATUS_INFO status=ATTRIB_NOT_SUPPORTED_IN_MSG>",
      "start abort 3000",
    ],
    "Call_Abort_Pending",
  ],
  // Client-bound messages
  ["Server_Call_Connected_Pending", "Ack", () => M.ack(3, NONCE), [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
  ["Server_Connect_Request_Pending", "Nak", M.nak, [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ], "Call_Abort_Pending"],
];

for (const [state, input, message, actions, next] of ROWS) {
  Deno.test(`SstpServerStateMachine ${state} + ${input} → ${next}`, () => {
    const s = serverIn(state);
    assert.equal(s.state, state);
    assert.deepEqual(show(s.receive(message(), 40)), actions);
    assert.equal(s.state, next);
  });
}

Deno.test("SstpServerStateMachine Ack carries a fresh nonce from randomBytes and the configured bitmask", () => {
  const s = server({ hashBitmask: 2 });
  s.start(0);
  const actions = s.receive(M.request(), 1);
  const ack = actions.find((a): a is Extract<SstpAction, { type: "send" }> => a.type === "send");
  assert.deepEqual(ack?.message, {
    messageType: 2,
    attributes: [{ kind: "cryptoBindingRequest", hashProtocolBitmask: 2, nonce: NONCE }],
  });
});

Deno.test("SstpServerStateMachine Naks 3 unacceptable requests and aborts on the 4th", () => {
  const s = serverIn("Server_Connect_Request_Pending");
  for (let i = 0; i < 3; i++) assert.deepEqual(show(s.receive(M.request(2), i)).length, 1);
  assert.deepEqual(show(s.receive(M.request(2), 3)), [
    "stop negotiation",
    "send CallAbort <status attrib=STATUS_INFO status=RETRY_COUNT_EXCEEDED>",
    "start abort 3000",
  ]);
  assert.deepEqual(show(s.timer("abort", 3003)), ["closed ProtocolError:RETRY_EXHAUSTED"]);
});

Deno.test("SstpServerStateMachine holds a Call Connected that arrives before authentication, then verifies it", () => {
  const s = serverIn("Server_Call_Connected_Pending");
  assert.deepEqual(s.receive(callConnected(), 20), []);
  assert.equal(s.state, "Server_Call_Connected_Pending");
  assert.equal(s.isDataAllowed, false);
  assert.deepEqual(show(s.authenticated(HLAK, 30)), [
    "stop negotiation",
    "callConnected",
    "start hello 60000",
  ]);
  assert.equal(s.state, "Server_Call_Connected");
  assert.equal(s.isDataAllowed, true);
});

Deno.test("SstpServerStateMachine verifies a Call Connected that arrives after authentication", () => {
  const s = serverIn("Server_Call_Connected_Pending");
  assert.deepEqual(s.authenticated(HLAK, 15), []);
  assert.deepEqual(show(s.receive(callConnected(), 20)), [
    "stop negotiation",
    "callConnected",
    "start hello 60000",
  ]);
  assert.deepEqual(s.authenticated(HLAK, 25), [], "a late second authentication is ignored");
});

Deno.test("SstpServerStateMachine accepts SHA-1 when it offered SHA-1", () => {
  const s = serverIn("Server_Call_Connected_Pending");
  s.authenticated(HLAK, 15);
  assert.deepEqual(show(s.receive(callConnected({ hashProtocol: 1 }), 20)).at(-2), "callConnected");
});

const TAMPERED: [string, () => SstpControlMessage, number | undefined][] = [
  ["nonce", () => callConnected({ nonce: patternBytes(32, 0x51) }), undefined],
  ["certHash", () => callConnected({ certHash: patternBytes(32) }), undefined],
  ["mac", () => callConnected({ hlak: patternBytes(32) }), undefined],
  ["hashProtocol", () => callConnected({ hashProtocol: 1 }), 2],
];

for (const [reason, message, hashBitmask] of TAMPERED) {
  for (const order of ["held", "after auth"]) {
    Deno.test(`SstpServerStateMachine aborts on a Call Connected with a wrong ${reason} (${order})`, () => {
      const s = serverIn(
        "Server_Call_Connected_Pending",
        hashBitmask === undefined ? {} : { hashBitmask },
      );
      const actions = order === "held"
        ? (s.receive(message(), 20), s.authenticated(HLAK, 30))
        : (s.authenticated(HLAK, 20), s.receive(message(), 30));
      assert.deepEqual(show(actions), ["stop negotiation", MISMATCH, "start abort 3000"]);
      assert.equal(s.isDataAllowed, false);
      const closed = s.timer("abort", 3030)[0];
      assert.ok(closed?.type === "closed" && closed.error instanceof ProtocolError);
      assert.equal(closed.error.code, "CRYPTO_BINDING_MISMATCH");
      assert.equal(closed.error.detail, reason);
    });
  }
}

Deno.test("SstpServerStateMachine aborts on a second Call Connected while one is held", () => {
  const s = serverIn("Server_Call_Connected_Pending");
  s.receive(callConnected(), 20);
  assert.deepEqual(show(s.receive(callConnected(), 21)), [
    "stop negotiation",
    ABORT.unaccepted,
    "start abort 3000",
  ]);
});

Deno.test("SstpServerStateMachine start() waits for Call Connect Request under the negotiation timer", () => {
  const s = server();
  assert.deepEqual(show(s.start(0)), ["start negotiation 60000"]);
  assert.equal(s.state, "Server_Connect_Request_Pending");
  assert.throws(() => s.authenticated(HLAK, 1), TypeError);
});

Deno.test("SstpServerStateMachine gates data: isDataAllowed only in Server_Call_Connected", () => {
  const states: SstpServerState[] = [
    "Server_Call_Disconnected",
    "Server_Connect_Request_Pending",
    "Server_Call_Connected_Pending",
    "Server_Call_Connected",
    "Call_Abort_Pending",
    "Call_Abort_Timeout_Pending",
    "Call_Disconnect_Ack_Pending",
    "Call_Disconnect_Timeout_Pending",
  ];
  assert.deepEqual(states.filter((s) => serverIn(s).isDataAllowed), ["Server_Call_Connected"]);
  assert.deepEqual(states.filter((s) => serverIn(s).isPppControlAllowed), [
    "Server_Call_Connected_Pending",
    "Server_Call_Connected",
  ]);
});

Deno.test("SstpServerStateMachine rejects bad options", () => {
  const base = { certHashes: HASHES, randomBytes: (n: number) => new Uint8Array(n), helloMs: null };
  assert.throws(() => new SstpServerStateMachine({ ...base, hashBitmask: 0 }), RangeError);
  assert.throws(() => new SstpServerStateMachine({ ...base, hashBitmask: 4 }), RangeError);
  assert.throws(() => new SstpServerStateMachine({ ...base, maxNaks: 1.5 }), RangeError);
  const s = new SstpServerStateMachine({ ...base, randomBytes: (n) => new Uint8Array(n - 1) });
  s.start(0);
  assert.throws(() => s.receive(M.request(), 1), RangeError);
});

Deno.test("client and server state machines reach Call Connected over encoded bytes", () => {
  const client = new SstpClientStateMachine({ certHashes: HASHES, helloMs: 60_000 });
  const srv = server();
  const wire = (actions: SstpAction[]) =>
    actions.flatMap((a) =>
      a.type === "send" ? [decodeSstpControlMessage(encodeSstpControlMessage(a.message))] : []
    );
  srv.start(0);
  const [request] = wire(client.start(0));
  assert.ok(request !== undefined);
  const [ack] = wire(srv.receive(request, 1));
  assert.ok(ack !== undefined);
  client.receive(ack, 2);
  // PPP authentication ends: both sides derive the same HLAK (MS-SSTP 3.2.5.2.2).
  const [connected] = wire(client.authenticated(HLAK, 3));
  assert.ok(connected !== undefined);
  assert.deepEqual(show(srv.receive(connected, 4)), []);
  assert.deepEqual(show(srv.authenticated(HLAK, 5)), [
    "stop negotiation",
    "callConnected",
    "start hello 60000",
  ]);
  assert.equal(client.state, "Client_Call_Connected");
  assert.equal(srv.state, "Server_Call_Connected");
  // Graceful teardown from the client.
  const [disconnect] = wire(client.disconnect(6));
  assert.ok(disconnect !== undefined);
  const [disconnectAck] = wire(srv.receive(disconnect, 7));
  assert.ok(disconnectAck !== undefined);
  assert.deepEqual(show(client.receive(disconnectAck, 8)), ["stop disconnect", "closed"]);
  assert.deepEqual(show(srv.timer("disconnect", 1007)), ["closed PeerDisconnectError"]);
});
