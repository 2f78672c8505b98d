/**
 * The MS-SSTP 3.2 client state machine, pure: it takes messages, timer
 * expiries and local events with the current time and returns
 * {@linkcode SstpAction}s.
 *
 * ```
 * Client_Call_Disconnected --start--> Client_Connect_Request_Sent
 *   --Ack--> Client_Connect_Ack_Received (pppStart)
 *   --authenticated(hlak)--> Client_Call_Connected (send Call Connected)
 * any --error--> Call_Abort_Pending --> Call_Abort_Timeout_Pending --> closed
 * any --disconnect()--> Call_Disconnect_Ack_Pending --Ack--> closed
 * ```
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { SstpAction, SstpTeardownState } from "./actions.ts";
import type { CryptoBindingRequestAttribute } from "./attributes.ts";
import {
  ATTRIBUTE_ID,
  DEFAULT_CONNECT_RETRIES,
  ENCAPSULATED_PROTOCOL,
  HASH_PROTOCOL,
  type HashProtocol,
  MESSAGE_TYPE,
  STATUS,
  TIMER_MS,
} from "./constants.ts";
import type { SstpControlMessage } from "./control_message.ts";
import { buildCallConnected, type CertHashes } from "./crypto_binding.ts";
import { SstpCallMachine } from "./_call_machine.ts";

/** Client states (MS-SSTP 3.2.1) plus the common teardown states (MS-SSTP 3.1.1). */
export type SstpClientState =
  | "Client_Call_Disconnected"
  | "Client_Connect_Request_Sent"
  | "Client_Connect_Ack_Received"
  | "Client_Call_Connected"
  | SstpTeardownState;

/** The client's states other than teardown: the ones its establishment code moves between. */
export type SstpClientEstablishmentState = Exclude<SstpClientState, SstpTeardownState>;

/** Options of {@linkcode SstpClientStateMachine}. */
export interface SstpClientOptions {
  /** Hashes of the server certificate seen in this TLS connection (ClientCertificateHash). */
  certHashes: CertHashes;
  /** Hello timer interval; `null` disables keepalive (MS-SSTP 3.1.2.3). */
  helloMs: number | null;
  /** Negotiation timer (MS-SSTP 3.2.2.1); default 60 000. */
  negotiationMs?: number;
  /** Call Connect Request resends after a Nak (MS-SSTP 3.2.5.3.3); default 3. */
  maxConnectRetries?: number;
}

function callConnectRequest(): SstpControlMessage {
  return {
    messageType: MESSAGE_TYPE.CALL_CONNECT_REQUEST,
    attributes: [{ kind: "encapsulatedProtocolId", protocolId: ENCAPSULATED_PROTOCOL.PPP }],
  };
}

/**
 * The SSTP client state machine (MS-SSTP 3.2).
 *
 * @example
 * ```ts
 * import { SstpClientStateMachine } from "./client_state.ts";
 * const client = new SstpClientStateMachine({
 *   certHashes: { sha1: new Uint8Array(20), sha256: new Uint8Array(32) },
 *   helloMs: 60_000,
 * });
 * const actions = client.start(0);
 * if (actions[0]?.type !== "send" || client.state !== "Client_Connect_Request_Sent") throw new Error();
 * ```
 */
export class SstpClientStateMachine extends SstpCallMachine<SstpClientEstablishmentState> {
  readonly #certHashes: CertHashes;
  readonly #negotiationMs: number;
  readonly #maxConnectRetries: number;
  #naks = 0;
  /** ClientNonce (MS-SSTP 3.2.1). */
  #nonce: Uint8Array | null = null;
  /** ClientHashProtocolChosen (MS-SSTP 3.2.1). */
  #hashProtocol: HashProtocol | null = null;

