/**
 * `sstp serve` (the real process, in a namespace) with users only in
 * Debian's FreeRADIUS (started in the same namespace on its loopback):
 * PAP, CHAP, MS-CHAPv1 and MS-CHAPv2 logins through the server (MS-CHAPv2's
 * crypto binding verified with the HLAK built from FreeRADIUS's MPPE keys),
 * a wrong password refused, the Framed-IP-Address from RADIUS handed to the
 * client, accounting Start/Stop with the session's octet counts in
 * FreeRADIUS's detail file, radclient's Disconnect-Request ending a
 * session, and Framed-Route / Framed-MTU / Mikrotik-Rate-Limit applied to
 * the session's device (and gone with it). RFC 3162: a Framed-IPv6-Prefix
 * /64 is what `sstp connect --use-ipv6` configures by SLAAC (the profile has
 * no IPv6 pool), a Framed-IPv6-Route is routed once IPV6CP is up.
 *
 * @module
 */
import assert from "node:assert/strict";
import { netnsTestIgnore } from "./helpers/netns.ts";
import type { ServerSessionStatus } from "../lib/control/protocol.ts";

import type { MemoryTun } from "./helpers/memory_tun.ts";
import { buildIcmpEcho, parseIcmp } from "./helpers/icmp.ts";
import {
  CLIENT_IP,
  connectClient,
  createTopology,
  POOL_YAML,
  ServeProcess,
  statusSessions,
  waitTunnelUp,
  writeConfig,
} from "./server_fixture.ts";
import { assertIncomingAck, radiusServerYaml, startFreeRadius } from "./helpers/freeradius.ts";
import { connectIpv6, stopClient, tunnelName, waitGlobalAddress } from "./client_fixture.ts";

const ignore = netnsTestIgnore("sstp serve + FreeRADIUS netns tests");
const SECRET = "rad1us-t3st";
const FRAMED_IP = "198.19.0.77";

