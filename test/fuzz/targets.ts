/**
 * The fuzz targets of `deno task fuzz`. Each `run(rng)` builds one input
 * from `rng` and throws only for a finding:
 *
 * - decoders (SSTP packets, control messages, attributes; PPP frames, CP
 *   packets and options, PAP/CHAP packets, MS-CHAP failure text; the HTTP
 *   preambles and the proxy answer) may throw nothing but `ProtocolError`;
 *   what they decode must describe and encode again;
 * - the framer may throw nothing but `ProtocolError`, and cuts a stream into
 *   the same packets and errors whatever its TCP segmentation;
 * - a server (or client) engine fed a hostile stream (its peer's clean
 *   transcript with packets dropped, mutated, duplicated and injected, cut
 *   into random segments) never throws anything outside the `SstpError`
 *   family (the runner ends such a session cleanly), every packet it sends
 *   encodes, and it never hangs: once input stops it is closed or has a
 *   timer running;
 * - a client/server engine pair whose link drops, mutates and injects
 *   packets for a while and then runs clean ends with both sides connected
 *   or both closed (no half-open or hung session).
 *
 * @module
 */
import { ProtocolError, SstpError } from "../../lib/errors.ts";
import { decodeSstpPacket, encodeSstpPacket, type SstpPacket } from "../../lib/sstp/packet.ts";
import {
  decodeSstpControlMessage,
  encodeSstpControlMessage,
} from "../../lib/sstp/control_message.ts";
import { decodeSstpAttribute } from "../../lib/sstp/attributes.ts";
import { describeSstpPacket } from "../../lib/sstp/describe.ts";
import { SstpFramer } from "../../lib/sstp/framer.ts";
import {
  parseSstpHttpRequest,
  parseSstpHttpResponse,
  validateSstpHttpRequest,
} from "../../lib/sstp/http_preamble.ts";
import { parseConnectResponse } from "../../lib/transport/http_proxy.ts";
import { decodePppFrame } from "../../lib/ppp/frame.ts";
import { decodeCpPacket, decodeOptions } from "../../lib/ppp/cp_packet.ts";
import { describeCpPacket } from "../../lib/ppp/describe.ts";
import { decodeChapPacket, describeChapPacket } from "../../lib/ppp/auth/chap_packet.ts";
import { decodePapPacket, describePapPacket } from "../../lib/ppp/auth/pap_packet.ts";
import { decodeMsChapFailure } from "../../lib/ppp/auth/mschap_failure.ts";
import type { TimerName, TunnelAction, TunnelEvent } from "../../lib/tunnel/events.ts";
import type { SessionEngine } from "../../lib/tunnel/session_engine.ts";
import { chunks, concat, mutate, type Rng } from "./mutator.ts";
import { corpus, fuzzClientEngine, fuzzServerEngine } from "./corpus.ts";

/** One fuzz target. */
export interface FuzzTarget {
  /** Short name for `--target` and reports. */
  name: string;
  /** Runs one case built from `rng`; throws only for a finding. */
  run(rng: Rng): void;
}

/** A violated property (not an exception of the code under test). */
export class FuzzPropertyError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "FuzzPropertyError";
  }
}

/** Calls `f`; a `ProtocolError` is the decoders' contract and is swallowed. */
function decoding<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}

/** A mutated seed, or (sometimes) random bytes. */
function input(rng: Rng, seeds: readonly Uint8Array[]): Uint8Array {
  if (rng.chance(0.05)) return rng.bytes(rng.below(64));
  return mutate(rng.pick(seeds), rng, seeds);
}

const latin1 = new TextDecoder("latin1");

const sstpDecode: FuzzTarget = {
  name: "sstp-decode",
  run(rng) {
    const seeds = corpus().sstp;
    const bytes = input(rng, seeds);
    const packet = decoding(() => decodeSstpPacket(bytes));
    if (packet !== undefined) {
      describeSstpPacket(packet);
      reencode(packet);
    }
    const message = decoding(() => decodeSstpControlMessage(bytes));
    if (message !== undefined) encodeSstpControlMessage(message);
    decoding(() => decodeSstpAttribute(bytes.subarray(Math.min(8, bytes.length))));
    decoding(() => decodeSstpAttribute(bytes));
  },
};

