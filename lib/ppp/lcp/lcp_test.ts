import assert from "node:assert/strict";
import { Lcp, type LcpOptions } from "./lcp.ts";
import { CpPair } from "../_cp_pair.ts";
import type { CpAction } from "../control_protocol.ts";
import { describeCpPacket } from "../describe.ts";
import {
  be,
  buildCp,
  buildOptions,
  seededRandomBytes,
} from "../../../test/helpers/ppp_builders.ts";

const ASCII = (s: string) => [...new TextEncoder().encode(s)];

function lcp(seed: number, options: Omit<LcpOptions, "randomBytes"> = {}): Lcp {
  return new Lcp({ randomBytes: seededRandomBytes(seed), ...options });
}

function sends(actions: CpAction[]): Uint8Array[] {
  return actions.flatMap((a) => a.type === "send" ? [a.packet] : []);
}

function finished(actions: CpAction[]): string[] {
  return actions.flatMap((a) => a.type === "thisLayerFinished" ? [a.error?.code ?? "ok"] : []);
}

/** Opens a client Lcp against scripted server packets; returns its first ConfReq. */
function startClient(l: Lcp): Uint8Array {
  l.open(0);
  const [req] = sends(l.up(0));
  assert.ok(req);
  return req;
}

Deno.test("Lcp pair ends on pap when the server allows [mschap2, pap] and the client [pap]", () => {
  const client = lcp(1, { acceptAuth: ["pap"] });
  const server = lcp(2, { authenticatePeerWith: ["mschap2", "pap"], mru: 1400 });
  const pair = new CpPair(client, server).start().run();
  assert.equal(client.state, "Opened");
  assert.equal(server.state, "Opened");
  assert.equal(client.result.authAsPeer, "pap");
  assert.equal(server.result.authAsAuthenticator, "pap");
  assert.equal(client.result.authAsAuthenticator, undefined);
  assert.equal(client.result.peerMru, 1400);
  assert.equal(server.result.localMru, 1400);
  assert.notEqual(client.result.localMagic, 0);
  assert.equal(client.result.localMagic, server.result.peerMagic);
  assert.equal(server.result.localMagic, client.result.peerMagic);
  assert.ok(
    pair.wire.some((l) => /^a→b LCP ConfNak id=0x\w+ <auth pap>$/.test(l)),
    pair.wire.join("\n"),
  );
  assert.deepEqual(pair.events.a.map((e) => e.type), ["thisLayerStarted", "thisLayerUp"]);
  assert.deepEqual(pair.events.b.map((e) => e.type), ["thisLayerStarted", "thisLayerUp"]);
  assert.ok(!pair.hasTimer("a") && !pair.hasTimer("b"));
});

Deno.test("Lcp server takes the method the client suggests when it allows it", () => {
  const client = lcp(1, { acceptAuth: ["pap"] });
  const server = lcp(2, { authenticatePeerWith: ["mschap2", "mschap1", "pap"] });
  const pair = new CpPair(client, server).start().run();
  const asked = pair.wire.filter((l) => l.startsWith("b→a LCP ConfReq")).map((l) =>
    l.match(/<auth [^>]+>/)?.[0]
  );
  assert.deepEqual(asked, ["<auth mschap-v2>", "<auth pap>"]);
  assert.equal(server.result.authAsAuthenticator, "pap");
});

Deno.test("Lcp server moves to its next method when the suggestion is not allowed", () => {
  const client = lcp(1, { acceptAuth: ["chap", "pap"] });
  const server = lcp(2, { authenticatePeerWith: ["mschap2", "pap"] });
  const pair = new CpPair(client, server).start().run();
  const asked = pair.wire.filter((l) => l.startsWith("b→a LCP ConfReq")).map((l) =>
    l.match(/<auth [^>]+>/)?.[0]
  );
  assert.deepEqual(asked, ["<auth mschap-v2>", "<auth pap>"]);
  assert.equal(client.result.authAsPeer, "pap");
});

Deno.test("Lcp server fails with AUTH_NEGOTIATION_FAILED when the client accepts none of its methods", () => {
  for (const acceptAuth of [["pap"], []] as const) {
    const client = lcp(1, { acceptAuth });
    const server = lcp(2, { authenticatePeerWith: ["mschap2"] });
    const pair = new CpPair(client, server).start().run();
    assert.deepEqual(
      finished(pair.events.b),
      ["AUTH_NEGOTIATION_FAILED"],
      `acceptAuth=${acceptAuth}`,
    );
    assert.equal(server.state, "Closed");
    assert.ok(pair.wire.some((l) => l.startsWith("b→a LCP TermReq")));
  }
});