/** Waits (bounded) until `count` server log lines match `re`. */
async function linesMatching(serve: ServeProcess, re: RegExp, count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (serve.lines.filter((l) => re.test(l)).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${count} lines match ${re}:\n${serve.lines.join("\n")}`);
}

Deno.test({
  name:
    "sstp serve authenticates RADIUS users (pap, chap, mschap1, mschap2), accounts, obeys Disconnect",
  ignore,
}, async (tt) => {
  await using t = await createTopology();
  const fr = await startFreeRadius({
    secret: SECRET,
    netns: t.server.name,
    users: [
      { name: "rad", password: "rad pass", reply: [`Framed-IP-Address = ${FRAMED_IP}`] },
      { name: "pooled", password: "p00l" },
      {
        name: "routed",
        password: "r0uted",
        reply: [
          'Framed-Route = "198.18.77.0/24 0.0.0.0 1"',
          'Framed-Route = "198.18.78.0/24 0.0.0.0 7"',
          'Framed-Route = "not-a-route 0.0.0.0 1"',
          "Framed-MTU = 1300",
          'Mikrotik-Rate-Limit = "2M/4M"',
        ],
      },
    ],
  });
  try {
    const coaPort = fr.authPort + 2;
    const config = await writeConfig(
      t,
      // Every method is enabled on purpose (the default is mschap2 only).
      `  authentication: mschap2,mschap1,chap,pap
` + POOL_YAML + `secrets:
  - { name: local, password: "l0cal" }
` + radiusServerYaml(fr, SECRET, { incomingPort: coaPort }),
    );
    await using serve = await ServeProcess.start(t.server, ["--config", config]);

    let radSessions = 0;
    for (const method of ["pap", "chap", "mschap1", "mschap2"] as const) {
      await tt.step(`${method}: RADIUS user gets Framed-IP-Address and passes a ping`, async () => {
        const c = await connectClient(t, "rad", "rad pass", { authentication: [method] });
        try {
          const ip = await c.linkUp;
          assert.equal(ip.localAddress, FRAMED_IP);
          const tun = c.tun as MemoryTun;
          const before = tun.written.length;
          tun.inject(buildIcmpEcho(ip.localAddress, ip.peerAddress, { id: 3, seq: 1 }));
          const reply = parseIcmp(await tun.nextWritten(before, 5000));
          assert.equal(reply?.type, 0);
        } finally {
          await c.close();
        }
        await serve.waitFor(new RegExp(`Authenticated "rad" with ${method}$`));
        // The next login claims the same Framed-IP-Address: wait until this session released it.
        await linesMatching(serve, /closed sstp-rad/, ++radSessions);
      });
    }

    await tt.step("a RADIUS user without Framed-IP-Address gets a pool address", async () => {
      const c = await connectClient(t, "pooled", "p00l", { authentication: ["mschap2"] });
      try {
        const ip = await c.linkUp;
        assert.match(ip.localAddress, /^198\.19\.0\.\d+$/);
        assert.notEqual(ip.localAddress, FRAMED_IP);
      } finally {
        await c.close();
      }
    });

    await tt.step("wrong password is refused; local secrets still work", async () => {
      const bad = await connectClient(t, "rad", "wrong", { authentication: ["mschap2"] });
      await assert.rejects(() => bad.linkUp);
      await bad.close();
      await serve.waitFor(/login "rad" refused: RADIUS rejected the login/);
      const local = await connectClient(t, "local", "l0cal", { authentication: ["mschap2"] });
      await local.linkUp;
      await local.close();
    });

    await tt.step("accounting Start/Stop carry the caller and the session's octets", async () => {
      // Four RADIUS sessions of "rad" ended; their Stops must be in the detail file.
      let detail = "";
      for (let i = 0; i < 50; i++) {
        detail = await fr.detail();
        if ((detail.match(/Acct-Status-Type = Stop/g) ?? []).length >= 5) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const records = detail.split(/\n\n+/).filter((r) => r.trim() !== "");
      const starts = records.filter((r) => /Acct-Status-Type = Start/.test(r));
      const stops = records.filter((r) => /Acct-Status-Type = Stop/.test(r));
      assert.equal(starts.length, 5, detail);
      assert.equal(stops.length, 5, detail);
      assert.ok(records.some((r) => /Acct-Status-Type = Accounting-On/.test(r)));
      for (const r of [...starts, ...stops]) {
        assert.match(r, new RegExp(`Calling-Station-Id = "${CLIENT_IP.replaceAll(".", "\\.")}"`));
        assert.match(r, /NAS-Port-Type = Virtual/);
      }
      // Octets of each Stop equal what the server counted for that session.
      const closed = serve.lines.filter((l) => /closed sstp-rad/.test(l));
      const counted = closed.map((l) => /rx (\d+) B\/\d+ pkt, tx (\d+) B/.exec(l)).filter((m) =>
        m !== null
      ).map((m) => [Number(m![1]), Number(m![2])]);
      const stopped = stops.filter((r) => /User-Name = "rad"/.test(r)).map((r) => [
        Number(/Acct-Input-Octets = (\d+)/.exec(r)?.[1]),
        Number(/Acct-Output-Octets = (\d+)/.exec(r)?.[1]),
      ]);
      assert.equal(stopped.length, 4);
      assert.deepEqual(
        stopped.sort((a, b) => a[0]! - b[0]!),
        counted.sort((a, b) => a[0]! - b[0]!),
      );
      assert.ok(stopped.every(([rx]) => rx! > 0));
      assert.ok(stops.every((r) => /Acct-Terminate-Cause = /.test(r)));
    });

    await tt.step("radclient Disconnect-Request ends the session", async () => {
      const c = await connectClient(t, "rad", "rad pass", { authentication: ["mschap2"] });
      try {
        await c.linkUp;
        await assertIncomingAck(
          t.server.name,
          coaPort,
          "disconnect",
          SECRET,
          'User-Name = "rad"\n',
        );
        const end = await c.done;
        assert.ok(end !== undefined);
        await serve.waitFor(/closed sstp-rad.*RADIUS Disconnect-Request/);
      } finally {
        await c.close();
      }
      let detail = "";
      for (let i = 0; i < 50; i++) {
        detail = await fr.detail();
        if (/Acct-Terminate-Cause = Admin-Reset/.test(detail)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(detail, /Acct-Terminate-Cause = Admin-Reset/);
    });

    await tt.step(
      "Framed-Route, Framed-MTU and Mikrotik-Rate-Limit apply to the session's device and go with it",
      async () => {
        const c = await connectClient(t, "routed", "r0uted", { authentication: ["mschap2"] });
        try {
          await c.linkUp;
          await serve.waitFor(/up: sstp-routed /);
          const routes = await t.server.run(["ip", "-4", "route", "show", "dev", "sstp-routed"]);
          assert.match(routes, /^198\.18\.77\.0\/24 .*metric 1\b/m, routes);
          assert.match(routes, /^198\.18\.78\.0\/24 .*metric 7\b/m, routes);
          // `sstp status` lists them (IPv4 only: no ipv6Routes).
          const [session] = await statusSessions<ServerSessionStatus>(t.dir);
          const listed = JSON.stringify(session?.routes);
          assert.match(listed, /"198\.18\.77\.0\/24 [^"]*1"/, listed);
          assert.match(listed, /"198\.18\.78\.0\/24 [^"]*7"/, listed);
          assert.equal(session?.ipv6Routes, undefined);
          await serve.waitFor(/Framed-Route "not-a-route 0\.0\.0\.0 1": .*route ignored/);
          const link = await t.server.run(["ip", "link", "show", "dev", "sstp-routed"]);
          assert.match(link, /mtu 1300 /, link);
          await serve.waitFor(/up: sstp-routed .* mtu 1300$/);
          const qdisc = await t.server.run(["tc", "qdisc", "show", "dev", "sstp-routed"]);
          // rx/tx as on RouterOS: tx (4M) is what the server sends, shaped on the device.
          assert.match(qdisc, /tbf .*rate 4Mbit/, qdisc);
          await serve.waitFor(/"routed": rate-limit 2M\/4M \(Mikrotik-Rate-Limit\)/);
        } finally {
          await c.close();
        }
        await serve.waitFor(/closed sstp-routed/);
        const left = await t.server.run(["ip", "-4", "route", "show"]);
        assert.doesNotMatch(left, /198\.18\.7[78]\.0/, left);
      },
    );
  } finally {
    await fr.stop();
  }
});

Deno.test({
  name:
    "RADIUS Framed-IPv6-Prefix is the client's SLAAC /64 and Framed-IPv6-Route is routed to the session, both gone at its end",
  ignore,
}, async () => {
  await using t = await createTopology({ ipv6: true });
  const fr = await startFreeRadius({
    secret: SECRET,
    netns: t.server.name,
    users: [{
      name: "real",
      password: "pw",
      reply: ["Framed-IPv6-Prefix = 2001:2:0:1a5::/64", 'Framed-IPv6-Route = "2001:2:7::/48 :: 2"'],
    }],
  });
  try {
    const config = await writeConfig(t, POOL_YAML + radiusServerYaml(fr, SECRET));
    await using serve = await ServeProcess.start(t.server, ["--config", config]);
    const dev = tunnelName("6");
    const client = connectIpv6(t, dev, []);
    try {
      await waitTunnelUp(t, dev);
      assert.match(await waitGlobalAddress(t, dev), /^2001:2:0:1a5:/);
      await serve.waitFor(/IPv6: route 2001:2:7::\/48 dev sstp-real metric 2 added/);
      const routes = await t.server.run(["ip", "-6", "route", "show", "dev", "sstp-real"]);
      assert.match(routes, /^2001:2:0:1a5::\/64 /m, routes);
      assert.match(routes, /^2001:2:7::\/48 .*metric 2\b/m, routes);
      // `sstp status` shows the Framed-IPv6-Prefix /64 and the Framed-IPv6-Route.
      const [session] = await statusSessions<ServerSessionStatus>(t.dir);
      assert.equal(session?.ipv6Prefix, "2001:2:0:1a5::/64", JSON.stringify(session));
      assert.deepEqual(session?.ipv6Routes, ["2001:2:7::/48 2"], JSON.stringify(session));
      assert.equal(session?.routes, undefined);
    } finally {
      await stopClient(client, 10_000);
    }
    await serve.waitFor(/closed sstp-real/);
    const left = await t.server.run(["ip", "-6", "route", "show"]);
    assert.doesNotMatch(left, /2001:2:7::|2001:2:0:1a5::/, left);
    // Accounting Stop reports the advertised /64 (RFC 3162 Framed-IPv6-Prefix); Start came before IPV6CP.
    let stop: string | undefined;
    for (let i = 0; i < 50 && stop === undefined; i++) {
      stop = (await fr.detail()).split(/\n\n+/).find((r) => /Acct-Status-Type = Stop/.test(r));
      if (stop === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(stop ?? "", /Framed-IPv6-Prefix = 2001:2:0:1a5::\/64/, stop);
    assert.equal(await serve.stop(), 0);
  } finally {
    await fr.stop();
  }
});
