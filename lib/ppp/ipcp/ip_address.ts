/**
 * IPCP IP-Address option (RFC 1332 3.3).
 *
 * ```
 * | Type=3 | Length=6 | IP-Address (32 bits) |
 * ```
 *
 * - Client: asks for `localAddress` (default 0.0.0.0, "assign me one") and
 *   takes the address the server Naks with. It acks the server's own address.
 * - Server: asks for its own `localAddress`, Naks a client that asks for
 *   0.0.0.0 or anything but `peerAddress` with `peerAddress`. Without a
 *   `peerAddress` it acks a client-chosen address and fails on 0.0.0.0.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../../errors.ts";
import { IPCP_OPTION } from "../constants.ts";
import { ACK, nak, type OptionHandler, type OptionVerdict, REJECT } from "../option_handler.ts";
import { bytesToIpv4, ipv4ToBytes, isZeroAddress } from "./ipv4.ts";

/** Which end of the tunnel we are. */
export type IpcpRole = "client" | "server";

/** Options of {@linkcode IpAddressHandler}. */
export interface IpAddressOptions {
  /** Client or server. */
  role: IpcpRole;
  /** Server: its own address. Client: the address it wants (default 0.0.0.0). */
  localAddress?: string;
  /** Server: the address it assigns to the client. */
  peerAddress?: string;
}

/** Renders IP-Address data, e.g. `addr 198.18.1.10`. */
export function describeIpAddress(data: Uint8Array): string {
  return data.length === 4 ? `addr ${bytesToIpv4(data)}` : `addr <len=${data.length}>`;
}

/** The IP-Address handler. */
export class IpAddressHandler implements OptionHandler {
  /** IP-Address, option 3 (RFC 1332 3.3). */
  readonly type: typeof IPCP_OPTION.IP_ADDRESS = IPCP_OPTION.IP_ADDRESS;
  readonly #role: IpcpRole;
  readonly #configuredLocal: Uint8Array | undefined;
  readonly #configuredPeer: Uint8Array | undefined;
  #wanted: Uint8Array | undefined;
  #isRejected = false;
  #local: Uint8Array | undefined;
  #peer: Uint8Array | undefined;

  /**
   * The IP-Address handler for `options.role`, starting from the configured
   * local and peer addresses (when given).
   *
   * @throws {TypeError} For an address that is not a dotted quad.
   */
  constructor(options: IpAddressOptions) {
    this.#role = options.role;
    this.#configuredLocal = options.localAddress === undefined
      ? undefined
      : ipv4ToBytes(options.localAddress);
    this.#configuredPeer = options.peerAddress === undefined
      ? undefined
      : ipv4ToBytes(options.peerAddress);
    this.#wanted = this.#initialWanted();
  }

  #initialWanted(): Uint8Array | undefined {
    return this.#role === "client"
      ? (this.#configuredLocal ?? new Uint8Array(4))
      : this.#configuredLocal;
  }

  /** Our address as acked by the peer (or configured, for a server). */
  get localAddress(): string | undefined {
    const v = this.#local ?? (this.#role === "server" ? this.#configuredLocal : undefined);
    return v === undefined ? undefined : bytesToIpv4(v);
  }
  /** The peer's address as we acked it (or assigned, for a server). */
  get peerAddress(): string | undefined {
    const v = this.#peer ?? this.#configuredPeer;
    return v === undefined ? undefined : bytesToIpv4(v);
  }

  request(): Uint8Array | undefined {
    return this.#isRejected ? undefined : this.#wanted;
  }
  onAck(data: Uint8Array): void {
    this.#local = data.slice();
  }
  onNak(data: Uint8Array, requested: boolean): ProtocolError | undefined {
    // RFC 1332 3.3: the Nak carries the address the peer wants us to use.
    if (this.#role === "client" && requested && data.length === 4 && !isZeroAddress(data)) {
      this.#wanted = data.slice();
    }
    return undefined;
  }
  onReject(): ProtocolError | undefined {
    if (this.#role === "client" && (this.#wanted === undefined || isZeroAddress(this.#wanted))) {
      return new ProtocolError(
        "ipcp",
        ERROR_CODE.NO_ADDRESS,
        "Cannot configure IPCP: the peer rejected IP-Address and no address is configured",
      );
    }
    this.#isRejected = true;
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    if (data.length !== 4) return REJECT;
    if (this.#role === "client") return isZeroAddress(data) ? REJECT : ACK;
    const assigned = this.#configuredPeer;
    if (assigned !== undefined) return equal(data, assigned) ? ACK : nak(assigned);
    if (!isZeroAddress(data)) return ACK;
    return {
      kind: "fail",
      error: new ProtocolError(
        "ipcp",
        ERROR_CODE.NO_ADDRESS,
        "Cannot configure IPCP: the client asks for an address and none is configured",
      ),
    };
  }
  onAckSent(data: Uint8Array): void {
    this.#peer = data.slice();
  }
  reset(): void {
    this.#wanted = this.#initialWanted();
    this.#isRejected = false;
    this.#local = undefined;
    this.#peer = undefined;
  }
  describe(data: Uint8Array): string {
    return describeIpAddress(data);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
