/**
 * Dynamic Authorization (RFC 5176): Disconnect-Request and CoA-Request from
 * the RADIUS server (RouterOS `/radius incoming`). The decision is pure
 * ({@linkcode handleDynamicRequest}); {@linkcode RadiusIncoming} is the UDP
 * shell that listens on the `radius-incoming` port.
 *
 * - Requests are accepted only from a configured RADIUS server address and
 *   must carry a valid Request Authenticator for that server's secret
 *   (RFC 5176 3.5); a Message-Authenticator, when present, must verify.
 *   Anything else is dropped silently (and logged), as the RFC requires.
 * - Sessions are named by User-Name, Acct-Session-Id and/or
 *   Framed-IP-Address; every attribute given must match (RFC 5176 3).
 * - Disconnect: every matching session ends; ACK, or NAK with Error-Cause
 *   503 "Session Context Not Found".
 * - CoA: Session-Timeout is the one authorization change supported; a CoA
 *   with any other authorization attribute is NAKed with 401 "Unsupported
 *   Attribute", leaving the session as it was (RFC 5176 3.2).
 * - Proxy-State attributes are copied into the reply in order (3.3).
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "../log.ts";
import { ProtocolError } from "../errors.ts";
import {
  encodeResponse,
  MESSAGE_AUTHENTICATOR,
  RADIUS_CODE,
  type RadiusAttribute,
  verifySignedRequest,
} from "./radius_packet.ts";
import { ATTR, AttributeList, ERROR_CAUSE, integerAttr } from "./radius_attributes.ts";
import { observeIncoming, type RadiusObserver } from "./radius_observer.ts";

/** How a Disconnect- or CoA-Request names sessions. */
export interface SessionSelector {
  /** User-Name. */
  user?: string;
  /** Acct-Session-Id. */
  acctSessionId?: string;
  /** Framed-IP-Address, dotted quad. */
  framedIpAddress?: string;
}

/** What the server lets RFC 5176 do to its sessions. */
export interface DynamicTarget {
  /** Sessions matching every field of `selector`. */
  find(selector: SessionSelector): readonly string[];
  /** Ends a session (Acct-Terminate-Cause Admin-Reset). */
  disconnect(sessionId: string, why: string): void;
  /** Sets a new session timeout, measured from now. */
  setSessionTimeout(sessionId: string, timeoutMs: number): void;
}

/** Attributes that identify the session or the NAS, allowed in either request. */
const IDENTIFYING: ReadonlySet<number> = new Set([
  ATTR.USER_NAME,
  ATTR.ACCT_SESSION_ID,
  ATTR.FRAMED_IP_ADDRESS,
  ATTR.NAS_IP_ADDRESS,
  ATTR.NAS_IDENTIFIER,
  ATTR.CALLING_STATION_ID,
  ATTR.CALLED_STATION_ID,
  ATTR.NAS_PORT,
  ATTR.NAS_PORT_TYPE,
  ATTR.EVENT_TIMESTAMP,
  ATTR.PROXY_STATE,
  ATTR.STATE,
  ATTR.CLASS,
  ATTR.ACCT_TERMINATE_CAUSE,
  MESSAGE_AUTHENTICATOR,
]);

/** The outcome: the reply to send, and a line for the log. */
export interface DynamicOutcome {
  /** The encoded ACK or NAK datagram, signed with the sender's secret. */
  reply: Uint8Array;
  /** One line saying what was asked and what was done (no secrets). */
  log: string;
}

/**
 * Verifies and carries out one Disconnect- or CoA-Request.
 *
 * @returns The signed ACK/NAK, or a `ProtocolError` when the request must be dropped.
 */
