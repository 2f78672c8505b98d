import assert from "node:assert/strict";
import { Ipcp } from "./ipcp.ts";
import { bytesToIpv4, ipv4ToBytes } from "./ipv4.ts";
import { CpPair } from "../_cp_pair.ts";
import type { CpAction } from "../control_protocol.ts";
import { buildCp, buildOptions, type RawOption } from "../../../test/helpers/ppp_builders.ts";

const ZERO = [0, 0, 0, 0];
const GW = [198, 18, 1, 1];
const LEASE = [198, 18, 1, 10];

function sends(actions: CpAction[]): Uint8Array[] {
  return actions.flatMap((a) => a.type === "send" ? [a.packet] : []);
}

function finished(actions: CpAction[]): string[] {
  return actions.flatMap((a) => a.type === "thisLayerFinished" ? [a.error?.code ?? "ok"] : []);
}

const server = (dns: readonly [string?, string?] = ["198.18.1.1"]) =>
  new Ipcp({ role: "server", localAddress: "198.18.1.1", peerAddress: "198.18.1.10", dns });

Deno.test("Ipcp pair: the server assigns 198.18.1.10 and DNS, rejecting the missing secondary", () => {
  const client = new Ipcp({ role: "client" });
  const s = server();
  const pair = new CpPair(client, s).start().run();
  assert.equal(client.state, "Opened");
  assert.equal(s.state, "Opened");
  assert.deepEqual(client.result, {
    localAddress: "198.18.1.10",
    peerAddress: "198.18.1.1",
    dns: ["198.18.1.1"],
  });
  assert.deepEqual(s.result, {
    localAddress: "198.18.1.1",
    peerAddress: "198.18.1.10",
    dns: ["198.18.1.1"],
  });
  assert.deepEqual(
    pair.wire.filter((l) => l.startsWith("b→a IPCP ConfRej") || l.startsWith("b→a IPCP ConfNak")),
    [
      "b→a IPCP ConfRej id=0x0 <ms-dns2 0.0.0.0>",
      "b→a IPCP ConfNak id=0x1 <addr 198.18.1.10> <ms-dns1 198.18.1.1>",
    ],
  );
});

Deno.test("Ipcp pair hands out two DNS servers and none when asked not to", () => {
  const client = new Ipcp({ role: "client" });
  new CpPair(client, server(["198.18.1.1", "198.18.1.2"])).start().run();
  assert.deepEqual(client.result.dns, ["198.18.1.1", "198.18.1.2"]);
  const quiet = new Ipcp({ role: "client", requestDns: false });
  const pair = new CpPair(quiet, server()).start().run();
  assert.deepEqual(quiet.result.dns, []);
  assert.ok(!pair.wire.some((l) => l.includes("ms-dns")));
});

Deno.test("Ipcp client follows SoftEther's Reject then Nak sequence", () => {
  const c = new Ipcp({ role: "client" });
  c.open(0);
  const [req1] = sends(c.up(0));
  assert.deepEqual(req1, buildCp(1, 0, buildOptions([3, ...ZERO], [129, ...ZERO], [131, ...ZERO])));
  // SoftEther's own request: IP-Address 198.18.1.1 (the SecureNAT host).
  assert.deepEqual(sends(c.receive(buildCp(1, 1, buildOptions([3, ...GW])), 0)), [
    buildCp(2, 1, buildOptions([3, ...GW])),
  ]);
  const [req2] = sends(c.receive(buildCp(4, 0, buildOptions([131, ...ZERO])), 0));
  assert.deepEqual(req2, buildCp(1, 1, buildOptions([3, ...ZERO], [129, ...ZERO])));
  const [req3] = sends(c.receive(buildCp(3, 1, buildOptions([3, ...LEASE], [129, ...GW])), 0));
  assert.deepEqual(req3, buildCp(1, 2, buildOptions([3, ...LEASE], [129, ...GW])));
  const up = c.receive(buildCp(2, 2, buildOptions([3, ...LEASE], [129, ...GW])), 0);
  assert.ok(up.some((a) => a.type === "thisLayerUp"));
  assert.deepEqual(c.result, {
    localAddress: "198.18.1.10",
    peerAddress: "198.18.1.1",
    dns: ["198.18.1.1"],
  });
});

Deno.test("Ipcp rejects IP-Compression-Protocol and NBNS, and the client rejects DNS requests", () => {
  const s = server();
  s.open(0);
  s.up(0);
  const vj: RawOption = [2, 0x00, 0x2d, 0x0f, 0x01];
  const [rej] = sends(
    s.receive(buildCp(1, 4, buildOptions([3, ...ZERO], vj, [130, ...ZERO], [132, ...ZERO])), 0),
  );
  assert.deepEqual(rej, buildCp(4, 4, buildOptions(vj, [130, ...ZERO], [132, ...ZERO])));
  const c = new Ipcp({ role: "client" });
  c.open(0);
  c.up(0);
  const [rej2] = sends(c.receive(buildCp(1, 5, buildOptions([3, ...GW], [129, ...ZERO], vj)), 0));
  assert.deepEqual(rej2, buildCp(4, 5, buildOptions([129, ...ZERO], vj)));
});

Deno.test("Ipcp server Naks a client asking for another address", () => {
  const s = server();
  s.open(0);
  s.up(0);
  const [nak] = sends(s.receive(buildCp(1, 6, buildOptions([3, 10, 0, 0, 5])), 0));
  assert.deepEqual(nak, buildCp(3, 6, buildOptions([3, ...LEASE])));
});

Deno.test("Ipcp fails with NO_ADDRESS when no side can provide one", () => {
  const pair = new CpPair(
    new Ipcp({ role: "client" }),
    new Ipcp({ role: "server", localAddress: "10.0.0.1" }),
  );
  pair.start().run();
  assert.deepEqual(finished(pair.events.b), ["NO_ADDRESS"]);
  const c = new Ipcp({ role: "client" });
  c.open(0);
  c.up(0);
  const out = c.receive(buildCp(4, 0, buildOptions([3, ...ZERO])), 0);
  assert.equal(c.state, "Closing");
  assert.equal(sends(out)[0]?.[0], 5);
  assert.deepEqual(finished(c.receive(buildCp(6, 9), 0)), ["NO_ADDRESS"]);
});

Deno.test("Ipcp server stops requesting its address when the client rejects it", () => {
  const pair = new CpPair(new Ipcp({ role: "client" }), server());
  pair.filter = (from, p) => {
    // A client that rejects IP-Address in the server's request.
    if (from === "b" && p[0] === 1 && p.length > 4) {
      pair.apply("b", pair.b.receive(buildCp(4, p[1] as number, [...p.subarray(4)]), pair.nowMs));
      return undefined;
    }
    return p;
  };
  pair.start().run();
  assert.equal(pair.b.state, "Opened");
  assert.equal(pair.a.state, "Opened");
  assert.ok(pair.wire.includes("b→a IPCP ConfReq id=0x1"), pair.wire.join("\n"));
});

Deno.test("ipv4ToBytes() and bytesToIpv4() round-trip and validate", () => {
  assert.deepEqual([...ipv4ToBytes("198.18.1.10")], LEASE);
  assert.equal(bytesToIpv4(new Uint8Array(GW)), "198.18.1.1");
  for (const bad of ["1.2.3", "1.2.3.256", "01.2.3.4", "a.b.c.d", ""]) {
    assert.throws(() => ipv4ToBytes(bad), TypeError, bad);
  }
  assert.throws(() => bytesToIpv4(new Uint8Array(3)), RangeError);
  assert.throws(() => new Ipcp({ role: "server", peerAddress: "nope" }), TypeError);
});
