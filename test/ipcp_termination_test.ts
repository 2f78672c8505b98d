/**
 * A link whose IPCP has given up ends (found by `deno task fuzz`, target
 * engine-pair): before, both engines stayed in the Network phase with no
 * NCP running, kept alive by SSTP Hellos forever, the server holding the
 * session and its address and the client never reconnecting.
 */
import assert from "node:assert/strict";
import { ProtocolError } from "../lib/errors.ts";
import { EngineHarness } from "./helpers/engine_harness.ts";
import { fuzzClientEngine, fuzzServerEngine } from "./fuzz/corpus.ts";

function connected(): EngineHarness {
  const h = new EngineHarness(fuzzClientEngine(), fuzzServerEngine());
  h.start();
  assert.ok(h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server, 10_000));
  return h;
}

/** IPCP Terminate-Request (RFC 1661 5.5), as a PPP frame. */
const IPCP_TERMINATE_REQUEST = new Uint8Array([0xff, 0x03, 0x80, 0x21, 0x05, 0x77, 0x00, 0x04]);

for (const side of ["server", "client"] as const) {
  Deno.test(`the ${side} ends the session when the peer terminates IPCP`, () => {
    const h = connected();
    const peer = side === "server" ? "client" : "server";
    // The peer's next packet becomes an IPCP Terminate-Request (an SSTP data
    // packet); after it, the peer goes quiet.
    let sent = false;
    h.tap = (from, bytes) => {
      if (from !== peer || sent) return from === peer ? null : bytes;
      sent = true;
      const frame = IPCP_TERMINATE_REQUEST;
      return new Uint8Array([0x10, 0x00, 0x00, 4 + frame.length, ...frame]);
    };
    assert.ok(h.sendIp(peer, new Uint8Array(20)));
    // Hellos alone would keep it up for a minute; IPCP's and LCP's restart
    // timers end it in seconds.
    assert.ok(h.runUntil(() => !!h.closed[side], 30_000), `${side} still up`);
    const error = h.closed[side]?.error;
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.layer, "ipcp");
  });
}
