/**
 * The MS-SSTP 3.3 server state machine, pure: it takes messages, timer
 * expiries and local events with the current time and returns
 * {@linkcode SstpAction}s.
 *
 * ```
 * Server_Call_Disconnected --start--> Server_Connect_Request_Pending
 *   --Call Connect Request (PPP)--> Server_Call_Connected_Pending (Ack, pppStart)
 *   --Call Connected verified with the HLAK--> Server_Call_Connected
 * ```
 *
 * A Call Connected that arrives before PPP authentication produced the HLAK
 * is held and verified by `authenticated()` (sstpc sends it early:
 * docs/interop.md#ordering).
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import type { SstpAction, SstpTeardownState } from "./actions.ts";
import type { StatusInfoAttribute } from "./attributes.ts";
import {
  ATTRIBUTE_ID,
  DEFAULT_CONNECT_RETRIES,
  ENCAPSULATED_PROTOCOL,
  MESSAGE_TYPE,
  NONCE_LENGTH,
  STATUS,
  TIMER_MS,
} from "./constants.ts";
import { findSstpMessageProblem, type SstpControlMessage } from "./control_message.ts";
import { type CertHashes, normalizeHlak, verifyCallConnected } from "./crypto_binding.ts";
import { SstpCallMachine } from "./_call_machine.ts";

/** Server states (MS-SSTP 3.3.1) plus the common teardown states (MS-SSTP 3.1.1). */
export type SstpServerState =
  | "Server_Call_Disconnected"
  | "Server_Connect_Request_Pending"
  | "Server_Call_Connected_Pending"
  | "Server_Call_Connected"
  | SstpTeardownState;

type EstablishmentState = Exclude<SstpServerState, SstpTeardownState>;

/** Options of {@linkcode SstpServerStateMachine}. */
export interface SstpServerOptions {
  /** Hashes of the certificate this connection was served with (ServerCertificateHash). */
  certHashes: CertHashes;
  /** Source of the Crypto Binding Request nonce (MS-SSTP 2.2.6). */
  randomBytes: (n: number) => Uint8Array;
  /** Hello timer interval; `null` disables keepalive (MS-SSTP 3.1.2.3). */
  helloMs: number | null;
  /** Negotiation timer (MS-SSTP 3.3.2.1); default 60 000. */
  negotiationMs?: number;
  /** Naks sent before aborting (MS-SSTP 3.3.5.2.2, <16>); default 3. */
  maxNaks?: number;
  /**
   * ServerHashProtocolSupported: 1 SHA1, 2 SHA256, 3 both (default: some
   * clients leave after an offer of SHA-256 alone; docs/interop.md#call-connect).
   */
  hashBitmask?: number;
}

/**
 * The SSTP server state machine (MS-SSTP 3.3), one per connection.
 *
 * @example
 * ```ts
 * import { SstpServerStateMachine } from "./server_state.ts";
 * const server = new SstpServerStateMachine({
 *   certHashes: { sha1: new Uint8Array(20), sha256: new Uint8Array(32) },
 *   randomBytes: (n) => new Uint8Array(n),
 *   helloMs: null,
 * });
 * server.start(0);
 * const actions = server.receive({
 *   messageType: 1,
 *   attributes: [{ kind: "encapsulatedProtocolId", protocolId: 1 }],
 * }, 10);
 * if (server.state !== "Server_Call_Connected_Pending" || actions.length !== 3) throw new Error();
 * ```
 */
export class SstpServerStateMachine extends SstpCallMachine<EstablishmentState> {
  /** Dropped with the nonce and the HLAK once Call Connected is verified. */
  #certHashes: CertHashes | null;
  readonly #randomBytes: (n: number) => Uint8Array;
  readonly #negotiationMs: number;
  readonly #maxNaks: number;
  readonly #hashBitmask: number;
  #naks = 0;
  #nonce: Uint8Array | null = null;
  /** ServerHLAKKey (MS-SSTP 3.3.1). */
  #hlak: Uint8Array | null = null;
  /** A Call Connected received before the HLAK was known. */
  #held: SstpControlMessage | null = null;

