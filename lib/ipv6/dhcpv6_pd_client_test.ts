import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { formatIpv6Prefix } from "./address.ts";
import {
  decodeDhcpv6Message,
  DHCPV6_MESSAGE,
  DHCPV6_OPTION,
  DHCPV6_STATUS,
  type Dhcpv6Message,
  encodeDhcpv6Message,
  encodeIaPd,
  findDhcpv6Option,
  findIaPds,
} from "./dhcpv6.ts";
import { Dhcpv6PdResponder } from "./dhcpv6_pd_server.ts";
import {
  DHCPV6_CLIENT_TIMING,
  Dhcpv6PdClient,
  type Dhcpv6PdStep,
  OPTION_SOL_MAX_RT,
} from "./dhcpv6_pd_client.ts";
import { Ipv6PrefixPool } from "./prefix_pool.ts";

const CLIENT_DUID = fromHex("00 04 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00");
const SERVER_DUID = fromHex("00 04 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");

/** random() with a fixed sequence (0.5 = no jitter). */
function client(random = () => 0.5): Dhcpv6PdClient {
  return new Dhcpv6PdClient({ clientDuid: CLIENT_DUID, iaid: 1, random });
}

function server(prefixes = "2001:2:0:8000::/52") {
  const pool = new Ipv6PrefixPool("pd", prefixes, 60);
  const responder = new Dhcpv6PdResponder({
    serverDuid: SERVER_DUID,
    allocate: () => pool.allocate(),
    release: (p) => pool.release(p),
  });
  return { pool, responder };
}

/** Through the wire format both ways, as the tunnel carries it. */
function wire(m: Dhcpv6Message): Dhcpv6Message {
  return decodeDhcpv6Message(encodeDhcpv6Message(m));
}

function answer(r: Dhcpv6PdResponder, step: Dhcpv6PdStep): Dhcpv6Message {
  assert.ok(step.send, "the client sends");
  const out = r.respond(wire(step.send));
  assert.ok(out.reply, out.discarded);
  return wire(out.reply);
}

Deno.test("Dhcpv6PdClient: Solicit with Rapid Commit is answered by a Reply and binds the prefix", () => {
  const c = client();
  const { responder } = server();
  const solicit = c.start(0);
  const m = solicit.send!;
  assert.equal(m.type, DHCPV6_MESSAGE.SOLICIT);
  assert.deepEqual(findDhcpv6Option(m.options, DHCPV6_OPTION.CLIENTID), CLIENT_DUID);
  assert.equal(findDhcpv6Option(m.options, DHCPV6_OPTION.SERVERID), undefined);
  assert.deepEqual(findDhcpv6Option(m.options, DHCPV6_OPTION.ELAPSED_TIME), new Uint8Array(2));
  assert.deepEqual(
    findDhcpv6Option(m.options, DHCPV6_OPTION.ORO),
    new Uint8Array([0, OPTION_SOL_MAX_RT]),
  );
  assert.ok(findDhcpv6Option(m.options, DHCPV6_OPTION.RAPID_COMMIT));
  assert.deepEqual(findIaPds(m), [{ iaid: 1, t1S: 0, t2S: 0, prefixes: [] }]);
  const step = c.receive(answer(responder, solicit), 120);
  assert.ok(step.bound);
  assert.equal(formatIpv6Prefix(step.bound.prefix), "2001:2:0:8000::/60");
  assert.equal(step.bound.t1S, 1800);
  assert.equal(step.bound.t2S, 2880);
  assert.equal(step.bound.validLifetimeS, 7200);
  assert.deepEqual(step.bound.serverId, SERVER_DUID);
  assert.equal(c.phase, "bound");
  assert.equal(c.nextDeadlineMs, 120 + 1800_000);
});

Deno.test("Dhcpv6PdClient: without Rapid Commit it goes Advertise → Request → Reply", () => {
  let k = 0;
  const c = client(() => (k++ * 0.37) % 1);
  const { responder } = server();
  const solicit = c.start(0);
  // A server without Rapid Commit: strip the option before it sees the Solicit.
  const plain = {
    ...solicit.send!,
    options: solicit.send!.options.filter((o) => o.code !== DHCPV6_OPTION.RAPID_COMMIT),
  };
  const advertise = wire(responder.respond(wire(plain)).reply!);
  assert.equal(advertise.type, DHCPV6_MESSAGE.ADVERTISE);
  const request = c.receive(advertise, 50);
  assert.equal(c.phase, "requesting");
  assert.equal(request.send?.type, DHCPV6_MESSAGE.REQUEST);
  assert.notEqual(request.send?.transactionId, solicit.send!.transactionId);
  assert.deepEqual(findDhcpv6Option(request.send!.options, DHCPV6_OPTION.SERVERID), SERVER_DUID);
  assert.equal(
    formatIpv6Prefix(findIaPds(request.send!)[0]!.prefixes[0]!.prefix),
    "2001:2:0:8000::/60",
  );
  const reply = answer(responder, request);
  assert.equal(reply.type, DHCPV6_MESSAGE.REPLY);
  const bound = c.receive(reply, 80);
  assert.equal(formatIpv6Prefix(bound.bound!.prefix), "2001:2:0:8000::/60");
  // A Reply to Solicit without Rapid Commit is not a binding (RFC 8415 18.2.10).
  const c2 = client();
  const s2 = c2.start(0).send!;
  const fake = {
    type: DHCPV6_MESSAGE.REPLY,
    transactionId: s2.transactionId,
    options: advertise.options,
  };
  assert.match(c2.receive(fake, 1).discarded!, /without Rapid Commit/);
});

