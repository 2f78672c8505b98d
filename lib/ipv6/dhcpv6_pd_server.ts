/**
 * The server side of DHCPv6 prefix delegation for one session (RFC 8415
 * 18.3): the session's client asks for a prefix with Solicit/Request, keeps
 * it with Renew/Rebind and gives it back with Release. One prefix per
 * session, taken from the profile's `dhcpv6-pd-pool` on first use. Pure:
 * the caller routes the delegated prefix via the session and releases it
 * to the pool when the session ends.
 *
 * @module
 */
import { equalBytes, type Ipv6Prefix } from "./address.ts";
import {
  DHCPV6_MESSAGE,
  DHCPV6_OPTION,
  DHCPV6_STATUS,
  type Dhcpv6Message,
  type Dhcpv6Option,
  encodeDnsServers,
  encodeIaPd,
  encodeStatusCode,
  findDhcpv6Option,
  findIaPds,
} from "./dhcpv6.ts";

/** Settings of {@linkcode Dhcpv6PdResponder}. */
export interface Dhcpv6PdResponderOptions {
  /** The server's DUID (RFC 8415 11), stable for the server's life. */
  serverDuid: Uint8Array;
  /** Takes a prefix from the pool; undefined when it is exhausted. */
  allocate: () => Ipv6Prefix | undefined;
  /** Gives the prefix back to the pool. */
  release: (prefix: Ipv6Prefix) => void;
  /** DNS servers for the DNS Recursive Name Server option. */
  dns?: Uint8Array[];
  /** Seconds the prefix is preferred (default 3600; T1 and T2 are half and 0.8 of it). */
  preferredLifetimeS?: number;
  /** Seconds the prefix stays valid (default 7200, at least the preferred lifetime). */
  validLifetimeS?: number;
}

/** What one client message led to. */
export interface Dhcpv6PdOutcome {
  /** The message to send back, if any. */
  reply?: Dhcpv6Message;
  /** A prefix newly bound to this session: route it via the session. */
  delegated?: Ipv6Prefix;
  /** A prefix the client released: remove its route. */
  released?: Ipv6Prefix;
  /** Why the message was discarded (RFC 8415 16), for debug logs. */
  discarded?: string;
}

/** Answers one session's DHCPv6 prefix-delegation messages. */
export class Dhcpv6PdResponder {
  readonly #o: Dhcpv6PdResponderOptions;
  #binding: { prefix: Ipv6Prefix; iaid: number; clientId: Uint8Array } | undefined;

  /**
   * Creates the responder.
   *
   * @param options server DUID, pool hooks, DNS and lifetimes
   */
  constructor(options: Dhcpv6PdResponderOptions) {
    this.#o = options;
  }

  /** The prefix bound to the session, if any. */
  get delegatedPrefix(): Ipv6Prefix | undefined {
    return this.#binding?.prefix;
  }

  /** Releases the binding when the session ends (idempotent). */
  close(): Ipv6Prefix | undefined {
    const b = this.#binding;
    this.#binding = undefined;
    if (b) this.#o.release(b.prefix);
    return b?.prefix;
  }