Deno.test("Lcp client Naks EAP from a SoftEther-like server and drops what it rejects", () => {
  const client = lcp(3, {
    acceptAuth: ["mschap2", "pap"],
    pfc: { request: true },
    acfc: { request: true },
  });
  const req1 = startClient(client);
  assert.match(
    describeCpPacket(0xc021, req1),
    /^LCP ConfReq id=0x0 <mru 1500> <magic 0x\w+> <pcomp> <accomp>$/,
  );
  // The server's first request asks for EAP (c227) only: we Nak with our strongest method.
  const nakEap = sends(client.receive(buildCp(1, 1, buildOptions([3, 0xc2, 0x27])), 0));
  assert.deepEqual(nakEap, [buildCp(3, 1, buildOptions([3, 0xc2, 0x23, 0x81]))]);
  // SoftEther rejects Magic-Number, PFC and ACFC.
  const magic = [...req1.subarray(10, 14)];
  const rej = buildCp(4, 0, buildOptions([5, ...magic], [7], [8]));
  const [req2] = sends(client.receive(rej, 0));
  assert.ok(req2);
  assert.deepEqual(req2, buildCp(1, 1, buildOptions([1, ...be(1500, 2)])));
  // Second server request asks for MS-CHAPv2: acked.
  const ack = sends(client.receive(buildCp(1, 2, buildOptions([3, 0xc2, 0x23, 0x81])), 0));
  assert.deepEqual(ack, [buildCp(2, 2, buildOptions([3, 0xc2, 0x23, 0x81]))]);
  const up = client.receive(buildCp(2, 1, buildOptions([1, ...be(1500, 2)])), 0);
  assert.ok(up.some((a) => a.type === "thisLayerUp"));
  assert.deepEqual(client.result, {
    localMru: 1500,
    peerMru: 1500,
    localMagic: 0,
    peerMagic: 0,
    authAsPeer: "mschap2",
    sendPfc: false,
    sendAcfc: false,
  });
  // SoftEther's keepalive: magic 0 and "Aho Baka Manuke\0", echoed with our magic (0).
  const data = ASCII("Aho Baka Manuke\0");
  const reply = sends(client.receive(buildCp(9, 0, [0, 0, 0, 0, ...data]), 0));
  assert.deepEqual(reply, [buildCp(10, 0, [0, 0, 0, 0, ...data])]);
});

Deno.test("Lcp Configure-Rejects RRAS's callback, MRRU and endpoint discriminator in order", () => {
  const client = lcp(4, { acceptAuth: ["mschap2"] });
  startClient(client);
  const endpoint = [1, ...new Array(16).fill(0xab)];
  const rras = buildOptions([1, ...be(4091, 2)], [3, 0xc2, 0x27], [13, 6], [17, ...be(1614, 2)], [
    19,
    ...endpoint,
  ]);
  const [rej] = sends(client.receive(buildCp(1, 1, rras), 0));
  assert.deepEqual(
    rej,
    buildCp(4, 1, buildOptions([13, 6], [17, ...be(1614, 2)], [19, ...endpoint])),
  );
  const [nak] = sends(
    client.receive(buildCp(1, 2, buildOptions([1, ...be(4091, 2)], [3, 0xc2, 0x27])), 0),
  );
  assert.deepEqual(nak, buildCp(3, 2, buildOptions([3, 0xc2, 0x23, 0x81])));
  const ok = buildOptions([1, ...be(4091, 2)], [3, 0xc2, 0x23, 0x81], [2, 0, 0, 0, 0]);
  const [rejAccm] = sends(client.receive(buildCp(1, 3, ok), 0));
  assert.deepEqual(
    rejAccm,
    buildCp(4, 3, buildOptions([2, 0, 0, 0, 0])),
    "ACCM is meaningless over SSTP",
  );
  const [ack] = sends(client.receive(buildCp(1, 4, ok.slice(0, 9)), 0));
  assert.equal(ack?.[0], 2);
});

Deno.test("Lcp Naks a peer MRU outside [128, 4091] with its own MRU", () => {
  const l = lcp(5, { mru: 1400 });
  startClient(l);
  for (const bad of [64, 4092, 65535]) {
    const [nak] = sends(l.receive(buildCp(1, 9, buildOptions([1, ...be(bad, 2)])), 0));
    assert.deepEqual(nak, buildCp(3, 9, buildOptions([1, ...be(1400, 2)])), `mru ${bad}`);
  }
  const [rej] = sends(l.receive(buildCp(1, 9, buildOptions([1, 5])), 0));
  assert.equal(rej?.[0], 4, "malformed MRU is rejected");
  assert.throws(() => lcp(5, { mru: 5000 }), RangeError);
});