Deno.test("Dhcpv6PdClient: Solicit retransmits with the same transaction id, growing RT and Elapsed Time (RFC 8415 15)", () => {
  let i = 0;
  const rands = [0.5, 1, 0, 1, 0.5]; // xid, then the jitter of each transmission
  const c = client(() => rands[i++ % rands.length]!);
  const first = c.start(0).send!;
  // First RT: IRT × (1 + |RAND|) with RAND = +0.1 → 1100 ms.
  assert.equal(c.nextDeadlineMs, 1100);
  assert.deepEqual(c.tick(1099), {});
  const second = c.tick(1100).send!;
  assert.equal(second.transactionId, first.transactionId);
  assert.deepEqual(findDhcpv6Option(second.options, DHCPV6_OPTION.ELAPSED_TIME), fromHex("00 6e"));
  // RT = 2 × 1100 - 0.1 × 1100 = 2090.
  assert.equal(c.nextDeadlineMs, 1100 + 2090);
  // Growth stops at SOL_MAX_RT (± RAND).
  let now = c.nextDeadlineMs!;
  for (let n = 0; n < 40; n++) {
    c.tick(now);
    now = c.nextDeadlineMs!;
  }
  const before = now;
  c.tick(now);
  const interval = c.nextDeadlineMs! - before;
  assert.ok(
    interval <= DHCPV6_CLIENT_TIMING.SOL_MAX_RT * 1.1 &&
      interval >= DHCPV6_CLIENT_TIMING.SOL_MAX_RT * 0.9,
    `RT ${interval}`,
  );
  // Elapsed Time saturates at 0xffff centiseconds.
  const last = c.tick(c.nextDeadlineMs!).send!;
  assert.deepEqual(findDhcpv6Option(last.options, DHCPV6_OPTION.ELAPSED_TIME), fromHex("ff ff"));
});

Deno.test("Dhcpv6PdClient: Renew at T1 to the server that delegated; the Reply refreshes the lease", () => {
  const c = client();
  const { responder } = server();
  c.receive(answer(responder, c.start(0)), 0);
  assert.deepEqual(c.tick(1799_999), {});
  const renew = c.tick(1800_000);
  assert.equal(c.phase, "renewing");
  assert.equal(renew.send?.type, DHCPV6_MESSAGE.RENEW);
  assert.deepEqual(findDhcpv6Option(renew.send!.options, DHCPV6_OPTION.SERVERID), SERVER_DUID);
  assert.equal(
    formatIpv6Prefix(findIaPds(renew.send!)[0]!.prefixes[0]!.prefix),
    "2001:2:0:8000::/60",
  );
  const step = c.receive(answer(responder, renew), 1800_500);
  assert.ok(step.renewed);
  assert.equal(step.bound, undefined);
  assert.equal(step.renewed.boundAtMs, 1800_500);
  assert.equal(c.phase, "bound");
  assert.equal(c.nextDeadlineMs, 1800_500 + 1800_000);
  // A Renew Reply from another server is ignored.
  const renew2 = c.tick(3600_500).send!;
  const other = {
    type: DHCPV6_MESSAGE.REPLY,
    transactionId: renew2.transactionId,
    options: [
      { code: DHCPV6_OPTION.CLIENTID, data: CLIENT_DUID },
      { code: DHCPV6_OPTION.SERVERID, data: fromHex("00 04 ff ff") },
    ],
  };
  assert.match(c.receive(other, 3600_600).discarded!, /another server/);
});

Deno.test("Dhcpv6PdClient: unanswered Renew becomes Rebind at T2, and the prefix is lost when it expires", () => {
  const c = client();
  const { responder } = server();
  c.receive(answer(responder, c.start(0)), 0);
  c.tick(1800_000);
  // Renew retransmissions until T2 (2880 s).
  let now = 1800_000;
  let rebind: Dhcpv6Message | undefined;
  for (let n = 0; n < 100 && rebind === undefined; n++) {
    now = c.nextDeadlineMs!;
    const s = c.tick(now);
    if (s.send?.type === DHCPV6_MESSAGE.REBIND) rebind = s.send;
    else assert.equal(s.send?.type, DHCPV6_MESSAGE.RENEW);
  }
  assert.equal(now, 2880_000);
  assert.equal(c.phase, "rebinding");
  assert.equal(findDhcpv6Option(rebind!.options, DHCPV6_OPTION.SERVERID), undefined);
  let lost: Dhcpv6PdStep["lost"];
  for (let n = 0; n < 100 && lost === undefined; n++) {
    now = c.nextDeadlineMs!;
    lost = c.tick(now).lost;
  }
  assert.equal(now, 7200_000);
  assert.equal(formatIpv6Prefix(lost!.prefix), "2001:2:0:8000::/60");
  assert.match(lost!.reason, /valid lifetime/);
  assert.equal(c.lease, undefined);
  assert.equal(c.phase, "soliciting");
});

