import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { formatIpv6, parseIpv6, parseIpv6Prefix } from "./address.ts";
import type { Ipv6Prefix } from "./address.ts";
import { decodeIpv6Packet } from "./ipv6_packet.ts";
import { buildRouterSolicitationPacket, decodeRouterAdvertisement } from "./ndp.ts";
import { slaacFromRouterAdvertisement } from "./slaac.ts";
import { Ipv6RouterLink } from "./router_link.ts";

const FIXTURES = new URL("../../test/fixtures/", import.meta.url);
const fixture = (name: string) => fromHex(Deno.readTextFileSync(new URL(name, FIXTURES)));
const ip6 = (text: string) => parseIpv6(text)!;
const PREFIX = parseIpv6Prefix("2001:2:0:101::/64") as Ipv6Prefix;
const IID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]);

function router(): Ipv6RouterLink {
  return new Ipv6RouterLink({
    localInterfaceId: IID,
    prefix: PREFIX,
    mtu: 1400,
    dns: [ip6("2001:2::53")],
  });
}

Deno.test("Ipv6RouterLink sends the golden RA byte for byte (link-local source, hop limit 255, A flag, /64, MTU, RDNSS)", () => {
  const r = router();
  assert.equal(formatIpv6(r.linkLocal), "fe80::1");
  assert.equal(toHex(r.advertisement()), toHex(fixture("ipv6_router_advertisement.hex")));
});

Deno.test("Ipv6RouterLink takes a Router Solicitation, answers its solicitor, and a host gets its address from the RA", () => {
  const r = router();
  const rs = buildRouterSolicitationPacket(ip6("fe80::a:b:c:d"));
  const v = r.receive(rs);
  assert.equal(v.taken, true);
  assert.ok(v.taken && v.solicitor);
  assert.equal(formatIpv6(v.solicitor), "fe80::a:b:c:d");
  const unicast = r.advertisement(v.solicitor);
  const packet = decodeIpv6Packet(unicast);
  assert.equal(formatIpv6(packet.destination), "fe80::a:b:c:d");
  // The same RA as the multicast one but for the destination and the checksum.
  const golden = r.advertisement();
  assert.deepEqual(unicast.subarray(0, 24), golden.subarray(0, 24));
  assert.deepEqual(unicast.subarray(44), golden.subarray(44));
  assert.notDeepEqual(unicast.subarray(42, 44), golden.subarray(42, 44));
  const ra = decodeRouterAdvertisement(packet);
  const slaac = slaacFromRouterAdvertisement(ra, new Uint8Array([0, 0, 0, 0, 0, 0xa, 0xb, 0xc]));
  assert.deepEqual(slaac.addresses.map((a) => formatIpv6(a.address)), ["2001:2:0:101::a:b0c"]);
  assert.deepEqual(slaac.dns.map(formatIpv6), ["2001:2::53"]);
  assert.equal(slaac.mtu, 1400);
});

Deno.test("Ipv6RouterLink drops a forwarded (hop limit 64) RS and leaves other IPv6 alone", () => {
  const r = router();
  const forwarded = buildRouterSolicitationPacket(ip6("fe80::2"));
  forwarded[7] = 64;
  const v = r.receive(forwarded);
  assert.ok(v.taken && v.solicitor === undefined);
  assert.match(v.problem ?? "", /hop limit 64/);
  const echo = new Uint8Array(48);
  echo.set([0x60, 0, 0, 0, 0, 8, 58, 64]);
  echo[40] = 128; // ICMPv6 echo request
  assert.deepEqual(r.receive(echo), { taken: false });
  assert.deepEqual(r.receive(new Uint8Array(10)), { taken: false });
});

Deno.test("Ipv6RouterLink without a prefix still advertises the router (no autonomous prefix)", () => {
  const r = new Ipv6RouterLink({ localInterfaceId: IID, mtu: 1400, dns: [] });
  const ra = decodeRouterAdvertisement(decodeIpv6Packet(r.advertisement()));
  assert.deepEqual(ra.prefixes, []);
  assert.equal(ra.dns, undefined);
});
