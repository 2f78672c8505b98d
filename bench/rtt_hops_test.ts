import assert from "node:assert/strict";
import { hopsFromCaptures, parseTcpdump } from "./rtt_hops.ts";

const B = `
1000.000000 rtc0  Out IP 198.18.220.2 > 198.18.220.1: ICMP echo request, id 7, seq 1, length 64
1000.000500 veth-b Out IP 198.18.200.2.41520 > 198.18.200.1.443: Flags [P.], seq 1:115, ack 1, win 1714, length 114
1000.001700 veth-b In  IP 198.18.200.1.443 > 198.18.200.2.41520: Flags [.], ack 115, win 3135, length 0
1000.001800 veth-b In  IP 198.18.200.1.443 > 198.18.200.2.41520: Flags [P.], seq 1:115, ack 115, win 3135, length 114
1000.002100 rtc0  In  IP 198.18.220.1 > 198.18.220.2: ICMP echo reply, id 7, seq 1, length 64
1000.100000 rtc0  Out IP 198.18.220.2 > 198.18.220.1: ICMP echo request, id 7, seq 2, length 64
tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes
`;
const A = `
1000.000520 veth-a In  IP 198.18.200.2.41520 > 198.18.200.1.443: Flags [P.], seq 1:115, ack 1, win 1714, length 114
1000.001000 sstp-sstp In  IP 198.18.220.2 > 198.18.220.1: ICMP echo request, id 7, seq 1, length 64
1000.001030 sstp-sstp Out IP 198.18.220.1 > 198.18.220.2: ICMP echo reply, id 7, seq 1, length 64
1000.001780 veth-a Out IP 198.18.200.1.443 > 198.18.200.2.41520: Flags [P.], seq 1:115, ack 115, win 3135, length 114
`;
const NAMES = { tunA: /^sstp-/, tunB: /^rtc/, linkA: "veth-a", linkB: "veth-b" };

Deno.test("parseTcpdump() keeps echo requests/replies and TCP segments with payload", () => {
  const b = parseTcpdump(B);
  assert.equal(b.length, 5, "the pure ACK and the banner are skipped");
  assert.deepEqual(b[0], {
    timeS: 1000,
    iface: "rtc0",
    direction: "Out",
    kind: { icmp: "request", seq: 1 },
  });
  assert.deepEqual(b[1]?.kind, { tcpPayload: 114 });
  assert.equal(b[2]?.direction, "In");
});

Deno.test("hopsFromCaptures() cuts each complete ping into the five hops", () => {
  const hops = hopsFromCaptures(parseTcpdump(A), parseTcpdump(B), NAMES);
  const close = (got: number, want: number) =>
    assert.ok(Math.abs(got - want) < 1e-6, `${got} vs ${want}`);
  close(hops["client out"].medianMs, 0.5);
  close(hops["server in"].medianMs, 0.48);
  close(hops.kernel.medianMs, 0.03);
  close(hops["server out"].medianMs, 0.75);
  close(hops["client in"].medianMs, 0.3);
  // seq 2 has no reply: skipped, not counted.
  assert.equal(hops["client out"].n, 1);
});

Deno.test("hopsFromCaptures() skips pings whose events are out of order or missing", () => {
  const noServer = hopsFromCaptures([], parseTcpdump(B), NAMES);
  assert.equal(noServer.kernel.n, 0);
  assert.ok(Number.isNaN(noServer.kernel.medianMs));
});