export function handleDynamicRequest(
  bytes: Uint8Array,
  secret: Uint8Array,
  target: DynamicTarget,
): DynamicOutcome | ProtocolError {
  let packet;
  try {
    packet = verifySignedRequest(bytes, secret);
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  const isDisconnect = packet.code === RADIUS_CODE.DISCONNECT_REQUEST;
  if (!isDisconnect && packet.code !== RADIUS_CODE.COA_REQUEST) {
    return new ProtocolError(
      "radius",
      "UNEXPECTED_MESSAGE",
      `Cannot handle RADIUS code ${packet.code} on the dynamic authorization port`,
    );
  }
  const what = isDisconnect ? "Disconnect-Request" : "CoA-Request";
  const a = new AttributeList(packet.attributes);
  const proxyState: RadiusAttribute[] = packet.attributes.filter((x) =>
    x.type === ATTR.PROXY_STATE
  );
  const reply = (ack: boolean, errorCause?: number) => {
    const code = isDisconnect
      ? (ack ? RADIUS_CODE.DISCONNECT_ACK : RADIUS_CODE.DISCONNECT_NAK)
      : (ack ? RADIUS_CODE.COA_ACK : RADIUS_CODE.COA_NAK);
    const attributes = [
      ...(errorCause === undefined ? [] : [integerAttr(ATTR.ERROR_CAUSE, errorCause)]),
      ...proxyState,
    ];
    return encodeResponse(
      { code, identifier: packet.identifier, attributes },
      packet.authenticator,
      secret,
    );
  };
  let selector: SessionSelector;
  let sessionTimeoutS: number | undefined;
  try {
    selector = {};
    const user = a.text(ATTR.USER_NAME);
    if (user !== undefined) selector.user = user;
    const sid = a.text(ATTR.ACCT_SESSION_ID);
    if (sid !== undefined) selector.acctSessionId = sid;
    const ip = a.ipv4(ATTR.FRAMED_IP_ADDRESS);
    if (ip !== undefined) selector.framedIpAddress = ip;
    sessionTimeoutS = a.integer(ATTR.SESSION_TIMEOUT);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { reply: reply(false, ERROR_CAUSE.INVALID_REQUEST), log: `${what}: ${e.message}` };
  }
  const named = JSON.stringify(selector);
  if (Object.keys(selector).length === 0) {
    return {
      reply: reply(false, ERROR_CAUSE.MISSING_ATTRIBUTE),
      log: `${what} names no session (no User-Name, Acct-Session-Id or Framed-IP-Address): NAK`,
    };
  }
  if (!isDisconnect) {
    const unsupported = packet.attributes.filter((x) =>
      !IDENTIFYING.has(x.type) && x.type !== ATTR.SESSION_TIMEOUT
    ).map((x) => x.type);
    if (unsupported.length > 0 || sessionTimeoutS === undefined) {
      const why = unsupported.length > 0
        ? `unsupported attribute(s) ${unsupported.join(", ")}`
        : "no Session-Timeout, the one change supported";
      return {
        reply: reply(false, ERROR_CAUSE.UNSUPPORTED_ATTRIBUTE),
        log: `${what} ${named}: ${why}: NAK`,
      };
    }
  }
  const ids = target.find(selector);
  if (ids.length === 0) {
    return {
      reply: reply(false, ERROR_CAUSE.SESSION_CONTEXT_NOT_FOUND),
      log: `${what} ${named}: no such session: NAK`,
    };
  }
  for (const id of ids) {
    if (isDisconnect) target.disconnect(id, "RADIUS Disconnect-Request");
    else target.setSessionTimeout(id, (sessionTimeoutS ?? 0) * 1000);
  }
  const done = isDisconnect
    ? `disconnected ${ids.length} session(s)`
    : `session timeout set to ${sessionTimeoutS} s on ${ids.length} session(s)`;
  return { reply: reply(true), log: `${what} ${named}: ${done}: ACK` };
}

/** Options of {@linkcode RadiusIncoming}. */
export interface RadiusIncomingOptions {
  /** Local address to listen on (default all). */
  address?: string;
  /** UDP port, RouterOS `radius-incoming port` (default 3799). */
  port: number;
  /** Shared secret per RADIUS server address allowed to send requests. */
  secrets: ReadonlyMap<string, Uint8Array>;
  /** The sessions that Disconnect and CoA requests act on. */
  target: DynamicTarget;
  /** Where handled, dropped and refused requests and socket errors are logged. */
  logger: Logger;
  /** Told each request's type and result (metrics). */
  observer?: RadiusObserver;
}

/** The UDP listener for Disconnect- and CoA-Requests. */
export class RadiusIncoming {
  readonly #o: RadiusIncomingOptions;
  #socket: Socket | undefined;

  /** Creates the listener (call {@linkcode listen}). */
  constructor(options: RadiusIncomingOptions) {
    this.#o = options;
  }

  /** Binds the socket; resolves with the bound port. */
  listen(): Promise<number> {
    const o = this.#o;
    const socket = createSocket(o.address?.includes(":") ? "udp6" : "udp4");
    this.#socket = socket;
    socket.on("message", (msg, rinfo) => {
      const secret = o.secrets.get(rinfo.address);
      if (secret === undefined) {
        observeIncoming(o.observer, msg, undefined);
        o.logger.warn(
          `radius-incoming: dropped a request from ${rinfo.address}, not a configured RADIUS server`,
        );
        return;
      }
      const r = handleDynamicRequest(new Uint8Array(msg), secret, o.target);
      observeIncoming(o.observer, msg, r instanceof ProtocolError ? undefined : r.reply);
      if (r instanceof ProtocolError) {
        o.logger.warn(`radius-incoming: dropped a request from ${rinfo.address}: ${r.message}`);
        return;
      }
      o.logger.info(`radius-incoming from ${rinfo.address}: ${r.log}`);
      socket.send(r.reply, rinfo.port, rinfo.address);
    });
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ port: o.port, ...(o.address ? { address: o.address } : {}) }, () => {
        socket.off("error", reject);
        socket.on("error", (e) => o.logger.warn(`radius-incoming: ${e.message}`));
        resolve(socket.address().port);
      });
    });
  }

  /** Closes the socket. */
  close(): Promise<void> {
    const s = this.#socket;
    this.#socket = undefined;
    if (s === undefined) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }
}
