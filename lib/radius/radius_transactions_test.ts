import assert from "node:assert/strict";
import { encodeAccessRequest, encodeResponse, RADIUS_CODE } from "./radius_packet.ts";
import {
  type RadiusServer,
  RadiusTransactions,
  type RequestBuilder,
} from "./radius_transactions.ts";

const enc = new TextEncoder();
const A: RadiusServer = {
  address: "198.18.90.1",
  secret: enc.encode("a"),
  authenticationPort: 1812,
  accountingPort: 1813,
  timeoutMs: 300,
};
const B: RadiusServer = { ...A, address: "198.18.90.5", secret: enc.encode("b") };

let counter = 0;
const random = (n: number) => new Uint8Array(n).fill(counter++ & 0xff);
const build: RequestBuilder = (server, identifier) => {
  const requestAuthenticator = new Uint8Array(16).fill(identifier);
  const bytes = encodeAccessRequest(
    { code: RADIUS_CODE.ACCESS_REQUEST, identifier, attributes: [] },
    requestAuthenticator,
    server.secret,
  );
  return { bytes, requestAuthenticator };
};

function replyTo(sent: Uint8Array, server: RadiusServer, code: number = RADIUS_CODE.ACCESS_ACCEPT) {
  return encodeResponse(
    { code, identifier: sent[1]!, attributes: [] },
    sent.slice(4, 20),
    server.secret,
  );
}

Deno.test("resends the same packet after each timeout, then fails over, then fails with a clear error", () => {
  const tx = new RadiusTransactions({ servers: [A, B], attempts: 2, randomBytes: random });
  const { id, events } = tx.start("auth", build, 0);
  const first = events[0];
  assert.ok(first?.type === "send" && first.send.address === A.address && first.send.port === 1812);
  assert.equal(tx.nextDeadlineMs, 300);
  assert.deepEqual(tx.tick(299), []);
  const again = tx.tick(300)[0];
  assert.ok(again?.type === "send");
  assert.deepEqual(again.send.bytes, first.send.bytes);
  const over = tx.tick(600)[0];
  assert.ok(over?.type === "send" && over.send.address === B.address);
  assert.ok(tx.tick(900)[0]?.type === "send");
  const failed = tx.tick(1200)[0];
  assert.ok(failed?.type === "failed" && failed.id === id);
  assert.equal(failed.error.code, "TIMEOUT");
  assert.match(
    failed.error.message,
    /198\.18\.90\.1:1812 \(2 tries\), 198\.18\.90\.5:1812 \(2 tries\)/,
  );
  assert.equal(tx.size, 0);
});

Deno.test("a verified reply from the right server ends the request; forgeries are dropped", () => {
  const tx = new RadiusTransactions({ servers: [A, B], randomBytes: random });
  const { id, events } = tx.start("auth", build, 0);
  const sent = events[0]!.type === "send" ? events[0]!.send.bytes : new Uint8Array();
  // Signed with B's secret: wrong authenticator.
  const forged = tx.receive(A.address, 1812, replyTo(sent, B));
  assert.ok(forged[0]?.type === "dropped");
  assert.match(forged[0].reason, /Response Authenticator is wrong/);
  // Right bytes from another source port: no match.
  assert.ok(tx.receive(A.address, 9999, replyTo(sent, A))[0]?.type === "dropped");
  // Truncated garbage.
  assert.ok(tx.receive(A.address, 1812, new Uint8Array(5))[0]?.type === "dropped");
  const ok = tx.receive(A.address, 1812, replyTo(sent, A))[0];
  assert.ok(ok?.type === "reply" && ok.id === id && ok.server === 0);
  assert.equal(tx.size, 0);
  assert.equal(tx.nextDeadlineMs, undefined);
});

Deno.test("identifiers stay unique among outstanding requests; 257th fails over, then fails", () => {
  const tx = new RadiusTransactions({ servers: [A], randomBytes: () => new Uint8Array([7]) });
  const ids = new Set<number>();
  for (let i = 0; i < 256; i++) {
    const e = tx.start("auth", build, 0).events[0];
    assert.ok(e?.type === "send");
    ids.add(e.send.bytes[1]!);
  }
  assert.equal(ids.size, 256);
  const full = tx.start("auth", build, 0).events[0];
  assert.ok(full?.type === "failed");
  assert.equal(full.error.code, "RETRY_EXHAUSTED");
  // Accounting has its own identifier space.
  assert.ok(tx.start("acct", build, 0).events[0]?.type === "send");
});