Deno.test("Dhcpv6PdClient: Rebind is answered by any server; a NoBinding Renew reply leads to a Request", () => {
  const c = client();
  const { responder } = server();
  c.receive(answer(responder, c.start(0)), 0);
  c.tick(1800_000);
  const rebind = c.tick(2880_000);
  assert.equal(rebind.send?.type, DHCPV6_MESSAGE.REBIND);
  assert.ok(c.receive(answer(responder, rebind), 2880_100).renewed);
  // The server forgot us: NoBinding in the IA_PD.
  const renew = c.tick(2880_100 + 1800_000).send!;
  const noBinding = {
    type: DHCPV6_MESSAGE.REPLY,
    transactionId: renew.transactionId,
    options: [
      { code: DHCPV6_OPTION.CLIENTID, data: CLIENT_DUID },
      { code: DHCPV6_OPTION.SERVERID, data: SERVER_DUID },
      encodeIaPd({
        iaid: 1,
        t1S: 0,
        t2S: 0,
        prefixes: [],
        status: { code: DHCPV6_STATUS.NO_BINDING, message: "gone" },
      }),
    ],
  };
  const request = c.receive(noBinding, 2880_100 + 1800_010);
  assert.equal(request.send?.type, DHCPV6_MESSAGE.REQUEST);
  assert.equal(c.phase, "requesting");
  assert.ok(c.lease, "the prefix stays until the server answers");
});

Deno.test("Dhcpv6PdClient: a withdrawn prefix (valid lifetime 0) is lost; an exhausted pool's Advertise is ignored", () => {
  const c = client();
  const { responder } = server();
  c.receive(answer(responder, c.start(0)), 0);
  const renew = c.tick(1800_000).send!;
  const withdraw = {
    type: DHCPV6_MESSAGE.REPLY,
    transactionId: renew.transactionId,
    options: [
      { code: DHCPV6_OPTION.CLIENTID, data: CLIENT_DUID },
      { code: DHCPV6_OPTION.SERVERID, data: SERVER_DUID },
      encodeIaPd({
        iaid: 1,
        t1S: 0,
        t2S: 0,
        prefixes: [{ prefix: c.lease!.prefix, preferredLifetimeS: 0, validLifetimeS: 0 }],
      }),
    ],
  };
  const step = c.receive(withdraw, 1800_100);
  assert.match(step.lost!.reason, /withdrawn/);
  assert.equal(step.send?.type, DHCPV6_MESSAGE.SOLICIT);
  // A pool of one /60, already taken by another session's responder.
  const { responder: full, pool } = server("2001:2:0:8000::/60");
  assert.ok(pool.allocate());
  const c2 = client();
  const s = c2.start(0);
  const plain = {
    ...s.send!,
    options: s.send!.options.filter((o) => o.code !== DHCPV6_OPTION.RAPID_COMMIT),
  };
  const adv = wire(full.respond(wire(plain)).reply!);
  assert.match(c2.receive(adv, 10).discarded!, /without a prefix \(status 6/);
  assert.equal(c2.phase, "soliciting");
});

Deno.test("Dhcpv6PdClient: replies with another transaction id or client id are discarded", () => {
  const c = client();
  const { responder } = server();
  const s = c.start(0);
  const reply = answer(responder, s);
  assert.match(
    c.receive({ ...reply, transactionId: (reply.transactionId + 1) & 0xffffff }, 1).discarded!,
    /transaction id/,
  );
  const wrongClient = {
    ...reply,
    options: reply.options.map((o) =>
      o.code === DHCPV6_OPTION.CLIENTID ? { code: o.code, data: fromHex("00 04 01") } : o
    ),
  };
  assert.match(c.receive(wrongClient, 1).discarded!, /Client Identifier/);
  const noServer = {
    ...reply,
    options: reply.options.filter((o) => o.code !== DHCPV6_OPTION.SERVERID),
  };
  assert.match(c.receive(noServer, 1).discarded!, /Server Identifier/);
  assert.match(
    c.receive({ ...reply, type: DHCPV6_MESSAGE.RECONFIGURE }, 1).discarded!,
    /not for a client/,
  );
  assert.equal(c.phase, "soliciting");
  assert.ok(c.receive(reply, 2).bound);
});
