/**
 * IPV6CP Interface-Identifier option (RFC 5072 4.1).
 *
 * ```
 * | Type=1 | Length=10 | Interface-Identifier (64 bits) |
 * ```
 *
 * - We ask for a random non-zero identifier (injected `randomBytes`), or a
 *   configured one.
 * - A Nak with a non-zero identifier is adopted; a zero one makes us pick anew.
 * - The peer's zero identifier, or one equal to ours (a collision), is Nak'd
 *   with a fresh suggestion (RFC 5072 4.1).
 *
 * @module
 */
import { formatIpv6, linkLocalFromInterfaceId } from "../../ipv6/address.ts";
import type { ProtocolError } from "../../errors.ts";
import type { RandomBytes } from "../auth/auth_types.ts";
import { IPV6CP_OPTION } from "../constants.ts";
import { ACK, nak, type OptionHandler, type OptionVerdict, REJECT } from "../option_handler.ts";

/** Identifier length in bytes. */
export const INTERFACE_IDENTIFIER_LENGTH = 8;

/** Options of {@linkcode InterfaceIdentifierHandler}. */
export interface InterfaceIdentifierOptions {
  /** Randomness for identifiers. */
  randomBytes: RandomBytes;
  /** A fixed identifier to request (8 bytes, non-zero). */
  localIdentifier?: Uint8Array;
}

/**
 * Formats an identifier as the low 64 bits of a link-local address in RFC
 * 5952 text (what `ip` prints and takes), e.g. `fe80::1:2:3:4`, `fe80::1`.
 */
export function linkLocalAddress(identifier: Uint8Array): string {
  if (identifier.length !== INTERFACE_IDENTIFIER_LENGTH) {
    throw new RangeError(`Cannot format an interface identifier of ${identifier.length} bytes`);
  }
  return formatIpv6(linkLocalFromInterfaceId(identifier));
}

/** The identifier as four groups after fe80:: (pppd's layout in debug logs), e.g. `fe80::0:0:0:1`. */
function describeGroups(identifier: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < INTERFACE_IDENTIFIER_LENGTH; i += 2) {
    groups.push((((identifier[i] ?? 0) << 8) | (identifier[i + 1] ?? 0)).toString(16));
  }
  return `fe80::${groups.join(":")}`;
}

/** Renders Interface-Identifier data, e.g. `addr fe80::1:2:3:4`. */
export function describeInterfaceIdentifier(data: Uint8Array): string {
  return data.length === INTERFACE_IDENTIFIER_LENGTH
    ? `addr ${describeGroups(data)}`
    : `addr <len=${data.length}>`;
}

function isZero(data: Uint8Array): boolean {
  return data.every((b) => b === 0);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The Interface-Identifier handler. */
export class InterfaceIdentifierHandler implements OptionHandler {
  /** Interface-Identifier, option 1 (RFC 5072 4.1). */
  readonly type: typeof IPV6CP_OPTION.INTERFACE_IDENTIFIER = IPV6CP_OPTION.INTERFACE_IDENTIFIER;
  readonly #randomBytes: RandomBytes;
  readonly #configured: Uint8Array | undefined;
  #wanted: Uint8Array;
  #isRejected = false;
  #local: Uint8Array | undefined;
  #peer: Uint8Array | undefined;

  /**
   * The handler, wanting the configured identifier or a random one.
   *
   * @throws {RangeError} For a configured identifier that is not 8 non-zero bytes.
   */
  constructor(options: InterfaceIdentifierOptions) {
    this.#randomBytes = options.randomBytes;
    const c = options.localIdentifier;
    if (c !== undefined && (c.length !== INTERFACE_IDENTIFIER_LENGTH || isZero(c))) {
      throw new RangeError("Cannot configure IPV6CP: localIdentifier must be 8 non-zero bytes");
    }
    this.#configured = c?.slice();
    this.#wanted = this.#configured ?? this.#fresh(new Uint8Array(8));
  }

  /** Our identifier as acked by the peer. */
  get localIdentifier(): Uint8Array | undefined {
    return this.#local;
  }
  /** The peer's identifier as we acked it. */
  get peerIdentifier(): Uint8Array | undefined {
    return this.#peer;
  }

  /** A random non-zero identifier different from `avoid`. */
  #fresh(avoid: Uint8Array): Uint8Array {
    for (let i = 0; i < 8; i++) {
      const v = new Uint8Array(INTERFACE_IDENTIFIER_LENGTH);
      v.set(
        this.#randomBytes(INTERFACE_IDENTIFIER_LENGTH).subarray(0, INTERFACE_IDENTIFIER_LENGTH),
      );
      if (!isZero(v) && !equal(v, avoid) && !equal(v, this.#wanted ?? avoid)) return v;
    }
    // A broken random source must not hang us: derive a distinct non-zero value.
    const v = avoid.slice();
    v[7] = ((v[7] ?? 0) + 1) & 0xff;
    if (isZero(v) || equal(v, this.#wanted ?? avoid)) v[6] = ((v[6] ?? 0) + 1) & 0xff;
    return v;
  }

  request(): Uint8Array | undefined {
    return this.#isRejected ? undefined : this.#wanted;
  }
  onAck(data: Uint8Array): void {
    this.#local = data.slice();
  }
  onNak(data: Uint8Array, requested: boolean): ProtocolError | undefined {
    if (!requested) return undefined;
    this.#wanted = data.length === INTERFACE_IDENTIFIER_LENGTH && !isZero(data)
      ? data.slice()
      : this.#fresh(this.#wanted);
    return undefined;
  }
  onReject(): ProtocolError | undefined {
    this.#isRejected = true;
    return undefined;
  }
  onRequest(data: Uint8Array): OptionVerdict {
    if (data.length !== INTERFACE_IDENTIFIER_LENGTH) return REJECT;
    if (isZero(data) || equal(data, this.#wanted)) return nak(this.#fresh(this.#wanted));
    return ACK;
  }
  onAckSent(data: Uint8Array): void {
    this.#peer = data.slice();
  }
  reset(): void {
    this.#isRejected = false;
    this.#local = undefined;
    this.#peer = undefined;
  }
  describe(data: Uint8Array): string {
    return describeInterfaceIdentifier(data);
  }
}