/** Encodes a decoded packet again: what was accepted must be representable. */
function reencode(packet: SstpPacket): void {
  const again = encodeSstpPacket(packet);
  const back = decodeSstpPacket(again.slice());
  if (back.kind !== packet.kind) {
    throw new FuzzPropertyError(`re-encoded ${packet.kind} packet decodes as ${back.kind}`);
  }
}

const PPP_PROTOCOLS = [0xc021, 0x8021, 0x8057, 0xc023, 0xc223, 0xc227, 0x80fd, 0x0021, 0x1234];

const pppDecode: FuzzTarget = {
  name: "ppp-decode",
  run(rng) {
    const seeds = corpus().ppp;
    const bytes = input(rng, seeds);
    const frame = decoding(() => decodePppFrame(bytes));
    const body = frame?.information ?? bytes.subarray(Math.min(4, bytes.length));
    decoding(() => decodeCpPacket(body));
    decoding(() => decodeOptions(body.subarray(Math.min(4, body.length))));
    decoding(() => decodeOptions(body));
    for (const p of PPP_PROTOCOLS) describeCpPacket(p, body);
    const chap = decoding(() => decodeChapPacket(body));
    if (chap !== undefined) describeChapPacket(chap);
    const pap = decoding(() => decodePapPacket(body));
    if (pap !== undefined) describePapPacket(pap);
    decoding(() => decodeMsChapFailure(latin1.decode(body.subarray(4))));
  },
};

const httpPreamble: FuzzTarget = {
  name: "http-preamble",
  run(rng) {
    const bytes = input(rng, corpus().http);
    const request = decoding(() => parseSstpHttpRequest(bytes));
    if (request) validateSstpHttpRequest(request.request);
    decoding(() => parseSstpHttpResponse(bytes));
    decoding(() => parseConnectResponse(bytes));
  },
};

/** One framer event: a packet (kind and bytes) or an error code. */
type FramerEvent = string;

/** Feeds `parts` to a framer the way the runner does; returns what came out. */
function frame(parts: readonly Uint8Array[]): FramerEvent[] {
  const framer = new SstpFramer();
  const out: FramerEvent[] = [];
  const onPacket = (p: SstpPacket) => {
    out.push(
      p.kind === "data" ? `data ${p.data.join(",")}` : `control ${encodeSstpPacket(p).join(",")}`,
    );
  };
  const feed = (chunk: Uint8Array): boolean => {
    for (let guard = 0; guard < 10_000; guard++) {
      try {
        framer.pushEach(chunk, onPacket);
        return true;
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        out.push(`error ${e.code}`);
        if (e.code === "BAD_VERSION" || e.code === "BAD_LENGTH") return false;
        chunk = new Uint8Array(0); // drain what follows the malformed packet
      }
    }
    throw new FuzzPropertyError("framer keeps failing on an empty push");
  };
  for (const part of parts) if (!feed(part)) break;
  if (framer.bufferedLength > 4096 + 4096) {
    throw new FuzzPropertyError(`framer buffers ${framer.bufferedLength} bytes`);
  }
  return out;
}

const framerTarget: FuzzTarget = {
  name: "framer",
  run(rng) {
    const seeds = corpus().sstp;
    const parts: Uint8Array[] = [];
    const count = 1 + rng.below(6);
    for (let i = 0; i < count; i++) {
      parts.push(rng.chance(0.5) ? rng.pick(seeds) : mutate(rng.pick(seeds), rng, seeds));
    }
    const stream = concat(...parts);
    const whole = frame([stream]);
    const cut = frame(chunks(stream, rng));
    if (whole.join("\n") !== cut.join("\n")) {
      throw new FuzzPropertyError(
        `framer output depends on segmentation: ${whole.length} events whole, ${cut.length} cut`,
      );
    }
  },
};

interface Timer {
  name: TimerName;
  dueMs: number;
}

