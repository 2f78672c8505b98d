/**
 * IPCP Primary/Secondary DNS Server Address options (RFC 1877 1.1, 1.3).
 *
 * ```
 * | Type=129 or 131 | Length=6 | DNS Server Address (32 bits) |
 * ```
 *
 * - Client: with `requestDns`, asks for 0.0.0.0 and takes the server's Nak;
 *   drops the option when the server rejects it. A server asking *us* for DNS
 *   is rejected.
 * - Server: never asks; acks or Naks a client's request with its configured
 *   address, and rejects it when it has none (as SoftEther does).
 *
 * @module
 */
import type { ProtocolError } from "../../errors.ts";
import { IPCP_OPTION } from "../constants.ts";
import { ACK, nak, type OptionHandler, type OptionVerdict, REJECT } from "../option_handler.ts";
import type { IpcpRole } from "./ip_address.ts";
import { bytesToIpv4, ipv4ToBytes, isZeroAddress } from "./ipv4.ts";

/** Options of {@linkcode DnsHandler}. */
export interface DnsOptions {
  /** Client or server. */
  role: IpcpRole;
  /** Server: the address to hand out. */
  address?: string;
  /** Client: ask the server for this DNS server (default true). */
  requestDns?: boolean;
}

/** Which DNS option a handler owns. */
export type DnsOptionType = typeof IPCP_OPTION.PRIMARY_DNS | typeof IPCP_OPTION.SECONDARY_DNS;

/** Renders a DNS option, e.g. `ms-dns1 198.18.1.1`. */
export function describeDns(type: number, data: Uint8Array): string {
  const label = type === IPCP_OPTION.PRIMARY_DNS ? "ms-dns1" : "ms-dns2";
  return data.length === 4 ? `${label} ${bytesToIpv4(data)}` : `${label} <len=${data.length}>`;
}

/** The Primary- or Secondary-DNS handler. */
export class DnsHandler implements OptionHandler {
  readonly type: DnsOptionType;
  readonly #role: IpcpRole;
  readonly #configured: Uint8Array | undefined;
  readonly #isRequesting: boolean;
  #wanted = new Uint8Array(4);
  #isRejected = false;
  #address: Uint8Array | undefined;

  /**
   * The handler for the primary or secondary DNS option (`type`): a client
   * asks for an address, a server hands out `options.address`.
   *
   * @throws {TypeError} For an address that is not a dotted quad.
   */
  constructor(type: DnsOptionType, options: DnsOptions) {
    this.type = type;
    this.#role = options.role;
    this.#configured = options.address === undefined ? undefined : ipv4ToBytes(options.address);
    this.#isRequesting = options.role === "client" && (options.requestDns ?? true);
  }

  /** Client: the address the server gave. Server: the address handed out. */
  get address(): string | undefined {
    return this.#address === undefined ? undefined : bytesToIpv4(this.#address);
  }

  request(): Uint8Array | undefined {
    return this.#isRequesting && !this.#isRejected ? this.#wanted : undefined;
  }
  onAck(data: Uint8Array): void {
    if (!isZeroAddress(data)) this.#address = data.slice();
  }
  onNak(data: Uint8Array, requested: boolean): ProtocolError | undefined {
    if (requested && data.length === 4) this.#wanted = data.slice();
    return undefined;
  }
  onReject(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    const ours = this.#configured;
    if (this.#role === "client" || ours === undefined || data.length !== 4) return REJECT;
    return data.every((b, i) => b === ours[i]) ? ACK : nak(ours);
  }
  onAckSent(data: Uint8Array): void {
    this.#address = data.slice();
  }
  reset(): void {
    this.#wanted = new Uint8Array(4);
    this.#isRejected = false;
    this.#address = undefined;
  }
  describe(data: Uint8Array): string {
    return describeDns(this.type, data);
  }
}
