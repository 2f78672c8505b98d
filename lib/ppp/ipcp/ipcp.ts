/**
 * The IP Control Protocol (RFC 1332, RFC 1877 DNS options) on the generic
 * automaton. IP-Address and the two DNS options are negotiated;
 * IP-Compression-Protocol, the NBNS options and unknown types are
 * Configure-Rejected.
 *
 * @module
 */
import { IPCP_OPTION, PROTOCOL } from "../constants.ts";
import { type CpTimingOptions, FsmControlProtocol } from "../control_protocol.ts";
import { cpTiming, PppFsm } from "../fsm.ts";
import { pickDefined } from "../_pick.ts";
import { DnsHandler } from "./dns.ts";
import { IpAddressHandler, type IpcpRole } from "./ip_address.ts";

/** Construction options of {@linkcode Ipcp}. */
export interface IpcpOptions extends CpTimingOptions {
  /** Client (asks for an address) or server (assigns one). */
  role: IpcpRole;
  /** Server: its own address. Client: the address it wants (default 0.0.0.0). */
  localAddress?: string;
  /** Server: the address assigned to the client. */
  peerAddress?: string;
  /** Server: primary and secondary DNS handed out (absent ones are rejected). */
  dns?: readonly [primary?: string, secondary?: string];
  /** Client: ask for DNS servers (default true). */
  requestDns?: boolean;
}

/** What IPCP negotiated, as dotted quads ("0.0.0.0" when unknown). */
export interface IpcpResult {
  /** Our address. */
  localAddress: string;
  /** The peer's address. */
  peerAddress: string;
  /** DNS servers learnt (client) or handed out (server), primary first. */
  dns: string[];
}

/**
 * IPCP for one link.
 *
 * @example
 * ```ts
 * import { Ipcp } from "./ipcp.ts";
 * const ipcp = new Ipcp({ role: "client" });
 * ipcp.open(0);
 * ipcp.up(0);
 * if (ipcp.state !== "ReqSent" || ipcp.result.localAddress !== "0.0.0.0") throw new Error();
 * ```
 */
export class Ipcp extends FsmControlProtocol {
  /** 0x8021 */
  readonly protocol: number = PROTOCOL.IPCP;
  /** The automaton over the IP-Address and DNS option handlers. */
  protected readonly fsm: PppFsm;
  readonly #address: IpAddressHandler;
  readonly #dns: readonly [DnsHandler, DnsHandler];

  /**
   * IPCP for `options.role`, in the Initial state.
   *
   * @throws {TypeError} For addresses that are not dotted quads.
   */
  constructor(options: IpcpOptions) {
    super();
    const { role } = options;
    this.#address = new IpAddressHandler({
      role,
      ...pickDefined(options, ["localAddress", "peerAddress"]),
    });
    const dnsOptions = (address: string | undefined) => ({
      role,
      ...(address === undefined ? {} : { address }),
      ...pickDefined(options, ["requestDns"]),
    });
    this.#dns = [
      new DnsHandler(IPCP_OPTION.PRIMARY_DNS, dnsOptions(options.dns?.[0])),
      new DnsHandler(IPCP_OPTION.SECONDARY_DNS, dnsOptions(options.dns?.[1])),
    ];
    this.fsm = new PppFsm({
      ...cpTiming(options),
      protocol: PROTOCOL.IPCP,
      name: "IPCP",
      layer: "ipcp",
      handlers: [this.#address, ...this.#dns],
    });
  }

  /** The negotiated addresses. */
  get result(): IpcpResult {
    const dns: string[] = [];
    for (const h of this.#dns) if (h.address !== undefined) dns.push(h.address);
    return {
      localAddress: this.#address.localAddress ?? "0.0.0.0",
      peerAddress: this.#address.peerAddress ?? "0.0.0.0",
      dns,
    };
  }
}