/**
 * One engine behind a framer, with the runner's rules: IP data frames are
 * the fast path's business (dropped here), other frames and control
 * messages go to `handle`, framer errors and `closed` end the session.
 */
class EngineUnderTest {
  readonly engine: SessionEngine;
  readonly framer = new SstpFramer();
  timers: Timer[] = [];
  closed = false;
  up = false;
  nowMs = 0;
  /** Bytes the engine sent (encoded), for a peer. */
  outbox: Uint8Array[] = [];

  constructor(engine: SessionEngine) {
    this.engine = engine;
  }

  handle(event: TunnelEvent): void {
    if (this.closed) return;
    let actions: TunnelAction[];
    try {
      actions = this.engine.handle(event, this.nowMs);
    } catch (e) {
      // The runner ends the session on any throw; typed errors are a clean end.
      if (e instanceof SstpError) {
        this.closed = true;
        return;
      }
      throw e;
    }
    for (const a of actions) {
      switch (a.type) {
        case "send":
          this.outbox.push(encodeSstpPacket(a.packet).slice());
          break;
        case "startTimer":
          this.timers = this.timers.filter((t) => t.name !== a.timer);
          this.timers.push({ name: a.timer, dueMs: this.nowMs + a.ms });
          break;
        case "stopTimer":
          this.timers = this.timers.filter((t) => t.name !== a.timer);
          break;
        case "linkUp":
          this.up = true;
          break;
        case "closed":
          this.closed = true;
          this.timers = [];
          break;
      }
    }
  }

  /** Feeds bytes from the peer; returns false when the stream failed. */
  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    this.engine.noteReceive(this.nowMs);
    const packets: SstpPacket[] = [];
    try {
      this.framer.pushEach(bytes, (p) => packets.push(p));
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      // The runner closes the connection on a framer error.
      for (const p of packets) this.#packet(p);
      this.handle({ type: "transportClosed", error: e });
      this.closed = true;
      return;
    }
    for (const p of packets) this.#packet(p);
  }

  #packet(p: SstpPacket): void {
    if (p.kind === "control") {
      this.handle({ type: "control", message: p.message });
      return;
    }
    const d = p.data;
    let off = d[0] === 0xff && d[1] === 0x03 ? 2 : 0;
    const proto = ((d[off] ?? 0) & 1) === 1 ? d[off++]! : ((d[off++] ?? 0) << 8) | (d[off++] ?? 0);
    if (proto === 0x0021 || proto === 0x0057) return;
    this.handle({ type: "ppp", frame: d });
  }

  /** Fires the earliest timer due by `untilMs`; false when there is none. */
  fireNext(untilMs: number): boolean {
    this.timers.sort((a, b) => a.dueMs - b.dueMs);
    const t = this.timers[0];
    if (this.closed || t === undefined || t.dueMs > untilMs) return false;
    this.timers.shift();
    this.nowMs = Math.max(this.nowMs, t.dueMs);
    this.handle({ type: "timer", timer: t.name });
    return true;
  }
}

/** The peer's transcript with packets dropped, mutated, duplicated and injected. */
function hostileStream(rng: Rng, transcript: readonly Uint8Array[]): Uint8Array[] {
  const pool = corpus().sstp;
  const out: Uint8Array[] = [];
  const faultRate = rng.pick([0.02, 0.1, 0.3]);
  for (const p of transcript) {
    if (rng.chance(faultRate / 3)) continue; // drop
    out.push(rng.chance(faultRate) ? mutate(p, rng, pool) : p);
    if (rng.chance(faultRate / 3)) out.push(p); // duplicate
    if (rng.chance(faultRate / 3)) {
      out.push(rng.chance(0.5) ? rng.pick(pool) : rng.bytes(rng.below(40)));
    }
  }
  return out;
}