  /** Handles one client message (RFC 8415 16 validation, 18.3 server behaviour). */
  respond(message: Dhcpv6Message): Dhcpv6PdOutcome {
    const clientId = findDhcpv6Option(message.options, DHCPV6_OPTION.CLIENTID);
    const serverId = findDhcpv6Option(message.options, DHCPV6_OPTION.SERVERID);
    const ours = serverId !== undefined && equalBytes(serverId, this.#o.serverDuid);
    const T = DHCPV6_MESSAGE;
    switch (message.type) {
      case T.SOLICIT:
        if (!clientId) return { discarded: "Solicit without Client Identifier" };
        if (serverId) return { discarded: "Solicit with a Server Identifier" };
        return this.#assign(
          message,
          clientId,
          findDhcpv6Option(message.options, DHCPV6_OPTION.RAPID_COMMIT) !== undefined
            ? "rapid"
            : "advertise",
        );
      case T.REQUEST:
      case T.RENEW:
        if (!clientId) return { discarded: "message without Client Identifier" };
        if (!ours) return { discarded: "message for another server" };
        return this.#assign(message, clientId, message.type === T.REQUEST ? "reply" : "renew");
      case T.REBIND:
        if (!clientId) return { discarded: "Rebind without Client Identifier" };
        if (serverId) return { discarded: "Rebind with a Server Identifier" };
        return this.#assign(message, clientId, "renew");
      case T.RELEASE: {
        if (!clientId || !ours) return { discarded: "Release without our Server Identifier" };
        const released = this.#bindingFor(clientId) ? this.close() : undefined;
        return {
          reply: this.#reply(T.REPLY, message, clientId, [
            encodeStatusCode(DHCPV6_STATUS.SUCCESS, "released"),
          ]),
          ...(released ? { released } : {}),
        };
      }
      case T.INFORMATION_REQUEST:
        if (serverId && !ours) return { discarded: "Information-request for another server" };
        return { reply: this.#reply(T.REPLY, message, clientId, this.#dnsOptions()) };
      default:
        return { discarded: `message type ${message.type} is not handled` };
    }
  }

  #bindingFor(clientId: Uint8Array) {
    const b = this.#binding;
    return b && equalBytes(b.clientId, clientId) ? b : undefined;
  }

  #assign(
    message: Dhcpv6Message,
    clientId: Uint8Array,
    mode: "advertise" | "rapid" | "reply" | "renew",
  ): Dhcpv6PdOutcome {
    const preferred = this.#o.preferredLifetimeS ?? 3600;
    const valid = Math.max(this.#o.validLifetimeS ?? 7200, preferred);
    const requested = findIaPds(message);
    const options: Dhcpv6Option[] = [];
    let delegated: Ipv6Prefix | undefined;
    for (const ia of requested) {
      let binding = this.#bindingFor(clientId);
      if (binding && binding.iaid !== ia.iaid) binding = undefined;
      if (!binding && mode === "renew") {
        options.push(encodeIaPd({
          iaid: ia.iaid,
          t1S: 0,
          t2S: 0,
          prefixes: [],
          status: { code: DHCPV6_STATUS.NO_BINDING, message: "no binding for this IA" },
        }));
        continue;
      }
      // The prefix is bound on the first Solicit (Advertise and Reply then
      // name the same prefix); it stays the session's until Release or the end.
      if (!binding && this.#binding === undefined) {
        const prefix = this.#o.allocate();
        if (prefix) {
          binding = { prefix, iaid: ia.iaid, clientId: clientId.slice() };
          this.#binding = binding;
          delegated = prefix;
        }
      }
      const prefix = binding?.prefix;
      options.push(
        prefix
          ? encodeIaPd({
            iaid: ia.iaid,
            t1S: Math.floor(preferred / 2),
            t2S: Math.floor(preferred * 0.8),
            prefixes: [{ prefix, preferredLifetimeS: preferred, validLifetimeS: valid }],
          })
          : encodeIaPd({
            iaid: ia.iaid,
            t1S: 0,
            t2S: 0,
            prefixes: [],
            status: { code: DHCPV6_STATUS.NO_PREFIX_AVAIL, message: "no prefix available" },
          }),
      );
    }
    if (requested.length === 0) {
      options.push(encodeStatusCode(DHCPV6_STATUS.NO_PREFIX_AVAIL, "no IA_PD requested"));
    }
    if (mode === "rapid") {
      options.push({ code: DHCPV6_OPTION.RAPID_COMMIT, data: new Uint8Array() });
    }
    options.push(...this.#dnsOptions());
    const type = mode === "advertise" ? DHCPV6_MESSAGE.ADVERTISE : DHCPV6_MESSAGE.REPLY;
    return {
      reply: this.#reply(type, message, clientId, options),
      ...(delegated ? { delegated } : {}),
    };
  }

  #dnsOptions(): Dhcpv6Option[] {
    return this.#o.dns && this.#o.dns.length > 0 ? [encodeDnsServers(this.#o.dns)] : [];
  }

  #reply(
    type: number,
    request: Dhcpv6Message,
    clientId: Uint8Array | undefined,
    options: Dhcpv6Option[],
  ): Dhcpv6Message {
    return {
      type,
      transactionId: request.transactionId,
      options: [
        ...(clientId ? [{ code: DHCPV6_OPTION.CLIENTID, data: clientId }] : []),
        { code: DHCPV6_OPTION.SERVERID, data: this.#o.serverDuid },
        ...options,
      ],
    };
  }
}
