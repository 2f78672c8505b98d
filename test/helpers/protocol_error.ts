/**
 * Test support: the code of the {@linkcode ProtocolError} a decoder throws.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ProtocolError } from "../../lib/errors.ts";

/**
 * Runs `fn` and returns the `code` of the ProtocolError it throws; fails the
 * test when it throws anything else or nothing.
 */
export function protocolErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    return e.code;
  }
  assert.fail("did not throw");
}
