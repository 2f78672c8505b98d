/**
 * LCP Address-and-Control-Field-Compression option (RFC 1661 6.6):
 * `| Type=8 | Length=2 |`.
 *
 * Default: we do not ask for it and we accept the peer's request. Acking it
 * allows us to omit FF 03 (`peerAccepts`); we always accept either form on
 * receipt (decodePppFrame). SoftEther rejects it and needs FF 03.
 *
 * @module
 */
import { LCP_OPTION } from "../constants.ts";
import { FlagOptionHandler, type FlagOptions } from "./_flag_option.ts";

/** The Address-and-Control-Field-Compression handler. */
export class AcfcHandler extends FlagOptionHandler {
  /**
   * ACFC (LCP option 8): off unless requested, accepted by default.
   *
   * @param options Whether to request and to accept ACFC.
   */
  constructor(options: FlagOptions = {}) {
    super(LCP_OPTION.ACFC, "accomp", options);
  }
}
