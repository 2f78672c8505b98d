import assert from "node:assert/strict";
import { ServerMetrics } from "./server_metrics.ts";
import type { ServerSession } from "../../server/_session.ts";
import { FakeClock } from "../../clock.ts";
import { AuthThrottle } from "../../server/auth_throttle.ts";
import { observeIncoming, observeRequest } from "../../radius/radius_observer.ts";
import { ProtocolError } from "../../errors.ts";
import { RADIUS_CODE } from "../../radius/radius_packet.ts";
import { samples } from "../../../test/helpers/exposition.ts";

async function promtool(text: string): Promise<string | undefined> {
  let child;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !Deno.env.get("CI")) return undefined;
    throw e;
  }
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const r = await child.output();
  const said = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.ok(r.success, said);
  return said.trim();
}

Deno.test("server metrics: TLS handshake histogram, auth throttle and RADIUS series move and pass promtool", async () => {
  const clock = new FakeClock(1_000_000);
  const m = new ServerMetrics({ clock, radius: true });
  const empty = samples(m.render([]));
  assert.equal(empty.get("sstp_tls_handshake_duration_seconds_count"), 0);
  assert.equal(empty.get("sstp_radius_invalid_replies_total"), 0, "RADIUS shown when configured");
  assert.equal(empty.get('sstp_auth_throttled_total{reason="delayed"}'), undefined, "no throttle");

  // The server's hooks, as server.ts wires them.
  m.tlsHandshake(12);
  m.tlsHandshake(700);
  const throttle = new AuthThrottle({
    delayAfter: 1,
    blockAfter: 2,
    blockMs: 60_000,
    observer: m.authThrottle,
  });
  const t0 = clock.now();
  throttle.recordFailure("198.18.0.9", "alice", t0);
  assert.equal(throttle.check("198.18.0.9", t0).action, "delay");
  throttle.recordFailure("198.18.0.9", "alice", t0);
  assert.equal(throttle.check("198.18.0.9", t0).action, "refuse");
  // Another failing source tries the blocked user name.
  throttle.recordFailure("198.18.0.10", "bob", t0);
  assert.equal(throttle.isRefused("198.18.0.10", "alice", t0), true);

  const reply = (code: number) => Promise.resolve({ reply: { code } });
  await observeRequest(m.radius, clock, "auth", reply(RADIUS_CODE.ACCESS_ACCEPT));
  await observeRequest(m.radius, clock, "auth", reply(RADIUS_CODE.ACCESS_REJECT));
  await observeRequest(m.radius, clock, "acct", reply(RADIUS_CODE.ACCOUNTING_RESPONSE));
  await observeRequest(m.radius, clock, "acct", reply(RADIUS_CODE.ACCESS_ACCEPT));
  await assert.rejects(
    observeRequest(
      m.radius,
      clock,
      "auth",
      Promise.reject(new ProtocolError("radius", "TIMEOUT", "no answer")),
    ),
  );
  m.radius.radiusInvalidReply();
  observeIncoming(m.radius, new Uint8Array([RADIUS_CODE.COA_REQUEST]), new Uint8Array([45]));
  observeIncoming(
    m.radius,
    new Uint8Array([RADIUS_CODE.DISCONNECT_REQUEST]),
    new Uint8Array([RADIUS_CODE.DISCONNECT_ACK]),
  );
  observeIncoming(m.radius, new Uint8Array([RADIUS_CODE.DISCONNECT_REQUEST]), undefined);

  const text = m.render([]);
  const s = samples(text);
  assert.equal(s.get("sstp_tls_handshake_duration_seconds_count"), 2);
  assert.equal(s.get('sstp_tls_handshake_duration_seconds_bucket{le="0.025"}'), 1);
  assert.equal(s.get('sstp_tls_handshake_duration_seconds_bucket{le="1"}'), 2);
  assert.equal(s.get('sstp_auth_throttled_total{reason="delayed"}'), 1);
  assert.equal(s.get('sstp_auth_throttled_total{reason="source_blocked"}'), 1);
  assert.equal(s.get('sstp_auth_throttled_total{reason="user_blocked"}'), 1);
  assert.equal(s.get("sstp_auth_throttle_blocks_total"), 1);
  assert.equal(s.get("sstp_auth_throttle_blocked_sources"), 1);
  assert.equal(s.get("sstp_auth_throttle_blocked_users"), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="access",result="accept"}'), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="access",result="reject"}'), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="access",result="timeout"}'), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="accounting",result="response"}'), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="accounting",result="bad_reply"}'), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="coa",result="nak"}'), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="disconnect",result="ack"}'), 1);
  assert.equal(s.get('sstp_radius_requests_total{type="disconnect",result="dropped"}'), 1);
  assert.equal(s.get('sstp_radius_request_duration_seconds_count{type="access"}'), 2);
  assert.equal(s.get('sstp_radius_request_duration_seconds_count{type="accounting"}'), 2);
  assert.equal(s.get("sstp_radius_invalid_replies_total"), 1);
  // The block ends: the gauge follows the clock.
  clock.advance(60_001);
  assert.equal(samples(m.render([])).get("sstp_auth_throttle_blocked_sources"), 0);
  const said = await promtool(text);
  if (said !== undefined) assert.equal(said, "", said);
});

Deno.test("server metrics: RADIUS series appear with the first request when not announced", () => {
  const m = new ServerMetrics({ clock: new FakeClock() });
  assert.ok(!m.render([]).includes("sstp_radius_requests_total"));
  m.radius.radiusRequest("access", "accept", 0.01);
  assert.match(m.render([]), /^sstp_radius_requests_total\{type="access",result="accept"\} 1$/m);
});

Deno.test("server metrics: packets dropped for a spoofed source count under their own reason", () => {
  const m = new ServerMetrics({ clock: new FakeClock(0) });
  const counters = {
    rxBytes: 0,
    txBytes: 0,
    rxPackets: 0,
    txPackets: 0,
    droppedInbound: 1,
    droppedSpoofed: 3,
    droppedPoliced: 0,
    lastDataMs: 0,
  };
  const live = { state: "connected", runner: { counters } } as unknown as ServerSession;
  const s = samples(m.render([live]));
  assert.equal(s.get('sstp_dropped_packets_total{reason="spoofed_source"}'), 3);
  assert.equal(s.get('sstp_dropped_packets_total{reason="inbound_link_not_ready"}'), 1);
  assert.equal(samples(m.render([])).get('sstp_dropped_packets_total{reason="spoofed_source"}'), 0);
});
