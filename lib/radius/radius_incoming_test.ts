import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { handleDynamicRequest, type SessionSelector } from "./radius_incoming.ts";
import { encodeSignedRequest, RADIUS_CODE, verifyResponse } from "./radius_packet.ts";
import { ATTR, AttributeList, integerAttr, ipv4Attr, textAttr } from "./radius_attributes.ts";
import type { RadiusAttribute } from "./radius_packet.ts";

const enc = new TextEncoder();
const SECRET = enc.encode("coa-secret");

function target() {
  const sessions = [
    { id: "a1", user: "alice", ip: "198.18.50.9" },
    { id: "a2", user: "alice", ip: "198.18.50.10" },
    { id: "b1", user: "bob", ip: "198.18.50.11" },
  ];
  const ended: string[] = [];
  const timeouts: [string, number][] = [];
  return {
    ended,
    timeouts,
    find: (s: SessionSelector) =>
      sessions.filter((x) =>
        (s.user === undefined || s.user === x.user) &&
        (s.acctSessionId === undefined || s.acctSessionId === x.id) &&
        (s.framedIpAddress === undefined || s.framedIpAddress === x.ip)
      ).map((x) => x.id),
    disconnect: (id: string) => void ended.push(id),
    setSessionTimeout: (id: string, ms: number) => void timeouts.push([id, ms]),
  };
}

function request(code: number, attributes: RadiusAttribute[]) {
  const bytes = encodeSignedRequest({ code, identifier: 42, attributes }, SECRET, {
    messageAuthenticator: true,
  });
  return { bytes, auth: bytes.slice(4, 20) };
}

function outcome(code: number, attributes: RadiusAttribute[], t = target()) {
  const { bytes, auth } = request(code, attributes);
  const r = handleDynamicRequest(bytes, SECRET, t);
  assert.ok(!(r instanceof ProtocolError), String(r));
  const reply = verifyResponse(r.reply, auth, SECRET);
  return { reply, attrs: new AttributeList(reply.attributes), log: r.log, t };
}

Deno.test("Disconnect-Request by User-Name ends every session of the user; ACK echoes Proxy-State", () => {
  const o = outcome(RADIUS_CODE.DISCONNECT_REQUEST, [
    textAttr(ATTR.USER_NAME, "alice"),
    { type: ATTR.PROXY_STATE, value: enc.encode("ps1") },
  ]);
  assert.equal(o.reply.code, RADIUS_CODE.DISCONNECT_ACK);
  assert.equal(o.reply.identifier, 42);
  assert.deepEqual(o.t.ended, ["a1", "a2"]);
  assert.equal(new TextDecoder().decode(o.attrs.bytes(ATTR.PROXY_STATE)), "ps1");
});

Deno.test("Disconnect by Framed-IP-Address and Acct-Session-Id must match all given", () => {
  const o = outcome(RADIUS_CODE.DISCONNECT_REQUEST, [
    ipv4Attr(ATTR.FRAMED_IP_ADDRESS, "198.18.50.11"),
    textAttr(ATTR.ACCT_SESSION_ID, "b1"),
  ]);
  assert.deepEqual(o.t.ended, ["b1"]);
  const none = outcome(RADIUS_CODE.DISCONNECT_REQUEST, [
    ipv4Attr(ATTR.FRAMED_IP_ADDRESS, "198.18.50.11"),
    textAttr(ATTR.USER_NAME, "alice"),
  ]);
  assert.equal(none.reply.code, RADIUS_CODE.DISCONNECT_NAK);
  assert.equal(none.attrs.integer(ATTR.ERROR_CAUSE), 503);
  assert.deepEqual(none.t.ended, []);
});

Deno.test("CoA changes Session-Timeout; other changes and missing selectors are NAKed", () => {
  const o = outcome(RADIUS_CODE.COA_REQUEST, [
    textAttr(ATTR.ACCT_SESSION_ID, "a2"),
    integerAttr(ATTR.SESSION_TIMEOUT, 120),
  ]);
  assert.equal(o.reply.code, RADIUS_CODE.COA_ACK);
  assert.deepEqual(o.t.timeouts, [["a2", 120_000]]);
  const unsupported = outcome(RADIUS_CODE.COA_REQUEST, [
    textAttr(ATTR.USER_NAME, "bob"),
    integerAttr(ATTR.IDLE_TIMEOUT, 5),
  ]);
  assert.equal(unsupported.reply.code, RADIUS_CODE.COA_NAK);
  assert.equal(unsupported.attrs.integer(ATTR.ERROR_CAUSE), 401);
  assert.deepEqual(unsupported.t.timeouts, []);
  const anonymous = outcome(RADIUS_CODE.DISCONNECT_REQUEST, [integerAttr(ATTR.NAS_PORT, 1)]);
  assert.equal(anonymous.attrs.integer(ATTR.ERROR_CAUSE), 402);
});

Deno.test("a request with a wrong secret or a stray code is dropped, not answered", () => {
  const { bytes } = request(RADIUS_CODE.DISCONNECT_REQUEST, [textAttr(ATTR.USER_NAME, "alice")]);
  const t = target();
  assert.ok(handleDynamicRequest(bytes, enc.encode("other"), t) instanceof ProtocolError);
  const stray = request(RADIUS_CODE.ACCOUNTING_REQUEST, []);
  assert.ok(handleDynamicRequest(stray.bytes, SECRET, t) instanceof ProtocolError);
  assert.ok(handleDynamicRequest(new Uint8Array(7), SECRET, t) instanceof ProtocolError);
  assert.deepEqual(t.ended, []);
});
