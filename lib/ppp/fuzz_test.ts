/**
 * Property tests: decoders throw nothing but ProtocolError, and receive() on
 * every control protocol never throws on peer input, in any state, for random
 * and mutated packets. Every packet it emits decodes again.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../errors.ts";
import { decodePppFrame } from "./frame.ts";
import { decodeCpPacket, decodeOptions } from "./cp_packet.ts";
import { describeCpPacket } from "./describe.ts";
import type { ControlProtocol, CpAction } from "./control_protocol.ts";
import { CpPair } from "./_cp_pair.ts";
import { Lcp } from "./lcp/lcp.ts";
import { Ipcp } from "./ipcp/ipcp.ts";
import { Ipv6cp } from "./ipv6cp/ipv6cp.ts";
import { be, buildCp, buildOptions, seededRandomBytes } from "../../test/helpers/ppp_builders.ts";

function onlyProtocolError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
}

Deno.test("PPP decoders throw only ProtocolError on random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      onlyProtocolError(() => decodePppFrame(bytes));
      onlyProtocolError(() => decodeCpPacket(bytes));
      onlyProtocolError(() => decodeOptions(bytes));
      for (const p of [0xc021, 0x8021, 0x8057, 0xc023, 0xc223, 0xc227, 0x80fd]) {
        describeCpPacket(p, bytes);
      }
    }),
    { numRuns: 1000 },
  );
});

/** Valid-looking seeds that mutation turns into near-miss packets. */
const SEEDS: Uint8Array[] = [
  buildCp(
    1,
    1,
    buildOptions([1, ...be(1500, 2)], [3, 0xc2, 0x23, 0x81], [5, 1, 2, 3, 4], [7], [8]),
  ),
  buildCp(1, 2, buildOptions([3, 0xc2, 0x27], [13, 6], [17, 6, 0x4e])),
  buildCp(2, 0, buildOptions([1, ...be(1500, 2)])),
  buildCp(3, 0, buildOptions([3, 198, 18, 1, 10], [129, 198, 18, 1, 1])),
  buildCp(4, 0, buildOptions([5, 0, 0, 0, 1], [131, 0, 0, 0, 0])),
  buildCp(5, 3, [0x62, 0x79, 0x65]),
  buildCp(6, 3),
  buildCp(7, 4, [...buildCp(1, 1)]),
  buildCp(8, 5, [0x80, 0xfd, 1, 1, 0, 4]),
  buildCp(9, 0, [0, 0, 0, 0, 0x41]),
  buildCp(10, 0, [0, 0, 0, 0]),
  buildCp(11, 0, [0, 0, 0, 0]),
  buildCp(1, 1, buildOptions([1, 0, 0, 0, 0, 0, 0, 0, 1])),
];

const mutated = fc.tuple(
  fc.constantFrom(...SEEDS),
  fc.array(fc.tuple(fc.nat(40), fc.nat(255)), { maxLength: 4 }),
  fc.nat(48),
)
  .map(([seed, edits, cut]) => {
    const b = seed.slice();
    for (const [at, v] of edits) if (at < b.length) b[at] = v;
    return b.subarray(0, Math.min(cut, b.length));
  });
const packets = fc.array(fc.oneof(fc.uint8Array({ maxLength: 48 }), mutated), {
  minLength: 1,
  maxLength: 12,
});

type Factory = () => ControlProtocol;
const lcpClient = () =>
  new Lcp({ randomBytes: seededRandomBytes(1), acceptAuth: ["mschap2", "pap"] });
const lcpServer = () =>
  new Lcp({ randomBytes: seededRandomBytes(2), authenticatePeerWith: ["mschap2", "pap"] });
const ipcpClient = () => new Ipcp({ role: "client" });
const ipcpServer = () =>
  new Ipcp({
    role: "server",
    localAddress: "198.18.1.1",
    peerAddress: "198.18.1.10",
    dns: ["198.18.1.1"],
  });
/** Instance under test and the partner that brings it to Opened. */
const FACTORIES: Record<string, [Factory, Factory]> = {
  "Lcp client": [lcpClient, lcpServer],
  "Lcp server": [lcpServer, lcpClient],
  "Ipcp client": [ipcpClient, ipcpServer],
  "Ipcp server": [ipcpServer, ipcpClient],
  "Ipv6cp": [
    () => new Ipv6cp({ randomBytes: seededRandomBytes(3) }),
    () => new Ipv6cp({ randomBytes: seededRandomBytes(4) }),
  ],
};

function checkActions(actions: CpAction[]): void {
  for (const a of actions) {
    if (a.type === "send") {
      const p = decodeCpPacket(a.packet);
      assert.equal(4 + p.data.length, a.packet.length);
    }
  }
}

for (const [name, [make, partner]] of Object.entries(FACTORIES)) {
  Deno.test(`${name} receive() never throws on random and mutated packets`, () => {
    fc.assert(
      fc.property(packets, fc.nat(3), (list, setup) => {
        const cp = make();
        // Vary the starting state: Initial, ReqSent, Closed, Opened (against its partner).
        if (setup === 1) checkActions([...cp.open(0), ...cp.up(0)]);
        if (setup === 2) checkActions(cp.up(0));
        if (setup === 3) {
          new CpPair(cp, partner()).start().run();
          assert.equal(cp.state, "Opened");
        }
        let now = 0;
        for (const packet of list) {
          checkActions(cp.receive(packet, now));
          now += 1000;
          if (packet.length % 3 === 0) checkActions(cp.timeout(now));
        }
        const lcp = cp instanceof Lcp ? cp : undefined;
        if (lcp !== undefined) {
          checkActions(lcp.echoRequest(new Uint8Array(3)));
          checkActions(lcp.protocolReject(0x80fd, list[0] ?? new Uint8Array()));
        }
      }),
      { numRuns: 300 },
    );
  });
}