function streamTarget(
  name: string,
  make: () => SessionEngine,
  transcript: () => readonly Uint8Array[],
): FuzzTarget {
  return {
    name,
    run(rng) {
      const e = new EngineUnderTest(make());
      e.handle({ type: "start" });
      const stream = concat(...hostileStream(rng, transcript()));
      for (const chunk of chunks(stream, rng)) {
        if (e.closed) break;
        // Now and then the peer is slow and a timer fires in between.
        if (rng.chance(0.05)) e.fireNext(e.nowMs + rng.below(30_000));
        e.nowMs += rng.below(50);
        e.receive(chunk);
      }
      // Input stopped: the engine must end by itself or keep a timer that will.
      const limit = e.nowMs + 15 * 60_000;
      for (let i = 0; i < 200 && e.fireNext(limit); i++) { /* run the clock */ }
      if (!e.closed && e.timers.length === 0) {
        throw new FuzzPropertyError(
          `${name}: session hangs with no timer (sstp ${e.engine.sstpState}, ppp ${e.engine.pppPhase})`,
        );
      }
      if (!e.closed && !e.up) {
        throw new FuzzPropertyError(
          `${name}: silent peer for 15 min but the session is neither up nor closed (sstp ${e.engine.sstpState}, ppp ${e.engine.pppPhase})`,
        );
      }
    },
  };
}

const serverEngine = streamTarget(
  "server-engine",
  fuzzServerEngine,
  () => corpus().clientTranscript,
);
const clientEngine = streamTarget(
  "client-engine",
  fuzzClientEngine,
  () => corpus().serverTranscript,
);

const enginePair: FuzzTarget = {
  name: "engine-pair",
  run(rng) {
    const sides = [
      new EngineUnderTest(fuzzClientEngine()),
      new EngineUnderTest(fuzzServerEngine()),
    ];
    const [client, server] = sides as [EngineUnderTest, EngineUnderTest];
    const pool = corpus().sstp;
    const faultRate = rng.pick([0.01, 0.05, 0.2]);
    let faultsLeft = 1 + rng.below(6);
    let nowMs = 0;
    server.handle({ type: "start" });
    client.handle({ type: "start" });
    for (let step = 0; step < 5000; step++) {
      for (const s of sides) s.nowMs = nowMs;
      let moved = false;
      for (const [from, to] of [[client, server], [server, client]] as const) {
        const packets = from.outbox;
        from.outbox = [];
        for (const p of packets) {
          moved = true;
          let bytes: Uint8Array | null = p;
          if (faultsLeft > 0 && rng.chance(faultRate)) {
            faultsLeft--;
            const kind = rng.below(4);
            if (kind === 0) bytes = null; // dropped
            else if (kind === 1) bytes = mutate(p, rng, pool);
            else if (kind === 2) bytes = concat(p, rng.pick(pool)); // injected after
            else bytes = concat(p, p); // duplicated
          }
          if (bytes !== null) to.receive(bytes);
        }
        // TCP: a side that closed closes the connection for the other too.
        if (from.closed && !to.closed) to.handle({ type: "transportClosed" });
      }
      if (sides.every((s) => s.closed)) return;
      if (moved) {
        nowMs += 1;
        continue;
      }
      const next = Math.min(...sides.flatMap((s) => s.closed ? [] : s.timers.map((t) => t.dueMs)));
      if (!Number.isFinite(next) || next > 10 * 60_000) break;
      nowMs = Math.max(nowMs, next);
      for (const s of sides) {
        s.nowMs = nowMs;
        while (s.fireNext(nowMs)) { /* due timers */ }
      }
    }
    const state = (s: EngineUnderTest) =>
      s.closed
        ? "closed"
        : `${s.up ? "up " : ""}${s.engine.sstpState}/${s.engine.pppPhase} ipv4 ${
          s.engine.isIpv4Open ? "open" : "shut"
        } timers ${s.timers.map((t) => t.name).join(",")}`;
    const both = `client ${state(client)}, server ${state(server)}`;
    if (!(client.up && server.up && !client.closed && !server.closed)) {
      throw new FuzzPropertyError(`engine-pair: neither both up nor both closed: ${both}`);
    }
  },
};

/** Every target, in report order. */
export const TARGETS: readonly FuzzTarget[] = [
  sstpDecode,
  pppDecode,
  httpPreamble,
  framerTarget,
  serverEngine,
  clientEngine,
  enginePair,
];