Deno.test("Lcp detects a looped-back link through the Magic-Number", () => {
  const l = lcp(6);
  const queue = [...l.open(0), ...l.up(0)];
  const seen: CpAction[] = [];
  for (let i = 0; i < 200 && queue.length > 0; i++) {
    const a = queue.shift() as CpAction;
    seen.push(a);
    if (a.type === "send") queue.push(...l.receive(a.packet, 0));
  }
  assert.deepEqual(finished(seen), ["LOOPBACK"]);
  assert.equal(l.state, "Closed");
});

Deno.test("Lcp Naks a zero Magic-Number (RFC 1661 6.4)", () => {
  const l = lcp(7);
  startClient(l);
  const [nak] = sends(l.receive(buildCp(1, 3, buildOptions([5, 0, 0, 0, 0])), 0));
  assert.equal(nak?.[0], 3);
  assert.notDeepEqual([...(nak ?? []).subarray(6, 10)], [0, 0, 0, 0]);
});

function openedPair(): CpPair {
  const pair = new CpPair(
    lcp(8, { acceptAuth: ["pap"] }),
    lcp(9, { authenticatePeerWith: ["pap"] }),
  ).start().run();
  assert.equal(pair.a.state, "Opened");
  return pair;
}

Deno.test("Lcp Protocol-Rejects CCP and reports a received Protocol-Reject", () => {
  const pair = openedPair();
  const server = pair.b as Lcp;
  const ccpReq = [1, 1, 0, 4];
  const out = server.protocolReject(0x80fd, new Uint8Array(ccpReq));
  assert.deepEqual(sends(out), [buildCp(8, sends(out)[0]?.[1] ?? -1, [0x80, 0xfd, ...ccpReq])]);
  pair.apply("b", out);
  pair.run();
  assert.deepEqual(pair.events.a.at(-1), { type: "protocolRejected", protocol: 0x80fd });
  assert.equal(pair.a.state, "Opened");
  assert.match(pair.wire.at(-1) ?? "", /^b→a LCP ProtRej id=0x\w+ proto=0x80fd$/);
  // Rejected-Information is truncated to the peer's MRU (RFC 1661 5.7).
  const [big] = sends(server.protocolReject(0x80fd, new Uint8Array(3000)));
  assert.equal(big?.length, 1500);
  assert.deepEqual(lcp(1).protocolReject(0x80fd, new Uint8Array(1)), [], "only in Opened");
});

Deno.test("Lcp treats a Protocol-Reject of LCP itself as RXJ-", () => {
  const pair = openedPair();
  const out = pair.a.receive(buildCp(8, 1, [0xc0, 0x21, 1, 1, 0, 4]), 0);
  assert.equal(pair.a.state, "Stopping");
  assert.ok(out.some((a) => a.type === "thisLayerDown"));
  pair.apply("a", out);
  pair.run();
  assert.deepEqual(finished(pair.events.a), ["NEGOTIATION_FAILED"]);
});

Deno.test("Lcp answers Echo-Request only in Opened, with its own magic", () => {
  const pair = openedPair();
  const client = pair.a as Lcp;
  const server = pair.b as Lcp;
  const req = server.echoRequest(new Uint8Array([1, 2, 3]));
  const [packet] = sends(req);
  assert.deepEqual(packet?.subarray(4, 8), new Uint8Array(be(server.result.localMagic, 4)));
  pair.apply("b", req);
  pair.run();
  assert.deepEqual(pair.events.b.at(-1), {
    type: "echoReply",
    identifier: packet?.[1],
    magic: client.result.localMagic,
    data: new Uint8Array([1, 2, 3]),
  });
  const fresh = lcp(1);
  startClient(fresh);
  assert.deepEqual(fresh.receive(buildCp(9, 0, [0, 0, 0, 0]), 0), [], "discarded before Opened");
  assert.deepEqual(fresh.echoRequest(), []);
  assert.deepEqual(
    client.receive(buildCp(11, 4, [0, 0, 0, 0, 9]), 0),
    [],
    "Discard-Request is ignored",
  );
});

Deno.test("Lcp Code-Rejects unknown codes, quoting the packet", () => {
  const pair = openedPair();
  const unknown = buildCp(0x20, 5, [1, 2, 3]);
  const [rej] = sends(pair.a.receive(unknown, 0));
  assert.deepEqual(rej, buildCp(7, rej?.[1] ?? -1, [...unknown]));
});

