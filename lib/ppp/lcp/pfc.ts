/**
 * LCP Protocol-Field-Compression option (RFC 1661 6.5): `| Type=7 | Length=2 |`.
 *
 * Default: we do not ask for it and we accept the peer's request. Acking it
 * allows us to send one-byte protocol fields (`peerAccepts`); we always accept
 * either form on receipt (decodePppFrame).
 *
 * @module
 */
import { LCP_OPTION } from "../constants.ts";
import { FlagOptionHandler, type FlagOptions } from "./_flag_option.ts";

/** The Protocol-Field-Compression handler. */
export class PfcHandler extends FlagOptionHandler {
  /**
   * PFC (LCP option 7): off unless requested, accepted by default.
   *
   * @param options Whether to request and to accept PFC.
   */
  constructor(options: FlagOptions = {}) {
    super(LCP_OPTION.PFC, "pcomp", options);
  }
}
