import assert from "node:assert/strict";
import { describeCpPacket } from "../describe.ts";

Deno.test("describeCpPacket names BCP options in debug logs", () => {
  // Configure-Request id 1: MAC-Support 802.3, Tinygram-Compression on.
  const packet = new Uint8Array([1, 1, 0, 10, 3, 3, 1, 4, 3, 1]);
  assert.equal(
    describeCpPacket(0x8031, packet),
    "BCP ConfReq id=0x1 <mac-support 1> <tinygram on>",
  );
});