  /**
   * @throws {RangeError} For certificate hashes of the wrong size, a bitmask
   * outside 1..3 or bad timer values.
   */
  constructor(options: SstpServerOptions) {
    super({
      disconnected: "Server_Call_Disconnected",
      connected: "Server_Call_Connected",
      helloMs: options.helloMs,
    });
    const { sha1, sha256 } = options.certHashes;
    if (sha1.length !== 20 || sha256.length !== 32) {
      throw new RangeError("Cannot create SSTP server: certificate hashes must be 20 and 32 bytes");
    }
    this.#certHashes = { sha1: sha1.slice(), sha256: sha256.slice() };
    this.#randomBytes = options.randomBytes;
    this.#negotiationMs = options.negotiationMs ?? TIMER_MS.NEGOTIATION;
    this.#maxNaks = options.maxNaks ?? DEFAULT_CONNECT_RETRIES;
    this.#hashBitmask = options.hashBitmask ?? 0x03;
    if (![1, 2, 3].includes(this.#hashBitmask)) {
      throw new RangeError(
        `Cannot create SSTP server: hash bitmask ${this.#hashBitmask} is not 1, 2 or 3`,
      );
    }
    if (!(this.#negotiationMs > 0) || !(Number.isInteger(this.#maxNaks) && this.#maxNaks >= 0)) {
      throw new RangeError(
        "Cannot create SSTP server: negotiationMs must be positive and maxNaks >= 0",
      );
    }
  }

  /** Current state (MS-SSTP 3.3.1, 3.1.1). */
  override get state(): SstpServerState {
    return super.state;
  }

  /** Echo Requests are not answered before Call Connect Request. */
  protected override get isAwaitingCallRequest(): boolean {
    return this.state === "Server_Connect_Request_Pending";
  }

  /** True when PPP control frames may flow: after the Ack (MS-SSTP 3.3.7.1). */
  get isPppControlAllowed(): boolean {
    return this.state === "Server_Call_Connected_Pending" || this.state === "Server_Call_Connected";
  }

  /**
   * New HTTPS connection received (MS-SSTP 3.3.7.2): wait for Call Connect
   * Request under the negotiation timer (MS-SSTP 3.3.2.1). Only the first call acts.
   */
  start(_nowMs: number): SstpAction[] {
    const actions: SstpAction[] = [];
    if (!this.markStarted()) return actions;
    this.setState("Server_Connect_Request_Pending");
    this.startTimer(actions, "negotiation", this.#negotiationMs);
    return actions;
  }

  protected override receiveEstablishment(
    message: SstpControlMessage,
    nowMs: number,
    actions: SstpAction[],
  ): SstpAction[] {
    switch (message.messageType) {
      case MESSAGE_TYPE.CALL_CONNECT_REQUEST:
        return this.#receiveCallConnectRequest(message, actions);
      case MESSAGE_TYPE.CALL_CONNECTED:
        return this.#receiveCallConnected(message, nowMs, actions);
      default:
        // Ack and Nak are client-bound.
        return this.abortUnexpected(actions, message);
    }
  }

  /** MS-SSTP 3.3.5.2.2 Receiving an SSTP_MSG_CALL_CONNECT_REQUEST Message. */
  #receiveCallConnectRequest(message: SstpControlMessage, actions: SstpAction[]): SstpAction[] {
    if (this.state !== "Server_Connect_Request_Pending") {
      return this.abortUnexpected(actions, message);
    }
    const naks = nakStatuses(message);
    if (naks.length > 0) {
      this.#naks++;
      if (this.#naks > this.#maxNaks) {
        return this.beginAbort(
          actions,
          new ProtocolError(
            "sstp",
            ERROR_CODE.RETRY_EXHAUSTED,
            `Cannot accept SSTP call: ${this.#naks} unacceptable Call Connect Requests`,
          ),
          { attribId: ATTRIBUTE_ID.STATUS_INFO, status: STATUS.RETRY_COUNT_EXCEEDED },
        );
      }
      actions.push({
        type: "send",
        message: { messageType: MESSAGE_TYPE.CALL_CONNECT_NAK, attributes: naks },
      });
      return actions;
    }
    const nonce = this.#randomBytes(NONCE_LENGTH);
    if (nonce.length !== NONCE_LENGTH) {
      throw new RangeError(
        `Cannot build Call Connect Ack: randomBytes returned ${nonce.length} bytes`,
      );
    }
    this.#nonce = nonce.slice();
    this.startTimer(actions, "negotiation", this.#negotiationMs);
    actions.push({
      type: "send",
      message: {
        messageType: MESSAGE_TYPE.CALL_CONNECT_ACK,
        attributes: [{
          kind: "cryptoBindingRequest",
          hashProtocolBitmask: this.#hashBitmask,
          nonce: this.#nonce,
        }],
      },
    });
    this.setState("Server_Call_Connected_Pending");
    actions.push({ type: "pppStart" });
    return actions;
  }

  /** MS-SSTP 3.3.5.2.3 Receiving an SSTP_MSG_CALL_CONNECTED Message. */
  #receiveCallConnected(
    message: SstpControlMessage,
    nowMs: number,
    actions: SstpAction[],
  ): SstpAction[] {
    if (this.state !== "Server_Call_Connected_Pending" || this.#held !== null) {
      return this.abortUnexpected(actions, message);
    }
    const problem = findSstpMessageProblem(message);
    if (problem !== undefined) {
      // MS-SSTP 3.3.5.2.3: missing or malformed Crypto Binding → ATTRIB_NOT_SUPPORTED_IN_MSG.
      return this.beginAbort(
        actions,
        new ProtocolError(
          "sstp",
          ERROR_CODE.BAD_ATTRIBUTE,
          `Cannot accept Call Connected: ${problem.message}`,
        ),
        { attribId: ATTRIBUTE_ID.STATUS_INFO, status: STATUS.ATTRIB_NOT_SUPPORTED_IN_MSG },
      );
    }
    if (this.#hlak === null) {
      this.#held = message;
      return actions;
    }
    return this.#verify(message, nowMs, actions);
  }

  #verify(message: SstpControlMessage, nowMs: number, actions: SstpAction[]): SstpAction[] {
    const result = verifyCallConnected(message, {
      nonce: this.#nonce ?? new Uint8Array(NONCE_LENGTH),
      certHashes: this.#certHashes ?? { sha1: new Uint8Array(20), sha256: new Uint8Array(32) },
      hlak: this.#hlak ?? new Uint8Array(32),
      offeredBitmask: this.#hashBitmask,
    });
    if (!result.ok) {
      return this.beginAbort(
        actions,
        new ProtocolError(
          "sstp",
          ERROR_CODE.CRYPTO_BINDING_MISMATCH,
          `Cannot accept Call Connected: crypto binding ${result.reason} does not match`,
          { detail: result.reason },
        ),
        { attribId: ATTRIBUTE_ID.CRYPTO_BINDING, status: STATUS.VALUE_NOT_SUPPORTED },
      );
    }
    // Only needed for this check: a server keeps thousands of sessions.
    this.#nonce = null;
    this.#hlak = null;
    this.#certHashes = null;
    this.stopTimer(actions, "negotiation");
    this.setState("Server_Call_Connected");
    actions.push({ type: "callConnected" });
    this.startHello(actions, nowMs);
    return actions;
  }

  /**
   * Inner Authentication Completed (MS-SSTP 3.3.7.1): store the HLAK
   * (ServerHLAKKey) and verify a Call Connected held until now. Ignored
   * during teardown or when already connected.
   *
   * @param hlak Server HLAK: MasterReceiveKey | MasterSendKey for MS-CHAPv2, 32 zeros for PAP.
   * @throws {TypeError} When called before the Call Connect Request was accepted.
   */
  authenticated(hlak: Uint8Array, nowMs: number): SstpAction[] {
    const actions: SstpAction[] = [];
    if (this.isClosed || this.inTeardown || this.state === "Server_Call_Connected") return actions;
    if (this.state !== "Server_Call_Connected_Pending") {
      throw new TypeError(`Cannot complete SSTP authentication: state is ${this.state}`);
    }
    this.#hlak = normalizeHlak(hlak);
    const held = this.#held;
    this.#held = null;
    return held === null ? actions : this.#verify(held, nowMs, actions);
  }
}

const MAX_NAK_STATUSES = 16;

/**
 * The Status Info attributes a Nak must carry for this Call Connect Request,
 * empty when it is acceptable (MS-SSTP 3.3.5.2.2 conditions 1-6).
 */
function nakStatuses(message: SstpControlMessage): StatusInfoAttribute[] {
  const out: StatusInfoAttribute[] = [];
  const status = (attribId: number, value: number, attribValue = new Uint8Array(0)) =>
    out.push({ kind: "statusInfo", attribId, status: value, attribValue });
  let protocols = 0;
  for (const a of message.attributes) {
    switch (a.kind) {
      case "statusInfo":
        if (a.status !== STATUS.NO_ERROR) {
          status(ATTRIBUTE_ID.STATUS_INFO, STATUS.STATUS_INFO_NOT_SUPPORTED_IN_MSG);
        }
        break;
      case "encapsulatedProtocolId":
        protocols++;
        if (protocols === 2) {
          status(ATTRIBUTE_ID.ENCAPSULATED_PROTOCOL_ID, STATUS.DUPLICATE_ATTRIBUTE);
        }
        if (a.protocolId !== ENCAPSULATED_PROTOCOL.PPP) {
          status(
            ATTRIBUTE_ID.ENCAPSULATED_PROTOCOL_ID,
            STATUS.VALUE_NOT_SUPPORTED,
            new Uint8Array([a.protocolId >> 8, a.protocolId & 0xff]),
          );
        }
        break;
      case "unknown":
        status(a.attributeId, STATUS.UNRECOGNIZED_ATTRIBUTE);
        break;
      default:
        // Crypto binding attributes mean nothing in a Call Connect Request.
        status(
          a.kind === "cryptoBinding"
            ? ATTRIBUTE_ID.CRYPTO_BINDING
            : ATTRIBUTE_ID.CRYPTO_BINDING_REQ,
          STATUS.UNRECOGNIZED_ATTRIBUTE,
        );
    }
  }
  if (protocols === 0) {
    status(ATTRIBUTE_ID.ENCAPSULATED_PROTOCOL_ID, STATUS.REQUIRED_ATTRIBUTE_MISSING);
  }
  // Keep the Nak well inside one 4095-byte packet whatever the request held.
  return out.slice(0, MAX_NAK_STATUSES);
}
