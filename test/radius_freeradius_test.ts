/**
 * The RADIUS client against Debian's FreeRADIUS 3 (generated config,
 * loopback only, random ports): PAP, CHAP, MS-CHAPv1 and MS-CHAPv2 logins,
 * wrong passwords, authorization attributes, the MS-CHAPv2 MPPE keys (the
 * HLAK must equal the one derived locally from the password) and accounting
 * records in FreeRADIUS's detail file. Also a hostile "server" whose bad
 * replies are ignored until the request times out.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { toHex } from "../lib/bytes/hex.ts";
import { systemClock } from "../lib/clock.ts";
import { createLogger } from "../lib/log.ts";
import { chapMd5Response } from "../lib/ppp/auth/chap_md5.ts";
import { encodeMsChapV1Response } from "../lib/ppp/auth/mschap_v1.ts";
import { encodeMsChapV2Response } from "../lib/ppp/auth/mschap_v2.ts";
import {
  challengeHash,
  challengeResponse,
  generateAuthenticatorResponseFromHash,
  hashNtPasswordHash,
  ntPasswordHash,
} from "../lib/ppp/auth/mschap_crypto.ts";
import { msChapV2Hlak } from "../lib/ppp/auth/mppe_keys.ts";
import { RadiusClient } from "../lib/radius/radius_client.ts";
import { accountingAttributes } from "../lib/radius/radius_accounting.ts";
import { ACCT_STATUS, TERMINATE_CAUSE } from "../lib/radius/radius_attributes.ts";
import { decodeRadiusPacket, encodeResponse, RADIUS_CODE } from "../lib/radius/radius_packet.ts";
import { radclient, startFreeRadius } from "./helpers/freeradius.ts";
import { RadiusIncoming } from "../lib/radius/radius_incoming.ts";

const SECRET = "t3st-Secret";
const enc = new TextEncoder();
const CALL = { callingStationId: "198.18.7.7", acctSessionId: "5f00000001", nasPort: 1 };
const NAS = { nasIdentifier: "sstp-test", nasIpAddress: "198.18.90.2" };

function quietLogger(lines: string[] = []) {
  return createLogger("debug", (_l, line) => lines.push(line));
}

function hasFreeRadius(): boolean {
  try {
    return new Deno.Command("freeradius", { args: ["-v"] }).outputSync().success;
  } catch {
    return false;
  }
}

const ignore = !hasFreeRadius() && Deno.env.get("CI") === undefined;

Deno.test({
  name: "FreeRADIUS: PAP, CHAP, MS-CHAPv1, MS-CHAPv2 logins, rejects and accounting",
  ignore,
  async fn() {
    const fr = await startFreeRadius({
      secret: SECRET,
      users: [
        {
          name: "alice",
          password: "alice-pw",
          reply: [
            "Framed-IP-Address = 198.18.50.9",
            "Session-Timeout = 3600",
            "Acct-Interim-Interval = 60",
            'Class = "plan-gold"',
            'Framed-Pool = "gold"',
            'Mikrotik-Rate-Limit = "10M/20M"',
          ],
        },
      ],
    });
    const client = new RadiusClient({
      servers: [{
        address: "127.0.0.1",
        secret: enc.encode(SECRET),
        authenticationPort: fr.authPort,
        accountingPort: fr.acctPort,
        timeoutMs: 1000,
      }],
      nas: NAS,
      clock: systemClock,
      logger: quietLogger(),
    });
    try {
      // PAP
      const pap = await client.authenticate(
        { method: "pap", user: "alice", password: enc.encode("alice-pw") },
        CALL,
      );
      assert.ok(pap.ok, pap.ok ? "" : pap.error.message + (await fr.log()).slice(-2000));
      assert.equal(pap.authorization.framedIpAddress, "198.18.50.9");
      assert.equal(pap.authorization.sessionTimeoutMs, 3_600_000);
      assert.equal(pap.authorization.acctInterimIntervalMs, 60_000);
      assert.equal(pap.authorization.framedPool, "gold");
      assert.equal(pap.authorization.rateLimit, "10M/20M");
      assert.equal(new TextDecoder().decode(pap.authorization.classes[0]), "plan-gold");
      assert.equal(toHex(pap.hlak), "00".repeat(32));
      const badPap = await client.authenticate(
        { method: "pap", user: "alice", password: enc.encode("wrong") },
        CALL,
      );
      assert.ok(!badPap.ok);
      assert.equal(badPap.error.code, "AUTH_FAILED");

      // CHAP-MD5
      const challenge = crypto.getRandomValues(new Uint8Array(16));
      const chap = await client.authenticate({
        method: "chap",
        user: "alice",
        identifier: 5,
        challenge,
        response: chapMd5Response(5, "alice-pw", challenge),
      }, CALL);
      assert.ok(chap.ok, chap.ok ? "" : chap.error.message);
      const badChap = await client.authenticate({
        method: "chap",
        user: "alice",
        identifier: 5,
        challenge,
        response: chapMd5Response(5, "nope", challenge),
      }, CALL);
      assert.ok(!badChap.ok);

      // MS-CHAPv1
      const c8 = crypto.getRandomValues(new Uint8Array(8));
      const v1 = await client.authenticate({
        method: "mschap1",
        user: "alice",
        identifier: 7,
        challenge: c8,
        response: encodeMsChapV1Response(c8, "alice-pw"),
      }, CALL);
      assert.ok(v1.ok, v1.ok ? "" : v1.error.message);
      const badV1 = await client.authenticate({
        method: "mschap1",
        user: "alice",
        identifier: 7,
        challenge: c8,
        response: encodeMsChapV1Response(c8, "nope"),
      }, CALL);
      assert.ok(!badV1.ok);
      assert.match(badV1.msChapError ?? "", /E=691/);

      // MS-CHAPv2: the HLAK from FreeRADIUS's MPPE keys equals the local derivation.
      const authChallenge = crypto.getRandomValues(new Uint8Array(16));
      const peerChallenge = crypto.getRandomValues(new Uint8Array(16));
      const pwHash = ntPasswordHash("alice-pw");
      const nt = challengeResponse(challengeHash(peerChallenge, authChallenge, "alice"), pwHash);
      const v2 = await client.authenticate({
        method: "mschap2",
        user: "alice",
        identifier: 9,
        challenge: authChallenge,
        response: encodeMsChapV2Response({ peerChallenge, ntResponse: nt, flags: 0 }),
      }, CALL);
      assert.ok(v2.ok, v2.ok ? "" : v2.error.message);
      assert.equal(
        toHex(v2.hlak),
        toHex(msChapV2Hlak("server", hashNtPasswordHash(pwHash), nt)),
      );
      assert.equal(
        v2.authenticatorResponse,
        generateAuthenticatorResponseFromHash(pwHash, nt, peerChallenge, authChallenge, "alice"),
      );
      const wrongNt = nt.slice();
      wrongNt[0]! ^= 1;
      const badV2 = await client.authenticate({
        method: "mschap2",
        user: "alice",
        identifier: 9,
        challenge: authChallenge,
        response: encodeMsChapV2Response({ peerChallenge, ntResponse: wrongNt, flags: 0 }),
      }, CALL);
      assert.ok(!badV2.ok);

      // Accounting: Start, Interim-Update and Stop land in the detail file with the counters.
      const session = {
        user: "alice",
        call: CALL,
        framedIpAddress: "198.18.50.9",
        classes: pap.authorization.classes,
      };
      await client.account(
        accountingAttributes(client.nas, session, { status: ACCT_STATUS.START }),
      );
      await client.account(accountingAttributes(client.nas, session, {
        status: ACCT_STATUS.INTERIM_UPDATE,
        sessionTimeS: 60,
        counters: { rxBytes: 1000, txBytes: 5_000_000_000, rxPackets: 10, txPackets: 20 },
      }));
      await client.account(accountingAttributes(client.nas, session, {
        status: ACCT_STATUS.STOP,
        sessionTimeS: 75,
        counters: { rxBytes: 1234, txBytes: 5_000_000_123, rxPackets: 12, txPackets: 25 },
        terminateCause: TERMINATE_CAUSE.USER_REQUEST,
      }));
      const detail = await fr.detail();
      const records = detail.split(/\n\n+/).filter((r) => r.trim() !== "");
      assert.equal(records.length, 3, detail);
      assert.match(records[0]!, /Acct-Status-Type = Start/);
      assert.match(records[0]!, /Calling-Station-Id = "198\.18\.7\.7"/);
      assert.match(records[0]!, /Acct-Session-Id = "5f00000001"/);
      assert.match(records[0]!, /Class = 0x706c616e2d676f6c64/);
      assert.match(records[1]!, /Acct-Status-Type = Interim-Update/);
      // 5,000,000,000 = 1 gigaword (2^32) + 705,032,704.
      assert.match(records[1]!, /Acct-Output-Octets = 705032704/);
      assert.match(records[1]!, /Acct-Output-Gigawords = 1/);
      assert.match(records[2]!, /Acct-Status-Type = Stop/);
      assert.match(records[2]!, /Acct-Input-Octets = 1234/);
      assert.match(records[2]!, /Acct-Session-Time = 75/);
      assert.match(records[2]!, /Acct-Terminate-Cause = User-Request/);
      assert.match(records[2]!, /NAS-Port-Type = Virtual/);
    } finally {
      client.close();
      await fr.stop();
    }
  },
});

Deno.test("a hostile RADIUS server's bad replies are ignored and logged; the request then times out", async () => {
  const secret = enc.encode("right");
  const server = createSocket("udp4");
  await new Promise<void>((r) => server.bind(0, "127.0.0.1", r));
  const port = server.address().port;
  let received = 0;
  server.on("message", (msg, rinfo) => {
    received++;
    const req = decodeRadiusPacket(new Uint8Array(msg));
    const send = (b: Uint8Array) => server.send(b, rinfo.port, rinfo.address);
    // 1: signed with another secret; 2: right Response Authenticator over a wrong Message-Authenticator;
    // 3: truncated attribute; 4: an unrelated identifier.
    send(encodeResponse(
      { code: RADIUS_CODE.ACCESS_ACCEPT, identifier: req.identifier, attributes: [] },
      req.authenticator,
      enc.encode("wrong"),
    ));
    const good = encodeResponse(
      { code: RADIUS_CODE.ACCESS_ACCEPT, identifier: req.identifier, attributes: [] },
      req.authenticator,
      secret,
    );
    const badMa = good.slice();
    badMa[22]! ^= 0xff;
    badMa.set(req.authenticator, 4);
    badMa.set(
      new Uint8Array(
        // Response Authenticator over the altered packet, so only the HMAC is wrong.
        md5Bytes(badMa, secret),
      ),
      4,
    );
    send(badMa);
    const truncated = good.slice();
    truncated[21] = 200;
    send(truncated);
    const other = good.slice();
    other[1] = (req.identifier + 1) & 0xff;
    send(other);
  });
  const lines: string[] = [];
  const client = new RadiusClient({
    servers: [{
      address: "127.0.0.1",
      secret,
      authenticationPort: port,
      accountingPort: port,
      timeoutMs: 150,
    }],
    attempts: 2,
    nas: NAS,
    clock: systemClock,
    logger: quietLogger(lines),
  });
  try {
    const r = await client.authenticate(
      { method: "pap", user: "bob", password: enc.encode("x") },
      CALL,
    );
    assert.ok(!r.ok);
    assert.equal(r.error.code, "TIMEOUT");
    assert.match(r.error.message, /127\.0\.0\.1:\d+ \(2 tries\)/);
    assert.equal(received, 2);
    const text = lines.join("\n");
    assert.match(text, /Response Authenticator is wrong/);
    assert.match(text, /Message-Authenticator is wrong/);
    assert.match(text, /runs past the packet|Length/);
    assert.match(text, /matches no request/);
  } finally {
    client.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

import { md5 } from "../lib/ppp/crypto/digest.ts";
function md5Bytes(packet: Uint8Array, secret: Uint8Array): Uint8Array {
  return md5(packet, secret);
}

Deno.test({
  name:
    "radclient's Disconnect-Request and CoA-Request reach radius-incoming and get signed ACK/NAK",
  ignore,
  async fn() {
    const ended: string[] = [];
    const timeouts: number[] = [];
    const lines: string[] = [];
    const incoming = new RadiusIncoming({
      address: "127.0.0.1",
      port: 0,
      secrets: new Map([["127.0.0.1", enc.encode(SECRET)]]),
      target: {
        find: (s) => s.user === "alice" || s.acctSessionId === "5f00000001" ? ["5f00000001"] : [],
        disconnect: (id) => void ended.push(id),
        setSessionTimeout: (_id, ms) => void timeouts.push(ms),
      },
      logger: quietLogger(lines),
    });
    const port = await incoming.listen();
    try {
      const ack = await radclient(
        `127.0.0.1:${port}`,
        "disconnect",
        SECRET,
        'User-Name = "alice"\n',
      );
      assert.equal(ack.code, 0, ack.stdout + ack.stderr);
      assert.match(ack.stdout, /Disconnect-ACK/);
      assert.deepEqual(ended, ["5f00000001"]);
      const nak = await radclient(
        `127.0.0.1:${port}`,
        "disconnect",
        SECRET,
        'User-Name = "nobody"\n',
      );
      assert.match(nak.stdout, /Disconnect-NAK/);
      assert.match(nak.stdout, /Error-Cause = Session-Context-Not-Found/);
      const coa = await radclient(
        `127.0.0.1:${port}`,
        "coa",
        SECRET,
        'Acct-Session-Id = "5f00000001"\nSession-Timeout = 90\n',
      );
      assert.match(coa.stdout, /CoA-ACK/);
      assert.deepEqual(timeouts, [90_000]);
      // A wrong secret gets no answer at all (radclient times out).
      const wrong = await radclient(
        `127.0.0.1:${port}`,
        "disconnect",
        "nope",
        'User-Name = "alice"\n',
      );
      assert.notEqual(wrong.code, 0);
      assert.equal(ended.length, 1);
      assert.match(
        lines.join("\n"),
        /dropped a request from 127\.0\.0\.1: .*Request Authenticator/,
      );
    } finally {
      await incoming.close();
    }
  },
});
