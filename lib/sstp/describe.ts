/**
 * One-line renderings of SSTP packets for debug logs, in the pppd/accel-ppp
 * style, so logs read like those of the daemons admins know:
 * `SSTP CallConnectAck <crypto-binding-req hash=sha256 nonce=412b489a…>`.
 * Compound MACs are never printed; nonces and cert hashes only by prefix.
 *
 * @module
 */
import { toHex } from "../bytes/hex.ts";
import type { SstpAttribute } from "./attributes.ts";
import { ATTRIBUTE_ID_NAME, HASH_PROTOCOL, MESSAGE_TYPE, STATUS_NAME } from "./constants.ts";
import type { SstpControlMessage } from "./control_message.ts";
import type { SstpPacket } from "./packet.ts";

const MESSAGE_NAME: ReadonlyMap<number, string> = new Map([
  [MESSAGE_TYPE.CALL_CONNECT_REQUEST, "CallConnectRequest"],
  [MESSAGE_TYPE.CALL_CONNECT_ACK, "CallConnectAck"],
  [MESSAGE_TYPE.CALL_CONNECT_NAK, "CallConnectNak"],
  [MESSAGE_TYPE.CALL_CONNECTED, "CallConnected"],
  [MESSAGE_TYPE.CALL_ABORT, "CallAbort"],
  [MESSAGE_TYPE.CALL_DISCONNECT, "CallDisconnect"],
  [MESSAGE_TYPE.CALL_DISCONNECT_ACK, "CallDisconnectAck"],
  [MESSAGE_TYPE.ECHO_REQUEST, "EchoRequest"],
  [MESSAGE_TYPE.ECHO_RESPONSE, "EchoResponse"],
]);

function hex(n: number, width: number): string {
  return "0x" + n.toString(16).padStart(width, "0");
}

function prefix(bytes: Uint8Array): string {
  return toHex(bytes.subarray(0, 4)) + "…";
}

function hashName(bits: number): string {
  const names: string[] = [];
  if (bits & HASH_PROTOCOL.SHA1) names.push("sha1");
  if (bits & HASH_PROTOCOL.SHA256) names.push("sha256");
  if (bits & ~0x03) names.push(hex(bits & ~0x03, 2));
  return names.length === 0 ? "none" : names.join("|");
}

/** Renders one attribute: `<encap-proto ppp>`, `<status attrib=… status=…>`, … */
export function describeSstpAttribute(attribute: SstpAttribute): string {
  switch (attribute.kind) {
    case "encapsulatedProtocolId":
      return `<encap-proto ${attribute.protocolId === 1 ? "ppp" : hex(attribute.protocolId, 4)}>`;
    case "statusInfo": {
      const attrib = ATTRIBUTE_ID_NAME.get(attribute.attribId)?.replace("SSTP_ATTRIB_", "") ??
        hex(attribute.attribId, 2);
      const status = STATUS_NAME.get(attribute.status)?.replace("ATTRIB_STATUS_", "") ??
        hex(attribute.status, 8);
      const value = attribute.attribValue.length > 0
        ? ` value=${toHex(attribute.attribValue)}`
        : "";
      return `<status attrib=${attrib} status=${status}${value}>`;
    }
    case "cryptoBindingRequest":
      return `<crypto-binding-req hash=${hashName(attribute.hashProtocolBitmask)} nonce=${
        prefix(attribute.nonce)
      }>`;
    case "cryptoBinding":
      return `<crypto-binding hash=${hashName(attribute.hashProtocol)} nonce=${
        prefix(attribute.nonce)
      } cert=${prefix(attribute.certHash)} mac=<redacted len=${attribute.compoundMac.length}>>`;
    case "unknown":
      return `<attr ${hex(attribute.attributeId, 2)} len=${attribute.value.length}>`;
  }
}

/** Renders a control message: `SSTP CallAbort <status attrib=NO_ERROR status=NEGOTIATION_TIMEOUT>`. */
export function describeSstpControlMessage(message: SstpControlMessage): string {
  const name = MESSAGE_NAME.get(message.messageType) ?? `Unknown(${hex(message.messageType, 4)})`;
  return ["SSTP " + name, ...message.attributes.map(describeSstpAttribute)].join(" ");
}

/**
 * Renders a packet on one line; data packets as `SSTP Data len=N`.
 *
 * @example
 * ```ts
 * import { describeSstpPacket } from "./describe.ts";
 * const line = describeSstpPacket({ kind: "data", data: new Uint8Array(3) });
 * if (line !== "SSTP Data len=3") throw new Error();
 * ```
 */
export function describeSstpPacket(packet: SstpPacket): string {
  return packet.kind === "data"
    ? `SSTP Data len=${packet.data.length}`
    : describeSstpControlMessage(packet.message);
}
