/**
 * The server's RADIUS, login-throttling and TLS handshake metrics from a
 * real `sstp serve` in a namespace with Debian's FreeRADIUS: an accepted
 * login (Access-Accept, Accounting-Response), a CoA and a Disconnect from
 * radclient (ACKs), two wrong passwords (Access-Reject; the second is
 * delayed by the throttle and blocks the source) and a third attempt the
 * block refuses. The scraped document moves accordingly and passes
 * `promtool check metrics`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertPromtoolValid, samples } from "../helpers/exposition.ts";
import { netnsTestIgnore } from "../helpers/netns.ts";

import {
  connectClient,
  createTopology,
  POOL_YAML,
  ServeProcess,
  writeConfig,
} from "../server_fixture.ts";
import { assertIncomingAck, radiusServerYaml, startFreeRadius } from "../helpers/freeradius.ts";

const ignore = netnsTestIgnore("RADIUS and auth-throttle metrics netns test");
const SECRET = "rad1us-m3trics";

Deno.test({
  name: "metrics: RADIUS requests by type and result, auth throttling and TLS handshakes move",
  ignore,
}, async () => {
  await using t = await createTopology();
  const fr = await startFreeRadius({
    secret: SECRET,
    netns: t.server.name,
    users: [{ name: "rad", password: "rad pass" }],
  });
  try {
    const coaPort = fr.authPort + 2;
    const config = await writeConfig(
      t,
      `  metrics: 127.0.0.1:9477
  auth-throttle-delay-after: 1
  auth-throttle-block-after: 2
${POOL_YAML}` + radiusServerYaml(fr, SECRET, { incomingPort: coaPort }),
    );
    await using serve = await ServeProcess.start(t.server, ["--config", config]);
    await serve.waitFor(/metrics on http:\/\/127\.0\.0\.1:9477\/metrics/);
    const scrape = async () =>
      await t.server.run(["curl", "-sf", "--max-time", "5", "http://127.0.0.1:9477/metrics"]);

    const before = samples(await scrape());
    assert.equal(before.get("sstp_radius_invalid_replies_total"), 0, "RADIUS configured: shown");
    assert.equal(before.get("sstp_auth_throttle_blocks_total"), 0);
    assert.equal(before.get("sstp_tls_handshake_duration_seconds_count"), 0);

    // An accepted RADIUS login, then a CoA and a Disconnect for it.
    const c = await connectClient(t, "rad", "rad pass");
    try {
      await c.linkUp;
      const server = t.server.name;
      const coa = 'User-Name = "rad"\nSession-Timeout = 3600\n';
      await assertIncomingAck(server, coaPort, "coa", SECRET, coa);
      await assertIncomingAck(server, coaPort, "disconnect", SECRET, 'User-Name = "rad"\n');
      await c.done;
    } finally {
      await c.close();
    }
    // Two wrong passwords: the first is rejected, the second waits out the
    // throttle's delay and its failure blocks the source; a third is refused.
    for (let i = 0; i < 3; i++) {
      const bad = await connectClient(t, "rad", "wrong");
      await assert.rejects(() => bad.linkUp);
      await bad.close();
    }

    let text = "";
    let after = new Map<string, number>();
    // Accounting Stop follows the Disconnect asynchronously: wait for its response.
    for (let i = 0; i < 50; i++) {
      text = await scrape();
      after = samples(text);
      if (
        (after.get('sstp_radius_requests_total{type="accounting",result="response"}') ?? 0) >= 3
      ) {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const get = (k: string) => after.get(k) ?? 0;
    assert.equal(get('sstp_radius_requests_total{type="access",result="accept"}'), 1, text);
    assert.equal(get('sstp_radius_requests_total{type="access",result="reject"}'), 2, text);
    // Accounting-On, Start and Stop.
    assert.ok(get('sstp_radius_requests_total{type="accounting",result="response"}') >= 3, text);
    assert.equal(get('sstp_radius_requests_total{type="coa",result="ack"}'), 1, text);
    assert.equal(get('sstp_radius_requests_total{type="disconnect",result="ack"}'), 1, text);
    assert.equal(get('sstp_radius_request_duration_seconds_count{type="access"}'), 3, text);
    assert.ok(get('sstp_radius_request_duration_seconds_sum{type="access"}') > 0);
    assert.equal(get('sstp_auth_throttled_total{reason="delayed"}'), 1, text);
    assert.equal(get('sstp_auth_throttled_total{reason="source_blocked"}'), 1, text);
    assert.equal(get("sstp_auth_throttle_blocks_total"), 1, text);
    assert.equal(get("sstp_auth_throttle_blocked_sources"), 1, text);
    // Every connection finished its TLS handshake: 1 login + 3 wrong ones.
    assert.equal(get("sstp_tls_handshake_duration_seconds_count"), 4, text);
    assert.ok(get("sstp_tls_handshake_duration_seconds_sum") > 0);

    await assertPromtoolValid(text);
  } finally {
    await fr.stop();
  }
});
