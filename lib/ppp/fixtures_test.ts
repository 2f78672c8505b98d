/**
 * Golden packets in test/fixtures/ppp_*.hex: each decodes, re-encodes
 * byte-identically, and renders as its `# expect:` line.
 */
import assert from "node:assert/strict";
import { decodePppFrame, encodePppFrame } from "./frame.ts";
import { decodeCpPacket, decodeOptions, encodeCpPacket, encodeOptions } from "./cp_packet.ts";
import { describeCpPacket } from "./describe.ts";
import { fromHex } from "../bytes/hex.ts";
import { Ipcp } from "./ipcp/ipcp.ts";
import { Lcp } from "./lcp/lcp.ts";
import { seededRandomBytes } from "../../test/helpers/ppp_builders.ts";

const DIR = new URL("../../test/fixtures/", import.meta.url);

async function fixture(name: string): Promise<{ bytes: Uint8Array; expect: string }> {
  const text = await Deno.readTextFile(new URL(name, DIR));
  assert.match(text, /^# provenance: /m, `${name} needs a provenance line`);
  return { bytes: fromHex(text), expect: text.match(/^# expect: (.*)$/m)?.[1] ?? "" };
}

const names: string[] = [];
for (const e of Deno.readDirSync(DIR)) {
  if (e.name.startsWith("ppp_") && e.name.endsWith(".hex")) names.push(e.name);
}
names.sort();

Deno.test("PPP fixtures exist", () => {
  assert.ok(names.length >= 10, names.join(", "));
});

for (const name of names) {
  Deno.test(`PPP fixture ${name} decodes, re-encodes byte-identically and describes`, async () => {
    const { bytes, expect } = await fixture(name);
    const frame = decodePppFrame(bytes);
    const packet = decodeCpPacket(frame.information);
    assert.equal(4 + packet.data.length, frame.information.length, "no padding in fixtures");
    if (packet.code <= 4) {
      assert.deepEqual(encodeOptions(decodeOptions(packet.data)), packet.data);
    }
    assert.deepEqual(encodePppFrame(frame.protocol, encodeCpPacket(packet)), bytes);
    assert.equal(describeCpPacket(frame.protocol, frame.information), expect);
  });
}

async function information(name: string): Promise<Uint8Array> {
  return decodePppFrame((await fixture(name)).bytes).information;
}

Deno.test("Ipcp client's first request equals the ppp_ipcp_confreq_client fixture", async () => {
  const c = new Ipcp({ role: "client" });
  c.open(0);
  const [send] = c.up(0);
  assert.ok(send?.type === "send");
  assert.deepEqual(
    encodePppFrame(send.protocol, send.packet),
    (await fixture("ppp_ipcp_confreq_client.hex")).bytes,
  );
});

Deno.test("Ipcp client reaches Opened on the SoftEther fixtures", async () => {
  const c = new Ipcp({ role: "client" });
  c.open(0);
  c.up(0);
  c.receive(await information("ppp_ipcp_confreq_softether.hex"), 0);
  c.receive(await information("ppp_ipcp_confrej_softether_dns2.hex"), 0);
  const nak = await information("ppp_ipcp_confnak_softether.hex");
  const [send] = c.receive(nak, 0);
  assert.ok(send?.type === "send");
  // The server acks the request built from its Nak.
  const ack = send.packet.slice();
  ack[0] = 2;
  c.receive(ack, 0);
  assert.equal(c.state, "Opened");
  assert.deepEqual(c.result, {
    localAddress: "198.18.1.10",
    peerAddress: "198.18.1.1",
    dns: ["198.18.1.1"],
  });
});

Deno.test("Lcp client answers the SoftEther EAP request with a Nak and acks MS-CHAPv2", async () => {
  const l = new Lcp({ randomBytes: seededRandomBytes(1), acceptAuth: ["mschap2", "pap"] });
  l.open(0);
  l.up(0);
  const [nak] = l.receive(await information("ppp_lcp_confreq_softether_eap.hex"), 0);
  assert.ok(nak?.type === "send");
  assert.equal(describeCpPacket(0xc021, nak.packet), "LCP ConfNak id=0x1 <auth mschap-v2>");
  const [ack] = l.receive(await information("ppp_lcp_confreq_softether_mschapv2.hex"), 0);
  assert.ok(ack?.type === "send");
  assert.equal(describeCpPacket(0xc021, ack.packet), "LCP ConfAck id=0x2 <auth mschap-v2>");
});
