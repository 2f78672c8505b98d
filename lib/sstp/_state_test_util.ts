/**
 * Test-only helpers for the state machine tables: messages by name and a
 * terse rendering of actions, so each table row reads like the spec.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";
import type { SstpAction } from "./actions.ts";
import type { SstpControlMessage } from "./control_message.ts";
import { describeSstpControlMessage } from "./describe.ts";

/** Renders actions as short strings: `send CallAbort <status …>`, `start abort 3000`, `closed PeerAbortError`. */
export function show(actions: SstpAction[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case "send":
        return "send " +
          describeSstpControlMessage(a.message).replace(/^SSTP /, "").replace(
            / nonce=[0-9a-f]*…/,
            "",
          );
      case "startTimer":
        return `start ${a.timer} ${a.ms}`;
      case "stopTimer":
        return `stop ${a.timer}`;
      case "closed":
        if (a.error === undefined) return "closed";
        return `closed ${a.error.name}${
          a.error instanceof ProtocolError ? `:${a.error.code}` : ""
        }`;
      default:
        return a.type;
    }
  });
}

/** A control message with optional Status Info. */
function msg(
  messageType: number,
  attributes: SstpControlMessage["attributes"] = [],
): SstpControlMessage {
  return { messageType, attributes };
}

/** Messages by short name. */
export const M = {
  request: (protocolId = 1) => msg(1, [{ kind: "encapsulatedProtocolId", protocolId }]),
  ack: (bitmask: number, nonce: Uint8Array) =>
    msg(2, [{ kind: "cryptoBindingRequest", hashProtocolBitmask: bitmask, nonce }]),
  nak: () =>
    msg(3, [{ kind: "statusInfo", attribId: 1, status: 4, attribValue: new Uint8Array([0, 1]) }]),
  abort: (status = 5) =>
    msg(5, [{ kind: "statusInfo", attribId: 0, status, attribValue: new Uint8Array() }]),
  disconnect: () =>
    msg(6, [{ kind: "statusInfo", attribId: 0, status: 0, attribValue: new Uint8Array() }]),
  disconnectAck: () => msg(7),
  echoRequest: () => msg(8),
  echoResponse: () => msg(9),
  unknown: () => msg(0x0a),
};

/** Expected Call Abort send lines. */
export const ABORT = {
  unaccepted: "send CallAbort <status attrib=NO_ERROR status=UNACCEPTED_FRAME_RECEIVED>",
  invalid: "send CallAbort <status attrib=NO_ERROR status=INVALID_FRAME_RECEIVED>",
  timeout: "send CallAbort <status attrib=NO_ERROR status=NEGOTIATION_TIMEOUT>",
  reply: "send CallAbort <status attrib=NO_ERROR status=NO_ERROR>",
};
