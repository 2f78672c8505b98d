/**
 * Where a tunnel's added RTT goes: kernel timestamps of each ping as it
 * crosses the TUN devices and the veth link in both namespaces (tcpdump
 * `-tt` on every interface of A and of B, one clock), cut into the four
 * process hops and the kernel's own turn-around.
 *
 * A ping from B to the server's tunnel address passes:
 *
 * | hop             | from → to                                        | who          |
 * | --------------- | ------------------------------------------------ | ------------ |
 * | client out      | B tun: echo request → B veth: TLS record out     | client       |
 * | server in       | A veth: TLS record in → A tun: echo request      | server       |
 * | kernel          | A tun: echo request → A tun: echo reply          | Linux        |
 * | server out      | A tun: echo reply → A veth: TLS record out       | server       |
 * | client in       | B veth: TLS record in → B tun: echo reply        | client       |
 *
 * The wire (veth) time between the two is left out: it is the same for every
 * tunnel. The parser is pure ({@linkcode hopsFromCaptures}); the capture runs
 * a separate ping series so tcpdump's cost never touches the RTT figures.
 *
 * @module
 */
import { BenchProcess, execIn } from "./process.ts";

/** One captured packet: kernel time (s), interface, direction, what it is. */
export interface CapturedPacket {
  timeS: number;
  iface: string;
  direction: "In" | "Out";
  /** ICMP echo request/reply with its sequence number, or a TCP segment with payload. */
  kind: { icmp: "request" | "reply"; seq: number } | { tcpPayload: number };
}

/** Names of the hops, in path order. */
export const HOPS = ["client out", "server in", "kernel", "server out", "client in"] as const;
/** A hop's name. */
export type Hop = typeof HOPS[number];

/** Median (and count) per hop, ms. */
export type HopMedians = Record<Hop, { medianMs: number; n: number }>;

/**
 * Parses `tcpdump -i any -n -tt -l` lines (Linux cooked capture v2, which
 * prints the interface and In/Out). Lines it does not understand are skipped.
 */
export function parseTcpdump(text: string): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+\.\d+) (\S+)\s+(In|Out)\s+IP (.*)$/.exec(line.trim());
    if (!m) continue;
    const [, time, iface, direction, rest] = m;
    const icmp = /ICMP echo (request|reply), id \d+, seq (\d+)/.exec(rest!);
    if (icmp) {
      out.push({
        timeS: Number(time),
        iface: iface!,
        direction: direction as "In" | "Out",
        kind: { icmp: icmp[1] as "request" | "reply", seq: Number(icmp[2]) },
      });
      continue;
    }
    const tcp = /Flags \[[^\]]*\].*, length (\d+)$/.exec(rest!);
    if (tcp && Number(tcp[1]) > 0) {
      out.push({
        timeS: Number(time),
        iface: iface!,
        direction: direction as "In" | "Out",
        kind: { tcpPayload: Number(tcp[1]) },
      });
    }
  }
  return out.sort((a, b) => a.timeS - b.timeS);
}

/**
 * Cuts each ping (by sequence number) into hops. `tunA`/`tunB` match the
 * tunnel interfaces, `linkA`/`linkB` the veth ends. A ping whose eight
 * events are not all found in order is skipped.
 */
export function hopsFromCaptures(
  a: CapturedPacket[],
  b: CapturedPacket[],
  names: { tunA: RegExp; tunB: RegExp; linkA: string; linkB: string },
): HopMedians {
  const samples: Record<Hop, number[]> = {
    "client out": [],
    "server in": [],
    kernel: [],
    "server out": [],
    "client in": [],
  };
  const icmp = (list: CapturedPacket[], tun: RegExp, kind: "request" | "reply", seq: number) =>
    list.find((p) =>
      tun.test(p.iface) && "icmp" in p.kind && p.kind.icmp === kind && p.kind.seq === seq
    );
  const tcpAfter = (list: CapturedPacket[], iface: string, dir: "In" | "Out", t: number) =>
    list.find((p) =>
      p.iface === iface && p.direction === dir && "tcpPayload" in p.kind && p.timeS >= t
    );
  const seqs = new Set(
    b.flatMap((p) => ("icmp" in p.kind && p.kind.icmp === "request" ? [p.kind.seq] : [])),
  );
  for (const seq of seqs) {
    const bReq = icmp(b, names.tunB, "request", seq);
    if (!bReq) continue;
    const bOut = tcpAfter(b, names.linkB, "Out", bReq.timeS);
    const aIn = bOut && tcpAfter(a, names.linkA, "In", bOut.timeS);
    const aReq = icmp(a, names.tunA, "request", seq);
    const aRep = icmp(a, names.tunA, "reply", seq);
    const aOut = aRep && tcpAfter(a, names.linkA, "Out", aRep.timeS);
    const bIn = aOut && tcpAfter(b, names.linkB, "In", aOut.timeS);
    const bRep = icmp(b, names.tunB, "reply", seq);
    if (!bOut || !aIn || !aReq || !aRep || !aOut || !bIn || !bRep) continue;
    const chain = [bReq, bOut, aIn, aReq, aRep, aOut, bIn, bRep].map((p) => p.timeS);
    if (chain.some((t, i) => i > 0 && t < chain[i - 1]!)) continue;
    const ms = (from: number, to: number) => (chain[to]! - chain[from]!) * 1000;
    samples["client out"].push(ms(0, 1));
    samples["server in"].push(ms(2, 3));
    samples.kernel.push(ms(3, 4));
    samples["server out"].push(ms(4, 5));
    samples["client in"].push(ms(6, 7));
  }
  const median = (v: number[]) => {
    const s = [...v].sort((x, y) => x - y);
    return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
  };
  return Object.fromEntries(
    HOPS.map((h) => [h, { medianMs: median(samples[h]), n: samples[h].length }]),
  ) as HopMedians;
}

/** Whether tcpdump can be run (the hop breakdown is skipped without it). */
export async function hasTcpdump(): Promise<boolean> {
  return (await execIn(undefined, ["sh", "-c", "command -v tcpdump"]).catch(() => null))?.code ===
    0;
}

/**
 * Captures a separate ping series in both namespaces and returns the hops.
 * Pings go from `nsB` to `target` (inside the tunnel) only.
 */
export async function measureHops(
  nsA: string,
  nsB: string,
  target: string,
  names: { tunA: RegExp; tunB: RegExp; linkA: string; linkB: string },
  count = 30,
  intervalS = 0.1,
): Promise<HopMedians> {
  const dump = (ns: string) =>
    new BenchProcess(["tcpdump", "-i", "any", "-n", "-tt", "-l", "-Q", "inout", "icmp or tcp"], {
      netns: ns,
    });
  const a = dump(nsA);
  const b = dump(nsB);
  try {
    await Promise.all([a.waitFor(/listening on/, 5000), b.waitFor(/listening on/, 5000)]);
    await execIn(nsB, [
      "ping",
      "-n",
      "-q",
      "-c",
      String(count),
      "-i",
      String(intervalS),
      "-W",
      "2",
      target,
    ], count * intervalS * 1000 + 10_000);
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await Promise.all([a.stop(2000), b.stop(2000)]);
  }
  return hopsFromCaptures(parseTcpdump(a.output), parseTcpdump(b.output), names);
}
