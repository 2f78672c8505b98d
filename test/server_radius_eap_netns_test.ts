/**
 * EAP relayed to RADIUS (RFC 3579), run for real: `sstp serve` (in a
 * namespace) with `authentication: eap-mschap2` and users only in Debian's
 * FreeRADIUS, whose eap module runs EAP-MSCHAPv2 (default_eap_type
 * mschapv2). Our client logs in with EAP-MSCHAPv2; the server relays the
 * conversation in EAP-Message attributes (State echoed, Access-Challenge
 * rounds) and builds the HLAK from the Access-Accept's MS-MPPE keys, so
 * the SSTP crypto binding verifies and the link comes up with the
 * Framed-IP-Address from RADIUS. A wrong password ends in EAP-Failure; a
 * local user is still checked locally.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "./helpers/netns.ts";

import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import {
  connectClient,
  createTopology,
  POOL_YAML,
  ServeProcess,
  writeConfig,
} from "./server_fixture.ts";
import { radiusServerYaml, startFreeRadius } from "./helpers/freeradius.ts";

const ignore = netnsTestIgnore("sstp serve + FreeRADIUS EAP netns test");
const SECRET = "eap-rad1us";
const FRAMED_IP = "198.19.0.88";
const EAP = { authentication: ["eap-mschap2" as const] };

Deno.test({
  name: "sstp serve relays EAP-MSCHAPv2 to FreeRADIUS's eap module; the crypto binding verifies",
  ignore,
}, async (tt) => {
  await using t = await createTopology();
  const fr = await startFreeRadius({
    secret: SECRET,
    netns: t.server.name,
    eap: true,
    users: [
      { name: "eapuser", password: "e4p pass", reply: [`Framed-IP-Address = ${FRAMED_IP}`] },
    ],
  });
  try {
    const config = await writeConfig(
      t,
      `  authentication: eap-mschap2
  auth-throttle: no
` + POOL_YAML + `secrets:
  - { name: local, password: "l0cal" }
` + radiusServerYaml(fr, SECRET),
    );
    await using serve = await ServeProcess.start(t.server, ["--config", config]);

    await tt.step(
      "a RADIUS user logs in with EAP-MSCHAPv2; HLAK from the MPPE keys binds",
      async () => {
        const c = await connectClient(t, "eapuser", "e4p pass", EAP);
        try {
          // Link up means Call Connected's Compound MAC verified with the relayed HLAK.
          const ip = await c.linkUp;
          assert.equal(ip.localAddress, FRAMED_IP);
          const tun = c.tun as MemoryTun;
          const before = tun.written.length;
          tun.inject(buildIcmpEcho(ip.localAddress, ip.peerAddress, { id: 5, seq: 1 }));
          assert.equal(parseIcmp(await tun.nextWritten(before, 5000))?.type, 0);
          await serve.waitFor(/Authenticated "eapuser" with eap-mschap2$/);
        } finally {
          await c.close();
        }
        const log = await fr.log();
        // Relayed through the eap module, in several Access-Challenge rounds.
        assert.match(log, /Sent Access-Challenge/);
        assert.match(log, /eap_mschapv2/);
        let detail = "";
        for (let i = 0; i < 50 && !/Acct-Status-Type = Stop/.test(detail); i++) {
          detail = await fr.detail();
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.match(detail, /User-Name = "eapuser"/);
        assert.match(detail, /Acct-Status-Type = Stop/);
      },
    );

    await tt.step("a wrong password ends in EAP-Failure", async () => {
      const c = await connectClient(t, "eapuser", "wrong", EAP);
      try {
        await assert.rejects(() => c.linkUp);
        await serve.waitFor(/EAP login "eapuser" refused: RADIUS rejected the EAP login/);
      } finally {
        await c.close();
      }
    });

    await tt.step("a local user is checked locally, not relayed", async () => {
      const before = (await fr.log()).split('User-Name = "local"').length;
      const c = await connectClient(t, "local", "l0cal", EAP);
      try {
        await c.linkUp;
      } finally {
        await c.close();
      }
      assert.equal((await fr.log()).split('User-Name = "local"').length, before);
    });
  } finally {
    await fr.stop();
  }
});