  /**
   * A client call machine in `Client_Call_Disconnected`; `start()` sends Call Connect Request.
   *
   * @throws {RangeError} For certificate hashes of the wrong size or bad timer values.
   */
  constructor(options: SstpClientOptions) {
    super({
      disconnected: "Client_Call_Disconnected",
      connected: "Client_Call_Connected",
      helloMs: options.helloMs,
    });
    const { sha1, sha256 } = options.certHashes;
    if (sha1.length !== 20 || sha256.length !== 32) {
      throw new RangeError("Cannot create SSTP client: certificate hashes must be 20 and 32 bytes");
    }
    this.#certHashes = { sha1: sha1.slice(), sha256: sha256.slice() };
    this.#negotiationMs = options.negotiationMs ?? TIMER_MS.NEGOTIATION;
    this.#maxConnectRetries = options.maxConnectRetries ?? DEFAULT_CONNECT_RETRIES;
    if (
      !(this.#negotiationMs > 0) ||
      !(Number.isInteger(this.#maxConnectRetries) && this.#maxConnectRetries >= 0)
    ) {
      throw new RangeError(
        "Cannot create SSTP client: negotiationMs must be positive and maxConnectRetries >= 0",
      );
    }
  }

  /** Current state (MS-SSTP 3.2.1, 3.1.1). */
  override get state(): SstpClientState {
    return super.state;
  }

  /** True when PPP control frames may flow: after the Ack (MS-SSTP 3.2.7.1). */
  get isPppControlAllowed(): boolean {
    return this.state === "Client_Connect_Ack_Received" || this.state === "Client_Call_Connected";
  }

  /** The hash protocol chosen from the server's bitmask, once the Ack arrived. */
  get hashProtocol(): HashProtocol | null {
    return this.#hashProtocol;
  }

  /**
   * The HTTPS connection is up (MS-SSTP 3.2.4.1): send Call Connect Request
   * and start the negotiation timer. Only the first call acts.
   */
  start(_nowMs: number): SstpAction[] {
    const actions: SstpAction[] = [];
    if (!this.markStarted()) return actions;
    actions.push({ type: "send", message: callConnectRequest() });
    this.startTimer(actions, "negotiation", this.#negotiationMs);
    this.setState("Client_Connect_Request_Sent");
    return actions;
  }

  /** Handles Call Connect Ack and Nak; any other establishment message aborts the call. */
  protected override receiveEstablishment(
    message: SstpControlMessage,
    _nowMs: number,
    actions: SstpAction[],
  ): SstpAction[] {
    switch (message.messageType) {
      case MESSAGE_TYPE.CALL_CONNECT_ACK:
        return this.#receiveCallConnectAck(message, actions);
      case MESSAGE_TYPE.CALL_CONNECT_NAK:
        return this.#receiveCallConnectNak(message, actions);
      default:
        // Call Connect Request and Call Connected are server-bound.
        return this.abortUnexpected(actions, message);
    }
  }

  /** MS-SSTP 3.2.5.3.2 Receiving an SSTP_MSG_CALL_CONNECT_ACK Message. */
  #receiveCallConnectAck(message: SstpControlMessage, actions: SstpAction[]): SstpAction[] {
    if (this.state !== "Client_Connect_Request_Sent") return this.abortUnexpected(actions, message);
    if (!this.checkAttributes(actions, message)) return actions;
    const request = message.attributes[0] as CryptoBindingRequestAttribute;
    // Both hashes are supported; SHA-256 MUST win when offered (MS-SSTP 2.2.10).
    const bitmask = request.hashProtocolBitmask;
    const chosen = (bitmask & HASH_PROTOCOL.SHA256) !== 0
      ? HASH_PROTOCOL.SHA256
      : (bitmask & HASH_PROTOCOL.SHA1) !== 0
      ? HASH_PROTOCOL.SHA1
      : null;
    if (chosen === null) {
      return this.beginAbort(
        actions,
        new ProtocolError(
          "sstp",
          ERROR_CODE.NEGOTIATION_FAILED,
          `Cannot use Call Connect Ack: hash protocol bitmask 0x${
            bitmask.toString(16)
          } offers neither SHA1 nor SHA256`,
        ),
        { attribId: ATTRIBUTE_ID.CRYPTO_BINDING_REQ, status: STATUS.VALUE_NOT_SUPPORTED },
      );
    }
    this.#hashProtocol = chosen;
    this.#nonce = request.nonce.slice();
    actions.push({ type: "pppStart" });
    this.startTimer(actions, "negotiation", this.#negotiationMs);
    this.setState("Client_Connect_Ack_Received");
    return actions;
  }

  /** MS-SSTP 3.2.5.3.3 Receiving an SSTP_MSG_CALL_CONNECT_NAK Message. */
  #receiveCallConnectNak(message: SstpControlMessage, actions: SstpAction[]): SstpAction[] {
    if (this.state !== "Client_Connect_Request_Sent") return this.abortUnexpected(actions, message);
    if (!this.checkAttributes(actions, message)) return actions;
    this.#naks++;
    if (this.#naks > this.#maxConnectRetries) {
      return this.beginAbort(
        actions,
        new ProtocolError(
          "sstp",
          ERROR_CODE.RETRY_EXHAUSTED,
          `Cannot connect SSTP call: server refused ${this.#naks} Call Connect Requests`,
        ),
        { attribId: ATTRIBUTE_ID.NO_ERROR, status: STATUS.RETRY_COUNT_EXCEEDED },
      );
    }
    actions.push({ type: "send", message: callConnectRequest() });
    this.startTimer(actions, "negotiation", this.#negotiationMs);
    return actions;
  }

  /**
   * Inner Authentication Completed (MS-SSTP 3.2.7.1): send Call Connected
   * with the crypto binding for the chosen hash, enter Client_Call_Connected,
   * emit `callConnected` and start the Hello timer. Ignored during teardown.
   *
   * @param hlak Client HLAK: MasterSendKey | MasterReceiveKey for MS-CHAPv2, 32 zeros for PAP.
   * @throws {TypeError} When called before the Call Connect Ack or twice.
   */
  authenticated(hlak: Uint8Array, nowMs: number): SstpAction[] {
    const actions: SstpAction[] = [];
    if (this.isClosed || this.inTeardown) return actions;
    const nonce = this.#nonce;
    const hashProtocol = this.#hashProtocol;
    if (this.state !== "Client_Connect_Ack_Received" || nonce === null || hashProtocol === null) {
      throw new TypeError(`Cannot complete SSTP authentication: state is ${this.state}`);
    }
    const certHash = hashProtocol === HASH_PROTOCOL.SHA256
      ? this.#certHashes.sha256
      : this.#certHashes.sha1;
    this.stopTimer(actions, "negotiation");
    actions.push({
      type: "send",
      message: buildCallConnected({ hashProtocol, nonce, certHash, hlak }),
    });
    this.setState("Client_Call_Connected");
    actions.push({ type: "callConnected" });
    this.startHello(actions, nowMs);
    return actions;
  }
}