Deno.test("Lcp pair runs the Terminate exchange", () => {
  const pair = openedPair();
  pair.apply("a", pair.a.close(pair.nowMs, "User request"));
  pair.run();
  assert.ok(
    pair.wire.includes(
      `a→b LCP TermReq id=0x${pair.wire.at(-2)?.match(/id=0x(\w+)/)?.[1]} "User request"`,
    ),
  );
  assert.match(pair.wire.at(-1) ?? "", /^b→a LCP TermAck/);
  assert.equal(pair.a.state, "Closed");
  assert.deepEqual(finished(pair.events.a), ["ok"]);
  // The peer waits one restart period in Stopping (zrc), then finishes.
  assert.equal(pair.b.state, "Stopped");
  assert.equal(pair.nowMs, 3000);
  assert.deepEqual(finished(pair.events.b), ["PEER_TERMINATED"]);
});

Deno.test("Lcp retransmits a lost Configure-Request after the restart timer", () => {
  const pair = new CpPair(
    lcp(10, { acceptAuth: ["pap"] }),
    lcp(11, { authenticatePeerWith: ["pap"] }),
  );
  let dropped = false;
  pair.filter = (from, p) => {
    if (from === "a" && p[0] === 1 && !dropped) {
      dropped = true;
      return undefined;
    }
    return p;
  };
  pair.start().run();
  assert.equal(pair.a.state, "Opened");
  assert.equal(pair.b.state, "Opened");
  assert.equal(pair.nowMs, 3000);
});

Deno.test("Lcp gives up after Max-Configure unanswered Configure-Requests", () => {
  const pair = new CpPair(lcp(12), lcp(13));
  pair.filter = (from, p) => from === "b" ? undefined : p;
  pair.start().run(500);
  assert.equal(pair.wire.filter((l) => l.startsWith("a→b LCP ConfReq")).length, 10);
  assert.deepEqual(finished(pair.events.a), ["RETRY_EXHAUSTED"]);
  assert.equal(pair.a.state, "Stopped");
  assert.equal(pair.nowMs, 30000);
});

Deno.test("Lcp pair negotiates MRRU both ways and short sequence numbers one way when configured", () => {
  const client = lcp(1, { acceptAuth: ["pap"], mrru: 1600, requestShortSequence: true });
  const server = lcp(2, { authenticatePeerWith: ["pap"], mrru: 1700 });
  const pair = new CpPair(client, server).start().run();
  assert.equal(client.state, "Opened");
  assert.equal(client.result.localMrru, 1600);
  assert.equal(client.result.peerMrru, 1700);
  assert.equal(server.result.localMrru, 1700);
  assert.equal(server.result.peerMrru, 1600);
  assert.equal(client.result.receiveShortSequence, true, "the client asked, the server acked");
  assert.equal(server.result.sendShortSequence, true);
  assert.equal(client.result.sendShortSequence, undefined);
  assert.ok(
    pair.wire.some((l) => /a→b LCP ConfReq .*mrru 1600.*short-seq/.test(l)),
    pair.wire.join("\n"),
  );
});

Deno.test("Lcp without mrru Configure-Rejects the peer's MRRU and short sequence numbers", () => {
  const client = lcp(1, { acceptAuth: ["pap"], mrru: 1600, requestShortSequence: true });
  const server = lcp(2, { authenticatePeerWith: ["pap"] });
  const pair = new CpPair(client, server).start().run();
  assert.equal(client.state, "Opened");
  assert.equal(client.result.localMrru, undefined);
  assert.equal(client.result.peerMrru, undefined);
  assert.equal(server.result.peerMrru, undefined);
  assert.ok(
    pair.wire.some((l) => /b→a LCP ConfRej .*mrru 1600.*short-seq/.test(l)),
    pair.wire.join("\n"),
  );
});

Deno.test("Lcp PFC/ACFC: asking lets the PEER compress towards us; acking lets US compress", () => {
  const client = lcp(1, { acceptAuth: ["pap"], pfc: { request: true }, acfc: { request: true } });
  const server = lcp(2, { authenticatePeerWith: ["pap"] });
  new CpPair(client, server).start().run();
  assert.equal(client.state, "Opened");
  assert.equal(server.result.sendPfc, true, "the server acked the client's PFC: it may send PFC");
  assert.equal(server.result.sendAcfc, true);
  assert.equal(client.result.sendPfc, false, "the server did not ask: the client sends whole");
  assert.equal(client.result.sendAcfc, false);
});
