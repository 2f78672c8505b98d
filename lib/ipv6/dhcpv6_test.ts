import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { ProtocolError } from "../errors.ts";
import { formatIpv6Prefix, type Ipv6Prefix, parseIpv6, parseIpv6Prefix } from "./address.ts";
import {
  decodeDhcpv6Message,
  DHCPV6_MESSAGE,
  DHCPV6_OPTION,
  DHCPV6_STATUS,
  type Dhcpv6Message,
  encodeDhcpv6Message,
  encodeIaPd,
  findIaPds,
} from "./dhcpv6.ts";
import { Dhcpv6PdResponder } from "./dhcpv6_pd_server.ts";
import { Ipv6PrefixPool } from "./prefix_pool.ts";

const golden = fromHex(
  Deno.readTextFileSync(new URL("../../test/fixtures/dhcpv6_reply_ia_pd.hex", import.meta.url)),
);
const SERVER_DUID = fromHex("00 04 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
const CLIENT_DUID = fromHex("00 03 00 01 02 00 00 00 00 01");
const DNS = parseIpv6("2001:2::53")!;

function responder(pool: Ipv6PrefixPool) {
  return new Dhcpv6PdResponder({
    serverDuid: SERVER_DUID,
    allocate: () => pool.allocate(),
    release: (p: Ipv6Prefix) => pool.release(p),
    dns: [DNS],
  });
}

function clientMessage(type: number, extra: Dhcpv6Message["options"] = []): Dhcpv6Message {
  return {
    type,
    transactionId: 0xabcdef,
    options: [
      { code: DHCPV6_OPTION.CLIENTID, data: CLIENT_DUID },
      encodeIaPd({ iaid: 1, t1S: 0, t2S: 0, prefixes: [] }),
      ...extra,
    ],
  };
}
const SERVER_ID = { code: DHCPV6_OPTION.SERVERID, data: SERVER_DUID };
const RAPID = { code: DHCPV6_OPTION.RAPID_COMMIT, data: new Uint8Array() };

Deno.test("Dhcpv6PdResponder answers a rapid-commit Solicit with the golden Reply", () => {
  const pool = new Ipv6PrefixPool("pd", "2001:2:0:8000::/52", 60);
  const r = responder(pool);
  const out = r.respond(clientMessage(DHCPV6_MESSAGE.SOLICIT, [RAPID]));
  assert.equal(toHex(encodeDhcpv6Message(out.reply!)), toHex(golden));
  assert.equal(formatIpv6Prefix(out.delegated!), "2001:2:0:8000::/60");
  assert.deepEqual(decodeDhcpv6Message(golden), {
    ...out.reply!,
    options: out.reply!.options.map((o) => ({ code: o.code, data: o.data })),
  });
});

Deno.test("Dhcpv6PdResponder: Solicit, Request, Renew and Release keep one prefix", () => {
  const pool = new Ipv6PrefixPool("pd", "2001:2:0:8000::/59", 60);
  const r = responder(pool);
  const adv = r.respond(clientMessage(DHCPV6_MESSAGE.SOLICIT));
  assert.equal(adv.reply?.type, DHCPV6_MESSAGE.ADVERTISE);
  const advertised = findIaPds(adv.reply!)[0]!.prefixes[0]!.prefix;
  const req = r.respond(clientMessage(DHCPV6_MESSAGE.REQUEST, [SERVER_ID]));
  assert.equal(req.reply?.type, DHCPV6_MESSAGE.REPLY);
  assert.equal(req.delegated, undefined, "already bound at Solicit");
  assert.equal(
    formatIpv6Prefix(findIaPds(req.reply!)[0]!.prefixes[0]!.prefix),
    formatIpv6Prefix(advertised),
  );
  const renew = r.respond(clientMessage(DHCPV6_MESSAGE.RENEW, [SERVER_ID]));
  assert.equal(findIaPds(renew.reply!)[0]!.prefixes.length, 1);
  assert.equal(pool.used, 1);
  const rel = r.respond(clientMessage(DHCPV6_MESSAGE.RELEASE, [SERVER_ID]));
  assert.equal(formatIpv6Prefix(rel.released!), formatIpv6Prefix(advertised));
  assert.equal(pool.used, 0);
  const late = r.respond(clientMessage(DHCPV6_MESSAGE.RENEW, [SERVER_ID]));
  assert.equal(findIaPds(late.reply!)[0]!.status?.code, DHCPV6_STATUS.NO_BINDING);
  assert.equal(r.close(), undefined);
});

Deno.test("Dhcpv6PdResponder discards what RFC 8415 16 says to discard", () => {
  const pool = new Ipv6PrefixPool("pd", "2001:2:0:8000::/59", 60);
  const r = responder(pool);
  const other = { code: DHCPV6_OPTION.SERVERID, data: fromHex("00 04 ff") };
  assert.match(
    r.respond(clientMessage(DHCPV6_MESSAGE.SOLICIT, [SERVER_ID])).discarded!,
    /Server Identifier/,
  );
  assert.match(
    r.respond(clientMessage(DHCPV6_MESSAGE.REQUEST, [other])).discarded!,
    /another server/,
  );
  assert.match(r.respond(clientMessage(DHCPV6_MESSAGE.REQUEST)).discarded!, /another server/);
  assert.match(
    r.respond({ type: DHCPV6_MESSAGE.SOLICIT, transactionId: 1, options: [] }).discarded!,
    /Client Identifier/,
  );
  assert.equal(pool.used, 0);
});

Deno.test("Dhcpv6PdResponder says NoPrefixAvail when the pool is empty, and close() returns the prefix", () => {
  const pool = new Ipv6PrefixPool("pd", "2001:2:0:8000::/60", 60);
  const a = responder(pool);
  const b = responder(pool);
  assert.ok(a.respond(clientMessage(DHCPV6_MESSAGE.SOLICIT, [RAPID])).delegated);
  const none = b.respond(clientMessage(DHCPV6_MESSAGE.SOLICIT, [RAPID]));
  assert.equal(findIaPds(none.reply!)[0]!.status?.code, DHCPV6_STATUS.NO_PREFIX_AVAIL);
  assert.equal(none.delegated, undefined);
  assert.equal(formatIpv6Prefix(a.close()!), "2001:2:0:8000::/60");
  assert.equal(pool.used, 0);
  assert.ok(b.respond(clientMessage(DHCPV6_MESSAGE.SOLICIT, [RAPID])).delegated);
});

Deno.test("decodeDhcpv6Message() throws ProtocolError on truncation", () => {
  for (let n = 1; n < golden.length; n++) {
    const cut = golden.subarray(0, n);
    try {
      const m = decodeDhcpv6Message(cut);
      findIaPds(m);
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `cut at ${n}: ${e}`);
    }
  }
  const p = parseIpv6Prefix("2001:2::/48");
  assert.equal(typeof p, "object");
});
